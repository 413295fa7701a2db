//! The audio codecs we negotiate and the GStreamer elements that implement them.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    /// `encoding-name` as webrtcbin writes it in caps (upper case).
    pub encoding_name: &'static str,
    pub clock_rate: u32,
    /// `encoding-params` (channels) of the rtpmap line, if any.
    pub channels: Option<u32>,
    pub default_pt: u32,
    pub encoder: &'static str,
    pub payloader: &'static str,
    pub depayloader: &'static str,
    pub decoder: &'static str,
    /// fmtp parameters we offer (RFC 7587 §7 for Opus).
    pub fmtp: &'static [(&'static str, &'static str)],
}

/// Opus first (RFC 7874 §3: mandatory to implement for WebRTC); pt 111 as browsers use.
pub const OPUS: Codec = Codec {
    encoding_name: "OPUS",
    clock_rate: 48_000,
    channels: Some(2),
    default_pt: 111,
    encoder: "opusenc",
    payloader: "rtpopuspay",
    depayloader: "rtpopusdepay",
    decoder: "opusdec",
    fmtp: &[("minptime", "10"), ("useinbandfec", "1")],
};

pub const SUPPORTED: &[Codec] = &[OPUS];

pub fn by_encoding_name(name: &str) -> Option<&'static Codec> {
    SUPPORTED.iter().find(|c| c.encoding_name.eq_ignore_ascii_case(name))
}

impl Codec {
    /// RTP caps for a transceiver's `codec-preferences` and the payloader's output.
    pub fn rtp_caps(&self, pt: u32) -> gst::Caps {
        let mut s = gst::Structure::builder("application/x-rtp")
            .field("media", "audio")
            .field("encoding-name", self.encoding_name)
            .field("clock-rate", self.clock_rate as i32)
            .field("payload", pt as i32);
        if let Some(ch) = self.channels {
            s = s.field("encoding-params", ch.to_string());
        }
        for (k, v) in self.fmtp {
            s = s.field(*k, *v);
        }
        gst::Caps::builder_full().structure(s.build()).build()
    }
}

/// Codec preferences for a transceiver that answers a remote offer: no payload type and
/// no fmtp, because webrtcbin intersects these caps field by field with the offer's, and
/// the offerer's payload numbers and parameters must win (RFC 3264 §6.1).
pub fn answer_preferences(ssrc: Option<u32>) -> gst::Caps {
    let mut caps = gst::Caps::new_empty();
    {
        let caps = caps.get_mut().expect("new caps are writable");
        for codec in SUPPORTED {
            let mut s = gst::Structure::builder("application/x-rtp")
                .field("media", "audio")
                .field("encoding-name", codec.encoding_name)
                .field("clock-rate", codec.clock_rate as i32);
            if let Some(ssrc) = ssrc {
                s = s.field("ssrc", ssrc);
            }
            caps.append(gst::Caps::builder_full().structure(s.build()).build());
        }
    }
    caps
}

/// Codec preferences for a new transceiver: every supported codec at its default payload
/// type. With the sender's SSRC, webrtcbin writes `a=ssrc` lines (RFC 5576), which is how
/// Chromium tells apart bundled m-lines that share a payload type.
pub fn preferences(ssrc: Option<u32>) -> gst::Caps {
    let mut caps = gst::Caps::new_empty();
    {
        let caps = caps.get_mut().expect("new caps are writable");
        for codec in SUPPORTED {
            let mut c = codec.rtp_caps(codec.default_pt);
            if let Some(ssrc) = ssrc {
                c.get_mut().expect("new caps are writable").set("ssrc", ssrc);
            }
            caps.append(c);
        }
    }
    caps
}

/// The codec and payload type chosen for m-line `idx` of a negotiated description:
/// the first format of the m-line that we support (RFC 3264 §6.1: the answerer's order wins).
pub fn negotiated(msg: &gst_sdp::SDPMessageRef, idx: u32) -> Option<(&'static Codec, u32)> {
    let media = msg.media(idx)?;
    for fmt in media.formats() {
        let Ok(pt) = fmt.parse::<u32>() else { continue };
        let Some(caps) = media.caps_from_media(pt as i32) else { continue };
        let name = caps.structure(0).and_then(|s| s.get::<&str>("encoding-name").ok());
        if let Some(codec) = name.and_then(by_encoding_name) {
            return Some((codec, pt));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiated_picks_first_supported_format() {
        gst::init().unwrap();
        let sdp = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0 109\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:109 opus/48000/2\r\n";
        let msg = gst_sdp::SDPMessage::parse_buffer(sdp.as_bytes()).unwrap();
        let (codec, pt) = negotiated(&msg, 0).unwrap();
        assert_eq!(codec.encoding_name, "OPUS");
        assert_eq!(pt, 109);
    }

    #[test]
    fn preference_caps_carry_payload_and_fmtp() {
        gst::init().unwrap();
        let caps = preferences(Some(7));
        let s = caps.structure(0).unwrap();
        assert_eq!(s.get::<i32>("payload").unwrap(), 111);
        assert_eq!(s.get::<&str>("useinbandfec").unwrap(), "1");
        assert_eq!(s.get::<u32>("ssrc").unwrap(), 7);
    }
}
