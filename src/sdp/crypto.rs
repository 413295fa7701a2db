//! SDES: SRTP keys in the SDP, `a=crypto` (RFC 4568), as SIP phones, PBXs and trunks send them.
//!
//! `a=crypto:<tag> <suite> inline:<base64 key||salt>[|<lifetime>][|<MKI>:<length>] [<session params>]`
//! (§9.1). We speak the two suites every SIP stack has (RFC 4568 §6.2): AES_CM_128_HMAC_SHA1_80
//! and AES_CM_128_HMAC_SHA1_32, 128-bit AES counter mode with a 112-bit salt; the _32 suite
//! shortens the SRTP tag only, SRTCP keeps 80 bits (§6.2.2, RFC 3711 §5.2).
//!
//! Each direction has its own key (§6.1: the offerer's key protects what the offerer sends;
//! the answer carries the answerer's own): we make a fresh one for every description we write,
//! so a re-offer re-keys, and never echo the peer's.

use crate::error::{PcError, PcResult};

/// An AES-128 master key (16 bytes) followed by its 112-bit master salt (14 bytes).
pub const KEY_SALT_LEN: usize = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Suite {
    AesCm128HmacSha1_80,
    AesCm128HmacSha1_32,
}

impl Suite {
    /// Ours, in the order we prefer them in an offer.
    pub const ALL: [Suite; 2] = [Suite::AesCm128HmacSha1_80, Suite::AesCm128HmacSha1_32];

    pub fn name(self) -> &'static str {
        match self {
            Suite::AesCm128HmacSha1_80 => "AES_CM_128_HMAC_SHA1_80",
            Suite::AesCm128HmacSha1_32 => "AES_CM_128_HMAC_SHA1_32",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.name() == s)
    }

    /// `RTCConfiguration.srtpCryptoSuites`: the suites we offer and accept, in our order of
    /// preference; absent is `ALL`. An unknown name or an empty list is a TypeError.
    pub fn list(names: Option<&[String]>) -> PcResult<Vec<Suite>> {
        let Some(names) = names else { return Ok(Self::ALL.to_vec()) };
        let mut suites = Vec::new();
        for n in names {
            let s = Self::parse(n).ok_or_else(|| PcError::type_error(format!("srtpCryptoSuites: '{n}' is not AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32")))?;
            if !suites.contains(&s) {
                suites.push(s);
            }
        }
        if suites.is_empty() {
            return Err(PcError::type_error("srtpCryptoSuites must name at least one suite"));
        }
        Ok(suites)
    }

    /// `srtpenc`/`srtpdec`'s names: (cipher, SRTP auth, SRTCP auth).
    pub fn gst_names(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Suite::AesCm128HmacSha1_80 => ("aes-128-icm", "hmac-sha1-80", "hmac-sha1-80"),
            Suite::AesCm128HmacSha1_32 => ("aes-128-icm", "hmac-sha1-32", "hmac-sha1-80"),
        }
    }
}

/// One usable `a=crypto` line.
#[derive(Clone, PartialEq, Eq)]
pub struct Crypto {
    /// 1–9 digits, echoed in the answer (§4.1).
    pub tag: u32,
    pub suite: Suite,
    pub key_salt: [u8; KEY_SALT_LEN],
}

impl std::fmt::Debug for Crypto {
    /// Keys stay out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Crypto {{ tag: {}, suite: {} }}", self.tag, self.suite.name())
    }
}

/// A lifetime shorter than this many packets would need re-keying mid-call, which nothing
/// in SIP signals reliably; 2^31 is SRTCP's index space (RFC 3711 §3.4) and beyond any call.
const MIN_LIFETIME_LOG2: u32 = 31;

