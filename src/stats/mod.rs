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
//!   completed. `currentRoundTripTime` is NOT a STUN measurement (libnice does not expose
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

use std::collections::{HashMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use gst::prelude::*;
use gst_webrtc::{WebRTCDTLSTransportState, WebRTCRTPTransceiver};
use serde_json::{Map, Value};

use crate::error::PcError;
use crate::events::{EventSink, NativeEvent};
use crate::in_flight::InFlight;

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
const NTP_UNIX_OFFSET_S: f64 = 2_208_988_800.0;

type Obj = Map<String, Value>;

/// What the reply does not say, read from webrtcbin's pads, transports and descriptions.
#[derive(Debug, Default, Clone)]
pub struct Context {
    /// Codec stats id (`codec-stats-<pad name>`) → what the pad tells.
    pub pads: HashMap<String, PadInfo>,
    /// Transport stats id (`transport-stats_<dtls transport name>`) → its states.
    pub transports: HashMap<String, TransportInfo>,
    /// (mid, payload type) → the fmtp parameters (after `a=fmtp:<pt> `), local description first.
    pub fmtp: HashMap<(String, u32), String>,
}

#[derive(Debug, Default, Clone)]
pub struct PadInfo {
    pub mid: Option<String>,
    /// The pad's RTP caps (`payload`, `clock-rate`, `encoding-name`, `encoding-params`).
    pub caps: Option<gst::Structure>,
}

#[derive(Debug, Default, Clone)]
pub struct TransportInfo {
    /// RTCDtlsTransportState
    pub dtls_state: &'static str,
    /// RTCIceTransportState
    pub ice_state: &'static str,
    /// RTCDtlsRole
    pub dtls_role: &'static str,
}

impl Context {
    /// Read from webrtcbin; called without any lock of ours held.
    pub fn collect(webrtc: &gst::Element) -> Self {
        let mut ctx = Context::default();
        let mut transceivers: Vec<WebRTCRTPTransceiver> = Vec::new();
        for pad in webrtc.pads() {
            let Some(t) = pad.find_property("transceiver").and_then(|_| pad.property::<Option<WebRTCRTPTransceiver>>("transceiver")) else {
                continue;
            };
            let caps = pad.current_caps().or_else(|| pad.peer().and_then(|p| p.current_caps()));
            ctx.pads.insert(
                format!("codec-stats-{}", pad.name()),
                PadInfo { mid: t.mid().map(|m| m.to_string()), caps: caps.and_then(|c| c.structure(0).map(|s| s.to_owned())) },
            );
            if !transceivers.contains(&t) {
                transceivers.push(t);
            }
        }
        for t in &transceivers {
            let Some(dtls) = t.receiver().and_then(|r| r.transport()) else { continue };
            let ice_state = dtls.transport().map(|ice| crate::ice::connection_state_name(ice.state())).unwrap_or("new");
            ctx.transports.insert(
                format!("transport-stats_{}", dtls.name()),
                TransportInfo {
                    dtls_state: dtls_state(dtls.state()),
                    ice_state,
                    dtls_role: match dtls.state() {
                        WebRTCDTLSTransportState::Connected | WebRTCDTLSTransportState::Connecting => {
                            if dtls.is_client() { "client" } else { "server" }
                        }
                        _ => "unknown",
                    },
                },
            );
        }
        for prop in ["current-local-description", "current-remote-description"] {
            let Some(desc) = webrtc.property::<Option<gst_webrtc::WebRTCSessionDescription>>(prop) else { continue };
            let sdp = desc.sdp();
            for media in sdp.medias() {
                let Some(mid) = media.attribute_val("mid") else { continue };
                for (key, value) in media.attributes().filter_map(|a| Some((a.key(), a.value()?))) {
                    if key != "fmtp" {
                        continue;
                    }
                    if let Some((pt, params)) = value.split_once(' ') {
                        if let Ok(pt) = pt.parse::<u32>() {
                            ctx.fmtp.entry((mid.to_owned(), pt)).or_insert_with(|| params.trim().to_owned());
                        }
                    }
                }
            }
        }
        ctx
    }
}

fn dtls_state(s: WebRTCDTLSTransportState) -> &'static str {
    match s {
        WebRTCDTLSTransportState::New => "new",
        WebRTCDTLSTransportState::Connecting => "connecting",
        WebRTCDTLSTransportState::Connected => "connected",
        WebRTCDTLSTransportState::Failed => "failed",
        _ => "closed",
    }
}


