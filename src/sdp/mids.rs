//! Media identification (`a=mid`, RFC 5888; JSEP RFC 8829 §5.2.2, §5.8, §5.10): every
//! m-section has one, unique in its description, and an m-section keeps its mid for the
//! life of the session.
//!
//! webrtcbin 1.22 relies on all three without checking them:
//! - `validate_sdp` (webrtcsdp.c) refuses a missing mid, which SIP endpoints that do not
//!   implement RFC 5888 never send: we fill it in (`fill_missing`).
//! - `_create_answer_task` (gstwebrtcbin.c) does `g_assert (g_strcmp0 (mid, last_mid) == 0)`
//!   when an offered mid names an existing transceiver at another m-line than before, and
//!   `_create_offer_task` asserts that no transceiver is met twice (duplicate mids in the
//!   last offer). A g_assert aborts the process, with every call in it.

use gst_sdp::{SDPMessage, SDPMessageRef};

use crate::error::{ErrorCode, PcError, PcResult};

/// The mid of every m-line, in order.
pub fn of(msg: &SDPMessageRef) -> Vec<Option<&str>> {
    msg.medias().map(|m| m.attribute_val("mid").filter(|v| !v.is_empty())).collect()
}

/// RFC 5888 §4: identification-tag = token (RFC 8866 §9).
fn is_token(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`{|}~".contains(&b))
}

/// Give every m-line of a remote description that lacks a mid one: an answer's comes from
/// the offer at the same index (RFC 5888 §9.1: an answerer without grouping support omits
/// it), an offer's is the first of `0`, `1`, … not already used.
pub fn fill_missing(msg: &mut SDPMessage, offer: Option<&SDPMessageRef>) {
    let used: Vec<String> = of(msg).into_iter().flatten().map(str::to_owned).collect();
    let mut next = 0u32;
    for idx in 0..msg.medias_len() {
        let Some(media) = msg.media_mut(idx) else { continue };
        if media.attribute_val("mid").is_some_and(|v| !v.is_empty()) {
            continue;
        }
        // An empty `a=mid:` counts as missing.
        while let Some(i) = (0..media.attributes_len()).find(|i| media.attribute(*i).is_some_and(|a| a.key() == "mid")) {
            let _ = media.remove_attribute(i);
        }
        let from_offer = offer.and_then(|o| o.media(idx)).and_then(|m| m.attribute_val("mid")).map(str::to_owned);
        let mid = from_offer.unwrap_or_else(|| loop {
            let candidate = next.to_string();
            next += 1;
            if !used.contains(&candidate) {
                break candidate;
            }
        });
        media.add_attribute("mid", Some(&mid));
    }
}

/// The mid rules for a description about to be applied. `previous` are the descriptions of
/// the last completed negotiation (current local and remote), `offer` the offer an answer
/// answers. `code` is InvalidAccessError for remote descriptions and
/// InvalidModificationError for local ones (webrtc-pc §4.4.1.6).
pub fn check(msg: &SDPMessageRef, previous: &[&SDPMessageRef], offer: Option<&SDPMessageRef>, code: ErrorCode) -> PcResult<()> {
    let err = |m: String| PcError::new(code, m);
    let mids = of(msg);
    for (idx, media) in msg.medias().enumerate() {
        // RFC 5888 §4: one identification-tag per m-line (two made webrtcbin 1.22 stall the
        // call's renegotiation for good: fuzz finding hang-14cc178abb).
        if media.attributes().filter(|a| a.key() == "mid").count() > 1 {
            return Err(err(format!("m-line {idx} has more than one a=mid (RFC 5888 §4)")));
        }
    }
    for (idx, mid) in mids.iter().enumerate() {
        let Some(mid) = mid else { return Err(err(format!("m-line {idx} has no a=mid (RFC 5888, JSEP §5.8)"))) };
        if !is_token(mid) {
            return Err(err(format!("m-line {idx}: a=mid '{mid}' is not a token (RFC 5888 §4)")));
        }
        if mids[..idx].contains(&Some(*mid)) {
            return Err(err(format!("m-line {idx}: a=mid '{mid}' is used twice (RFC 5888 §4)")));
        }
    }
    if let Some(offer) = offer {
        // JSEP §5.10 / RFC 3264 §6: an answer has the offer's m-lines, in order.
        let offered = of(offer);
        if offered.len() != mids.len() {
            return Err(err("the answer's m-lines do not match the offer's".to_owned()));
        }
        for (idx, (a, o)) in mids.iter().zip(&offered).enumerate() {
            if a != o {
                let show = |m: &Option<&str>| m.map_or_else(|| "none".to_owned(), |m| format!("'{m}'"));
                return Err(err(format!(
                    "m-line {idx} of the answer has mid {}, the offer's has {} (JSEP §5.10)",
                    show(a),
                    show(o)
                )));
            }
        }
        check_media_types(msg, offer, &err)?;
        return Ok(());
    }
    for prev in previous {
        check_media_types(msg, prev, &err)?;
        let before = of(prev);
        // JSEP §5.8: m-sections are never removed, only rejected.
        if mids.len() < before.len() {
            return Err(err(format!("the offer has {} m-lines, fewer than the {} negotiated before (JSEP §5.8)", mids.len(), before.len())));
        }
        for (idx, mid) in mids.iter().enumerate() {
            let mid = mid.unwrap_or_default();
            let was = before.get(idx).copied().flatten();
            if was == Some(mid) {
                continue;
            }
            // A mid known from another m-line has moved: the transceiver would be matched
            // to two m-lines (the webrtcbin abort above).
            if let Some(j) = before.iter().position(|b| *b == Some(mid)) {
                return Err(err(format!("m-line {idx} takes mid '{mid}' of m-line {j} (JSEP §5.8: an m-section keeps its mid)")));
            }
            // A new mid on an old m-line is JSEP's recycling of a rejected m-section; on one
            // still in use it is a changed mid.
            let rejected = previous.iter().any(|p| p.media(idx as u32).is_some_and(|m| m.port() == 0));
            if was.is_some() && !rejected {
                return Err(err(format!("m-line {idx} changed its mid from '{}' to '{mid}' (JSEP §5.8)", was.unwrap_or_default())));
            }
        }
    }
    Ok(())
}

/// An m-line keeps its media type (RFC 3264 §6 for an answer, §8 and JSEP §5.8 across offers:
/// a new type needs a new m-line). A re-offer that turned `audio` into another token left
/// webrtcbin 1.22 without an answer for good (fuzz finding hang-14cc178abb, seed
/// final-2026-12-03). Only m-lines that keep their mid are compared: a recycled one is new.
fn check_media_types(msg: &SDPMessageRef, other: &SDPMessageRef, err: &impl Fn(String) -> PcError) -> PcResult<()> {
    for (idx, (now, then)) in msg.medias().zip(other.medias()).enumerate() {
        let same_mid = now.attribute_val("mid") == then.attribute_val("mid");
        if same_mid && now.media() != then.media() {
            return Err(err(format!(
                "m-line {idx} changed its media type from {:?} to {:?} (RFC 3264 §8)",
                then.media().unwrap_or_default(),
                now.media().unwrap_or_default()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdp(mids: &[(&str, u16)]) -> SDPMessage {
        let mut s = String::from("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");
        for (mid, port) in mids {
            s += &format!("m=audio {port} UDP/TLS/RTP/SAVPF 111\r\n");
            if !mid.is_empty() {
                s += &format!("a=mid:{mid}\r\n");
            }
        }
        SDPMessage::parse_buffer(s.as_bytes()).unwrap()
    }

    const CODE: ErrorCode = ErrorCode::InvalidAccess;

    #[test]
    fn swapped_or_moved_mids_are_refused() {
        gst::init().unwrap();
        let before = sdp(&[("a", 9), ("b", 9)]);
        // The probe's abort: m-line 0 gets a new mid, m-line 1 takes m-line 0's.
        for bad in [sdp(&[("x", 9), ("a", 9)]), sdp(&[("b", 9), ("a", 9)]), sdp(&[("a", 9), ("c", 9)]), sdp(&[("a", 9)]), sdp(&[("a", 9), ("b", 9), ("a2", 9), ("a", 9)])] {
            assert_eq!(check(&bad, &[&before], None, CODE).unwrap_err().code, CODE, "{}", bad.as_text().unwrap());
        }
        check(&sdp(&[("a", 9), ("b", 9), ("c", 9)]), &[&before], None, CODE).unwrap();
    }

    #[test]
    fn an_m_line_keeps_its_media_type() {
        gst::init().unwrap();
        let before = sdp(&[("a", 9)]);
        let text = before.as_text().unwrap().replace("m=audio", "m=9007199254740993");
        let changed = SDPMessage::parse_buffer(text.as_bytes()).unwrap();
        assert_eq!(check(&changed, &[&before], None, CODE).unwrap_err().code, CODE);
        assert_eq!(check(&changed, &[], Some(&before), CODE).unwrap_err().code, CODE);
        check(&before, &[&before], None, CODE).unwrap();
    }

    #[test]
    fn rejected_m_lines_may_be_recycled_with_a_new_mid() {
        gst::init().unwrap();
        let before = sdp(&[("a", 9), ("b", 0)]);
        check(&sdp(&[("a", 9), ("c", 9)]), &[&before], None, CODE).unwrap();
    }

    #[test]
    fn duplicate_missing_and_odd_mids() {
        gst::init().unwrap();
        let two = SDPMessage::parse_buffer(b"v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=mid:b\r\n").unwrap();
        for bad in [sdp(&[("a", 9), ("a", 9)]), sdp(&[("", 9)]), sdp(&[("a b", 9)]), two] {
            assert_eq!(check(&bad, &[], None, ErrorCode::InvalidModification).unwrap_err().code, ErrorCode::InvalidModification);
        }
    }

    #[test]
    fn answers_follow_the_offer() {
        gst::init().unwrap();
        let offer = sdp(&[("a", 9), ("b", 9)]);
        check(&sdp(&[("a", 9), ("b", 0)]), &[], Some(&offer), CODE).unwrap();
        assert!(check(&sdp(&[("b", 9), ("a", 9)]), &[], Some(&offer), CODE).is_err());
        assert!(check(&sdp(&[("a", 9)]), &[], Some(&offer), CODE).is_err());
    }

    #[test]
    fn missing_mids_are_filled() {
        gst::init().unwrap();
        let mut sip = sdp(&[("", 9), ("1", 9), ("", 9)]);
        fill_missing(&mut sip, None);
        assert_eq!(of(&sip), [Some("0"), Some("1"), Some("2")]);
        let offer = sdp(&[("audio0", 9)]);
        let mut answer = sdp(&[("", 9)]);
        fill_missing(&mut answer, Some(&offer));
        assert_eq!(of(&answer), [Some("audio0")]);
    }
}
