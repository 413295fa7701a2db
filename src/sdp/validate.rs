//! Descriptions before webrtcbin sees them: limits, syntax, the semantic checks browsers
//! make, and the normalisations webrtcbin 1.22 needs. Every rule, with the RFC/JSEP section
//! it follows and the webrtcbin code it protects, is listed in docs/robustness.md.
//!
//! A remote description comes from someone else (a browser, a phone, an attacker); a local
//! one may be munged by the application. Both go through the same rules, since webrtcbin
//! reads both with the same code; only the error differs (webrtc-pc §4.4.1.6:
//! InvalidAccessError for theirs, InvalidModificationError for ours).

use gst_sdp::{SDPMessage, SDPMessageRef};

use crate::error::{ErrorCode, PcError, PcResult};
use crate::negotiation::Side;

use super::candidate::Candidate;
use super::direction::{self, DIRECTIONS};
use super::limits::Limits;
use super::{mids, ssrc};
use crate::workarounds::ice_credentials;

/// What a description is checked against.
pub struct Context<'a> {
    pub limits: &'a Limits,
    /// The descriptions of the last completed negotiation (mids are stable across them).
    pub previous: Vec<&'a SDPMessageRef>,
    /// For an answer or pranswer: the offer it answers.
    pub offer: Option<&'a SDPMessageRef>,
}

/// Check and normalise a description about to be applied.
pub fn prepare(sdp: &str, side: Side, ctx: &Context) -> PcResult<SDPMessage> {
    ctx.limits.check_text(sdp)?;
    let mut msg = parse(sdp)?;
    let semantic = (|| -> PcResult<()> {
        check_sections(&msg)?;
        check_webrtc(&msg)?;
        ice_credentials::normalize_remote(&mut msg)?;
        ssrc::normalize_remote(&mut msg)?;
        if side == Side::Remote {
            mids::fill_missing(&mut msg, ctx.offer);
        }
        mids::check(&msg, &ctx.previous, ctx.offer, ErrorCode::InvalidAccess)?;
        normalize(&mut msg);
        Ok(())
    })();
    match semantic {
        Err(e) if side == Side::Local && e.code == ErrorCode::InvalidAccess => Err(PcError::new(ErrorCode::InvalidModification, e.message)),
        other => other.map(|()| msg),
    }
}

/// Per m-section: the formats of an RTP m-line are payload types (RFC 8866 §5.14, RFC 3551
/// §3: 0–127; webrtcbin reads them with `atoi`, so `abc` became PCMU), listed once; at
/// most one direction attribute (RFC 3264 §5.1; webrtcbin 1.22 turns two into "no
/// direction" and fails later); every `a=candidate` parses (the same rules as
/// addIceCandidate, since webrtcbin hands both to libnice).
fn check_sections(msg: &SDPMessageRef) -> PcResult<()> {
    for (idx, media) in msg.medias().enumerate() {
        if media.proto().unwrap_or_default().contains("RTP") {
            let mut seen = [false; 128];
            for fmt in media.formats() {
                let pt = fmt.parse::<u8>().ok().filter(|pt| *pt < 128).filter(|_| fmt.bytes().all(|b| b.is_ascii_digit()));
                let Some(pt) = pt else {
                    return Err(PcError::operation(format!("m-line {idx}: format '{fmt}' is not an RTP payload type 0-127 (RFC 3551 §3)")));
                };
                if std::mem::replace(&mut seen[pt as usize], true) {
                    return Err(PcError::invalid_access(format!("m-line {idx} lists payload type {pt} twice")));
                }
            }
        }
        if media.attributes().filter(|a| DIRECTIONS.contains(&a.key())).count() > 1 {
            return Err(PcError::invalid_access(format!("m-line {idx} has more than one direction attribute (RFC 3264 §5.1)")));
        }
        for attr in media.attributes().filter(|a| a.key() == "candidate") {
            Candidate::parse(&format!("candidate:{}", attr.value().unwrap_or_default()))?;
        }
    }
    Ok(())
}

/// Parse SDP text. `gst_sdp` skips lines it does not understand, so the RFC 8866 §5 line
/// grammar (`<type>=<value>`, starting with `v=0`) is checked first: garbage must be an
/// RTCError with errorDetail "sdp-syntax-error" (webrtc-pc §4.4.1.5), not an empty session.
pub fn parse(sdp: &str) -> PcResult<SDPMessage> {
    let mut lines = sdp.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty());
    if lines.next() != Some("v=0") {
        return Err(PcError::sdp_syntax(Some(1), "Failed to parse SessionDescription: the first line must be 'v=0'"));
    }
    for (n, line) in lines.enumerate() {
        let b = line.as_bytes();
        if b.len() < 2 || !b[0].is_ascii_lowercase() || b[1] != b'=' {
            return Err(PcError::sdp_syntax(
                Some(n as u32 + 2),
                format!("Failed to parse SessionDescription: line {} is not '<type>=<value>': {line}", n + 2),
            ));
        }
    }
    let msg = SDPMessage::parse_buffer(sdp.as_bytes())
        .map_err(|e| PcError::sdp_syntax(None, format!("Failed to parse SessionDescription: {e}")))?;
    if msg.origin().is_none() {
        return Err(PcError::sdp_syntax(None, "Failed to parse SessionDescription: no o= line"));
    }
    for media in msg.medias() {
        let empty = |v: Option<&str>| v.is_none_or(str::is_empty);
        if empty(media.media()) || empty(media.proto()) || media.formats().all(str::is_empty) {
            return Err(PcError::sdp_syntax(None, "Failed to parse SessionDescription: incomplete m= line"));
        }
    }
    Ok(msg)
}

