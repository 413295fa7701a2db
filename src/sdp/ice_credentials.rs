//! ICE restart (RFC 8839 §4.4.1.1.1): an offer with new ice-ufrag/ice-pwd. webrtcbin 1.22
//! ignores its `ice-restart` create-offer option and reuses the old credentials, but it
//! applies whatever credentials the local description carries, so we put fresh ones in.

use gst_sdp::SDPMessage;

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

/// Replace the ICE credentials of every m-section (and the session level, if present).
pub fn replace(msg: &mut SDPMessage) {
    let ufrag = random_ice_string(16);
    let pwd = random_ice_string(32);
    for idx in 0..msg.medias_len() {
        let Some(media) = msg.media_mut(idx) else { continue };
        for i in 0..media.attributes_len() {
            let key = media.attribute(i).map(|a| a.key().to_owned());
            let value = match key.as_deref() {
                Some("ice-ufrag") => &ufrag,
                Some("ice-pwd") => &pwd,
                _ => continue,
            };
            let _ = media.replace_attribute(i, gst_sdp::SDPAttribute::new(key.as_deref().unwrap_or_default(), Some(value)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
