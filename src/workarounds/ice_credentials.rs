//! ICE credentials (`a=ice-ufrag`, `a=ice-pwd`, RFC 8839 §5.4).
//!
//! Ours (RFC 8839 §4.4.1.1.1: they change for an ICE restart and only then): webrtcbin 1.22
//! ignores its `ice-restart` create-offer option, and after a restart its next offer carries
//! credentials other than those in use; but it applies whatever credentials the local
//! description carries. So a restart offer, and an answer to theirs (RFC 8839 §4.4.1.1.2),
//! gets fresh ones (`replace`), and every other offer or answer the ones of our last local
//! description (`keep`): webrtcbin's next answer would repeat its own last answer's.
//!
//! Theirs, moved to the media level: RFC 8839 §5.4 allows each attribute at the session or
//! the media level, but webrtcbin 1.22 (`_get_ice_credentials_from_sdp_media`, webrtcsdp.c)
//! uses a section's own pair only when both are there and otherwise the session's, so a
//! ufrag at one level and a pwd at the other reached `gst_webrtc_nice_set_remote_credentials`
//! with a NULL pwd (a CRITICAL, and a call stuck in `checking` for good); and two
//! session-level ufrags hit a `g_assert`, which aborts the process.

use gst_sdp::SDPMessage;

use crate::error::{PcError, PcResult};

const ICE_CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// `len` ice-chars (RFC 8839 §5.4) from the OS random source.
pub fn random_ice_string(len: usize) -> String {
    let mut bytes = vec![0u8; len];
    if getrandom::fill(&mut bytes).is_err() {
        // Uniqueness, not secrecy, is what matters for a ufrag; fall back to the clock.
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = (seed >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(31);
        }
    }
    bytes.iter().map(|b| ICE_CHARS[(*b as usize) % ICE_CHARS.len()] as char).collect()
}

/// New ICE credentials in every m-section, for an ICE restart.
pub fn replace(msg: &mut SDPMessage) {
    let pair = (random_ice_string(16), random_ice_string(32));
    for idx in 0..msg.medias_len() {
        set(msg, idx, &pair);
    }
}

/// The credentials in use in every m-section of a new offer that is not an ICE restart: each
/// m-line's own from `last` (our last local description), a new m-line the first pair found.
pub fn keep(msg: &mut SDPMessage, last: &gst_sdp::SDPMessageRef) {
    let pair_of = |m: &gst_sdp::SDPMediaRef| {
        m.attribute_val("ice-ufrag").zip(m.attribute_val("ice-pwd")).map(|(u, p)| (u.to_owned(), p.to_owned()))
    };
    let Some(first) = last.medias().find_map(pair_of) else { return };
    for idx in 0..msg.medias_len() {
        let pair = last.media(idx).and_then(pair_of).unwrap_or_else(|| first.clone());
        set(msg, idx, &pair);
    }
}

/// Rewrite the ufrag and pwd lines m-section `idx` has (webrtcbin writes both in each).
fn set(msg: &mut SDPMessage, idx: u32, (ufrag, pwd): &(String, String)) {
    let Some(media) = msg.media_mut(idx) else { return };
    for i in 0..media.attributes_len() {
        let key = media.attribute(i).map(|a| a.key().to_owned());
        let value = match key.as_deref() {
            Some("ice-ufrag") => ufrag,
            Some("ice-pwd") => pwd,
            _ => continue,
        };
        let _ = media.replace_attribute(i, gst_sdp::SDPAttribute::new(key.as_deref().unwrap_or_default(), Some(value)));
    }
}

/// RFC 8839 §5.4: ice-ufrag is 4–256 ice-chars, ice-pwd 22–256.
fn well_formed(value: &str, min: usize) -> bool {
    (min..=256).contains(&value.len()) && value.bytes().all(|b| ICE_CHARS.contains(&b))
}

