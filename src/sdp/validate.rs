//! Remote descriptions: syntax check, the semantic checks browsers make, and the
//! normalisations webrtcbin 1.22 needs (see DESIGN.md "webrtcbin 1.22 facts").

use gst_sdp::SDPMessage;

use crate::error::{PcError, PcResult};

use super::direction::{self, DIRECTIONS};

/// Parse SDP text. `gst_sdp` skips lines it does not understand, so the RFC 8866 §5 line
/// grammar (`<type>=<value>`, starting with `v=0`) is checked first: garbage must be an
/// OperationError (webrtc-pc §4.4.1.6: "sdp-syntax-error"), not an empty session.
pub fn parse(sdp: &str) -> PcResult<SDPMessage> {
    let mut lines = sdp.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.is_empty());
    if lines.next() != Some("v=0") {
        return Err(PcError::operation("Failed to parse SessionDescription: the first line must be 'v=0'"));
    }
    for (n, line) in lines.enumerate() {
        let b = line.as_bytes();
        if b.len() < 2 || !b[0].is_ascii_lowercase() || b[1] != b'=' {
            return Err(PcError::operation(format!(
                "Failed to parse SessionDescription: line {} is not '<type>=<value>': {line}",
                n + 2
            )));
        }
    }
    let msg = SDPMessage::parse_buffer(sdp.as_bytes())
        .map_err(|e| PcError::operation(format!("Failed to parse SessionDescription: {e}")))?;
    if msg.origin().is_none() {
        return Err(PcError::operation("Failed to parse SessionDescription: no o= line"));
    }
    for media in msg.medias() {
        let empty = |v: Option<&str>| v.is_none_or(str::is_empty);
        if empty(media.media()) || empty(media.proto()) || media.formats().all(str::is_empty) {
            return Err(PcError::operation("Failed to parse SessionDescription: incomplete m= line"));
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
    fn garbage_is_operation_error() {
        init();
        for garbage in ["", "hello world", "v=0\r\nthis is not sdp\r\n", "x=1\r\n", "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\nm=audio\r\n"] {
            assert_eq!(parse(garbage).unwrap_err().code, ErrorCode::Operation, "{garbage:?}");
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
