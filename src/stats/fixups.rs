//! The derivations that need other objects of the reply, or the [`Context`]: a function per
//! rule, run in order by [`run`] once every object is mapped.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::context::{Context, PadInfo};
use super::fields::{float, string, uint};
use super::object::StatsObject;
use super::stats_type::StatsType;

/// The order matters where a rule reads what another one drops or adds (noted at each).
pub fn run(objs: &mut Vec<StatsObject>, ctx: &Context) {
    drop_streams_without_packets(objs);
    drop_unpaired_remote(objs);
    drop_dangling_links(objs);
    link_remote_ids(objs);
    settle_candidate_types(objs);
    drop_remote_candidate_urls(objs);
    rb_jitter_to_seconds(objs, ctx);
    remote_outbound_kind(objs);
    drop_unused_codecs(objs);
    complete_codecs(objs, ctx);
    stream_mids(objs, ctx);
    transport_states(objs, ctx);
    selected_pair_state(objs, ctx);
    pair_round_trip_time(objs);
}

/// webrtcbin lists every RTCP-only source as a stream; a browser reports none before its first packet.
fn drop_streams_without_packets(objs: &mut Vec<StatsObject>) {
    let packets = |o: &StatsObject, key: &str| o.members.get(key).and_then(Value::as_u64).unwrap_or(0);
    objs.retain(|o| match o.ty {
        StatsType::InboundRtp => packets(o, "packetsReceived") > 0,
        StatsType::OutboundRtp => packets(o, "packetsSent") > 0,
        _ => true,
    });
}

/// A remote-* object describes one of our streams: without that stream (dropped above) it has no subject.
fn drop_unpaired_remote(objs: &mut Vec<StatsObject>) {
    let ids = ids(objs);
    objs.retain(|o| !o.ty.is_remote_rtp() || o.str("localId").is_some_and(|l| ids.contains(l)));
}

/// A `remoteId`/`localId` must name an object of the report; the ones above are gone.
fn drop_dangling_links(objs: &mut [StatsObject]) {
    let ids = ids(objs);
    for o in objs.iter_mut() {
        for key in ["remoteId", "localId"] {
            if o.str(key).is_some_and(|r| !ids.contains(r)) {
                o.members.remove(key);
            }
        }
    }
}

/// webrtcbin sets `remote-id` only when the remote object was built first: link both ways.
fn link_remote_ids(objs: &mut [StatsObject]) {
    let remote_of: HashMap<String, String> =
        objs.iter().filter(|o| o.ty.is_remote_rtp()).filter_map(|o| Some((o.str("localId")?.to_owned(), o.id.clone()))).collect();
    for o in objs.iter_mut().filter(|o| o.ty.is_local_rtp() && !o.members.contains_key("remoteId")) {
        if let Some(remote) = remote_of.get(&o.id) {
            o.set("remoteId", remote.clone());
        }
    }
}

/// 1.22 swaps the local and remote candidate types; the pairs' ids (and the id prefixes) are right.
fn settle_candidate_types(objs: &mut [StatsObject]) {
    let mut candidate_type: HashMap<String, StatsType> = HashMap::new();
    for o in objs.iter().filter(|o| o.ty == StatsType::CandidatePair) {
        for (key, ty) in [("localCandidateId", StatsType::LocalCandidate), ("remoteCandidateId", StatsType::RemoteCandidate)] {
            if let Some(c) = o.str(key) {
                candidate_type.insert(c.to_owned(), ty);
            }
        }
    }
    for o in objs.iter_mut().filter(|o| o.ty.is_candidate()) {
        let by_prefix = if o.id.starts_with("ice-candidate-local") {
            Some(StatsType::LocalCandidate)
        } else if o.id.starts_with("ice-candidate-remote") {
            Some(StatsType::RemoteCandidate)
        } else {
            None
        };
        if let Some(ty) = candidate_type.get(&o.id).copied().or(by_prefix) {
            o.ty = ty;
        }
    }
}

