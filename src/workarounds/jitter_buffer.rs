//! The receive jitter buffers that webrtcbin's rtpbin creates, found from the outside.
//!
//! A transceiver's receive stream leaves webrtcbin through a src pad whose `transceiver`
//! property names it. Walking upstream from that pad (ghost pad → rtpbin's
//! `recv_rtp_src_<session>_<ssrc>_<pt>` → [rtpulpfecdec] → rtpptdemux → rtpjitterbuffer in
//! 1.22) reaches exactly the jitter buffer serving that stream. Should a GStreamer version
//! arrange the elements so that the walk finds none, any rtpjitterbuffer of the connection
//! is reported instead: they all get the connection's `latency`, so the value is still right
//! unless an application changed one by hand.

use gst::prelude::*;
use gst_webrtc::WebRTCRTPTransceiver;

/// Enough for the chain above with room for a few more elements in later versions.
const MAX_HOPS: usize = 16;
const FACTORY: &str = "rtpjitterbuffer";

/// The `latency` (ms) of the jitter buffer serving `t`'s receive stream; None before any.
pub fn latency(webrtc: &gst::Element, t: &WebRTCRTPTransceiver) -> Option<u32> {
    let pads: Vec<gst::Pad> = webrtc
        .src_pads()
        .into_iter()
        .filter(|p| p.find_property("transceiver").is_some() && p.property::<Option<WebRTCRTPTransceiver>>("transceiver").as_ref() == Some(t))
        .collect();
    if pads.is_empty() {
        return None;
    }
    // The newest pad serves the current stream (a new SSRC gets a new pad).
    let jb = pads.iter().rev().find_map(serving).or_else(|| any_jitterbuffer(webrtc))?;
    Some(jb.property::<u32>("latency"))
}

/// Whether `e` is an rtpjitterbuffer (not another element rtpbin was given in its place).
pub fn is_jitterbuffer(e: &gst::Element) -> bool {
    e.factory().is_some_and(|f| f.name() == FACTORY)
}

/// The jitter buffer feeding `start` (a webrtcbin src pad): follows the data upstream until
/// an rtpjitterbuffer.
pub fn serving(start: &gst::Pad) -> Option<gst::Element> {
    let mut pad = start.clone();
    for _ in 0..MAX_HOPS {
        if let Some(ghost) = pad.downcast_ref::<gst::GhostPad>() {
            // A src ghost pad: continue inside its bin.
            pad = ghost.target()?;
            continue;
        }
        if let Some(ghost) = pad.parent().and_then(|p| p.downcast::<gst::GhostPad>().ok()) {
            // The internal proxy of a sink ghost pad: continue outside its bin.
            pad = ghost.peer()?;
            continue;
        }
        let element = pad.parent_element()?;
        if is_jitterbuffer(&element) {
            return Some(element);
        }
        pad = element.sink_pads().into_iter().next()?.peer()?;
    }
    None
}

fn any_jitterbuffer(webrtc: &gst::Element) -> Option<gst::Element> {
    let bin = webrtc.downcast_ref::<gst::Bin>()?;
    bin.iterate_recurse().into_iter().filter_map(Result::ok).find(is_jitterbuffer)
}
