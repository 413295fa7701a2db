//! Media directions (RFC 3264 §5.1, §6.1; JSEP RFC 8829 §5.3.1) and the direction
//! virtualisation that works around webrtcbin 1.22.
//!
//! webrtcbin 1.22 fails any renegotiation whose negotiated direction differs from the
//! previous one, except a change to inactive ("transceiver direction changes are not
//! implemented", gstwebrtcbin.c `_update_transceiver_from_sdp_media`), and it cannot come
//! back from inactive either. So webrtcbin only ever sees `sendrecv` on active m-lines; the
//! application and the remote peer see the real directions, and the send chains are gated
//! on them (see `media::sender`).

use gst_sdp::{SDPMediaRef, SDPMessage};

pub const DIRECTIONS: [&str; 4] = ["sendrecv", "sendonly", "recvonly", "inactive"];

/// The direction attribute of an m-section, if it has one.
pub fn of_media(media: &SDPMediaRef) -> Option<&'static str> {
    DIRECTIONS.iter().copied().find(|d| super::has_attr(media, d))
}

/// The direction attribute of m-line `idx` (after normalisation it always has one).
pub fn of(msg: &gst_sdp::SDPMessageRef, idx: u32) -> Option<&'static str> {
    msg.media(idx).and_then(of_media)
}

/// Replace the direction attribute of an m-section.
pub fn set(media: &mut SDPMediaRef, direction: &str) {
    let mut i = 0;
    while i < media.attributes_len() {
        let is_dir = media.attribute(i).is_some_and(|a| DIRECTIONS.contains(&a.key()));
        if is_dir {
            let _ = media.remove_attribute(i);
        } else {
            i += 1;
        }
    }
    super::add_flag(media, direction);
}

fn split(d: &str) -> (bool, bool) {
    (matches!(d, "sendrecv" | "sendonly"), matches!(d, "sendrecv" | "recvonly"))
}

fn join(send: bool, recv: bool) -> &'static str {
    match (send, recv) {
        (true, true) => "sendrecv",
        (true, false) => "sendonly",
        (false, true) => "recvonly",
        (false, false) => "inactive",
    }
}

/// RFC 3264 §6.1: the answerer sends only what the offerer receives and what it wants to
/// send, and receives only what the offerer sends and what it wants to receive.
pub fn answer(ours: &str, offered: &str) -> &'static str {
    let (we_send, we_recv) = split(ours);
    let (they_send, they_recv) = split(offered);
    join(we_send && they_recv, we_recv && they_send)
}

/// The direction seen from the other side.
pub fn reverse(d: &str) -> &'static str {
    let (send, recv) = split(d);
    join(recv, send)
}

/// The copy of a description that webrtcbin gets: every active m-line sendrecv.
pub fn for_webrtcbin(msg: &SDPMessage) -> SDPMessage {
    let mut copy = msg.clone();
    for idx in 0..copy.medias_len() {
        let Some(media) = copy.media_mut(idx) else { continue };
        if media.port() != 0 || super::has_attr(media, "bundle-only") {
            set(media, "sendrecv");
        }
    }
    copy
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_follows_rfc3264() {
        assert_eq!(answer("sendrecv", "sendrecv"), "sendrecv");
        assert_eq!(answer("sendrecv", "sendonly"), "recvonly");
        assert_eq!(answer("sendrecv", "recvonly"), "sendonly");
        assert_eq!(answer("sendrecv", "inactive"), "inactive");
        assert_eq!(answer("recvonly", "sendrecv"), "recvonly");
        assert_eq!(answer("sendonly", "sendonly"), "inactive");
        assert_eq!(reverse("sendonly"), "recvonly");
        assert_eq!(reverse("inactive"), "inactive");
    }

    #[test]
    fn webrtcbin_copy_is_sendrecv_and_original_untouched() {
        gst::init().unwrap();
        let sdp = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\nm=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=inactive\r\n";
        let msg = SDPMessage::parse_buffer(sdp.as_bytes()).unwrap();
        let copy = for_webrtcbin(&msg);
        assert_eq!(of(&copy, 0), Some("sendrecv"));
        assert_eq!(of(&copy, 1), Some("inactive"), "rejected m-lines stay as they are");
        assert_eq!(of(&msg, 0), Some("sendonly"));
        let mut m = msg.clone();
        set(m.media_mut(0).unwrap(), "recvonly");
        let text = m.as_text().unwrap();
        assert_eq!(text.matches("a=recvonly").count(), 1);
        assert!(!text.contains("a=sendonly"));
    }
}