/// The values of `key` among `attrs`, refusing more than one.
fn single<'a>(mut attrs: impl Iterator<Item = &'a gst_sdp::SDPAttribute>, key: &str, min: usize, place: &str) -> PcResult<Option<String>> {
    let mut found = attrs.by_ref().filter(|a| a.key() == key);
    let first = found.next().map(|a| a.value().unwrap_or_default().to_owned());
    if found.next().is_some() {
        return Err(PcError::invalid_access(format!("{place} has more than one a={key} (RFC 8839 §5.4)")));
    }
    match first {
        Some(v) if !well_formed(&v, min) => Err(PcError::invalid_access(format!(
            "{place}: a={key}:{v} is not {min} to 256 ice-chars (RFC 8839 §5.4)"
        ))),
        other => Ok(other),
    }
}

/// Give every m-section of a remote description its own ufrag and pwd, each taken from the
/// section if it has it, else from the session, and drop the session-level ones. A section
/// with neither (a rejected m-line, which RFC 8839 lets omit them) gets the first pair found,
/// which webrtcbin only stores. Malformed or repeated values are an InvalidAccessError.
pub fn normalize_remote(msg: &mut SDPMessage) -> PcResult<()> {
    let session_ufrag = single(msg.attributes(), "ice-ufrag", 4, "the session")?;
    let session_pwd = single(msg.attributes(), "ice-pwd", 22, "the session")?;
    let mut pairs = Vec::with_capacity(msg.medias_len() as usize);
    for (idx, media) in msg.medias().enumerate() {
        let place = format!("m-line {idx}");
        let ufrag = single(media.attributes(), "ice-ufrag", 4, &place)?.or_else(|| session_ufrag.clone());
        let pwd = single(media.attributes(), "ice-pwd", 22, &place)?.or_else(|| session_pwd.clone());
        pairs.push((ufrag, pwd));
    }
    let fallback = pairs.iter().find_map(|(u, p)| u.clone().zip(p.clone()));
    for (idx, (ufrag, pwd)) in pairs.into_iter().enumerate() {
        let (ufrag, pwd) = match (ufrag, pwd) {
            (Some(u), Some(p)) => (u, p),
            (None, None) => match &fallback {
                Some((u, p)) => (u.clone(), p.clone()),
                None => continue, // no ICE at all: check_webrtc decides
            },
            _ => return Err(PcError::invalid_access(format!("m-line {idx} has an ICE ufrag without a pwd, or a pwd without a ufrag"))),
        };
        let Some(media) = msg.media_mut(idx as u32) else { continue };
        for i in (0..media.attributes_len()).rev() {
            if media.attribute(i).is_some_and(is_credential) {
                let _ = media.remove_attribute(i);
            }
        }
        media.add_attribute("ice-ufrag", Some(&ufrag));
        media.add_attribute("ice-pwd", Some(&pwd));
    }
    for i in (0..msg.attributes_len()).rev() {
        if msg.attribute(i).is_some_and(is_credential) {
            let _ = msg.remove_attribute(i);
        }
    }
    Ok(())
}

