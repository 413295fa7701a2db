//! Rejecting an m-section (RFC 3264 §6, JSEP RFC 9429 §5.2.2 and §5.3.1): port 0, the
//! formats and `a=mid` kept, `a=inactive`, no address, and out of the BUNDLE group
//! (RFC 8843 §7.3.3, §7.5.3). webrtcbin 1.22 still validates ICE credentials, a
//! fingerprint and a setup role in every section (webrtcsdp.c `validate_sdp`), so a
//! rejected section keeps a transport: its own, or the one given.

use gst_sdp::{SDPMediaRef, SDPMessage};

/// The transport attributes webrtcbin's validation requires in every section.
pub const TRANSPORT: &[&str] = &["ice-ufrag", "ice-pwd", "fingerprint", "setup"];
/// What a rejected section keeps besides its transport.
const KEPT: &[&str] = &["mid", "rtpmap", "fmtp"];

/// Rejects m-section `idx`; `transport` replaces its transport attributes when given.
pub fn section(msg: &mut SDPMessage, idx: u32, transport: Option<&[(String, String)]>) {
    let Some(media) = msg.media_mut(idx) else { return };
    let mid = media.attribute_val("mid").map(str::to_owned);
    media.set_port_info(0, 0);
    strip(media, transport.is_none());
    for (key, value) in transport.into_iter().flatten() {
        media.add_attribute(key, Some(value));
    }
    if !crate::sdp::has_attr(media, "inactive") {
        crate::sdp::add_flag(media, "inactive");
    }
    while media.connections_len() > 0 {
        let _ = media.remove_connection(0);
    }
    media.add_connection("IN", "IP4", "0.0.0.0", 0, 0);
    if let Some(mid) = mid {
        leave_bundle(msg, &mid);
    }
}

fn strip(media: &mut SDPMediaRef, keep_transport: bool) {
    for i in (0..media.attributes_len()).rev() {
        let keep = media
            .attribute(i)
            .is_some_and(|a| KEPT.contains(&a.key()) || (keep_transport && TRANSPORT.contains(&a.key())));
        if !keep {
            let _ = media.remove_attribute(i);
        }
    }
}

/// Takes `mid` out of every BUNDLE group; a group left empty goes.
fn leave_bundle(msg: &mut SDPMessage, mid: &str) {
    for i in (0..msg.attributes_len()).rev() {
        let Some(group) = msg.attribute(i).filter(|a| a.key() == "group").and_then(|a| a.value()).and_then(|v| v.strip_prefix("BUNDLE")) else {
            continue;
        };
        let left: Vec<&str> = group.split_whitespace().filter(|m| *m != mid).collect();
        let value = format!("BUNDLE {}", left.join(" "));
        if left.is_empty() {
            let _ = msg.remove_attribute(i);
        } else {
            let _ = msg.replace_attribute(i, gst_sdp::SDPAttribute::new("group", Some(&value)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a b\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:a\r\na=rtpmap:111 opus/48000/2\r\na=ice-ufrag:mine\r\na=ice-pwd:minepasswordminepassword\r\na=fingerprint:sha-256 AA\r\na=setup:actpass\r\na=candidate:1 1 udp 1 127.0.0.1 9 typ host\r\na=sendrecv\r\na=msid:s t\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:b\r\na=rtpmap:111 opus/48000/2\r\na=ice-ufrag:mine\r\na=ice-pwd:minepasswordminepassword\r\na=fingerprint:sha-256 AA\r\na=setup:actpass\r\na=sendrecv\r\n";

    fn attrs(msg: &SDPMessage, idx: u32) -> Vec<String> {
        msg.media(idx).unwrap().attributes().map(|a| format!("{}:{}", a.key(), a.value().unwrap_or_default())).collect()
    }

    #[test]
    fn a_rejected_section_keeps_formats_mid_and_its_transport_and_leaves_the_bundle() {
        gst::init().unwrap();
        let mut msg = SDPMessage::parse_buffer(TWO.as_bytes()).unwrap();
        section(&mut msg, 0, None);
        assert_eq!(msg.media(0).unwrap().port(), 0);
        assert_eq!(
            attrs(&msg, 0),
            ["mid:a", "rtpmap:111 opus/48000/2", "ice-ufrag:mine", "ice-pwd:minepasswordminepassword", "fingerprint:sha-256 AA", "setup:actpass", "inactive:"]
        );
        assert_eq!(msg.attribute_val("group"), Some("BUNDLE b"));
        assert_eq!(msg.media(1).unwrap().port(), 9);
        section(&mut msg, 1, None);
        assert_eq!(msg.attribute_val("group"), None, "an empty group goes");
    }

    #[test]
    fn a_given_transport_replaces_the_sections_own() {
        gst::init().unwrap();
        let mut msg = SDPMessage::parse_buffer(TWO.as_bytes()).unwrap();
        let ours = [("ice-ufrag".to_owned(), "ours".to_owned()), ("setup".to_owned(), "active".to_owned())];
        section(&mut msg, 1, Some(&ours));
        assert_eq!(attrs(&msg, 1), ["mid:b", "rtpmap:111 opus/48000/2", "ice-ufrag:ours", "setup:active", "inactive:"]);
        assert_eq!(msg.media(1).unwrap().connection(0).and_then(|c| c.address()), Some("0.0.0.0"));
    }
}
