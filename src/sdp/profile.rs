//! The media security of an m-section (its transport protocol, RFC 8866 §5.14, and how its
//! keys are exchanged) and `rtpProfile`, the least secure one a connection accepts.
//!
//! SIP trunks, phones and PBXs send plain `RTP/AVP` (RFC 3551) or SDES-SRTP (`RTP/SAVP` with
//! `a=crypto`, RFC 4568); WebRTC peers send `UDP/TLS/RTP/SAVPF` with a DTLS fingerprint
//! (RFC 5764, RFC 8122). An answer always follows the offer's profile (RFC 3264 §6); which
//! offers are accepted at all is the application's choice, secure by default.

use gst_sdp::SDPMediaRef;

use crate::error::{PcError, PcResult};
use crate::sdp::crypto::{self, Suite};

/// How an m-section's media is keyed, from the least secure to the most.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Security {
    /// Plain RTP: nothing is encrypted or authenticated.
    Plain,
    /// SRTP keyed by `a=crypto` lines (RFC 4568): the keys travel in the SDP, so only as
    /// safe as the signalling (SIP over TLS).
    Sdes,
    /// SRTP keyed by a DTLS handshake bound to the SDP's fingerprint (RFC 5764).
    Dtls,
}

/// `RTCConfiguration.rtpProfile`: the profile our offers use, and the least secure one we
/// accept from a peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RtpProfile {
    /// `UDP/TLS/RTP/SAVPF`: DTLS-SRTP only (the default).
    DtlsSavpf,
    /// `RTP/SAVP`: SDES-SRTP or DTLS-SRTP.
    Savp,
    /// `RTP/AVP`: plain RTP as well.
    Avp,
}