/// Emit webrtcbin's `get-stats` and answer `request_id` with the converted report.
/// The caller must not hold any lock of ours (webrtcbin takes its own).
pub fn request(webrtc: &gst::Element, in_flight: &InFlight, events: EventSink, request_id: u32) {
    let ctx = Context::collect(webrtc);
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

// ------------------------------------------------------------------ field access

fn uint(s: &gst::StructureRef, field: &str) -> Option<u64> {
    let v = s.value(field).ok()?;
    v.get::<u32>()
        .map(u64::from)
        .or_else(|_| v.get::<u64>())
        .ok()
        .or_else(|| v.get::<i32>().ok().and_then(|x| u64::try_from(x).ok()))
        .or_else(|| v.get::<i64>().ok().and_then(|x| u64::try_from(x).ok()))
}

fn int(s: &gst::StructureRef, field: &str) -> Option<i64> {
    let v = s.value(field).ok()?;
    v.get::<i64>()
        .or_else(|_| v.get::<i32>().map(i64::from))
        .or_else(|_| v.get::<u32>().map(i64::from))
        .ok()
        .or_else(|| v.get::<u64>().ok().and_then(|x| i64::try_from(x).ok()))
}

fn float(s: &gst::StructureRef, field: &str) -> Option<f64> {
    let v = s.value(field).ok()?;
    v.get::<f64>().ok().or_else(|| int(s, field).map(|x| x as f64))
}

fn string(s: &gst::StructureRef, field: &str) -> Option<String> {
    s.get::<Option<String>>(field).ok().flatten()
}

fn nested(s: &gst::StructureRef, field: &str) -> Option<gst::Structure> {
    s.get::<Option<gst::Structure>>(field).ok().flatten()
}

/// Copies `from` (a webrtcbin member) to `to` (its W3C name), keeping the JSON type.
struct Out<'a> {
    src: &'a gst::StructureRef,
    obj: Obj,
}

impl<'a> Out<'a> {
    fn new(src: &'a gst::StructureRef, ty: &str, ts: f64) -> Self {
        let mut obj = Obj::new();
        obj.insert("id".into(), Value::from(string(src, "id").unwrap_or_default()));
        obj.insert("type".into(), Value::from(ty));
        obj.insert("timestamp".into(), Value::from(ts));
        Out { src, obj }
    }
    fn set(&mut self, key: &str, v: impl Into<Value>) {
        self.obj.insert(key.into(), v.into());
    }
    fn uint(&mut self, from: &str, to: &str) {
        if let Some(v) = uint(self.src, from) {
            self.set(to, v);
        }
    }
    fn int(&mut self, from: &str, to: &str) {
        if let Some(v) = int(self.src, from) {
            self.set(to, v);
        }
    }
    fn float(&mut self, from: &str, to: &str) {
        if let Some(v) = float(self.src, from) {
            // -0 (webrtcbin's jitter before the first packet) would read as "-0" in JSON.
            self.set(to, if v == 0.0 { 0.0 } else { v });
        }
    }
    fn string(&mut self, from: &str, to: &str) {
        if let Some(v) = string(self.src, from).filter(|v| !v.is_empty()) {
            self.set(to, v);
        }
    }
}

fn str_of<'a>(o: &'a Obj, key: &str) -> Option<&'a str> {
    o.get(key).and_then(Value::as_str)
}

// ------------------------------------------------------------------ per type

