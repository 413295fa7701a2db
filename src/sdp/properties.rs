//! Property tests of the description rules (proptest): on any input they return a typed
//! error or a description webrtcbin can take, and they never panic. A panic here would be
//! caught at the napi boundary, but it would still fail the call.

use proptest::prelude::*;

use super::candidate::Candidate;
use super::limits::Limits;
use super::validate::{self, Context};
use crate::negotiation::Side;

const SEED: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\na=ice-ufrag:sessionufrag\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0 101\r\nc=IN IP4 0.0.0.0\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=mid:0\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:101 telephone-event/48000\r\na=ssrc:1234 cname:x\r\na=candidate:1 1 udp 2122260223 127.0.0.1 40000 typ host\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:bbbbbbbbbbbbbbbbbbbbbbbb\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=mid:1\r\na=sendonly\r\n";

/// Line-level mutations of a real description: what a broken or hostile peer sends.
fn mutated() -> impl Strategy<Value = String> {
    let lines: Vec<String> = SEED.split("\r\n").filter(|l| !l.is_empty()).map(str::to_owned).collect();
    let n = lines.len();
    let values = prop_oneof![
        Just(String::new()),
        Just("0".to_owned()),
        Just("4294967296".to_owned()),
        Just("-1".to_owned()),
        Just("a b".to_owned()),
        "[ -~]{0,12}",
    ];
    let edit = (0..6u8, 0..n, 0..n, values);
    proptest::collection::vec(edit, 0..8).prop_map(move |edits| {
        let mut ls = lines.clone();
        for (op, i, j, v) in edits {
            if ls.is_empty() {
                break;
            }
            let (i, j) = (i % ls.len(), j % ls.len());
            match op {
                0 => {
                    ls.remove(i);
                }
                1 => {
                    let l = ls[i].clone();
                    ls.insert(j, l);
                }
                2 => ls.swap(i, j),
                3 => {
                    // Replace the value after the first ':' (or the last token).
                    let l = &ls[i];
                    ls[i] = match l.find(':') {
                        Some(c) => format!("{}{v}", &l[..=c]),
                        None => format!("{} {v}", l.rsplit_once(' ').map_or(l.as_str(), |(h, _)| h)),
                    };
                }
                4 => {
                    // Move an attribute between the session and a media section.
                    let l = ls.remove(i);
                    ls.insert(j.max(1), l);
                }
                _ => ls[i].push_str(&v),
            }
        }
        ls.join("\r\n") + "\r\n"
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn prepared_descriptions_keep_the_invariants(sdp in mutated(), remote in any::<bool>()) {
        gst::init().unwrap();
        let limits = Limits::default();
        let side = if remote { Side::Remote } else { Side::Local };
        let ctx = Context { limits: &limits, previous: vec![], offer: None };
        if let Ok(msg) = validate::prepare(&sdp, side, &ctx) {
            let mut mids = Vec::new();
            prop_assert!(msg.attribute_val("ice-ufrag").is_none() && msg.attribute_val("ice-pwd").is_none());
            for media in msg.medias() {
                let mid = media.attribute_val("mid");
                prop_assert!(mid.is_some_and(|m| !m.is_empty()));
                prop_assert!(!mids.contains(&mid));
                mids.push(mid);
                if media.port() != 0 {
                    prop_assert_eq!(media.attributes().filter(|a| a.key() == "ice-ufrag").count(), 1);
                    prop_assert_eq!(media.attributes().filter(|a| a.key() == "ice-pwd").count(), 1);
                }
                for a in media.attributes().filter(|a| a.key() == "ssrc") {
                    prop_assert!(!a.value().unwrap_or_default().starts_with("0 "));
                }
                prop_assert!(media.formats().all(|f| f.parse::<u8>().is_ok_and(|pt| pt < 128)));
            }
        }
    }

    #[test]
    fn any_text_is_a_typed_error_or_a_description(sdp in "(v=0\r\n)?([a-z]=[ -~]{0,30}\r\n){0,20}") {
        gst::init().unwrap();
        let limits = Limits::default();
        let ctx = Context { limits: &limits, previous: vec![], offer: None };
        let _ = validate::prepare(&sdp, Side::Remote, &ctx);
    }

    #[test]
    fn candidates_never_panic(text in "(a=)?candidate:[ -~]{0,80}") {
        let _ = Candidate::parse(&text);
    }

    #[test]
    fn well_formed_candidates_parse(
        foundation in "[a-zA-Z0-9+/]{1,32}",
        component in 1u32..=2,
        tcp in any::<bool>(),
        priority in any::<u32>(),
        port in any::<u16>(),
        typ in prop_oneof![Just("host"), Just("srflx"), Just("prflx"), Just("relay")],
    ) {
        let transport = if tcp { "TCP" } else { "UDP" };
        let tail = if tcp { " tcptype passive" } else { "" };
        let text = format!("candidate:{foundation} {component} {transport} {priority} 127.0.0.1 {port} typ {typ}{tail}");
        let c = Candidate::parse(&text).unwrap();
        prop_assert_eq!(c.port, port);
        prop_assert_eq!(c.priority, priority);
    }
}

/// The mutations start from a description the rules accept, so the invariants above are
/// checked on real output, not only on errors.
#[test]
fn the_seed_is_accepted() {
    gst::init().unwrap();
    let limits = Limits::default();
    let ctx = Context { limits: &limits, previous: vec![], offer: None };
    let msg = validate::prepare(SEED, Side::Remote, &ctx).unwrap();
    assert_eq!(msg.medias_len(), 2);
}