/// Reads the value of one `a=crypto` attribute (what follows `crypto:`). `Ok(None)` for a
/// well-formed line we do not speak (another suite, MKI, a short lifetime, session
/// parameters): the offer may list a usable one after it (§5.1.1).
pub fn parse(value: &str) -> PcResult<Option<Crypto>> {
    let bad = |why: &str| PcError::invalid_access(format!("a=crypto:{}: {why} (RFC 4568 §9.1)", value.split("inline:").next().unwrap_or_default().trim()));
    let mut fields = value.split_ascii_whitespace();
    let (Some(tag), Some(suite), Some(key_params)) = (fields.next(), fields.next(), fields.next()) else {
        return Err(bad("needs a tag, a suite and key parameters"));
    };
    let session_params: Vec<&str> = fields.collect();
    if tag.is_empty() || tag.len() > 9 || !tag.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("the tag is not 1-9 digits"));
    }
    let tag: u32 = tag.parse().map_err(|_| bad("the tag is not a number"))?;
    let Some(suite) = Suite::parse(suite) else { return Ok(None) };
    // Several keys (';'-separated) only come with MKIs, which we do not use.
    if key_params.contains(';') {
        return Ok(None);
    }
    let Some(inline) = key_params.strip_prefix("inline:") else {
        return Err(bad("the key method is not 'inline:'"));
    };
    let mut parts = inline.split('|');
    let key_b64 = parts.next().unwrap_or_default();
    let key_salt = decode_key(key_b64).ok_or_else(|| bad("the key is not 30 bytes of base64"))?;
    let rest: Vec<&str> = parts.collect();
    let (lifetime, mki) = match rest.as_slice() {
        [] => (None, None),
        [one] if one.contains(':') => (None, Some(*one)),
        [one] => (Some(*one), None),
        [lifetime, mki] => (Some(*lifetime), Some(*mki)),
        _ => return Err(bad("too many '|' fields in the key parameters")),
    };
    if let Some(lifetime) = lifetime {
        if lifetime_log2(lifetime).ok_or_else(|| bad("the lifetime is neither a number nor 2^n"))? < MIN_LIFETIME_LOG2 {
            return Ok(None);
        }
    }
    if mki.is_some() {
        return Ok(None);
    }
    // WSH (window size hint, §6.3.7) is advice; every other session parameter changes the
    // protection (UNENCRYPTED_SRTP, KDR, FEC_ORDER …) in ways srtpenc cannot follow.
    if session_params.iter().any(|p| !p.starts_with("WSH=")) {
        return Ok(None);
    }
    Ok(Some(Crypto { tag, suite, key_salt }))
}

/// The line for this key: `<tag> <suite> inline:<key||salt>`.
pub fn format(c: &Crypto) -> String {
    format!("{} {} inline:{}", c.tag, c.suite.name(), gst::glib::base64_encode(&c.key_salt))
}

/// A fresh master key and salt from the operating system's CSPRNG.
pub fn fresh(tag: u32, suite: Suite) -> PcResult<Crypto> {
    let mut key_salt = [0u8; KEY_SALT_LEN];
    getrandom::fill(&mut key_salt).map_err(|e| PcError::operation(format!("no randomness for an SRTP key: {e}")))?;
    Ok(Crypto { tag, suite, key_salt })
}

/// Our `a=crypto` lines for an offer: one per suite of `suites`, in its order, tags from 1,
/// each with its own key.
pub fn offer(suites: &[Suite]) -> PcResult<Vec<Crypto>> {
    suites.iter().zip(1..).map(|(suite, tag)| fresh(tag, *suite)).collect()
}

/// The `a=crypto` values of an offered m-section (`a=crypto:` attributes).
pub fn lines(media: &gst_sdp::SDPMediaRef) -> Vec<&str> {
    media.attributes().filter(|a| a.key() == "crypto").filter_map(|a| a.value()).collect()
}

/// The answer to the `a=crypto` values of an offered m-section: the first one we can use
/// with a suite of `suites` (the offerer lists them in its order of preference, §5.1.1),
/// with our own key. Returns the offerer's (its key decrypts what it sends) and ours.
pub fn answer<'a>(offered: impl IntoIterator<Item = &'a str>, suites: &[Suite]) -> PcResult<(Crypto, Crypto)> {
    let theirs = pick(offered, suites)?;
    let ours = fresh(theirs.tag, theirs.suite)?;
    Ok((theirs, ours))
}

