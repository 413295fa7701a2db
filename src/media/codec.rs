//! The audio codecs we negotiate and the GStreamer elements that implement them.
//!
//! Opus for WebRTC peers, and the RFC 3551 telephony codecs that SIP trunks and desk
//! phones speak. RFC 4733 telephone-event is not a codec here: it rides along in the SDP
//! (`sdp::telephone_event`) and in the RTP stream (`media::dtmf_send`).

use gst::prelude::*;

use crate::runtime::make;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Codec {
    /// `encoding-name` as webrtcbin writes it in caps (upper case).
    pub encoding_name: &'static str,
    pub clock_rate: u32,
    /// The rate the encoder samples at; differs from `clock_rate` for G.722.
    pub sample_rate: u32,
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

/// Opus bitrate for a mono voice, as browsers send it.
const OPUS_BITRATE: i32 = 32_000;

/// Opus encoder complexity (RFC 6716 §2.1.9 leaves it to the encoder): 5, not opusenc's 10.
///
/// A server encodes one stream per call, so this is the encoder's CPU per call. Measured
/// here (gst-launch, 20 ms mono frames at 32 kbit/s, minus the pipeline alone, % of a core):
/// speech (espeak-ng, 128 s) 1.8–2.2 % at 10 and 0.44 % at 5; pink noise 1.6 / 0.5 %; a
/// sine 0.62 / 0.44 %. libwebrtc itself encodes at 5 on mobile (9 on desktop).
/// `GST_PC_OPUS_COMPLEXITY=0…10` chooses another.
fn opus_complexity() -> i32 {
    static VALUE: std::sync::OnceLock<i32> = std::sync::OnceLock::new();
    *VALUE.get_or_init(|| complexity_from(std::env::var("GST_PC_OPUS_COMPLEXITY").ok().as_deref()))
}

const DEFAULT_OPUS_COMPLEXITY: i32 = 5;

fn complexity_from(configured: Option<&str>) -> i32 {
    configured
        .and_then(|v| v.trim().parse::<i32>().ok())
        .filter(|c| (0..=10).contains(c))
        .unwrap_or(DEFAULT_OPUS_COMPLEXITY)
}

/// Opus first (RFC 7874 §3: mandatory to implement for WebRTC); pt 111 as browsers use.
pub const OPUS: Codec = Codec {
    encoding_name: "OPUS",
    clock_rate: 48_000,
    sample_rate: 48_000,
    channels: Some(2),
    default_pt: 111,
    encoder: "opusenc",
    payloader: "rtpopuspay",
    depayloader: "rtpopusdepay",
    // Ours, not opusdec: media::opus (opusdec's multistream calls run CPUID every packet).
    decoder: crate::media::opus::DECODER,
    fmtp: &[("minptime", "10"), ("useinbandfec", "1")],
};

/// G.722: RFC 3551 §4.5.2 keeps its RTP clock rate at 8000 although it samples at 16 kHz
/// (an error in RFC 1890 kept for compatibility). Static pt 9. Encoder from gst-libav.
pub const G722: Codec = Codec {
    encoding_name: "G722",
    clock_rate: 8_000,
    sample_rate: 16_000,
    channels: None,
    default_pt: 9,
    encoder: "avenc_g722",
    payloader: "rtpg722pay",
    depayloader: "rtpg722depay",
    decoder: "avdec_g722",
    fmtp: &[],
};

/// G.711 µ-law, RFC 3551 §4.5.14, static pt 0.
pub const PCMU: Codec = Codec {
    encoding_name: "PCMU",
    clock_rate: 8_000,
    sample_rate: 8_000,
    channels: None,
    default_pt: 0,
    encoder: "mulawenc",
    payloader: "rtppcmupay",
    depayloader: "rtppcmudepay",
    decoder: "mulawdec",
    fmtp: &[],
};

/// G.711 A-law, RFC 3551 §4.5.14, static pt 8.
pub const PCMA: Codec = Codec {
    encoding_name: "PCMA",
    clock_rate: 8_000,
    sample_rate: 8_000,
    channels: None,
    default_pt: 8,
    encoder: "alawenc",
    payloader: "rtppcmapay",
    depayloader: "rtppcmadepay",
    decoder: "alawdec",
    fmtp: &[],
};

/// Our offer order: Opus, then wideband G.722, then narrowband G.711 (as browsers order them).
pub const SUPPORTED: &[Codec] = &[OPUS, G722, PCMU, PCMA];

pub fn by_encoding_name(name: &str) -> Option<&'static Codec> {
    SUPPORTED.iter().find(|c| c.encoding_name.eq_ignore_ascii_case(name))
}

