//! getStats() of a plain-RTP session (webrtc-stats): per m-line, the `transport` (what the
//! sockets took and dropped, the SRTP suite), the negotiated `codec`s, and from rtpbin's
//! session (`get-internal-session` → `stats` → `source-stats`, one structure per SSRC,
//! `rtpsource.c`): `outbound-rtp` for our SSRC, `inbound-rtp` for the peer's, and
//! `remote-inbound-rtp` from the report block the peer's RTCP gave about our stream.

use serde_json::{json, Value};

use gst::prelude::*;

use crate::media::codec;

/// What one m-line contributes, with the ids its objects take.
pub struct Line<'a> {
    pub session: u32,
    pub transport: Value,
    /// The description the peer sends by (its payload types) and ours.
    pub answer: Option<(&'a gst_sdp::SDPMessageRef, u32)>,
    pub rtpbin: &'a gst::Element,
    pub ours: Option<u32>,
}

fn source_stats(rtpbin: &gst::Element, session: u32) -> Vec<gst::Structure> {
    let Some(internal) = rtpbin.emit_by_name::<Option<gst::glib::Object>>("get-internal-session", &[&session]) else { return Vec::new() };
    let Some(stats) = internal.property::<Option<gst::Structure>>("stats") else { return Vec::new() };
    let Ok(list) = stats.get::<gst::glib::ValueArray>("source-stats") else { return Vec::new() };
    list.iter().filter_map(|v| v.get::<gst::Structure>().ok()).collect()
}

fn u64_of(s: &gst::StructureRef, key: &str) -> u64 {
    s.get::<u64>(key).or_else(|_| s.get::<u32>(key).map(u64::from)).or_else(|_| s.get::<i32>(key).map(|v| v.max(0) as u64)).unwrap_or(0)
}

/// The webrtc-stats objects of one m-line, at `now` (ms since the epoch).
pub fn objects(line: &Line, now: f64) -> Vec<Value> {
    let mut out = vec![line.transport.clone()];
    let transport_id = format!("T{}", line.session);
    let Some((answer, mline)) = line.answer else { return out };
    let Some((c, pt)) = codec::negotiated(answer, mline) else { return out };
    let codec_id = format!("C{}-{pt}", line.session);
    out.push(json!({
        "id": codec_id, "type": "codec", "timestamp": now, "transportId": transport_id,
        "payloadType": pt, "mimeType": c.mime_type(), "clockRate": c.clock_rate,
        "channels": c.channels, "sdpFmtpLine": c.sdp_fmtp_line(),
    }));
    for s in source_stats(line.rtpbin, line.session) {
        let ssrc = u64_of(&s, "ssrc") as u32;
        let internal = s.get::<bool>("internal").unwrap_or(false);
        if internal {
            if Some(ssrc) != line.ours {
                continue;
            }
            let id = format!("OT{}-{ssrc}", line.session);
            out.push(json!({
                "id": id, "type": "outbound-rtp", "timestamp": now, "ssrc": ssrc, "kind": "audio",
                "transportId": transport_id, "codecId": codec_id,
                "packetsSent": u64_of(&s, "packets-sent"), "bytesSent": u64_of(&s, "octets-sent"),
            }));
            continue;
        }
        // The peer's report block about our stream (RFC 3550 §6.4.2) is kept with the peer's
        // source, naming our SSRC.
        if let (true, Some(ours)) = (s.get::<bool>("have-rb").unwrap_or(false), line.ours) {
            if u64_of(&s, "rb-ssrc") as u32 == ours {
                let round_trip = u64_of(&s, "rb-round-trip") as f64 / 65536.0;
                let mut rb = json!({
                    "id": format!("RI{}-{ours}", line.session), "type": "remote-inbound-rtp", "timestamp": now,
                    "ssrc": ours, "kind": "audio", "transportId": transport_id, "codecId": codec_id,
                    "localId": format!("OT{}-{ours}", line.session),
                    "packetsLost": s.get::<i32>("rb-packetslost").unwrap_or(0),
                    "fractionLost": u64_of(&s, "rb-fractionlost") as f64 / 256.0,
                    "jitter": u64_of(&s, "rb-jitter") as f64 / f64::from(c.clock_rate),
                });
                // No round trip before the peer echoed one of our sender reports (LSR 0).
                if round_trip > 0.0 {
                    rb["roundTripTime"] = json!(round_trip);
                }
                out.push(rb);
            }
        }
        if u64_of(&s, "packets-received") > 0 {
            out.push(json!({
                "id": format!("IT{}-{ssrc}", line.session), "type": "inbound-rtp", "timestamp": now,
                "ssrc": ssrc, "kind": "audio", "transportId": transport_id, "codecId": codec_id,
                "packetsReceived": u64_of(&s, "packets-received"), "bytesReceived": u64_of(&s, "octets-received"),
                "packetsLost": s.get::<i32>("packets-lost").unwrap_or(0),
                "jitter": u64_of(&s, "jitter") as f64 / f64::from(c.clock_rate),
            }));
        }
    }
    out
}