/// The offered line `answer` takes, or why there is none.
pub fn pick<'a>(offered: impl IntoIterator<Item = &'a str>, suites: &[Suite]) -> PcResult<Crypto> {
    let mut any = false;
    for value in offered {
        any = true;
        if let Some(theirs) = parse(value)?.filter(|c| suites.contains(&c.suite)) {
            return Ok(theirs);
        }
    }
    Err(PcError::invalid_access(if any {
        "no a=crypto line we can use: we speak the suites of srtpCryptoSuites (AES_CM_128_HMAC_SHA1_80 and _32 by default) with one inline key, no MKI, a lifetime of at least 2^31 and no session parameters but WSH"
    } else {
        "SDES-SRTP without an a=crypto line"
    }))
}

/// The offered line an answer picked, by its tag (§5.1.2: the answer echoes the tag).
pub fn chosen<'a>(offer: &[Crypto], answer_tag: u32) -> PcResult<&'_ Crypto> {
    offer
        .iter()
        .find(|c| c.tag == answer_tag)
        .ok_or_else(|| PcError::invalid_access(format!("the answer's a=crypto tag {answer_tag} is not one we offered (RFC 4568 §5.1.2)")))
}

fn decode_key(b64: &str) -> Option<[u8; KEY_SALT_LEN]> {
    // Strict: glib's decoder skips characters outside the alphabet.
    let bytes = b64.as_bytes();
    let padded = bytes.iter().rev().take_while(|b| **b == b'=').count();
    if bytes.len() % 4 != 0 || padded > 2 || !bytes[..bytes.len() - padded].iter().all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/') {
        return None;
    }
    gst::glib::base64_decode(b64).try_into().ok()
}

