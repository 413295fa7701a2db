//! Media directions (RFC 3264 §5.1, §6.1; JSEP RFC 8829 §5.3.1): the one copy of the
//! answer and reversal rules. webrtcbin itself only ever sees `sendrecv`
//! (`workarounds::webrtcbin_view`).

use gst_sdp::SDPMediaRef;

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
}