fn map_one(s: &gst::StructureRef, ts: f64) -> Option<Obj> {
    let ty = s.name().as_str();
    let mut o = Out::new(s, ty, ts);
    match ty {
        "peer-connection" => {
            o.uint("data-channels-opened", "dataChannelsOpened");
            o.uint("data-channels-closed", "dataChannelsClosed");
        }
        "codec" => {
            o.uint("payload-type", "payloadType");
            o.string("mime-type", "mimeType");
            o.uint("clock-rate", "clockRate");
            o.uint("channels", "channels");
            if let Some(line) = string(s, "sdp-fmtp-line") {
                // webrtcbin copies the whole attribute value, "<pt> <params>".
                let line = line.trim_matches('"');
                let params = match line.split_once(' ') {
                    Some((pt, rest)) if pt.parse::<u32>().is_ok() => rest,
                    _ => line,
                };
                if !params.is_empty() {
                    o.set("sdpFmtpLine", params.to_owned());
                }
            }
            o.string("transport-id", "transportId");
        }
        "inbound-rtp" | "outbound-rtp" | "remote-inbound-rtp" | "remote-outbound-rtp" => {
            o.uint("ssrc", "ssrc");
            o.string("kind", "kind");
            o.string("transport-id", "transportId");
            o.string("codec-id", "codecId");
            let src = nested(s, "gst-rtpsource-stats");
            match ty {
                "inbound-rtp" => {
                    o.uint("packets-received", "packetsReceived");
                    o.uint("bytes-received", "bytesReceived");
                    o.float("jitter", "jitter");
                    o.int("packets-lost", "packetsLost");
                    if !o.obj.contains_key("packetsLost") {
                        if let Some(lost) = src.as_ref().and_then(|n| int(n, "packets-lost")) {
                            o.set("packetsLost", lost);
                        }
                    }
                    o.uint("packets-duplicated", "packetsDuplicated");
                    o.uint("nack-count", "nackCount");
                    o.string("remote-id", "remoteId");
                }
                "outbound-rtp" => {
                    o.uint("packets-sent", "packetsSent");
                    o.uint("bytes-sent", "bytesSent");
                    o.uint("nack-count", "nackCount");
                    o.string("remote-id", "remoteId");
                }
                "remote-inbound-rtp" => {
                    o.int("packets-lost", "packetsLost");
                    o.float("fraction-lost", "fractionLost");
                    // webrtc-stats §remote-inbound-rtp: no roundTripTime until a report block
                    // with a DLSR other than 0. A block sent before its sender had our first SR
                    // (LSR = DLSR = 0, RFC 3550 §6.4.1) makes 1.22 report a round trip of 0;
                    // so does one that would come out negative (clock skew). A real one is at
                    // least 1/65536 s (rtpsource rounds up): 0 is never a measurement.
                    let have_rb = src.as_ref().and_then(|n| n.get::<bool>("have-rb").ok()).unwrap_or(true);
                    let dlsr = src.as_ref().and_then(|n| uint(n, "rb-dlsr"));
                    if let Some(rtt) = float(s, "round-trip-time").filter(|r| have_rb && dlsr != Some(0) && *r > 0.0) {
                        o.set("roundTripTime", rtt);
                    }
                    if let Some(j) = src.as_ref().and_then(|n| uint(n, "rb-jitter")) {
                        // In RTP timestamp units until the codec clock rate is known (finish()).
                        o.set("_rbJitter", j);
                    }
                    o.string("local-id", "localId");
                }
                _ => {
                    o.uint("packets-sent", "packetsSent");
                    o.uint("bytes-sent", "bytesSent");
                    if let Some(ntp) = float(s, "remote-timestamp").filter(|t| *t > NTP_UNIX_OFFSET_S) {
                        o.set("remoteTimestamp", (ntp - NTP_UNIX_OFFSET_S) * 1000.0);
                    }
                    o.string("local-id", "localId");
                }
            }
        }
        "transport" => {
            o.string("selected-candidate-pair-id", "selectedCandidatePairId");
            o.string("local-certificate-id", "localCertificateId");
            o.string("remote-certificate-id", "remoteCertificateId");
        }
        "candidate-pair" => {
            o.string("transport-id", "transportId");
            o.string("local-candidate-id", "localCandidateId");
            o.string("remote-candidate-id", "remoteCandidateId");
        }
        "local-candidate" | "remote-candidate" => {
            o.string("transport-id", "transportId");
            o.string("address", "address");
            o.uint("port", "port");
            o.string("protocol", "protocol");
            o.string("candidate-type", "candidateType");
            o.uint("priority", "priority");
            // Kept for local candidates only, once the type is settled (finish()).
            o.string("url", "url");
            o.string("relay-protocol", "relayProtocol");
        }
        "certificate" => {
            o.string("fingerprint", "fingerprint");
            o.string("fingerprint-algorithm", "fingerprintAlgorithm");
            o.string("base64-certificate", "base64Certificate");
            o.string("issuer-certificate-id", "issuerCertificateId");
        }
        _ => return None,
    }
    Some(o.obj)
}

/// The W3C `mimeType` of an RTP encoding name: "audio/opus" as browsers write it, other
/// names as registered (PCMU, PCMA, G722, telephone-event).
fn mime_type(media: &str, encoding: &str) -> String {
    let sub = match encoding.to_ascii_lowercase().as_str() {
        "opus" => "opus".to_owned(),
        "telephone-event" => "telephone-event".to_owned(),
        _ => encoding.to_owned(),
    };
    format!("{media}/{sub}")
}

/// Convert a `get-stats` reply: every W3C stats object, in webrtcbin's order.
pub fn convert(reply: &gst::StructureRef, ctx: &Context, ts: f64) -> Vec<Value> {
    let mut objs: Vec<Obj> = reply
        .iter()
        .filter_map(|(_, v)| v.get::<gst::Structure>().ok())
        .filter_map(|s| map_one(&s, ts))
        .filter(|o| str_of(o, "id").is_some_and(|id| !id.is_empty()))
        .collect();
    finish(&mut objs, ctx);
    objs.into_iter().map(Value::Object).collect()
}