impl RtpProfile {
    pub fn parse(s: &str) -> PcResult<Self> {
        match s {
            "UDP/TLS/RTP/SAVPF" => Ok(Self::DtlsSavpf),
            "RTP/SAVP" => Ok(Self::Savp),
            "RTP/AVP" => Ok(Self::Avp),
            _ => Err(PcError::type_error(format!("rtpProfile '{s}' is not 'UDP/TLS/RTP/SAVPF', 'RTP/SAVP' or 'RTP/AVP'"))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DtlsSavpf => "UDP/TLS/RTP/SAVPF",
            Self::Savp => "RTP/SAVP",
            Self::Avp => "RTP/AVP",
        }
    }

    /// The least secure keying accepted.
    pub fn least(self) -> Security {
        match self {
            Self::DtlsSavpf => Security::Dtls,
            Self::Savp => Security::Sdes,
            Self::Avp => Security::Plain,
        }
    }
}

/// The keying an offered m-section asks for, the most secure it allows:
/// - a DTLS fingerprint (media or session level) on a `UDP/TLS/…` or `…/SAVP(F)` protocol is DTLS;
/// - `a=crypto` lines are SDES, on `RTP/SAVP(F)` and also on `RTP/AVP(F)`: "best-effort"
///   SDES as Asterisk and FreeSWITCH send it, answered with SDES when we accept it
///   (RFC 4568 §7.1.1 keeps the profile as offered);
/// - otherwise `RTP/AVP(F)` is plain RTP;
/// - a secure profile with no key exchange at all cannot be answered.
pub fn offered(media: &SDPMediaRef, session_fingerprint: bool) -> PcResult<Security> {
    let proto = media.proto().unwrap_or_default();
    let secure = proto.contains("SAVP");
    let fingerprint = session_fingerprint || crate::sdp::has_attr(media, "fingerprint");
    if fingerprint && secure {
        return Ok(Security::Dtls);
    }
    if crate::sdp::has_attr(media, "crypto") && proto.starts_with("RTP/") {
        return Ok(Security::Sdes);
    }
    match proto {
        "RTP/AVP" | "RTP/AVPF" => Ok(Security::Plain),
        _ if secure => Err(PcError::invalid_access(format!("{proto} without a DTLS fingerprint or an a=crypto line: no way to key SRTP"))),
        _ => Err(PcError::invalid_access(format!("transport protocol '{proto}' is not RTP"))),
    }
}

/// The keying we answer with, or why the offer is refused. `Security::Sdes` offered on a
/// connection that takes plain RTP but not SDES does not exist: `least` orders them.
pub fn answer(offered: Security, profile: RtpProfile) -> PcResult<Security> {
    if offered < profile.least() {
        let what = match offered {
            Security::Plain => "plain RTP (RTP/AVP)",
            Security::Sdes => "SDES-SRTP (a=crypto)",
            Security::Dtls => unreachable!("DTLS is the most secure"),
        };
        return Err(PcError::invalid_access(format!(
            "the offer asks for {what}, less secure than rtpProfile '{}' accepts",
            profile.as_str()
        )));
    }
    Ok(offered)
}

/// The keying we answer each audio m-line of `msg` with (by m-line index; rejected lines are
/// left out), or why `rtp_profile` refuses the description.
pub fn answers(msg: &gst_sdp::SDPMessageRef, rtp_profile: RtpProfile) -> PcResult<Vec<(u32, Security)>> {
    let session_fingerprint = msg.attribute_val("fingerprint").is_some();
    let mut keying = Vec::new();
    for (i, m) in msg.medias().enumerate() {
        if m.port() != 0 && m.media() == Some("audio") {
            keying.push((i as u32, answer(offered(m, session_fingerprint)?, rtp_profile)?));
        }
    }
    Ok(keying)
}

/// How a connection with `rtp_profile` (and, for SDES, `suites`) would key its answer to the
/// offer `sdp`, or why it refuses it. One keying serves the whole offer, because one backend answers it: webrtcbin
/// for DTLS-SRTP, rtpbin for SDES-SRTP and plain RTP. For SIP, where an initial INVITE's offer
/// must be refused with 488 before it is accepted (SIP.js answers 480 to a failed accept), and
/// for the connection that picks its backend from the first offer it is given.
pub fn check_offer(sdp: &str, rtp_profile: RtpProfile, suites: &[Suite]) -> PcResult<Security> {
    let msg = crate::sdp::validate::parse(sdp)?;
    let keying = answers(&msg, rtp_profile)?;
    let Some(&(_, first)) = keying.first() else {
        return Err(PcError::invalid_access("the offer has no audio m-line"));
    };
    if keying.iter().any(|&(_, k)| (k == Security::Dtls) != (first == Security::Dtls)) {
        return Err(PcError::invalid_access("the offer mixes DTLS-SRTP m-lines with SDES-SRTP or plain RTP ones"));
    }
    for &(i, k) in &keying {
        if k == Security::Sdes {
            crypto::pick(msg.media(i).map(crypto::lines).unwrap_or_default(), suites)?;
        }
    }
    Ok(first)
}

/// `offerKeying(sdp, rtpProfile?, srtpCryptoSuites?)`: 'dtls', 'sdes' or 'plain', how a
/// connection with that configuration would key its answer; throws (InvalidAccessError,
/// TypeError for an unknown profile or suite, SdpSyntaxError) when it would refuse the offer.
#[napi_derive::napi(js_name = "offerKeying")]
pub fn offer_keying(sdp: String, rtp_profile: Option<String>, srtp_crypto_suites: Option<Vec<String>>) -> napi::Result<String, &'static str> {
    let coded = crate::error::coded;
    crate::runtime::init_or_throw().map_err(|e| napi::Error::new("OperationError", e.reason.clone()))?;
    let profile = RtpProfile::parse(rtp_profile.as_deref().unwrap_or("UDP/TLS/RTP/SAVPF")).map_err(coded)?;
    let suites = Suite::list(srtp_crypto_suites.as_deref()).map_err(coded)?;
    Ok(match check_offer(&sdp, profile, &suites).map_err(coded)? {
        Security::Plain => "plain",
        Security::Sdes => "sdes",
        Security::Dtls => "dtls",
    }
    .to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn media(sdp_media: &str) -> gst_sdp::SDPMessage {
        gst::init().unwrap();
        let sdp = format!("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n{sdp_media}");
        gst_sdp::SDPMessage::parse_buffer(sdp.as_bytes()).unwrap()
    }

    fn offered_of(sdp_media: &str) -> PcResult<Security> {
        let msg = media(sdp_media);
        offered(msg.media(0).unwrap(), false)
    }

    #[test]
    fn what_trunks_phones_and_browsers_offer() {
        // Twilio's plain offer; baresip's mediaenc=srtp-mand; Asterisk's best-effort SDES.
        assert_eq!(offered_of("m=audio 33340 RTP/AVP 0 101\r\n"), Ok(Security::Plain));
        let crypto = "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n";
        assert_eq!(offered_of(&format!("m=audio 4000 RTP/SAVP 0\r\n{crypto}")), Ok(Security::Sdes));
        assert_eq!(offered_of(&format!("m=audio 4000 RTP/AVP 0\r\n{crypto}")), Ok(Security::Sdes));
        let fp = "a=fingerprint:sha-256 AA:BB\r\n";
        assert_eq!(offered_of(&format!("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n{fp}")), Ok(Security::Dtls));
        // A session-level fingerprint counts; a fingerprint on a plain profile does not.
        let msg = media("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n");
        assert_eq!(offered(msg.media(0).unwrap(), true), Ok(Security::Dtls));
        assert_eq!(offered_of(&format!("m=audio 4000 RTP/AVP 0\r\n{fp}")), Ok(Security::Plain));
    }

    #[test]
    fn offers_that_cannot_be_keyed_or_are_not_rtp() {
        for m in ["m=audio 4000 RTP/SAVP 0\r\n", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "m=image 4000 udptl t38\r\n"] {
            let e = offered_of(m).unwrap_err();
            assert_eq!(e.code, crate::error::ErrorCode::InvalidAccess, "{m}");
        }
    }

    #[test]
    fn the_profile_is_the_least_secure_accepted() {
        use RtpProfile::*;
        use Security::*;
        for (profile, plain, sdes) in [(DtlsSavpf, false, false), (Savp, false, true), (Avp, true, true)] {
            assert_eq!(answer(Plain, profile).is_ok(), plain, "{profile:?}");
            assert_eq!(answer(Sdes, profile).is_ok(), sdes, "{profile:?}");
            assert_eq!(answer(Dtls, profile), Ok(Dtls));
        }
        let e = answer(Plain, DtlsSavpf).unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::InvalidAccess);
        assert!(e.message.contains("plain RTP"));
    }

