//! What a new incoming stream waits for before it plays, in webrtcbin 1.22's rtpbin, and why
//! it no longer waits: first audio came 20–60 ms later than the packets allowed.
//!
//! - **Probation** (RFC 3550 §A.1): rtpsession accepts a new source only after two packets
//!   with consecutive sequence numbers and queues the first one until then, i.e. one packet
//!   interval (20 ms) late. Probation guards against stray packets from a sender nobody
//!   announced; here every packet has passed SRTP authentication (RFC 3711 §3.4) before it
//!   reaches rtpsession, so it adds only the delay. `probation` = 0 on each session.
//! - **The jitter buffer's first packet**: rtpjitterbuffer holds it until a deadline of its
//!   arrival + `latency` (it cannot know yet whether an earlier packet is still on its way),
//!   and only then does webrtcbin expose the stream's pad. The jitter buffer starts at
//!   latency 0, so that deadline has passed on arrival, and gets its latency back as the
//!   first packet leaves it; the playout delay then grows to the full latency at the sink
//!   (`media::playout`), as WebRTC's NetEq starts low and adapts. Later packets are
//!   unaffected: a gap waits up to `latency` for the missing packet. (Not
//!   `faststart-min-packets`: in 1.22 it only looks at the head of the queue, which for the
//!   first packet is often still the stream's sticky events, and then the stream started
//!   with the second packet, 20 ms later.)
//! - **Lip sync between streams of one CNAME** (RFC 3550 §6.4.1, §6.5.1): on each sender report,
//!   rtpbin maps every stream of a CNAME onto the sender's NTP clock and delays all but the
//!   earliest by their difference (the jitter buffer's `ts-offset`, up to `max-ts-offset`,
//!   3 s). Each receiver here is an independent audio track (a sink, a mixer input), never
//!   played in step with another, and a peer that changes its SSRC keeps its CNAME: the new
//!   stream was delayed against the stale sender report of the old one, by 80–720 ms of
//!   silence in a measured 2 s (`__test__/rtp-ingress-connection.test.js`), and a sender's NTP
//!   timestamps could delay any of its streams by up to 3 s. `min-ts-offset` at its maximum
//!   makes rtpbin ignore every such offset (gstrtpbin.c `stream_set_ts_offset`).

use gst::prelude::*;

/// Configure the rtpsessions and rtpjitterbuffers that `webrtc`'s rtpbin will create. Call
/// right after creating `webrtc`, before its first session exists.
pub fn start_fast(webrtc: &gst::Element) {
    let Some(rtpbin) = webrtc.downcast_ref::<gst::Bin>().and_then(|b| b.by_name("rtpbin")) else { return };
    start_fast_rtpbin(&rtpbin);
}

/// The same for an rtpbin of our own (the plain-RTP backend, `rtp_session`): there the
/// transport's latching (or SRTP) has already refused strangers' packets before rtpsession,
/// and probation's late start also miscounts (`packets-lost` of -1 in the source stats).
pub fn start_fast_rtpbin(rtpbin: &gst::Element) {
    if rtpbin.find_property("min-ts-offset").is_some() {
        rtpbin.set_property("min-ts-offset", u64::MAX);
    }
    rtpbin.connect("element-added", false, |args| {
        if let Some(session) = args.get(1).and_then(|v| v.get::<gst::Element>().ok()) {
            if session.factory().is_some_and(|f| f.name() == "rtpsession") && session.find_property("probation").is_some() {
                session.set_property("probation", 0u32);
            }
        }
        None
    });
    rtpbin.connect("new-jitterbuffer", false, |args| {
        // Only rtpjitterbuffer holds a first packet back; the plain-RTP backend's
        // `gstpc-rtpreorder` lets it through at once.
        if let Some(jb) = args.get(1).and_then(|v| v.get::<gst::Element>().ok()).filter(super::jitter_buffer::is_jitterbuffer) {
            start_at_zero_latency(&jb);
        }
        None
    });
}

/// Latency 0 until the first buffer leaves `jb`, then the latency rtpbin gave it.
fn start_at_zero_latency(jb: &gst::Element) {
    let latency = jb.property::<u32>("latency");
    let Some(src) = jb.static_pad("src") else { return };
    if latency == 0 {
        return;
    }
    jb.set_property("latency", 0u32);
    let weak = jb.downgrade();
    // The jitter buffer pushes without holding its lock, so setting it here is safe.
    src.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, move |_, _| {
        if let Some(jb) = weak.upgrade() {
            jb.set_property("latency", latency);
        }
        gst::PadProbeReturn::Remove
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_skip_probation_and_lip_sync_and_jitter_buffers_start_fast() {
        gst::init().unwrap();
        let webrtc = gst::ElementFactory::make("webrtcbin").build().unwrap();
        start_fast(&webrtc);
        let rtpbin = webrtc.downcast_ref::<gst::Bin>().unwrap().by_name("rtpbin").unwrap();
        // Requesting a receive pad creates session 0, as webrtcbin does for a transport.
        let _pad = rtpbin.request_pad_simple("recv_rtp_sink_0").unwrap();
        let session = rtpbin.emit_by_name::<gst::Element>("get-session", &[&0u32]);
        assert_eq!(session.property::<u32>("probation"), 0);
        assert_eq!(rtpbin.property::<u64>("min-ts-offset"), u64::MAX, "no lip-sync offsets between streams");
        let jb = gst::ElementFactory::make("rtpjitterbuffer").property("latency", 40u32).build().unwrap();
        rtpbin.emit_by_name::<()>("new-jitterbuffer", &[&jb, &0u32, &1234u32]);
        assert_eq!(jb.property::<u32>("latency"), 0);
    }

    #[test]
    fn the_jitter_buffer_gets_its_latency_back_with_the_first_buffer() {
        gst::init().unwrap();
        let pipeline = gst::Pipeline::new();
        let caps = gst::Caps::builder("application/x-rtp").field("media", "audio").field("clock-rate", 48000i32).field("encoding-name", "OPUS").field("payload", 111i32).build();
        let src = gst::ElementFactory::make("appsrc").property("caps", &caps).property("format", gst::Format::Time).build().unwrap();
        let jb = gst::ElementFactory::make("rtpjitterbuffer").property("latency", 40u32).build().unwrap();
        let sink = gst::ElementFactory::make("fakesink").property("sync", false).build().unwrap();
        pipeline.add_many([&src, &jb, &sink]).unwrap();
        gst::Element::link_many([&src, &jb, &sink]).unwrap();
        start_at_zero_latency(&jb);
        assert_eq!(jb.property::<u32>("latency"), 0);
        pipeline.set_state(gst::State::Playing).unwrap();
        // One RTP packet (RFC 3550 §5.1): V=2, PT 111, seq 1, timestamp 0, SSRC 1234.
        let mut packet = vec![0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0x04, 0xd2];
        packet.extend_from_slice(&[0xf8, 0xff, 0xfe]);
        let mut buffer = gst::Buffer::from_slice(packet);
        buffer.get_mut().unwrap().set_pts(gst::ClockTime::ZERO);
        assert_eq!(src.emit_by_name::<gst::FlowReturn>("push-buffer", &[&buffer]), gst::FlowReturn::Ok);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while jb.property::<u32>("latency") != 40 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let latency = jb.property::<u32>("latency");
        pipeline.set_state(gst::State::Null).unwrap();
        assert_eq!(latency, 40);
    }
}