/// Cross-object derivations (see the module documentation).
fn finish(objs: &mut Vec<Obj>, ctx: &Context) {
    // RTP streams exist once they carried a packet; remote-* ones only with their local one.
    objs.retain(|o| match str_of(o, "type") {
        Some("inbound-rtp") => o.get("packetsReceived").and_then(Value::as_u64).unwrap_or(0) > 0,
        Some("outbound-rtp") => o.get("packetsSent").and_then(Value::as_u64).unwrap_or(0) > 0,
        _ => true,
    });
    let ids: HashSet<String> = objs.iter().filter_map(|o| str_of(o, "id").map(str::to_owned)).collect();
    objs.retain(|o| match str_of(o, "type") {
        Some("remote-inbound-rtp" | "remote-outbound-rtp") => str_of(o, "localId").is_some_and(|l| ids.contains(l)),
        _ => true,
    });
    let ids: HashSet<String> = objs.iter().filter_map(|o| str_of(o, "id").map(str::to_owned)).collect();
    // webrtcbin sets `remote-id` only when the remote object was built first: link both ways.
    let remote_of: HashMap<String, String> = objs
        .iter()
        .filter(|o| matches!(str_of(o, "type"), Some("remote-inbound-rtp" | "remote-outbound-rtp")))
        .filter_map(|o| Some((str_of(o, "localId")?.to_owned(), str_of(o, "id")?.to_owned())))
        .collect();
    for o in objs.iter_mut() {
        for key in ["remoteId", "localId"] {
            if str_of(o, key).is_some_and(|r| !ids.contains(r)) {
                o.remove(key);
            }
        }
        if matches!(str_of(o, "type"), Some("inbound-rtp" | "outbound-rtp")) && !o.contains_key("remoteId") {
            if let Some(remote) = str_of(o, "id").and_then(|id| remote_of.get(id)) {
                o.insert("remoteId".into(), Value::from(remote.clone()));
            }
        }
    }

    // Candidate types: 1.22 swaps local and remote; the pairs' ids are right.
    let mut candidate_type: HashMap<String, &'static str> = HashMap::new();
    for o in objs.iter().filter(|o| str_of(o, "type") == Some("candidate-pair")) {
        for (key, ty) in [("localCandidateId", "local-candidate"), ("remoteCandidateId", "remote-candidate")] {
            if let Some(c) = str_of(o, key) {
                candidate_type.insert(c.to_owned(), ty);
            }
        }
    }
    for o in objs.iter_mut().filter(|o| matches!(str_of(o, "type"), Some("local-candidate" | "remote-candidate"))) {
        let id = str_of(o, "id").unwrap_or_default();
        let ty = candidate_type.get(id).copied().or(if id.starts_with("ice-candidate-local") {
            Some("local-candidate")
        } else if id.starts_with("ice-candidate-remote") {
            Some("remote-candidate")
        } else {
            None
        });
        if let Some(ty) = ty {
            o.insert("type".into(), Value::from(ty));
        }
        if str_of(o, "type") == Some("remote-candidate") {
            o.remove("url");
            o.remove("relayProtocol");
        }
    }

    let by_id: HashMap<String, Obj> = objs.iter().map(|o| (str_of(o, "id").unwrap_or_default().to_owned(), o.clone())).collect();
    let rtp_types = ["inbound-rtp", "outbound-rtp", "remote-inbound-rtp", "remote-outbound-rtp"];
    // Codec → the transport of the streams using it; codecs in use.
    let mut codec_transport: HashMap<String, String> = HashMap::new();
    for o in objs.iter().filter(|o| str_of(o, "type").is_some_and(|t| rtp_types.contains(&t))) {
        if let (Some(c), Some(t)) = (str_of(o, "codecId"), str_of(o, "transportId")) {
            codec_transport.entry(c.to_owned()).or_insert_with(|| t.to_owned());
        }
    }
    objs.retain(|o| str_of(o, "type") != Some("codec") || str_of(o, "id").is_some_and(|id| codec_transport.contains_key(id)));

    // Transport → its selected pair, and the latest RTCP round-trip time on it.
    let mut pair_transport: HashMap<String, String> = HashMap::new();
    for o in objs.iter().filter(|o| str_of(o, "type") == Some("transport")) {
        if let (Some(p), Some(t)) = (str_of(o, "selectedCandidatePairId"), str_of(o, "id")) {
            pair_transport.insert(p.to_owned(), t.to_owned());
        }
    }
    let mut rtt: HashMap<String, f64> = HashMap::new();
    for o in objs.iter().filter(|o| str_of(o, "type") == Some("remote-inbound-rtp")) {
        if let (Some(t), Some(r)) = (str_of(o, "transportId"), o.get("roundTripTime").and_then(Value::as_f64)) {
            rtt.insert(t.to_owned(), r);
        }
    }

    for o in objs.iter_mut() {
        let ty = str_of(o, "type").unwrap_or_default().to_owned();
        let id = str_of(o, "id").unwrap_or_default().to_owned();
        match ty.as_str() {
            "codec" => {
                if let (None, Some(t)) = (o.get("transportId"), codec_transport.get(&id)) {
                    o.insert("transportId".into(), Value::from(t.clone()));
                }
                fill_codec(o, ctx.pads.get(&id), ctx);
            }
            "inbound-rtp" | "outbound-rtp" => {
                if let Some(mid) = str_of(o, "codecId").and_then(|c| ctx.pads.get(c)).and_then(|p| p.mid.clone()) {
                    o.insert("mid".into(), Value::from(mid));
                }
            }
            "remote-inbound-rtp" => {
                let clock = str_of(o, "codecId").and_then(|c| by_id.get(c)).and_then(|c| c.get("clockRate")).and_then(Value::as_f64).or_else(|| {
                    let c = str_of(o, "codecId")?;
                    ctx.pads.get(c)?.caps.as_ref().and_then(|s| float(s, "clock-rate"))
                });
                if let Some(j) = o.remove("_rbJitter").and_then(|j| j.as_f64()) {
                    if let Some(clock) = clock.filter(|c| *c > 0.0) {
                        o.insert("jitter".into(), Value::from(j / clock));
                    }
                }
            }
            "remote-outbound-rtp" => {
                let kind = str_of(o, "localId").and_then(|l| by_id.get(l)).and_then(|l| str_of(l, "kind")).map(str::to_owned);
                if let (None, Some(kind)) = (o.get("kind"), kind) {
                    o.insert("kind".into(), Value::from(kind));
                }
            }
            "transport" => {
                if let Some(info) = ctx.transports.get(&id) {
                    o.insert("dtlsState".into(), Value::from(info.dtls_state));
                    o.insert("iceState".into(), Value::from(info.ice_state));
                    o.insert("dtlsRole".into(), Value::from(info.dtls_role));
                }
            }
            "candidate-pair" => {
                let transport = str_of(o, "transportId").map(str::to_owned).or_else(|| pair_transport.get(&id).cloned());
                if let Some(t) = &transport {
                    o.insert("transportId".into(), Value::from(t.clone()));
                }
                let selected = pair_transport.contains_key(&id);
                let ice = transport.as_ref().and_then(|t| ctx.transports.get(t)).map(|i| i.ice_state);
                let state = match ice {
                    _ if !selected => "in-progress",
                    Some("connected" | "completed" | "disconnected") => "succeeded",
                    Some("failed") => "failed",
                    _ => "in-progress",
                };
                o.insert("state".into(), Value::from(state));
                o.insert("nominated".into(), Value::from(selected));
                if let Some(r) = transport.as_ref().and_then(|t| rtt.get(t)) {
                    o.insert("currentRoundTripTime".into(), Value::from(*r));
                }
            }
            _ => {}
        }
    }
}