/// webrtc-stats gives `url` and `relayProtocol` to local candidates only (needs the settled types).
fn drop_remote_candidate_urls(objs: &mut [StatsObject]) {
    for o in objs.iter_mut().filter(|o| o.ty == StatsType::RemoteCandidate) {
        o.members.remove("url");
        o.members.remove("relayProtocol");
    }
}

/// The report block's jitter is in RTP timestamp units; W3C `jitter` is in seconds. Runs before
/// the codecs are completed or dropped, so it reads the clock rate webrtcbin gave, else the pad's.
fn rb_jitter_to_seconds(objs: &mut [StatsObject], ctx: &Context) {
    let clock_rate: HashMap<String, Option<f64>> =
        objs.iter().map(|o| (o.id.clone(), o.members.get("clockRate").and_then(Value::as_f64))).collect();
    for o in objs.iter_mut().filter(|o| o.ty == StatsType::RemoteInboundRtp) {
        let clock = o.str("codecId").and_then(|c| clock_rate.get(c)).copied().flatten().or_else(|| {
            let c = o.str("codecId")?;
            ctx.pads.get(c)?.caps.as_ref().and_then(|s| float(s, "clock-rate"))
        });
        if let Some(j) = o.rb_jitter.take() {
            if let Some(clock) = clock.filter(|c| *c > 0.0) {
                o.set("jitter", j as f64 / clock);
            }
        }
    }
}

/// webrtcbin may leave out a remote-outbound-rtp's `kind`; it is that of the stream it reports on.
fn remote_outbound_kind(objs: &mut [StatsObject]) {
    let kind: HashMap<String, Option<String>> = objs.iter().map(|o| (o.id.clone(), o.str("kind").map(str::to_owned))).collect();
    for o in objs.iter_mut().filter(|o| o.ty == StatsType::RemoteOutboundRtp && !o.members.contains_key("kind")) {
        if let Some(k) = o.str("localId").and_then(|l| kind.get(l)).cloned().flatten() {
            o.set("kind", k);
        }
    }
}

/// Codec id → the transport of the first RTP stream (with one) that uses the codec.
fn codec_transports(objs: &[StatsObject]) -> HashMap<String, String> {
    let mut codec_transport: HashMap<String, String> = HashMap::new();
    for o in objs.iter().filter(|o| o.ty.is_rtp_stream()) {
        if let (Some(c), Some(t)) = (o.str("codecId"), o.str("transportId")) {
            codec_transport.entry(c.to_owned()).or_insert_with(|| t.to_owned());
        }
    }
    codec_transport
}

/// webrtc-stats §3.6 lifetime: a codec is reported while an RTP stream on a transport uses it.
fn drop_unused_codecs(objs: &mut Vec<StatsObject>) {
    let used = codec_transports(objs);
    objs.retain(|o| o.ty != StatsType::Codec || used.contains_key(&o.id));
}

/// Receive-side codecs come empty from 1.22; a codec's transport is that of the streams using it.
fn complete_codecs(objs: &mut [StatsObject], ctx: &Context) {
    let codec_transport = codec_transports(objs);
    for o in objs.iter_mut().filter(|o| o.ty == StatsType::Codec) {
        if let (None, Some(t)) = (o.members.get("transportId"), codec_transport.get(&o.id)) {
            o.set("transportId", t.clone());
        }
        let pad = ctx.pads.get(&o.id);
        fill_codec(o, pad, ctx);
    }
}

