//! Provisional answers (webrtc-pc §4.4.1.5; in SIP, the SDP of a 183 with early media)
//! on top of webrtcbin 1.22, which has no pranswer states: `_check_valid_state_for_sdp_change`
//! refuses a local answer in have-local-pranswer and a remote one in have-remote-pranswer.
//!
//! webrtcbin gets a pranswer as the answer, so media (early media) starts with it; our own
//! negotiation state goes to have-*-pranswer as the spec says. The final answer then changes our
//! state only, and must repeat the pranswer in everything webrtcbin reads (its view, where every
//! active direction is sendrecv, so a changed direction is fine: the send chains follow ours);
//! anything else different is an OperationError, since webrtcbin, already stable, cannot take a
//! second answer.

use gst_sdp::SDPMessageRef;

use crate::negotiation::{SdpType, Side, SignalingState};

/// Whether a description of type `ty` on `side` follows a pranswer of that side (webrtcbin has
/// the pranswer as its answer already).
pub fn follows_pranswer(state: SignalingState, side: Side, ty: SdpType) -> bool {
    matches!(
        (state, side, ty),
        (SignalingState::HaveLocalPranswer, Side::Local, SdpType::Answer | SdpType::Pranswer)
            | (SignalingState::HaveRemotePranswer, Side::Remote, SdpType::Answer | SdpType::Pranswer)
    )
}

/// Whether `now` repeats `earlier` in what webrtcbin reads: every line but the origin (whose
/// session version may grow) and the candidates (trickled in between).
pub fn repeats(earlier: &SDPMessageRef, now: &SDPMessageRef) -> bool {
    fn significant(msg: &SDPMessageRef) -> Vec<String> {
        msg.as_text()
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with("o=") && !l.starts_with("a=candidate:") && *l != "a=end-of-candidates")
            .map(str::to_owned)
            .collect()
    }
    significant(earlier) == significant(now)
}

#[cfg(test)]
mod tests {
    use super::*;
    use gst_sdp::SDPMessage;

    fn sdp(version: u32, extra: &str) -> SDPMessage {
        let text = format!("v=0\r\no=- 1 {version} IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\n{extra}");
        SDPMessage::parse_buffer(text.as_bytes()).unwrap()
    }

    #[test]
    fn only_an_answer_after_a_pranswer_of_the_same_side() {
        use SignalingState::*;
        assert!(follows_pranswer(HaveLocalPranswer, Side::Local, SdpType::Answer));
        assert!(follows_pranswer(HaveRemotePranswer, Side::Remote, SdpType::Pranswer));
        assert!(!follows_pranswer(HaveRemoteOffer, Side::Local, SdpType::Answer));
        assert!(!follows_pranswer(HaveLocalPranswer, Side::Remote, SdpType::Answer));
    }

    #[test]
    fn the_same_answer_repeats_despite_origin_version_and_candidates() {
        gst::init().unwrap();
        let pranswer = sdp(1, "a=sendrecv\r\n");
        assert!(repeats(&pranswer, &sdp(2, "a=sendrecv\r\na=candidate:1 1 UDP 1 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n")));
        assert!(!repeats(&pranswer, &sdp(1, "a=recvonly\r\n")));
    }
}
