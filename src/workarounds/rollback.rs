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
//!
//! A remote offer after a rolled-back first offer (glare, "perfect negotiation": webrtc-pc
//! §4.4.1.6 rolls back implicitly) finds webrtcbin still in have-local-offer, which refuses it.
//! `settle` makes the answer that brings webrtcbin to stable first: one that rejects every
//! m-section (port 0, RFC 3264 §6) and bundles nothing, so webrtcbin associates no transceiver
//! with an m-line, creates no transport and starts neither ICE checks nor DTLS
//! (`_update_transceivers_from_sdp` skips rejected sections); the real offer then finds our
//! transceivers as unassociated as a first offer would. What stays is webrtcbin's ICE
//! controlling role from the stale offer, which it never gives up: when both agents are
//! controlling, ICE's role-conflict repair settles it (RFC 8445 §7.3.1.1).

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
                crate::sdp::set_attr(media, "setup", theirs);
            }
        }
    }
    Plan::Reapply(answer)
}

/// The answer that settles webrtcbin's stale first offer (see the module doc). webrtcbin
/// still validates each section's ICE credentials, fingerprint and setup role, so they stay.
pub fn settle(stale_offer: &gst_sdp::SDPMessageRef) -> SDPMessage {
    let mut answer = stale_offer.to_owned();
    crate::workarounds::ice_credentials::replace(&mut answer);
    for i in (0..answer.attributes_len()).rev() {
        if answer.attribute(i).is_some_and(|a| a.key() == "group") {
            let _ = answer.remove_attribute(i);
        }
    }
    for idx in 0..answer.medias_len() {
        let Some(media) = answer.media_mut(idx) else { continue };
        media.set_port_info(0, 0);
        crate::sdp::set_attr(media, "setup", "active");
        let candidates: Vec<u32> = (0..media.attributes_len())
            .filter(|i| media.attribute(*i).is_some_and(|a| matches!(a.key(), "candidate" | "end-of-candidates")))
            .collect();
        for i in candidates.into_iter().rev() {
            let _ = media.remove_attribute(i);
        }
    }
    answer
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
    fn settling_answer_rejects_everything_and_has_its_own_credentials() {
        gst::init().unwrap();
        let text = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=ice-ufrag:ours\r\na=ice-pwd:ourpasswordourpassword\r\na=setup:actpass\r\na=candidate:1 1 UDP 1 127.0.0.1 5000 typ host\r\na=sendrecv\r\n";
        let offer = SDPMessage::parse_buffer(text.as_bytes()).unwrap();
        let answer = settle(&offer);
        assert_eq!(answer.attribute_val("group"), None);
        let m = answer.media(0).unwrap();
        assert_eq!(m.port(), 0);
        assert_eq!(m.attribute_val("setup"), Some("active"));
        assert_ne!(m.attribute_val("ice-ufrag"), Some("ours"));
        assert_eq!(m.attribute_val("candidate"), None);
    }

    #[test]
    fn initial_offer_rolls_back_state_only() {
        gst::init().unwrap();
        let mut n = Negotiation::default();
        n.apply(Side::Local, SdpType::Offer, Some(sdp("actpass"))).unwrap();
        assert!(matches!(plan(&n), Plan::StateOnly));
    }
}
