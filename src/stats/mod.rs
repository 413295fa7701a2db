//! getStats(): webrtcbin's `get-stats` reply mapped to W3C webrtc-stats dictionaries.
//!
//! webrtcbin 1.22 answers with one `application/x-webrtc-stats` structure whose fields are
//! the stats objects (each a structure named after its GstWebRTCStatsType nick, with `id`,
//! `timestamp` and dash-separated members). What it provides, and what is derived here:
//!
//! - `timestamp`: webrtcbin's is pipeline clock time; every object gets the wall-clock
//!   time (ms since the Unix epoch) of the reply instead, as browsers do.
//! - `peer-connection`: `data-channels-opened/closed` → `dataChannelsOpened/Closed`.
//! - `codec`: complete only for send pads (`payload-type`, `clock-rate`, `mime-type`,
//!   `channels`, `sdp-fmtp-line` prefixed with the payload type). Receive-pad codecs come
//!   empty: they are filled from the caps of webrtcbin's src pad and the fmtp line of the
//!   current descriptions. `transportId` is taken from the RTP streams that use the codec;
//!   codecs no stream uses are left out (webrtc-stats §3.6 lifetime).
//! - `inbound-rtp`/`outbound-rtp`: counters as given (`jitter` is already in seconds);
//!   `packetsLost` of inbound streams comes from the nested `gst-rtpsource-stats`.
//!   `mid` is the mid of the transceiver of the webrtcbin pad the codec id names. Streams
//!   that have not carried a packet yet (webrtcbin lists every RTCP-only source) are left
//!   out, like a browser does before the first packet; so are remote-* objects whose local
//!   stream is left out.
//! - `remoteId`: 1.22 sets `remote-id` only when it built the remote object first; it is
//!   derived from the remote object's `local-id` otherwise.
//! - `remote-inbound-rtp`: `round-trip-time` (from RTCP receiver reports) → `roundTripTime`,
//!   left out while the report block's DLSR is 0 (no measurement yet) or the round trip is 0;
//!   `jitter` derived from the report block's `rb-jitter` and the codec clock rate.
//! - `remote-outbound-rtp`: `remote-timestamp` is NTP seconds; converted to epoch ms. `kind`
//!   is the local stream's.
//! - `transport`: only `selected-candidate-pair-id`; `dtlsState`, `iceState` and `dtlsRole`
//!   are read from the transceivers' DTLS transports.
//! - `candidate-pair`: only the candidate ids, and only for the selected pair. `transportId`
//!   is the transport that selected it, so it
//!   is `nominated` and its `state` is `succeeded` once that transport's ICE is connected or
//!   completed (and stays so while it is disconnected). `currentRoundTripTime` is NOT a STUN measurement (libnice does not expose
//!   one): it is the RTCP round-trip time of the remote-inbound-rtp streams on the same
//!   transport, present only when we send RTP and a round trip has been measured.
//! - `local-candidate`/`remote-candidate`: address, port, protocol, candidateType, priority,
//!   and `url` for local server-reflexive/relay candidates. 1.22 swaps the two stats *types*
//!   (the candidate our SDP carries comes as `remote-candidate`; its id,
//!   `ice-candidate-local_…`, and the pair's `local-candidate-id` are right): the type is
//!   re-derived from the pair that references the candidate, else from the id prefix.
//! - `certificate`: webrtcbin 1.22 emits none; mapped if a later version does.
//!
//! Known 1.22 limitation: RTP stream ids are `…_<ssrc>` without the pad, so with several
//! transceivers bundled on one transport a stream may be reported under one pad's codec only.
//!
//! The files:
//!
//! - `mod.rs`: the entry points, [`request`] (asks webrtcbin, answers the JS request) and
//!   [`convert`] (reply → W3C objects).
//! - `context.rs`: [`Context`], what the reply does not say, read from webrtcbin's pads,
//!   DTLS transports and current descriptions before asking.
//! - `stats_type.rs`: `StatsType`, the stats types reported, parsed once from the structure
//!   name.
//! - `object.rs`: one stats object while it is converted: its type, id and W3C members.
//! - `fields.rs`: reads of webrtcbin's structure fields, whatever integer width they come in.
//! - `mapping.rs`: one webrtcbin structure → one W3C object, a function per stats type.
//! - `fixups.rs`: the derivations that need other objects or the [`Context`], a function per
//!   rule, run in order by `fixups::run`.
//! - `tests.rs`: [`convert`] on a reply shaped like 1.22's.

mod context;
mod fields;
mod fixups;
mod mapping;
mod object;
mod stats_type;
#[cfg(test)]
mod tests;

use std::time::{SystemTime, UNIX_EPOCH};

use gst::prelude::*;
use serde_json::Value;

use crate::error::PcError;
use crate::events::{EventSink, NativeEvent};
use crate::workarounds::in_flight::InFlight;

pub use context::{Context, PadInfo, TransportInfo};
use object::StatsObject;

/// Emit webrtcbin's `get-stats` and answer `request_id` with the converted report.
/// The caller must not hold any lock of ours (webrtcbin takes its own). `fingerprint_failed`:
/// the connection refused the peer's certificate (webrtcbin's DTLS state does not know).
pub fn request(webrtc: &gst::Element, in_flight: &InFlight, events: EventSink, request_id: u32, fingerprint_failed: bool) {
    let mut ctx = Context::collect(webrtc);
    if fingerprint_failed {
        for t in ctx.transports.values_mut() {
            t.dtls_state = "failed";
        }
    }
    let promise = in_flight.promise(move |reply| match reply {
        Ok(Some(s)) if !s.has_field("error") => {
            gst::debug!(crate::log::CAT, "get-stats reply {s}");
            let stats = Value::Array(convert(s, &ctx, now_ms())).to_string();
            events.emit(NativeEvent { stats: Some(stats), ..NativeEvent::result(request_id) })
        }
        other => {
            let err = PcError::operation(format!("webrtcbin did not produce statistics ({other:?})"));
            events.emit(NativeEvent::failure(request_id, &err))
        }
    });
    webrtc.emit_by_name::<()>("get-stats", &[&None::<gst::Pad>, &promise]);
}

fn now_ms() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0)
}

/// Convert a `get-stats` reply: every W3C stats object, in webrtcbin's order.
pub fn convert(reply: &gst::StructureRef, ctx: &Context, ts: f64) -> Vec<Value> {
    let mut objs: Vec<StatsObject> = reply
        .iter()
        .filter_map(|(_, v)| v.get::<gst::Structure>().ok())
        .filter_map(|s| mapping::map_one(&s, ts))
        .filter(|o| !o.id.is_empty())
        .collect();
    fixups::run(&mut objs, ctx);
    objs.into_iter().map(StatsObject::into_json).collect()
}