fn lifetime_log2(s: &str) -> Option<u32> {
    if let Some(exp) = s.strip_prefix("2^") {
        return exp.parse().ok().filter(|e| *e <= 64);
    }
    let n: u64 = s.parse().ok()?;
    Some(63 - n.max(1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    const KEY: &str = "WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz";

    #[test]
    fn what_sip_stacks_send_parses() {
        let c = parse(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}")).unwrap().unwrap();
        assert_eq!((c.tag, c.suite), (1, Suite::AesCm128HmacSha1_80));
        assert_eq!(gst::glib::base64_encode(&c.key_salt).as_str(), KEY);
        // baresip, Asterisk and sipp variants: the _32 suite, a 2^n or decimal lifetime, WSH.
        let c = parse(&format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}|2^31")).unwrap().unwrap();
        assert_eq!((c.tag, c.suite), (2, Suite::AesCm128HmacSha1_32));
        assert!(parse(&format!("3 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|4294967296 WSH=64")).unwrap().is_some());
    }

    #[test]
    fn lines_we_do_not_speak_are_skipped_not_errors() {
        for v in [
            format!("1 AES_256_CM_HMAC_SHA1_80 inline:{KEY}"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^20"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|1:4"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^31|1:4"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|1:4;inline:{KEY}|2:4"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY} UNENCRYPTED_SRTP"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY} KDR=1"),
        ] {
            assert_eq!(parse(&v), Ok(None), "{v}");
        }
    }

    #[test]
    fn malformed_lines_are_errors_never_panics() {
        for v in [
            String::new(),
            "1".into(),
            "1 AES_CM_128_HMAC_SHA1_80".into(),
            format!("x AES_CM_128_HMAC_SHA1_80 inline:{KEY}"),
            format!("1234567890 AES_CM_128_HMAC_SHA1_80 inline:{KEY}"),
            format!("1 AES_CM_128_HMAC_SHA1_80 uri:{KEY}"),
            "1 AES_CM_128_HMAC_SHA1_80 inline:c2hvcnQ=".into(),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{}", &KEY[..39]),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{}!", &KEY[..39]),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|never"),
            format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}|2^31|1:4|x"),
            "1 AES_CM_128_HMAC_SHA1_80 inline:é".into(),
        ] {
            assert_eq!(parse(&v).map(|_| ()).unwrap_err().code, ErrorCode::InvalidAccess, "{v}");
        }
    }

    #[test]
    fn the_answer_takes_the_first_usable_line_with_a_fresh_key_of_ours() {
        let offered = [format!("1 AES_256_CM_HMAC_SHA1_80 inline:{KEY}"), format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}"), format!("3 AES_CM_128_HMAC_SHA1_80 inline:{KEY}")];
        let (theirs, ours) = answer(offered.iter().map(String::as_str), &Suite::ALL).unwrap();
        assert_eq!((theirs.tag, theirs.suite), (2, Suite::AesCm128HmacSha1_32));
        assert_eq!((ours.tag, ours.suite), (2, Suite::AesCm128HmacSha1_32));
        assert_ne!(ours.key_salt, theirs.key_salt, "never echo the offerer's key");
        let (_, again) = answer(offered.iter().map(String::as_str), &Suite::ALL).unwrap();
        assert_ne!(again.key_salt, ours.key_salt, "a key per description");
        let formatted = format(&ours);
        assert_eq!(parse(&formatted).unwrap(), Some(ours));
    }

    #[test]
    fn nothing_usable_is_refused_clearly() {
        let e = answer([format!("1 F8_128_HMAC_SHA1_80 inline:{KEY}").as_str()], &Suite::ALL).unwrap_err();
        assert_eq!(e.code, ErrorCode::InvalidAccess);
        assert!(e.message.contains("AES_CM_128_HMAC_SHA1_80"));
        assert!(answer([], &Suite::ALL).unwrap_err().message.contains("without an a=crypto"));
        assert!(answer(["garbage"], &Suite::ALL).is_err());
    }

    #[test]
    fn our_offer_has_both_suites_and_the_answer_picks_by_tag() {
        let offer = offer(&Suite::ALL).unwrap();
        assert_eq!(offer.iter().map(|c| (c.tag, c.suite)).collect::<Vec<_>>(), vec![(1, Suite::AesCm128HmacSha1_80), (2, Suite::AesCm128HmacSha1_32)]);
        assert_ne!(offer[0].key_salt, offer[1].key_salt);
        assert_eq!(chosen(&offer, 2).unwrap().suite, Suite::AesCm128HmacSha1_32);
        assert_eq!(chosen(&offer, 7).unwrap_err().code, ErrorCode::InvalidAccess);
        assert_eq!(Suite::AesCm128HmacSha1_32.gst_names(), ("aes-128-icm", "hmac-sha1-32", "hmac-sha1-80"));
        assert!(!format!("{:?}", offer[0]).contains(&gst::glib::base64_encode(&offer[0].key_salt).to_string()), "no key in Debug");
    }

    #[test]
    fn srtp_crypto_suites_choose_what_we_offer_and_accept() {
        let only_32 = Suite::list(Some(&["AES_CM_128_HMAC_SHA1_32".to_owned()])).unwrap();
        assert_eq!(offer(&only_32).unwrap().iter().map(|c| (c.tag, c.suite)).collect::<Vec<_>>(), vec![(1, Suite::AesCm128HmacSha1_32)]);
        let offered = [format!("1 AES_CM_128_HMAC_SHA1_80 inline:{KEY}"), format!("2 AES_CM_128_HMAC_SHA1_32 inline:{KEY}")];
        assert_eq!(answer(offered.iter().map(String::as_str), &only_32).unwrap().1.tag, 2);
        assert_eq!(answer(offered[..1].iter().map(String::as_str), &only_32).unwrap_err().code, ErrorCode::InvalidAccess);
        assert_eq!(Suite::list(None).unwrap(), Suite::ALL.to_vec());
        let reversed = ["AES_CM_128_HMAC_SHA1_32".to_owned(), "AES_CM_128_HMAC_SHA1_80".to_owned()];
        assert_eq!(Suite::list(Some(&reversed)).unwrap(), vec![Suite::AesCm128HmacSha1_32, Suite::AesCm128HmacSha1_80]);
        assert_eq!(Suite::list(Some(&[])).unwrap_err().code, ErrorCode::Type);
        assert_eq!(Suite::list(Some(&["AES_256_CM_HMAC_SHA1_80".to_owned()])).unwrap_err().code, ErrorCode::Type);
    }
}
