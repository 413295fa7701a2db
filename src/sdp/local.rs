//! The local description handed to JS: webrtcbin's SDP plus every gathered candidate and,
//! once gathering is complete, `a=end-of-candidates` (RFC 8840 §4.1) — non-trickle peers
//! such as SIP endpoints only ever see this one SDP. `c=`/`m=` carry the default candidate
//! (RFC 8839 §4.2.1.2, §5.1) so that peers which ignore ICE still reach us.

use gst_sdp::{SDPMessage, SDPMediaRef};

use super::candidate::Candidate;

/// One gathered local candidate: the m-line it belongs to and its attribute value
/// (`candidate:...`, without `a=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalCandidate {
    pub mline: u32,
    pub attr: String,
}

pub fn render(base: &SDPMessage, candidates: &[LocalCandidate], complete: bool) -> SDPMessage {
    let mut msg = base.clone();
    for idx in 0..msg.medias_len() {
        let Some(media) = msg.media_mut(idx) else { continue };
        let mine: Vec<&LocalCandidate> = candidates.iter().filter(|c| c.mline == idx).collect();
        for cand in &mine {
            let present = media.attributes().any(|a| a.key() == "candidate" && a.value() == cand.attr.strip_prefix("candidate:"));
            if !present {
                media.add_attribute("candidate", cand.attr.strip_prefix("candidate:"));
            }
        }
        if media.port() != 0 {
            if let Some(default) = mine
                .iter()
                .filter_map(|c| Candidate::parse(&c.attr).ok())
                .filter(|c| c.component == 1 && c.transport == "udp")
                .max_by_key(|c| c.default_rank())
            {
                set_default_candidate(media, &default);
            }
        }
        if complete && !mine.is_empty() && !super::has_attr(media, "end-of-candidates") {
            super::add_flag(media, "end-of-candidates");
        }
    }
    msg
}

fn set_default_candidate(media: &mut SDPMediaRef, cand: &Candidate) {
    media.set_port_info(u32::from(cand.port), 0);
    let addrtype = if cand.is_ipv6() { "IP6" } else { "IP4" };
    while media.connections_len() > 0 {
        let _ = media.remove_connection(0);
    }
    media.add_connection("IN", addrtype, &cand.address, 0, 0);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sdp::validate::parse;

    const BASE: &str = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:audio0\r\na=sendrecv\r\na=rtpmap:111 OPUS/48000/2\r\n";

    #[test]
    fn adds_candidates_default_and_end_marker() {
        gst::init().unwrap();
        let base = parse(BASE).unwrap();
        let cands = vec![
            LocalCandidate { mline: 0, attr: "candidate:1 1 UDP 2015363327 127.0.0.1 40000 typ host".into() },
            LocalCandidate { mline: 0, attr: "candidate:2 1 TCP 1015021823 127.0.0.1 9 typ host tcptype active".into() },
        ];
        let partial = crate::sdp::to_text(&render(&base, &cands[..1], false));
        assert!(partial.contains("a=candidate:1 1 UDP 2015363327 127.0.0.1 40000 typ host\r\n"));
        assert!(!partial.contains("end-of-candidates"));
        let text = crate::sdp::to_text(&render(&base, &cands, true));
        assert!(text.contains("m=audio 40000 UDP/TLS/RTP/SAVPF 111\r\n"), "{text}");
        assert!(text.contains("c=IN IP4 127.0.0.1\r\n"), "{text}");
        assert!(text.contains("a=end-of-candidates\r\n"));
        assert_eq!(text.matches("a=candidate:").count(), 2);
        // Rendering twice (webrtcbin may already list a candidate) never duplicates one.
        let again = crate::sdp::to_text(&render(&parse(&text).unwrap(), &cands, true));
        assert_eq!(again.matches("a=candidate:").count(), 2);
        assert_eq!(again.matches("a=end-of-candidates").count(), 1);
    }
}
