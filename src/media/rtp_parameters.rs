//! The codec facts of RTCRtpParameters and RTCRtpCapabilities (webrtc-pc §5.2.1, §5.2.4):
//! what we can send and receive (`capabilities`, from the codec table) and what one m-section
//! negotiated (`from_section`). Video has no codecs here.

use gst_sdp::SDPMediaRef;
use napi_derive::napi;

use super::codec::{self, Codec, SUPPORTED};
use crate::sdp::telephone_event;

/// RTCRtpCodec / RTCRtpCodecParameters (`payloadType` only when negotiated).
#[napi(object)]
#[derive(Clone)]
pub struct NativeCodec {
    pub payload_type: Option<u32>,
    pub mime_type: String,
    pub clock_rate: u32,
    pub channels: Option<u32>,
    pub sdp_fmtp_line: Option<String>,
}

/// RTCRtpHeaderExtensionParameters (RFC 8285 a=extmap).
#[napi(object)]
pub struct NativeHeaderExtension {
    pub uri: String,
    pub id: u32,
    pub encrypted: bool,
}

#[napi(object)]
pub struct NativeRtpParameters {
    pub codecs: Vec<NativeCodec>,
    pub header_extensions: Vec<NativeHeaderExtension>,
    /// RTCRtcpParameters.cname: the CNAME of our RTP stream (RFC 3550 §6.5.1).
    pub cname: Option<String>,
    /// RTCRtcpParameters.reducedSize: the answer kept a=rtcp-rsize (RFC 5506).
    pub reduced_size: bool,
}

fn of_codec(c: &Codec, payload_type: Option<u32>) -> NativeCodec {
    NativeCodec { payload_type, mime_type: c.mime_type(), clock_rate: c.clock_rate, channels: c.channels, sdp_fmtp_line: c.sdp_fmtp_line() }
}

/// RTCRtpSender/RTCRtpReceiver.getCapabilities("audio") codecs: every codec we encode and
/// decode, then RFC 4733 telephone-event at the rates we offer it.
#[napi(js_name = "audioCodecCapabilities")]
pub fn capabilities() -> Vec<NativeCodec> {
    let mut all: Vec<NativeCodec> = SUPPORTED.iter().map(|c| of_codec(c, None)).collect();
    for (rate, _) in telephone_event::OFFERED {
        all.push(NativeCodec { payload_type: None, mime_type: "audio/telephone-event".into(), clock_rate: *rate, channels: None, sdp_fmtp_line: Some("0-15".into()) });
    }
    all
}

/// The codec a capability (as the application passes it back to setCodecPreferences) names.
pub fn codec_of(c: &NativeCodec) -> Option<&'static Codec> {
    let name = c.mime_type.strip_prefix("audio/").or_else(|| c.mime_type.strip_prefix("AUDIO/"))?;
    codec::by_encoding_name(name).filter(|k| k.clock_rate == c.clock_rate)
}

/// Every format of an m-section, and its header extensions.
pub fn from_section(media: &SDPMediaRef) -> (Vec<NativeCodec>, Vec<NativeHeaderExtension>) {
    let mut codecs = Vec::new();
    for fmt in media.formats() {
        let Ok(pt) = fmt.parse::<u32>() else { continue };
        let fmtp = media
            .attributes()
            .filter(|a| a.key() == "fmtp")
            .find_map(|a| a.value().and_then(|v| v.strip_prefix(&format!("{pt} "))).map(str::to_owned));
        if let Some(known) = codec::format_codec(media, pt) {
            codecs.push(NativeCodec { sdp_fmtp_line: fmtp, ..of_codec(known, Some(pt)) });
            continue;
        }
        let Some(rtpmap) = media.attributes().filter(|a| a.key() == "rtpmap").find_map(|a| a.value().and_then(|v| v.strip_prefix(&format!("{pt} ")))) else {
            continue;
        };
        let mut parts = rtpmap.split('/');
        let (Some(name), Some(Ok(rate))) = (parts.next(), parts.next().map(str::parse::<u32>)) else { continue };
        let channels = parts.next().and_then(|c| c.parse().ok());
        let kind = media.media().unwrap_or("audio");
        codecs.push(NativeCodec { payload_type: Some(pt), mime_type: format!("{kind}/{name}"), clock_rate: rate, channels, sdp_fmtp_line: fmtp });
    }
    let header_extensions = media
        .attributes()
        .filter(|a| a.key() == "extmap")
        .filter_map(|a| {
            let (id, rest) = a.value()?.split_once(' ')?;
            let id: u32 = id.split('/').next()?.parse().ok()?;
            let mut words = rest.split_whitespace();
            let mut uri = words.next()?;
            let encrypted = uri == "urn:ietf:params:rtp-hdrext:encrypt";
            if encrypted {
                uri = words.next()?;
            }
            Some(NativeHeaderExtension { uri: uri.to_owned(), id, encrypted })
        })
        .collect();
    (codecs, header_extensions)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_section_lists_every_format_with_its_fmtp_and_extmaps() {
        gst::init().unwrap();
        let text = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 109 0 101\r\na=rtpmap:109 opus/48000/2\r\na=fmtp:109 minptime=10\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n";
        let msg = gst_sdp::SDPMessage::parse_buffer(text.as_bytes()).unwrap();
        let (codecs, ext) = from_section(msg.media(0).unwrap());
        let seen: Vec<_> = codecs.iter().map(|c| (c.payload_type, c.mime_type.as_str(), c.clock_rate, c.channels, c.sdp_fmtp_line.as_deref())).collect();
        assert_eq!(
            seen,
            [
                (Some(109), "audio/opus", 48000, Some(2), Some("minptime=10")),
                (Some(0), "audio/PCMU", 8000, None, None),
                (Some(101), "audio/telephone-event", 8000, None, Some("0-16")),
            ]
        );
        assert_eq!(ext.len(), 1);
        assert_eq!((ext[0].id, ext[0].uri.as_str(), ext[0].encrypted), (1, "urn:ietf:params:rtp-hdrext:ssrc-audio-level", false));
    }

    #[test]
    fn capabilities_name_every_codec_we_support_and_map_back() {
        gst::init().unwrap();
        let caps = capabilities();
        assert_eq!(caps[0].mime_type, "audio/opus");
        for c in SUPPORTED {
            let cap = caps.iter().find(|x| codec_of(x) == Some(c)).expect("listed");
            assert_eq!(cap.clock_rate, c.clock_rate);
        }
    }
}
