//! ICE candidate attributes (RFC 8839 §5.1), parsed so that bogus candidates are rejected
//! with OperationError (webrtc-pc §4.4.1.3 addIceCandidate) instead of being silently
//! dropped by the ICE agent.

use std::net::IpAddr;

use crate::error::{PcError, PcResult};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub foundation: String,
    pub component: u32,
    pub transport: String,
    pub priority: u32,
    pub address: String,
    pub port: u16,
    pub typ: String,
}

impl Candidate {
    /// Accepts the attribute value with or without the leading `a=` / `candidate:`.
    pub fn parse(text: &str) -> PcResult<Self> {
        let text = text.trim();
        let text = text.strip_prefix("a=").unwrap_or(text);
        let body = text
            .strip_prefix("candidate:")
            .ok_or_else(|| bad(text, "it does not start with 'candidate:'"))?;
        let fields: Vec<&str> = body.split_ascii_whitespace().collect();
        if fields.len() < 8 || fields[6] != "typ" {
            return Err(bad(text, "expected '<foundation> <component> <transport> <priority> <address> <port> typ <type>'"));
        }
        let foundation = fields[0];
        if foundation.is_empty() || foundation.len() > 32 || !foundation.chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/') {
            return Err(bad(text, "invalid foundation"));
        }
        let component: u32 = fields[1].parse().map_err(|_| bad(text, "invalid component id"))?;
        // RFC 8839 §5.1 allows 1–256, but an RTP m-line has only RTP (1) and RTCP (2)
        // (RFC 3550 §11); libnice warned for every other one it was given.
        if !(1..=2).contains(&component) {
            return Err(bad(text, "component id must be 1 (RTP) or 2 (RTCP)"));
        }
        let transport = fields[2].to_ascii_lowercase();
        if transport != "udp" && transport != "tcp" {
            return Err(bad(text, "transport must be udp or tcp"));
        }
        let priority: u32 = fields[3].parse().map_err(|_| bad(text, "invalid priority"))?;
        let address = fields[4];
        let is_mdns = address.ends_with(".local") && address.len() > 6;
        if address.parse::<IpAddr>().is_err() && !is_mdns {
            return Err(bad(text, "connection address is neither an IP address nor an mDNS name"));
        }
        let port: u16 = fields[5].parse().map_err(|_| bad(text, "invalid port"))?;
        let typ = fields[7];
        if !matches!(typ, "host" | "srflx" | "prflx" | "relay") {
            return Err(bad(text, "candidate type must be host, srflx, prflx or relay"));
        }
        // RFC 8839 §5.1: the rest is name/value pairs. libnice's parser reads the value
        // after a name without checking it is there.
        let ext = &fields[8..];
        if ext.len() % 2 != 0 {
            return Err(bad(text, "extension attributes must come as name/value pairs"));
        }
        let value = |name: &str| ext.chunks(2).find(|kv| kv[0] == name).map(|kv| kv[1]);
        if value("raddr").is_some_and(|a| a.parse::<IpAddr>().is_err() && !a.ends_with(".local")) {
            return Err(bad(text, "raddr is not an IP address"));
        }
        if value("rport").is_some_and(|p| p.parse::<u16>().is_err()) {
            return Err(bad(text, "rport is not a port"));
        }
        // RFC 6544 §4.5: a TCP candidate says which end opens the connection; libnice
        // compares the tcptype value without a NULL check (a GLib CRITICAL).
        if transport == "tcp" && !value("tcptype").is_some_and(|t| matches!(t, "active" | "passive" | "so")) {
            return Err(bad(text, "a TCP candidate needs tcptype active, passive or so (RFC 6544 §4.5)"));
        }
        Ok(Candidate {
            foundation: foundation.to_owned(),
            component,
            transport,
            priority,
            address: address.to_owned(),
            port,
            typ: typ.to_owned(),
        })
    }

    /// RFC 8839 §4.2.1.2: prefer a relayed, then a server-reflexive, then a host candidate
    /// as the default (the one put into `c=`/`m=` for peers that ignore ICE).
    pub fn default_rank(&self) -> (u8, u32) {
        let type_rank = match self.typ.as_str() {
            "relay" => 3,
            "srflx" | "prflx" => 2,
            _ => 1,
        };
        (type_rank, self.priority)
    }

    pub fn is_ipv6(&self) -> bool {
        self.address.parse::<IpAddr>().map(|a| a.is_ipv6()).unwrap_or(false)
    }
}

fn bad(text: &str, why: &str) -> PcError {
    PcError::operation(format!("invalid ICE candidate '{text}': {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn parses_host_candidate() {
        let c = Candidate::parse("candidate:1 1 UDP 2015363327 127.0.0.1 40000 typ host").unwrap();
        assert_eq!(c.component, 1);
        assert_eq!(c.transport, "udp");
        assert_eq!(c.port, 40000);
        assert_eq!(c.typ, "host");
    }

    #[test]
    fn parses_with_prefix_and_extensions() {
        let c = Candidate::parse("a=candidate:842163049 1 udp 1677729535 203.0.113.7 3478 typ srflx raddr 10.0.0.1 rport 5000 generation 0 ufrag abcd").unwrap();
        assert_eq!(c.typ, "srflx");
        let mdns = Candidate::parse("candidate:1 1 udp 1 8c7b2f1e-0000-4000-8000-000000000000.local 5000 typ host").unwrap();
        assert_eq!(mdns.address.len(), 42);
        let tcp = Candidate::parse("candidate:3 1 TCP 1 127.0.0.1 9 typ host tcptype active").unwrap();
        assert_eq!(tcp.transport, "tcp");
    }

    #[test]
    fn rejects_bogus_candidates() {
        for bogus in [
            "",
            "hello",
            "candidate:",
            "candidate:1 1 udp 1 127.0.0.1 5000",
            "candidate:1 1 sctp 1 127.0.0.1 5000 typ host",
            "candidate:1 x udp 1 127.0.0.1 5000 typ host",
            "candidate:1 3 udp 1 127.0.0.1 5000 typ host",
            "candidate:1 1 udp 1 not-an-ip 5000 typ host",
            "candidate:1 1 udp 1 127.0.0.1 99999 typ host",
            "candidate:1 1 udp 1 127.0.0.1 5000 typ bogus",
            "candidate:1 1 tcp 1 127.0.0.1 5000 typ host",
            "candidate:1 1 tcp 1 127.0.0.1 5000 typ host tcptype bogus",
            "candidate:1 1 udp 1 127.0.0.1 5000 typ srflx raddr",
            "candidate:1 1 udp 1 127.0.0.1 5000 typ srflx raddr x rport 1",
            "candidate:1 1 udp 1 127.0.0.1 5000 typ srflx raddr 10.0.0.1 rport 70000",
        ] {
            assert_eq!(Candidate::parse(bogus).unwrap_err().code, ErrorCode::Operation, "{bogus}");
        }
    }

    #[test]
    fn default_rank_prefers_relay() {
        let host = Candidate::parse("candidate:1 1 udp 2000 127.0.0.1 1 typ host").unwrap();
        let relay = Candidate::parse("candidate:2 1 udp 10 127.0.0.1 2 typ relay").unwrap();
        assert!(relay.default_rank() > host.default_rank());
    }
}