    #[test]
    fn whole_offers_are_checked_against_the_profile() {
        gst::init().unwrap();
        let plain = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";
        assert_eq!(check_offer(plain, RtpProfile::DtlsSavpf, &Suite::ALL).unwrap_err().code, crate::error::ErrorCode::InvalidAccess);
        assert_eq!(check_offer(plain, RtpProfile::Avp, &Suite::ALL), Ok(Security::Plain));
        let fp = "a=fingerprint:sha-256 AA:BB\r\n";
        let webrtc = format!("{plain}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n{fp}").replace("m=audio 4000 RTP/AVP 0\r\n", "");
        assert_eq!(check_offer(&webrtc, RtpProfile::Avp, &Suite::ALL), Ok(Security::Dtls));
        let mixed = format!("{plain}m=audio 9 UDP/TLS/RTP/SAVPF 111\r\n{fp}");
        assert_eq!(check_offer(&mixed, RtpProfile::Avp, &Suite::ALL).unwrap_err().code, crate::error::ErrorCode::InvalidAccess);
        let video_only = plain.replace("m=audio", "m=video");
        assert!(check_offer(&video_only, RtpProfile::Avp, &Suite::ALL).is_err());
        // Not SDP at all, or nothing (gst_sdp would take the first and assert on the second).
        for text in ["garbage", ""] {
            assert_eq!(check_offer(text, RtpProfile::Avp, &Suite::ALL).unwrap_err().code, crate::error::ErrorCode::SdpSyntax);
        }
        // SDES with no suite of ours in common is refused before anything is applied.
        let sdes = plain.replace("RTP/AVP 0\r\n", "RTP/SAVP 0\r\na=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n");
        assert_eq!(check_offer(&sdes, RtpProfile::Savp, &Suite::ALL), Ok(Security::Sdes));
        let e = check_offer(&sdes, RtpProfile::Savp, &[Suite::AesCm128HmacSha1_32]).unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::InvalidAccess);
    }

    #[test]
    fn names_round_trip_and_anything_else_is_a_type_error() {
        for p in [RtpProfile::DtlsSavpf, RtpProfile::Savp, RtpProfile::Avp] {
            assert_eq!(RtpProfile::parse(p.as_str()), Ok(p));
        }
        for s in ["", "rtp/avp", "RTP/SAVPF", "UDP/TLS/RTP/SAVP"] {
            assert_eq!(RtpProfile::parse(s).unwrap_err().code, crate::error::ErrorCode::Type);
        }
    }
}
