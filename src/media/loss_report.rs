//! The loss our receivers report: the fraction-lost field of the RTCP receiver report blocks
//! about our own SSRCs (RFC 3550 §6.4.1), as rtpbin's sessions keep it per source. Read once a
//! fifth consent tick (RTCP reports come every few seconds) to set each sender's loss protection
//! (`SendChain::report_loss`).

use gst::glib;
use gst::prelude::*;

/// Sessions rtpbin may hold: one per BUNDLE group or unbundled m-section; a few is plenty for
/// a voice connection, and a missing id costs one lookup.
const SESSIONS: u32 = 4;

/// `(our ssrc, fraction lost)` for every report block `bin`'s `rtpbin` has received. rtpbin
/// keeps the last block on the source that sent it (a remote one): `rb-ssrc` names the stream
/// it is about.
/// Emits rtpbin's `get-internal-session` action signal: call without any lock held.
pub fn reported(bin: &gst::Bin) -> Vec<(u32, f64)> {
    let Some(rtpbin) = bin.by_name("rtpbin") else { return Vec::new() };
    let mut out = Vec::new();
    for id in 0..SESSIONS {
        let Some(session) = rtpbin.emit_by_name::<Option<glib::Object>>("get-internal-session", &[&id]) else { continue };
        let sources = session.property::<glib::ValueArray>("sources");
        for value in sources.iter() {
            let Ok(source) = value.get::<glib::Object>() else { continue };
            let stats = source.property::<gst::Structure>("stats");
            if !stats.get::<bool>("have-rb").unwrap_or(false) {
                continue;
            }
            if let (Ok(ssrc), Ok(lost)) = (stats.get::<u32>("rb-ssrc"), stats.get::<u32>("rb-fractionlost")) {
                out.push((ssrc, f64::from(lost) / 256.0));
            }
        }
    }
    out
}