impl Codec {
    /// The audio, in ms, one packet carries when the peer asks for `ptime`: an Opus frame is
    /// 10, 20, 40 or 60 ms (RFC 6716 §2.1.4), the nearest not above it; the others send `ptime`.
    pub fn packet_ms(&self, ptime: u32) -> u32 {
        if self != &OPUS {
            return ptime;
        }
        match ptime {
            t if t < 20 => 10,
            t if t < 40 => 20,
            t if t < 60 => 40,
            _ => 60,
        }
    }

    /// capsfilter (mono at the codec's rate) → encoder → payloader: the send chain after
    /// audioconvert/audioresample, shared by connections and RtpForwarder.
    ///
    /// Opus: one frame of `ptime` per packet (RFC 7587 §4.2), at `opus_complexity()`.
    pub fn encode_chain(&self, pt: u32, ssrc: u32, ptime: u32) -> Result<Vec<gst::Element>, String> {
        let filter = make("capsfilter")?;
        filter.set_property("caps", super::raw_caps(self.sample_rate, 1));
        let encoder = make(self.encoder)?;
        let payloader = make(self.payloader)?;
        payloader.set_property("pt", pt);
        payloader.set_property("ssrc", ssrc);
        if self == &OPUS {
            encoder.set_property_from_str("frame-size", &self.packet_ms(ptime).to_string());
            // opusenc defaults to 128 kbit/s, four times what browsers send for a mono voice
            // (RFC 7587 §3.1.1: 28–40 kbit/s is fullband speech at its best).
            encoder.set_property("bitrate", OPUS_BITRATE);
            encoder.set_property("complexity", opus_complexity());
            // opusenc forces fullband; libopus picks the bandwidth for the rate, as libwebrtc
            // lets it (fullband at 32 kbit/s).
            encoder.set_property_from_str("bandwidth", "auto");
        } else if payloader.find_property("min-ptime").is_some() {
            let ptime_ns = i64::from(ptime) * 1_000_000;
            payloader.set_property("min-ptime", ptime_ns);
            payloader.set_property("max-ptime", ptime_ns);
        }
        Ok(vec![filter, encoder, payloader])
    }

    /// depayloader → decoder (with loss concealment) → mono → audioconvert → audioresample:
    /// the receive chain up to a 48 kHz mono sink, shared by every RTP receiver.
    ///
    /// The mono capsfilter right after the decoder keeps every decoder's output mono: ours
    /// always decodes `opus/48000/2` (RFC 7587 §7: always 2 in the rtpmap) straight to mono,
    /// and a decoder that follows its downstream's caps would otherwise synthesise stereo
    /// that audioconvert then mixes down.
    pub fn decode_chain(&self) -> Result<Vec<gst::Element>, String> {
        let depay = make(self.depayloader)?;
        let decoder = make(self.decoder)?;
        // Lost packets arrive as gap events: conceal them (Opus PLC, RFC 6716 §4.4) and use
        // in-band FEC (RFC 6716 §2.1.7) where the stream carries it.
        if decoder.find_property("plc").is_some() {
            decoder.set_property("plc", true);
        }
        if decoder.find_property("use-inband-fec").is_some() {
            decoder.set_property("use-inband-fec", true);
        }
        let mono = make("capsfilter")?;
        mono.set_property("caps", gst::Caps::builder("audio/x-raw").field("channels", 1i32).build());
        let resample = make("audioresample")?;
        super::steady_resample::install(&resample);
        Ok(vec![depay, decoder, mono, make("audioconvert")?, resample])
    }

    /// Cap the encoder at `max` bit/s (RTCRtpEncodingParameters.maxBitrate); only Opus has a
    /// rate to set, and without a cap it sends `OPUS_BITRATE`. opusenc takes 4000–650000.
    ///
    /// Under a cap the audio bandwidth follows the rate (RFC 6716 §2.1.3's operating points:
    /// narrowband at 8–12 kbit/s, wideband at 16–20): a running libopus lowered from 32 kbit/s
    /// stays in fullband CELT, which does not go below ~17 kbit/s (measured by the test below).
    pub fn limit_bitrate(&self, encoder: &gst::Element, max: Option<u32>) {
        if self == &OPUS {
            let rate = max.map_or(OPUS_BITRATE, |m| (m.min(OPUS_BITRATE as u32) as i32).max(4_000));
            let bandwidth = match rate {
                r if r < 12_000 => "narrowband",
                r if r < 16_000 => "mediumband",
                r if r < 20_000 => "wideband",
                r if r < OPUS_BITRATE => "superwideband",
                _ => "auto",
            };
            encoder.set_property_from_str("bandwidth", bandwidth);
            encoder.set_property("bitrate", rate);
        }
    }