/// The checks Chromium makes before accepting a description with ICE and DTLS-SRTP
/// (JSEP, RFC 8829 §5.8): every active m-section needs ICE credentials and a fingerprint.
pub fn check_webrtc(msg: &gst_sdp::SDPMessageRef) -> PcResult<()> {
    for (idx, media) in msg.medias().enumerate() {
        if media.port() == 0 && !super::has_attr(media, "bundle-only") {
            continue; // rejected m-section
        }
        let has = |key: &str| media.attribute_val(key).is_some() || msg.attribute_val(key).is_some();
        if !has("fingerprint") {
            return Err(PcError::invalid_access(format!(
                "Called with SDP without DTLS fingerprint (m-line {idx})"
            )));
        }
        if !has("ice-ufrag") || !has("ice-pwd") {
            return Err(PcError::invalid_access(format!(
                "Called with SDP without ICE ufrag/pwd (m-line {idx})"
            )));
        }
        let proto = media.proto().unwrap_or_default();
        if !proto.contains("SAVP") {
            return Err(PcError::invalid_access(format!(
                "m-line {idx} uses {proto}; only DTLS-SRTP (UDP/TLS/RTP/SAVPF) is supported here"
            )));
        }
    }
    Ok(())
}

/// RFC 3264 §5.1: an m-section without a direction attribute is sendrecv; webrtcbin 1.22
/// fails negotiation instead, so make the default explicit. Also spell out the rtpmap of
/// RFC 3551 static payload types (see `codec::add_static_rtpmaps`).
pub fn normalize(msg: &mut SDPMessage) {
    for idx in 0..msg.medias_len() {
        if let Some(media) = msg.media_mut(idx) {
            crate::media::codec::add_static_rtpmaps(media);
        }
    }
    let session_dir = DIRECTIONS.iter().find(|d| msg.attributes().any(|a| a.key() == **d)).map(|d| d.to_string());
    for idx in 0..msg.medias_len() {
        let Some(media) = msg.media_mut(idx) else { continue };
        if direction::of_media(media).is_some() {
            continue;
        }
        super::add_flag(media, session_dir.as_deref().unwrap_or("sendrecv"));
    }
}


#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    pub const CHROME_OFFER: &str = "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0\r\na=msid-semantic: WMS\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\na=ice-pwd:aaaaaaaaaaaaaaaaaaaaaaaa\r\na=fingerprint:sha-256 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\na=setup:actpass\r\na=mid:0\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n";

    fn init() {
        gst::init().unwrap();
    }

    #[test]
    fn garbage_is_an_sdp_syntax_error() {
        // webrtc-pc §4.4.1.5: invalid SDP rejects with an RTCError whose
        // errorDetail is "sdp-syntax-error" (name OperationError, mapped in TS).
        init();
        for garbage in ["", "hello world", "v=0\r\nthis is not sdp\r\n", "x=1\r\n", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=audio\r\n"] {
            assert_eq!(parse(garbage).unwrap_err().code, ErrorCode::SdpSyntax, "{garbage:?}");
        }
    }

    #[test]
    fn browser_offer_parses_and_passes() {
        init();
        let msg = parse(CHROME_OFFER).unwrap();
        check_webrtc(&msg).unwrap();
        assert_eq!(msg.medias_len(), 1);
    }

    #[test]
    fn missing_fingerprint_is_invalid_access() {
        init();
        let sdp = CHROME_OFFER.replace("a=fingerprint:", "a=x-fingerprint:");
        let msg = parse(&sdp).unwrap();
        assert_eq!(check_webrtc(&msg).unwrap_err().code, ErrorCode::InvalidAccess);
    }

    #[test]
    fn missing_direction_becomes_sendrecv() {
        init();
        let mut msg = parse(CHROME_OFFER).unwrap();
        assert_eq!(direction::of(&msg, 0), None);
        normalize(&mut msg);
        assert_eq!(direction::of(&msg, 0), Some("sendrecv"));
        let mut held = parse(&CHROME_OFFER.replace("a=mid:0\r\n", "a=mid:0\r\na=sendonly\r\n")).unwrap();
        normalize(&mut held);
        assert_eq!(direction::of(&held, 0), Some("sendonly"));
    }
}
