//! Rollback (webrtc-pc §4.4.1.5, JSEP RFC 8829 §4.1.10.2) on top of webrtcbin 1.22, which
//! has no rollback at all.
//!
//! The case that matters for SIP is a re-INVITE the far end rejects (e.g. 488): we are in
//! have-local-offer with an established session. Re-applying the current remote description
//! as the answer puts webrtcbin back into stable with exactly the parameters already in use
//! (same ICE credentials, fingerprints and, thanks to direction virtualisation, the same
//! sendrecv view), so nothing changes on the wire. Other rollbacks only reset our own
//! negotiation state; webrtcbin then stays where it was, which accepts a new local offer
//! (after a local rollback) or a new remote offer (after a remote one).

use gst_sdp::SDPMessage;

use crate::negotiation::{Negotiation, SdpType, SignalingState};

pub enum Plan {
    /// Give webrtcbin this description as the remote answer.
    Reapply(SDPMessage),
    /// Nothing webrtcbin can do; only our state rolls back.
    StateOnly,
}

pub fn plan(n: &Negotiation<SDPMessage>) -> Plan {
    if n.state != SignalingState::HaveLocalOffer {
        return Plan::StateOnly;
    }
    let (Some((remote_ty, remote)), Some((_, local))) = (&n.current_remote, &n.current_local) else {
        return Plan::StateOnly;
    };
    let mut answer = remote.clone();
    if *remote_ty == SdpType::Offer {
        // We answered last time: their offer says actpass, an answer must say the role
        // they took, the opposite of ours (RFC 5763 §5).
        for idx in 0..answer.medias_len() {
            let ours = local.media(idx).and_then(|m| m.attribute_val("setup")).unwrap_or("active");
            let theirs = if ours == "active" { "passive" } else { "active" };
            if let Some(media) = answer.media_mut(idx) {
                replace_attribute(media, "setup", theirs);
            }
        }
    }
    Plan::Reapply(answer)
}

fn replace_attribute(media: &mut gst_sdp::SDPMediaRef, key: &str, value: &str) {
    for i in 0..media.attributes_len() {
        if media.attribute(i).is_some_and(|a| a.key() == key) {
            let _ = media.replace_attribute(i, gst_sdp::SDPAttribute::new(key, Some(value)));
            return;
        }
    }
    media.add_attribute(key, Some(value));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::negotiation::Side;

    fn sdp(setup: &str) -> SDPMessage {
        let text = format!("v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=setup:{setup}\r\na=sendrecv\r\n");
        SDPMessage::parse_buffer(text.as_bytes()).unwrap()
    }

    #[test]
    fn reapplies_the_current_answer_after_a_rejected_reoffer() {
        gst::init().unwrap();
        let mut n = Negotiation::default();
        n.apply(Side::Local, SdpType::Offer, Some(sdp("actpass"))).unwrap();
        n.apply(Side::Remote, SdpType::Answer, Some(sdp("active"))).unwrap();
        n.apply(Side::Local, SdpType::Offer, Some(sdp("actpass"))).unwrap();
        match plan(&n) {
            Plan::Reapply(a) => assert_eq!(a.media(0).unwrap().attribute_val("setup"), Some("active")),
            Plan::StateOnly => panic!("expected a re-apply"),
        }
    }

    #[test]
    fn former_answerer_gets_the_opposite_setup_role() {
        gst::init().unwrap();
        let mut n = Negotiation::default();
        n.apply(Side::Remote, SdpType::Offer, Some(sdp("actpass"))).unwrap();
        n.apply(Side::Local, SdpType::Answer, Some(sdp("active"))).unwrap();
        n.apply(Side::Local, SdpType::Offer, Some(sdp("actpass"))).unwrap();
        match plan(&n) {
            Plan::Reapply(a) => assert_eq!(a.media(0).unwrap().attribute_val("setup"), Some("passive")),
            Plan::StateOnly => panic!("expected a re-apply"),
        }
    }

    #[test]
    fn initial_offer_rolls_back_state_only() {
        gst::init().unwrap();
        let mut n = Negotiation::default();
        n.apply(Side::Local, SdpType::Offer, Some(sdp("actpass"))).unwrap();
        assert!(matches!(plan(&n), Plan::StateOnly));
    }
}