/// Receive-side codecs come empty from 1.22: fill them from the pad caps and the SDP.
fn fill_codec(o: &mut Obj, pad: Option<&PadInfo>, ctx: &Context) {
    let caps = pad.and_then(|p| p.caps.as_ref());
    if let Some(caps) = caps {
        if !o.contains_key("payloadType") {
            if let Some(pt) = uint(caps, "payload") {
                o.insert("payloadType".into(), Value::from(pt));
            }
        }
        if !o.contains_key("clockRate") {
            if let Some(rate) = uint(caps, "clock-rate") {
                o.insert("clockRate".into(), Value::from(rate));
            }
        }
        if !o.contains_key("channels") {
            let channels = string(caps, "encoding-params").and_then(|p| p.parse::<u64>().ok()).or_else(|| uint(caps, "encoding-params"));
            if let Some(ch) = channels {
                o.insert("channels".into(), Value::from(ch));
            }
        }
        if !o.contains_key("mimeType") {
            if let Some(enc) = string(caps, "encoding-name") {
                let media = string(caps, "media").unwrap_or_else(|| "audio".to_owned());
                o.insert("mimeType".into(), Value::from(mime_type(&media, &enc)));
            }
        }
    }
    // Normalise webrtcbin's "audio/OPUS" too.
    if let Some(m) = str_of(o, "mimeType").and_then(|m| m.split_once('/')).map(|(media, enc)| mime_type(media, enc)) {
        o.insert("mimeType".into(), Value::from(m));
    }
    if !o.contains_key("sdpFmtpLine") {
        let mid = pad.and_then(|p| p.mid.clone());
        let pt = o.get("payloadType").and_then(Value::as_u64);
        if let (Some(mid), Some(pt)) = (mid, pt) {
            if let Some(line) = ctx.fmtp.get(&(mid, pt as u32)) {
                o.insert("sdpFmtpLine".into(), Value::from(line.clone()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn init() {
        gst::init().unwrap();
    }

    fn rtpsource(fields: &[(&str, gst::glib::SendValue)]) -> gst::Structure {
        let mut s = gst::Structure::new_empty("application/x-rtp-source-stats");
        for (k, v) in fields {
            s.set_value(*k, v.clone());
        }
        s
    }

    /// A reply shaped like webrtcbin 1.22's for a connection that sends and receives Opus.
    fn reply() -> gst::Structure {
        let ts = 1234.5f64;
        let tr = "transport-stats_webrtcdtlstransport0";
        let objs = vec![
            gst::Structure::builder("peer-connection")
                .field("data-channels-opened", 0u32)
                .field("data-channels-closed", 0u32)
                .field("timestamp", ts)
                .field("id", "peer-connection-stats")
                .build(),
            gst::Structure::builder("codec")
                .field("timestamp", ts)
                .field("id", "codec-stats-sink_0")
                .field("payload-type", 111u32)
                .field("clock-rate", 48000u32)
                .field("ssrc", 1u32)
                .field("mime-type", "audio/OPUS")
                .field("channels", 2u32)
                .field("codec-type", "encode")
                .field("sdp-fmtp-line", "111 minptime=10;useinbandfec=1")
                .build(),
            gst::Structure::builder("codec").field("timestamp", ts).field("id", "codec-stats-src_0").build(),
            gst::Structure::builder("codec").field("timestamp", ts).field("id", "codec-stats-sink_9").build(),
            // 1.22 types our own candidate "remote-candidate" and vice versa.
            gst::Structure::builder("remote-candidate")
                .field("id", "ice-candidate-local_1_127.0.0.1_5000")
                .field("timestamp", ts)
                .field("transport-id", tr)
                .field("address", "127.0.0.1")
                .field("port", 5000u32)
                .field("candidate-type", "host")
                .field("priority", 2015364095u32)
                .field("protocol", "udp")
                .field("url", "stun://stun.example.org:3478")
                .build(),
            gst::Structure::builder("local-candidate")
                .field("id", "ice-candidate-remote_1_127.0.0.1_6000")
                .field("timestamp", ts)
                .field("transport-id", tr)
                .field("address", "127.0.0.1")
                .field("port", 6000u32)
                .field("candidate-type", "host")
                .field("priority", 2015364095u32)
                .field("protocol", "udp")
                .field("url", "")
                .build(),
            gst::Structure::builder("candidate-pair")
                .field("id", "ice-candidate-pair_webrtcnicetransport0")
                .field("timestamp", ts)
                .field("local-candidate-id", "ice-candidate-local_1_127.0.0.1_5000")
                .field("remote-candidate-id", "ice-candidate-remote_1_127.0.0.1_6000")
                .build(),
            gst::Structure::builder("transport")
                .field("id", tr)
                .field("timestamp", ts)
                .field("selected-candidate-pair-id", "ice-candidate-pair_webrtcnicetransport0")
                .build(),
            gst::Structure::builder("outbound-rtp")
                .field("id", "rtp-outbound-stream-stats_1")
                .field("timestamp", ts)
                .field("ssrc", 1u32)
                .field("codec-id", "codec-stats-sink_0")
                .field("transport-id", tr)
                .field("kind", "audio")
                .field("bytes-sent", 12718u64)
                .field("packets-sent", 78u64)
                // No remote-id: 1.22 omits it when the outbound stream is built first.
                .build(),
            gst::Structure::builder("remote-inbound-rtp")
                .field("id", "rtp-remote-inbound-stream-stats_1")
                .field("timestamp", ts)
                .field("local-id", "rtp-outbound-stream-stats_1")
                .field("ssrc", 1u32)
                .field("codec-id", "codec-stats-sink_0")
                .field("transport-id", tr)
                .field("kind", "audio")
                .field("packets-lost", -1i64)
                .field("fraction-lost", 0f64)
                .field("round-trip-time", 0.004f64)
                .field("gst-rtpsource-stats", rtpsource(&[("have-rb", true.to_send_value()), ("rb-jitter", 96u32.to_send_value()), ("rb-dlsr", 6554u32.to_send_value())]))
                .build(),
            gst::Structure::builder("inbound-rtp")
                .field("id", "rtp-inbound-stream-stats_2")
                .field("timestamp", ts)
                .field("ssrc", 2u32)
                .field("codec-id", "codec-stats-src_0")
                .field("transport-id", tr)
                .field("kind", "audio")
                .field("packets-received", 80u64)
                .field("jitter", 8.3e-5f64)
                .field("bytes-received", 13000u64)
                .field("remote-id", "rtp-remote-outbound-stream-stats_2")
                .field("gst-rtpsource-stats", rtpsource(&[("packets-lost", 3i32.to_send_value())]))
                .build(),
            gst::Structure::builder("remote-outbound-rtp")
                .field("id", "rtp-remote-outbound-stream-stats_2")
                .field("timestamp", ts)
                .field("ssrc", 2u32)
                .field("codec-id", "codec-stats-src_0")
                .field("transport-id", tr)
                .field("bytes-sent", 7727u32)
                .field("packets-sent", 47u32)
                .field("remote-timestamp", NTP_UNIX_OFFSET_S + 1000.5)
                .field("local-id", "rtp-inbound-stream-stats_2")
                .build(),
            // An RTCP-only source: no packet yet, so no stats object (nor its remote one).
            gst::Structure::builder("inbound-rtp")
                .field("id", "rtp-inbound-stream-stats_3")
                .field("timestamp", ts)
                .field("ssrc", 3u32)
                .field("codec-id", "codec-stats-sink_9")
                .field("transport-id", tr)
                .field("kind", "audio")
                .field("packets-received", 0u64)
                .field("jitter", -0.0f64)
                .build(),
            gst::Structure::builder("remote-outbound-rtp")
                .field("id", "rtp-remote-outbound-stream-stats_3")
                .field("timestamp", ts)
                .field("local-id", "rtp-inbound-stream-stats_3")
                .build(),
        ];
        let mut reply = gst::Structure::new_empty("application/x-webrtc-stats");
        for s in objs {
            let id = s.get::<String>("id").unwrap();
            reply.set(id.as_str(), s);
        }
        reply
    }

    fn context() -> Context {
        let caps = gst::Structure::builder("application/x-rtp")
            .field("media", "audio")
            .field("payload", 111i32)
            .field("clock-rate", 48000i32)
            .field("encoding-name", "OPUS")
            .field("encoding-params", "2")
            .build();
        let mut ctx = Context::default();
        ctx.pads.insert("codec-stats-src_0".into(), PadInfo { mid: Some("audio0".into()), caps: Some(caps) });
        ctx.pads.insert("codec-stats-sink_0".into(), PadInfo { mid: Some("audio0".into()), caps: None });
        ctx.transports.insert(
            "transport-stats_webrtcdtlstransport0".into(),
            TransportInfo { dtls_state: "connected", ice_state: "connected", dtls_role: "client" },
        );
        ctx.fmtp.insert(("audio0".into(), 111), "minptime=10;useinbandfec=1".into());
        ctx
    }

    fn by_id(stats: &[Value]) -> HashMap<String, Value> {
        stats.iter().map(|v| (v["id"].as_str().unwrap().to_owned(), v.clone())).collect()
    }

    #[test]
    fn every_object_has_id_type_timestamp() {
        init();
        let stats = convert(&reply(), &context(), 1.7e12);
        assert!(!stats.is_empty());
        for s in &stats {
            assert!(s["id"].is_string(), "{s}");
            assert!(s["type"].is_string(), "{s}");
            assert_eq!(s["timestamp"].as_f64(), Some(1.7e12));
        }
        let types: HashSet<&str> = stats.iter().map(|s| s["type"].as_str().unwrap()).collect();
        for t in [
            "peer-connection",
            "codec",
            "local-candidate",
            "remote-candidate",
            "candidate-pair",
            "transport",
            "inbound-rtp",
            "outbound-rtp",
            "remote-inbound-rtp",
            "remote-outbound-rtp",
        ] {
            assert!(types.contains(t), "missing {t}");
        }
    }

    #[test]
    fn rtp_streams() {
        init();
        let s = by_id(&convert(&reply(), &context(), 1.0));
        let inbound = &s["rtp-inbound-stream-stats_2"];
        assert_eq!(inbound["ssrc"], 2);
        assert_eq!(inbound["kind"], "audio");
        assert_eq!(inbound["mid"], "audio0");
        assert_eq!(inbound["packetsReceived"], 80);
        assert_eq!(inbound["bytesReceived"], 13000);
        assert_eq!(inbound["packetsLost"], 3);
        assert_eq!(inbound["jitter"].as_f64(), Some(8.3e-5));
        assert_eq!(inbound["codecId"], "codec-stats-src_0");
        assert_eq!(inbound["remoteId"], "rtp-remote-outbound-stream-stats_2");
        let outbound = &s["rtp-outbound-stream-stats_1"];
        assert_eq!(outbound["packetsSent"], 78);
        assert_eq!(outbound["remoteId"], "rtp-remote-inbound-stream-stats_1");
        assert_eq!(outbound["bytesSent"], 12718);
        assert_eq!(outbound["mid"], "audio0");
        let rin = &s["rtp-remote-inbound-stream-stats_1"];
        assert_eq!(rin["roundTripTime"].as_f64(), Some(0.004));
        assert_eq!(rin["packetsLost"], -1);
        assert_eq!(rin["jitter"].as_f64(), Some(96.0 / 48000.0));
        assert!(rin.get("_rbJitter").is_none());
        let rout = &s["rtp-remote-outbound-stream-stats_2"];
        assert_eq!(rout["kind"], "audio");
        assert_eq!(rout["packetsSent"], 47);
        assert_eq!(rout["remoteTimestamp"].as_f64(), Some(1_000_500.0));
        // Streams without a packet and their remote counterparts are left out.
        assert!(!s.contains_key("rtp-inbound-stream-stats_3"));
        assert!(!s.contains_key("rtp-remote-outbound-stream-stats_3"));
    }

    #[test]
    fn codecs_are_completed_and_unused_ones_dropped() {
        init();
        let s = by_id(&convert(&reply(), &context(), 1.0));
        for id in ["codec-stats-sink_0", "codec-stats-src_0"] {
            let c = &s[id];
            assert_eq!(c["payloadType"], 111, "{id}");
            assert_eq!(c["mimeType"], "audio/opus", "{id}");
            assert_eq!(c["clockRate"], 48000, "{id}");
            assert_eq!(c["channels"], 2, "{id}");
            assert_eq!(c["sdpFmtpLine"], "minptime=10;useinbandfec=1", "{id}");
            assert_eq!(c["transportId"], "transport-stats_webrtcdtlstransport0", "{id}");
        }
        assert!(!s.contains_key("codec-stats-sink_9"));
    }

    #[test]
    fn ice_objects() {
        init();
        let s = by_id(&convert(&reply(), &context(), 1.0));
        let pair = &s["ice-candidate-pair_webrtcnicetransport0"];
        assert_eq!(pair["localCandidateId"], "ice-candidate-local_1_127.0.0.1_5000");
        assert_eq!(pair["remoteCandidateId"], "ice-candidate-remote_1_127.0.0.1_6000");
        assert_eq!(pair["transportId"], "transport-stats_webrtcdtlstransport0");
        assert_eq!(pair["nominated"], true);
        assert_eq!(pair["state"], "succeeded");
        assert_eq!(pair["currentRoundTripTime"].as_f64(), Some(0.004));
        // The types come swapped from 1.22; the ids (and the pair's references) are right.
        let local = &s["ice-candidate-local_1_127.0.0.1_5000"];
        assert_eq!(local["type"], "local-candidate");
        assert_eq!(local["address"], "127.0.0.1");
        assert_eq!(local["port"], 5000);
        assert_eq!(local["url"], "stun://stun.example.org:3478");
        let remote = &s["ice-candidate-remote_1_127.0.0.1_6000"];
        assert_eq!(remote["type"], "remote-candidate");
        assert_eq!(remote["port"], 6000);
        assert!(remote.get("url").is_none());
        assert_eq!(local["protocol"], "udp");
        assert_eq!(local["candidateType"], "host");
        assert_eq!(local["priority"], 2015364095u32);
        let transport = &s["transport-stats_webrtcdtlstransport0"];
        assert_eq!(transport["selectedCandidatePairId"], "ice-candidate-pair_webrtcnicetransport0");
        assert_eq!(transport["dtlsState"], "connected");
        assert_eq!(transport["iceState"], "connected");
        assert_eq!(transport["dtlsRole"], "client");
        assert_eq!(s["peer-connection-stats"]["dataChannelsOpened"], 0);
    }

    #[test]
    fn no_rtt_before_one_is_measured() {
        init();
        // A report sent before its sender had our first SR (LSR = DLSR = 0; with a non-zero
        // round trip, to check the DLSR test alone), and one whose round trip came out 0.
        for (rtt, lsr, dlsr) in [(0.004f64, 0u32, 0u32), (0.0, 0x1234_5678, 6554)] {
            let mut r = reply();
            let mut rin = r.get::<gst::Structure>("rtp-remote-inbound-stream-stats_1").unwrap();
            rin.set("round-trip-time", rtt);
            rin.set("gst-rtpsource-stats", rtpsource(&[("have-rb", true.to_send_value()), ("rb-lsr", lsr.to_send_value()), ("rb-dlsr", dlsr.to_send_value())]));
            r.set("rtp-remote-inbound-stream-stats_1", rin);
            let s = by_id(&convert(&r, &context(), 1.0));
            let rin = &s["rtp-remote-inbound-stream-stats_1"];
            assert!(rin.get("roundTripTime").is_none(), "{rtt} {dlsr}");
            assert_eq!(rin["localId"], "rtp-outbound-stream-stats_1");
            assert!(s["ice-candidate-pair_webrtcnicetransport0"].get("currentRoundTripTime").is_none(), "{rtt} {dlsr}");
        }
    }

    #[test]
    fn no_rtt_without_remote_inbound() {
        init();
        let mut r = reply();
        r.remove_field("rtp-remote-inbound-stream-stats_1");
        let s = by_id(&convert(&r, &context(), 1.0));
        let pair = &s["ice-candidate-pair_webrtcnicetransport0"];
        assert!(pair.get("currentRoundTripTime").is_none());
        assert!(s["rtp-outbound-stream-stats_1"].get("remoteId").is_none());
    }
}