/// Fill a codec from the pad caps and the SDP, for what webrtcbin left out.
fn fill_codec(o: &mut StatsObject, pad: Option<&PadInfo>, ctx: &Context) {
    let caps = pad.and_then(|p| p.caps.as_ref());
    if let Some(caps) = caps {
        if !o.members.contains_key("payloadType") {
            if let Some(pt) = uint(caps, "payload") {
                o.set("payloadType", pt);
            }
        }
        if !o.members.contains_key("clockRate") {
            if let Some(rate) = uint(caps, "clock-rate") {
                o.set("clockRate", rate);
            }
        }
        if !o.members.contains_key("channels") {
            let channels = string(caps, "encoding-params").and_then(|p| p.parse::<u64>().ok()).or_else(|| uint(caps, "encoding-params"));
            if let Some(ch) = channels {
                o.set("channels", ch);
            }
        }
        if !o.members.contains_key("mimeType") {
            if let Some(enc) = string(caps, "encoding-name") {
                let media = string(caps, "media").unwrap_or_else(|| "audio".to_owned());
                o.set("mimeType", mime_type(&media, &enc));
            }
        }
    }
    // Normalise webrtcbin's "audio/OPUS" too.
    if let Some(m) = o.str("mimeType").and_then(|m| m.split_once('/')).map(|(media, enc)| mime_type(media, enc)) {
        o.set("mimeType", m);
    }
    if !o.members.contains_key("sdpFmtpLine") {
        let mid = pad.and_then(|p| p.mid.clone());
        let pt = o.members.get("payloadType").and_then(Value::as_u64);
        if let (Some(mid), Some(pt)) = (mid, pt) {
            if let Some(line) = ctx.fmtp.get(&(mid, pt as u32)) {
                o.set("sdpFmtpLine", line.clone());
            }
        }
    }
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

/// webrtcbin's RTP streams carry no `mid`; it is the transceiver's of the pad the codec id names.
fn stream_mids(objs: &mut [StatsObject], ctx: &Context) {
    for o in objs.iter_mut().filter(|o| o.ty.is_local_rtp()) {
        if let Some(mid) = o.str("codecId").and_then(|c| ctx.pads.get(c)).and_then(|p| p.mid.clone()) {
            o.set("mid", mid);
        }
    }
}

/// webrtcbin's transport object has no states; they are read from its DTLS transport.
fn transport_states(objs: &mut [StatsObject], ctx: &Context) {
    for o in objs.iter_mut().filter(|o| o.ty == StatsType::Transport) {
        if let Some(info) = ctx.transports.get(&o.id) {
            o.set("dtlsState", info.dtls_state);
            o.set("iceState", info.ice_state);
            o.set("dtlsRole", info.dtls_role);
        }
    }
}

/// webrtcbin gives the selected pair only its candidate ids: the transport that selected it
/// nominated it, and its checks succeeded once that transport's ICE connected.
fn selected_pair_state(objs: &mut [StatsObject], ctx: &Context) {
    let mut pair_transport: HashMap<String, String> = HashMap::new();
    for o in objs.iter().filter(|o| o.ty == StatsType::Transport) {
        if let Some(p) = o.str("selectedCandidatePairId") {
            pair_transport.insert(p.to_owned(), o.id.clone());
        }
    }
    for o in objs.iter_mut().filter(|o| o.ty == StatsType::CandidatePair) {
        let transport = o.str("transportId").map(str::to_owned).or_else(|| pair_transport.get(&o.id).cloned());
        if let Some(t) = &transport {
            o.set("transportId", t.clone());
        }
        let selected = pair_transport.contains_key(&o.id);
        let ice = transport.as_ref().and_then(|t| ctx.transports.get(t)).map(|i| i.ice_state);
        let state = match ice {
            _ if !selected => "in-progress",
            Some("connected" | "completed" | "disconnected") => "succeeded",
            Some("failed") => "failed",
            _ => "in-progress",
        };
        o.set("state", state);
        o.set("nominated", selected);
    }
}

/// libnice exposes no STUN round trip: the pair takes the latest RTCP one measured on its
/// transport (needs the pair's transportId, set above).
fn pair_round_trip_time(objs: &mut [StatsObject]) {
    let mut rtt: HashMap<String, f64> = HashMap::new();
    for o in objs.iter().filter(|o| o.ty == StatsType::RemoteInboundRtp) {
        if let (Some(t), Some(r)) = (o.str("transportId"), o.members.get("roundTripTime").and_then(Value::as_f64)) {
            rtt.insert(t.to_owned(), r);
        }
    }
    for o in objs.iter_mut().filter(|o| o.ty == StatsType::CandidatePair) {
        if let Some(r) = o.str("transportId").and_then(|t| rtt.get(t)).copied() {
            o.set("currentRoundTripTime", r);
        }
    }
}

fn ids(objs: &[StatsObject]) -> HashSet<String> {
    objs.iter().map(|o| o.id.clone()).collect()
}
