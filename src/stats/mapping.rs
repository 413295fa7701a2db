//! One webrtcbin stats structure → one W3C stats object: a function per stats type, each
//! renaming webrtcbin's dash-separated members and converting what differs in unit.

use serde_json::Value;

use super::fields::{float, int, nested, string, uint};
use super::object::StatsObject;
use super::stats_type::StatsType;

/// Seconds between the NTP epoch (1900) and the Unix epoch (1970).
pub const NTP_UNIX_OFFSET_S: f64 = 2_208_988_800.0;

/// The W3C object for one member of the reply; None for a type we do not report.
pub fn map_one(s: &gst::StructureRef, ts: f64) -> Option<StatsObject> {
    let ty = StatsType::parse(s.name().as_str())?;
    let mut o = Out::new(s, ty, ts);
    match ty {
        StatsType::PeerConnection => peer_connection(&mut o),
        StatsType::Codec => codec(&mut o),
        StatsType::InboundRtp => inbound_rtp(&mut o),
        StatsType::OutboundRtp => outbound_rtp(&mut o),
        StatsType::RemoteInboundRtp => remote_inbound_rtp(&mut o),
        StatsType::RemoteOutboundRtp => remote_outbound_rtp(&mut o),
        StatsType::Transport => transport(&mut o),
        StatsType::CandidatePair => candidate_pair(&mut o),
        StatsType::LocalCandidate | StatsType::RemoteCandidate => candidate(&mut o),
        StatsType::Certificate => certificate(&mut o),
    }
    Some(o.obj)
}

/// Copies `from` (a webrtcbin member) to `to` (its W3C name), keeping the JSON type.
struct Out<'a> {
    src: &'a gst::StructureRef,
    obj: StatsObject,
}

impl<'a> Out<'a> {
    fn new(src: &'a gst::StructureRef, ty: StatsType, ts: f64) -> Self {
        Out { src, obj: StatsObject::new(ty, string(src, "id").unwrap_or_default(), ts) }
    }
    fn set(&mut self, key: &str, v: impl Into<Value>) {
        self.obj.set(key, v);
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

fn peer_connection(o: &mut Out) {
    o.uint("data-channels-opened", "dataChannelsOpened");
    o.uint("data-channels-closed", "dataChannelsClosed");
}

fn codec(o: &mut Out) {
    o.uint("payload-type", "payloadType");
    o.string("mime-type", "mimeType");
    o.uint("clock-rate", "clockRate");
    o.uint("channels", "channels");
    if let Some(line) = string(o.src, "sdp-fmtp-line") {
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

/// The members every RTP stream type has; called first by each of the four.
fn rtp_stream(o: &mut Out) {
    o.uint("ssrc", "ssrc");
    o.string("kind", "kind");
    o.string("transport-id", "transportId");
    o.string("codec-id", "codecId");
}

/// rtpsource's own statistics of the stream's SSRC, nested in webrtcbin's.
fn rtpsource_stats(o: &Out) -> Option<gst::Structure> {
    nested(o.src, "gst-rtpsource-stats")
}

fn inbound_rtp(o: &mut Out) {
    rtp_stream(o);
    o.uint("packets-received", "packetsReceived");
    o.uint("bytes-received", "bytesReceived");
    o.float("jitter", "jitter");
    o.int("packets-lost", "packetsLost");
    if !o.obj.members.contains_key("packetsLost") {
        if let Some(lost) = rtpsource_stats(o).and_then(|n| int(&n, "packets-lost")) {
            o.set("packetsLost", lost);
        }
    }
    o.uint("packets-duplicated", "packetsDuplicated");
    o.uint("nack-count", "nackCount");
    o.string("remote-id", "remoteId");
}

fn outbound_rtp(o: &mut Out) {
    rtp_stream(o);
    o.uint("packets-sent", "packetsSent");
    o.uint("bytes-sent", "bytesSent");
    o.uint("nack-count", "nackCount");
    o.string("remote-id", "remoteId");
}

fn remote_inbound_rtp(o: &mut Out) {
    rtp_stream(o);
    let src = rtpsource_stats(o);
    o.int("packets-lost", "packetsLost");
    o.float("fraction-lost", "fractionLost");
    // webrtc-stats §remote-inbound-rtp: no roundTripTime until a report block
    // with a DLSR other than 0. A block sent before its sender had our first SR
    // (LSR = DLSR = 0, RFC 3550 §6.4.1) makes 1.22 report a round trip of 0;
    // so does one that would come out negative (clock skew). A real one is at
    // least 1/65536 s (rtpsource rounds up): 0 is never a measurement.
    let have_rb = src.as_ref().and_then(|n| n.get::<bool>("have-rb").ok()).unwrap_or(true);
    let dlsr = src.as_ref().and_then(|n| uint(n, "rb-dlsr"));
    if let Some(rtt) = float(o.src, "round-trip-time").filter(|r| have_rb && dlsr != Some(0) && *r > 0.0) {
        o.set("roundTripTime", rtt);
    }
    // In RTP timestamp units until the codec clock rate is known (fixups.rs).
    o.obj.rb_jitter = src.as_ref().and_then(|n| uint(n, "rb-jitter"));
    o.string("local-id", "localId");
}

fn remote_outbound_rtp(o: &mut Out) {
    rtp_stream(o);
    o.uint("packets-sent", "packetsSent");
    o.uint("bytes-sent", "bytesSent");
    if let Some(ntp) = float(o.src, "remote-timestamp").filter(|t| *t > NTP_UNIX_OFFSET_S) {
        o.set("remoteTimestamp", (ntp - NTP_UNIX_OFFSET_S) * 1000.0);
    }
    o.string("local-id", "localId");
}

fn transport(o: &mut Out) {
    o.string("selected-candidate-pair-id", "selectedCandidatePairId");
    o.string("local-certificate-id", "localCertificateId");
    o.string("remote-certificate-id", "remoteCertificateId");
}

fn candidate_pair(o: &mut Out) {
    o.string("transport-id", "transportId");
    o.string("local-candidate-id", "localCandidateId");
    o.string("remote-candidate-id", "remoteCandidateId");
}

/// 1.22 swaps the two candidate types, so both map alike; fixups.rs settles which is which.
fn candidate(o: &mut Out) {
    o.string("transport-id", "transportId");
    o.string("address", "address");
    o.uint("port", "port");
    o.string("protocol", "protocol");
    o.string("candidate-type", "candidateType");
    o.uint("priority", "priority");
    // Kept for local candidates only, once the type is settled (fixups.rs).
    o.string("url", "url");
    o.string("relay-protocol", "relayProtocol");
}

fn certificate(o: &mut Out) {
    o.string("fingerprint", "fingerprint");
    o.string("fingerprint-algorithm", "fingerprintAlgorithm");
    o.string("base64-certificate", "base64Certificate");
    o.string("issuer-certificate-id", "issuerCertificateId");
}