    /// Opus in-band FEC (RFC 6716 §2.1.7, RFC 7587 §3.3) for the loss the receiver reports:
    /// libopus adds LBRR data (a low-rate copy of the previous frame) only when told to expect
    /// loss, and spends more of the bitrate on it the more it expects, as libwebrtc does from
    /// RTCP. `fec`: the receiver said `useinbandfec=1`. Other codecs have nothing to set.
    pub fn expect_loss(&self, encoder: &gst::Element, percent: u32, fec: bool) {
        if self == &OPUS {
            encoder.set_property("inband-fec", fec && percent > 0);
            encoder.set_property("packet-loss-percentage", percent.min(100) as i32);
        }
    }

    /// webrtc-pc §5.2 RTCRtpCodec: `audio/<name>` (Opus in lower case, as RFC 7587 registers
    /// it; the RFC 3551 names as registered), and the fmtp line we offer.
    pub fn mime_type(&self) -> String {
        let name = if self == &OPUS { "opus" } else { self.encoding_name };
        format!("audio/{name}")
    }

    pub fn sdp_fmtp_line(&self) -> Option<String> {
        (!self.fmtp.is_empty()).then(|| self.fmtp.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(";"))
    }

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
///
/// They are listed in the offer's order: webrtcbin 1.22 builds the answer with
/// `gst_caps_intersect(offer, preferences)`, whose zig-zag mode interleaves both lists, so
/// only the same order on both sides keeps the offerer's preference (RFC 3264 §6.1:
/// the answerer SHOULD keep it). Without an offer, our own order.
pub fn answer_preferences(offer: Option<&gst_sdp::SDPMediaRef>, ssrc: Option<u32>, chosen: Option<&[&'static Codec]>) -> gst::Caps {
    let mut order: Vec<&'static Codec> = Vec::new();
    if let Some(media) = offer {
        for fmt in media.formats() {
            let Ok(pt) = fmt.parse::<i32>() else { continue };
            if let Some(codec) = format_codec(media, pt as u32) {
                if !order.contains(&codec) {
                    order.push(codec);
                }
            }
        }
    }
    for codec in SUPPORTED {
        if !order.contains(&codec) {
            order.push(codec);
        }
    }
    // setCodecPreferences restricts what we answer with; the offerer's order stays (above).
    if let Some(chosen) = chosen {
        order.retain(|c| chosen.contains(c));
    }
    let mut caps = gst::Caps::new_empty();
    {
        let caps = caps.get_mut().expect("new caps are writable");
        for codec in order {
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

/// The supported codec RTP caps describe (encoding-name and clock rate must both match).
pub fn caps_codec(caps: &gst::CapsRef) -> Option<&'static Codec> {
    let s = caps.structure(0)?;
    let codec = by_encoding_name(s.get::<&str>("encoding-name").ok()?)?;
    let rate = s.get::<i32>("clock-rate").ok()?;
    (rate as u32 == codec.clock_rate).then_some(codec)
}

/// Codec preferences for a new transceiver: every supported codec at its default payload
/// type. With the sender's SSRC, webrtcbin writes `a=ssrc` lines (RFC 5576), which is how
/// Chromium tells apart bundled m-lines that share a payload type.
pub fn preferences(ssrc: Option<u32>) -> gst::Caps {
    preferences_in(None, ssrc)
}

/// `preferences` for the codecs the application chose with setCodecPreferences, in its
/// order (webrtc-pc §5.4.1); all of ours in our order without a choice.
pub fn preferences_in(chosen: Option<&[&'static Codec]>, ssrc: Option<u32>) -> gst::Caps {
    let all: Vec<&'static Codec> = SUPPORTED.iter().collect();
    let mut caps = gst::Caps::new_empty();
    {
        let caps = caps.get_mut().expect("new caps are writable");
        for codec in chosen.unwrap_or(&all) {
            let mut c = codec.rtp_caps(codec.default_pt);
            if let Some(ssrc) = ssrc {
                c.get_mut().expect("new caps are writable").set("ssrc", ssrc);
            }
            caps.append(c);
        }
    }
    caps
}

/// Codec preferences once an answer of ours has been applied: the codecs the answer
/// negotiated for the m-line, at its payload types, so that our next offer on this m-line keeps
/// them (RFC 3264 §8.3.2, JSEP RFC 8829 §5.2.2: a subsequent offer keeps the negotiated payload
/// types). The payload-less answer preferences would leave webrtcbin 1.22 a payload range it
/// cannot write into an offer. None when the m-line has no codec we support.
pub fn session_preferences(media: &gst_sdp::SDPMediaRef, ssrc: Option<u32>) -> Option<gst::Caps> {
    let mut caps = gst::Caps::new_empty();
    {
        let caps = caps.get_mut().expect("new caps are writable");
        for fmt in media.formats() {
            let Ok(pt) = fmt.parse::<u32>() else { continue };
            let Some(codec) = format_codec(media, pt) else { continue };
            let mut c = codec.rtp_caps(pt);
            if let Some(ssrc) = ssrc {
                c.get_mut().expect("new caps are writable").set("ssrc", ssrc);
            }
            caps.append(c);
        }
    }
    (!caps.is_empty()).then_some(caps)
}

/// The supported codec an RFC 3551 static payload type stands for (§6, table 4).
pub fn by_static_pt(pt: u32) -> Option<&'static Codec> {
    SUPPORTED.iter().find(|c| c.default_pt == pt && pt < 96)
}

/// RFC 3551 §6 lets an m-line list static payload types without `a=rtpmap` (SIP peers do:
/// `m=audio 4000 RTP/AVP 0 8`). gst_sdp_media_get_caps_from_media then yields caps without
/// an encoding-name (`application/x-unknown`, verified with 1.22), which webrtcbin cannot
/// intersect with anything: write the implied rtpmap lines for the ones we know.
pub fn add_static_rtpmaps(media: &mut gst_sdp::SDPMediaRef) {
    let missing: Vec<(u32, &'static Codec)> = media
        .formats()
        .filter_map(|f| f.parse::<u32>().ok())
        .filter(|pt| {
            !media
                .attributes()
                .any(|a| a.key() == "rtpmap" && a.value().and_then(|v| v.split(' ').next()).and_then(|p| p.parse::<u32>().ok()) == Some(*pt))
        })
        .filter_map(|pt| by_static_pt(pt).map(|c| (pt, c)))
        .collect();
    for (pt, codec) in missing {
        media.add_attribute("rtpmap", Some(&format!("{pt} {}/{}", codec.encoding_name, codec.clock_rate)));
    }
}

/// The supported codec behind format `pt` of an m-section.
pub fn format_codec(media: &gst_sdp::SDPMediaRef, pt: u32) -> Option<&'static Codec> {
    let caps = media.caps_from_media(pt as i32)?;
    if caps.structure(0).is_some_and(|s| s.has_field("encoding-name")) {
        caps_codec(&caps)
    } else {
        by_static_pt(pt)
    }
}

/// The codec and payload type chosen for m-line `idx` of a negotiated description:
/// the first format of the m-line that we support (RFC 3264 §6.1: the answerer's order wins).
pub fn negotiated(msg: &gst_sdp::SDPMessageRef, idx: u32) -> Option<(&'static Codec, u32)> {
    let media = msg.media(idx)?;
    for fmt in media.formats() {
        let Ok(pt) = fmt.parse::<u32>() else { continue };
        // Without a=rtpmap, gst_sdp_media_get_caps_from_media gives a static payload type
        // no encoding-name (`add_static_rtpmaps`): RFC 3551 §6 names it.
        if let Some(codec) = format_codec(media, pt) {
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
        assert_eq!(codec.encoding_name, "PCMU");
        assert_eq!(pt, 0);
        let msg = gst_sdp::SDPMessage::parse_buffer(sdp.replace(" 0 109", " 96 109").as_bytes()).unwrap();
        assert_eq!(negotiated(&msg, 0).map(|(c, pt)| (c.encoding_name, pt)), Some(("OPUS", 109)));
    }

    #[test]
    fn negotiated_understands_static_payload_types_without_rtpmap() {
        gst::init().unwrap();
        for (fmts, name, pt) in [("0 8", "PCMU", 0), ("8 0", "PCMA", 8), ("9", "G722", 9)] {
            let sdp = format!("v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP {fmts}\r\n");
            let msg = gst_sdp::SDPMessage::parse_buffer(sdp.as_bytes()).unwrap();
            let (codec, got) = negotiated(&msg, 0).unwrap();
            assert_eq!((codec.encoding_name, got), (name, pt));
            let mut msg = msg;
            add_static_rtpmaps(msg.media_mut(0).unwrap());
            let caps = msg.media(0).unwrap().caps_from_media(pt as i32).unwrap();
            assert_eq!(caps_codec(&caps).map(|c| c.encoding_name), Some(name));
        }
    }

    #[test]
    fn g722_keeps_the_rfc3551_clock_rate() {
        gst::init().unwrap();
        let sdp = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 RTP/AVP 9\r\na=rtpmap:9 G722/8000\r\n";
        let msg = gst_sdp::SDPMessage::parse_buffer(sdp.as_bytes()).unwrap();
        let (codec, _) = negotiated(&msg, 0).unwrap();
        assert_eq!((codec.clock_rate, codec.sample_rate), (8000, 16000));
    }

    #[test]
    fn answer_preferences_follow_the_offer_order() {
        gst::init().unwrap();
        let sdp = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0 111 101\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/8000\r\n";
        let msg = gst_sdp::SDPMessage::parse_buffer(sdp.as_bytes()).unwrap();
        let caps = answer_preferences(msg.media(0), None, None);
        let names: Vec<&str> = caps.iter().map(|s| s.get::<&str>("encoding-name").unwrap()).collect();
        assert_eq!(names, ["PCMU", "OPUS", "G722", "PCMA"]);
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

    #[test]
    fn opus_encoder_complexity_defaults_to_five_and_takes_an_override() {
        assert_eq!(complexity_from(None), 5);
        assert_eq!(complexity_from(Some(" 10 ")), 10);
        assert_eq!(complexity_from(Some("0")), 0);
        assert_eq!(complexity_from(Some("11")), 5);
        assert_eq!(complexity_from(Some("fast")), 5);
    }

    #[test]
    fn the_opus_send_chain_encodes_at_the_configured_complexity() {
        gst::init().unwrap();
        let chain = OPUS.encode_chain(111, 1, 20).unwrap();
        assert_eq!(chain[1].property::<i32>("complexity"), opus_complexity());
        assert_eq!(chain[1].property::<i32>("bitrate"), OPUS_BITRATE);
    }

    /// Payload bytes per second the Opus chain sends over `secs` of a 440 Hz tone (sync to the
    /// clock so a property change lands mid-stream), after `change` ran at the half.
    fn opus_rate_before_and_after(change: impl FnOnce(&gst::Element)) -> (u64, u64) {
        gst::init().unwrap();
        let pipeline = gst::Pipeline::new();
        let src = gst::ElementFactory::make("audiotestsrc").property("is-live", true).property("freq", 440.0f64).build().unwrap();
        let chain = OPUS.encode_chain(111, 1, 20).unwrap();
        let sink = gst::ElementFactory::make("appsink").property("sync", false).build().unwrap();
        pipeline.add(&src).unwrap();
        pipeline.add_many(&chain).unwrap();
        pipeline.add(&sink).unwrap();
        src.link(&chain[0]).unwrap();
        gst::Element::link_many(&chain).unwrap();
        chain[2].link(&sink).unwrap();
        let bytes = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
        let counter = bytes.clone();
        sink.downcast_ref::<gst_app::AppSink>().unwrap().set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    // RTP header: 12 bytes.
                    counter.fetch_add(sample.buffer().map_or(0, |b| b.size() as u64).saturating_sub(12), std::sync::atomic::Ordering::Relaxed);
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        pipeline.set_state(gst::State::Playing).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(500));
        let t0 = bytes.load(std::sync::atomic::Ordering::Relaxed);
        std::thread::sleep(std::time::Duration::from_millis(2000));
        let before = bytes.load(std::sync::atomic::Ordering::Relaxed) - t0;
        change(&chain[1]);
        std::thread::sleep(std::time::Duration::from_millis(500));
        let t1 = bytes.load(std::sync::atomic::Ordering::Relaxed);
        std::thread::sleep(std::time::Duration::from_millis(2000));
        let after = bytes.load(std::sync::atomic::Ordering::Relaxed) - t1;
        pipeline.set_state(gst::State::Null).unwrap();
        (before * 8 / 2, after * 8 / 2)
    }

    #[test]
    fn max_bitrate_caps_a_running_opus_encoder() {
        let (full, capped) = opus_rate_before_and_after(|enc| OPUS.limit_bitrate(enc, Some(8_000)));
        eprintln!("opus: {full} bit/s, then {capped} bit/s under an 8000 cap");
        assert!((28_000..=36_000).contains(&full), "uncapped: {full} bit/s");
        assert!(capped <= 8_800, "capped at 8000: {capped} bit/s");
    }
}