fn is_credential(a: &gst_sdp::SDPAttribute) -> bool {
    matches!(a.key(), "ice-ufrag" | "ice-pwd")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    const PWD: &str = "aaaaaaaaaaaaaaaaaaaaaaaa";

    fn msg(session: &str, media: &[&str]) -> SDPMessage {
        let mut s = format!("v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n{session}");
        for m in media {
            s += &format!("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n{m}");
        }
        SDPMessage::parse_buffer(s.as_bytes()).unwrap()
    }

    fn creds(m: &SDPMessage, idx: u32) -> (Option<String>, Option<String>) {
        let media = m.media(idx).unwrap();
        (media.attribute_val("ice-ufrag").map(str::to_owned), media.attribute_val("ice-pwd").map(str::to_owned))
    }

    #[test]
    fn split_levels_end_up_together_in_every_section() {
        gst::init().unwrap();
        let mut m = msg("a=ice-ufrag:sess\r\n", &[&format!("a=ice-pwd:{PWD}\r\n"), &format!("a=ice-ufrag:own1\r\na=ice-pwd:{PWD}\r\n")]);
        normalize_remote(&mut m).unwrap();
        assert_eq!(creds(&m, 0), (Some("sess".into()), Some(PWD.into())));
        assert_eq!(creds(&m, 1), (Some("own1".into()), Some(PWD.into())));
        assert!(m.attribute_val("ice-ufrag").is_none() && m.attribute_val("ice-pwd").is_none());
    }

    #[test]
    fn repeated_malformed_or_half_credentials_are_refused() {
        gst::init().unwrap();
        let pair = format!("a=ice-ufrag:abcd\r\na=ice-pwd:{PWD}\r\n");
        for (session, media) in [
            ("a=ice-ufrag:abcd\r\na=ice-ufrag:efgh\r\n".to_owned(), format!("a=ice-pwd:{PWD}\r\n")),
            (String::new(), format!("{pair}a=ice-pwd:{PWD}\r\n")),
            (String::new(), format!("a=ice-ufrag:abc\r\na=ice-pwd:{PWD}\r\n")),
            (String::new(), "a=ice-ufrag:abcd\r\na=ice-pwd:short\r\n".to_owned()),
            (String::new(), format!("a=ice-ufrag:ab cd\r\na=ice-pwd:{PWD}\r\n")),
            (String::new(), "a=ice-ufrag:abcd\r\n".to_owned()),
        ] {
            let err = normalize_remote(&mut msg(&session, &[&media])).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidAccess, "{session} {media}");
        }
    }

    #[test]
    fn a_section_without_credentials_borrows_the_first_pair() {
        gst::init().unwrap();
        let mut m = msg("", &[&format!("a=ice-ufrag:abcd\r\na=ice-pwd:{PWD}\r\n"), ""]);
        normalize_remote(&mut m).unwrap();
        assert_eq!(creds(&m, 1), (Some("abcd".into()), Some(PWD.into())));
    }

    #[test]
    fn new_credentials_everywhere() {
        gst::init().unwrap();
        let sdp = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:old1\r\na=ice-pwd:oldpasswordoldpassword00\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:old1\r\na=ice-pwd:oldpasswordoldpassword00\r\n";
        let mut msg = SDPMessage::parse_buffer(sdp.as_bytes()).unwrap();
        replace(&mut msg);
        let text = msg.as_text().unwrap();
        assert!(!text.contains("old1") && !text.contains("oldpassword"));
        let ufrags: Vec<&str> = text.lines().filter(|l| l.starts_with("a=ice-ufrag:")).collect();
        assert_eq!(ufrags.len(), 2);
        assert_eq!(ufrags[0], ufrags[1]);
        assert!(ufrags[0].len() >= "a=ice-ufrag:".len() + 4);
        assert!(random_ice_string(22).chars().all(|c| c.is_ascii_alphanumeric() || c == '+' || c == '/'));
    }

    #[test]
    fn a_plain_re_offer_keeps_each_m_lines_credentials() {
        gst::init().unwrap();
        let last = msg("", &[&format!("a=ice-ufrag:keep0\r\na=ice-pwd:{PWD}\r\n"), &format!("a=ice-ufrag:keep1\r\na=ice-pwd:{PWD}1\r\n")]);
        let drift = format!("a=ice-ufrag:drift\r\na=ice-pwd:{PWD}x\r\n");
        let mut offer = msg("", &[&drift, &drift, &drift]);
        keep(&mut offer, &last);
        let ufrags: Vec<_> = offer.medias().map(|m| m.attribute_val("ice-ufrag").unwrap().to_owned()).collect();
        assert_eq!(ufrags, ["keep0", "keep1", "keep0"]);
        assert_eq!(offer.media(1).unwrap().attribute_val("ice-pwd"), Some(&*format!("{PWD}1")));
        assert_eq!(offer.media(0).unwrap().attributes().filter(|a| a.key() == "ice-ufrag").count(), 1);
    }
}
