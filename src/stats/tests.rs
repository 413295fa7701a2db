//! convert() on a reply shaped like webrtcbin 1.22's, with the Context it would come with.

use std::collections::{HashMap, HashSet};

use gst::prelude::*;
use serde_json::Value;

use super::mapping::NTP_UNIX_OFFSET_S;
use super::{convert, Context, PadInfo, TransportInfo};

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
