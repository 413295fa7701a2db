//! The signaling state machine of webrtc-pc §4.3.1 and the description bookkeeping of
//! §4.4.1.6 ("set the RTCSessionDescription"), kept free of GStreamer so it is unit-tested
//! on its own. webrtcbin has its own copy of this state; ours is checked first so a wrong-state
//! call is rejected exactly as a browser would, before webrtcbin ever sees it.

use crate::error::{PcError, PcResult};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalingState {
    Stable,
    HaveLocalOffer,
    HaveRemoteOffer,
    HaveLocalPranswer,
    HaveRemotePranswer,
    Closed,
}

impl SignalingState {
    pub fn as_str(self) -> &'static str {
        match self {
            SignalingState::Stable => "stable",
            SignalingState::HaveLocalOffer => "have-local-offer",
            SignalingState::HaveRemoteOffer => "have-remote-offer",
            SignalingState::HaveLocalPranswer => "have-local-pranswer",
            SignalingState::HaveRemotePranswer => "have-remote-pranswer",
            SignalingState::Closed => "closed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpType {
    Offer,
    Pranswer,
    Answer,
    Rollback,
}

impl SdpType {
    pub fn parse(s: &str) -> PcResult<Self> {
        match s {
            "offer" => Ok(SdpType::Offer),
            "pranswer" => Ok(SdpType::Pranswer),
            "answer" => Ok(SdpType::Answer),
            "rollback" => Ok(SdpType::Rollback),
            other => Err(PcError::type_error(format!("'{other}' is not a valid RTCSdpType"))),
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            SdpType::Offer => "offer",
            SdpType::Pranswer => "pranswer",
            SdpType::Answer => "answer",
            SdpType::Rollback => "rollback",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Local,
    Remote,
}

/// The state a successful set{Local,Remote}Description of `ty` moves to, or the
/// InvalidStateError a browser rejects with (webrtc-pc §4.4.1.5 and the transition table of §4.3.1).
pub fn next_state(state: SignalingState, side: Side, ty: SdpType) -> PcResult<SignalingState> {
    use SignalingState::*;
    if state == Closed {
        return Err(PcError::invalid_state("the RTCPeerConnection is closed"));
    }
    let next = match (side, ty, state) {
        (Side::Local, SdpType::Offer, Stable | HaveLocalOffer) => HaveLocalOffer,
        (Side::Local, SdpType::Answer, HaveRemoteOffer | HaveLocalPranswer) => Stable,
        (Side::Local, SdpType::Pranswer, HaveRemoteOffer | HaveLocalPranswer) => HaveLocalPranswer,
        (Side::Remote, SdpType::Offer, Stable | HaveRemoteOffer) => HaveRemoteOffer,
        (Side::Remote, SdpType::Answer, HaveLocalOffer | HaveRemotePranswer) => Stable,
        (Side::Remote, SdpType::Pranswer, HaveLocalOffer | HaveRemotePranswer) => HaveRemotePranswer,
        // §4.4.1.5: rollback is refused in stable and the pranswer states, and a side can only
        // roll back its own offer (§4.3.1's transitions; browsers refuse the other side's).
        (Side::Local, SdpType::Rollback, HaveLocalOffer) | (Side::Remote, SdpType::Rollback, HaveRemoteOffer) => Stable,
        _ => {
            let side = if side == Side::Local { "Local" } else { "Remote" };
            return Err(PcError::invalid_state(format!(
                "Failed to execute 'set{side}Description': cannot set {} in state {}",
                ty.as_str(),
                state.as_str()
            )));
        }
    };
    Ok(next)
}

/// webrtc-pc §4.4.3.2 createOffer step: only in stable or have-local-offer.
pub fn check_create_offer(state: SignalingState) -> PcResult<()> {
    match state {
        SignalingState::Stable | SignalingState::HaveLocalOffer => Ok(()),
        SignalingState::Closed => Err(PcError::invalid_state("the RTCPeerConnection is closed")),
        other => Err(PcError::invalid_state(format!("cannot create an offer in state {}", other.as_str()))),
    }
}

/// webrtc-pc §4.4.3.2 createAnswer step: only in have-remote-offer or have-local-pranswer.
pub fn check_create_answer(state: SignalingState) -> PcResult<()> {
    match state {
        SignalingState::HaveRemoteOffer | SignalingState::HaveLocalPranswer => Ok(()),
        SignalingState::Closed => Err(PcError::invalid_state("the RTCPeerConnection is closed")),
        other => Err(PcError::invalid_state(format!("cannot create an answer in state {}", other.as_str()))),
    }
}

/// The four descriptions of webrtc-pc §4.4.1 plus the signaling state.
#[derive(Debug, Clone)]
pub struct Negotiation<D: Clone> {
    pub state: SignalingState,
    pub pending_local: Option<(SdpType, D)>,
    pub current_local: Option<(SdpType, D)>,
    pub pending_remote: Option<(SdpType, D)>,
    pub current_remote: Option<(SdpType, D)>,
}

impl<D: Clone> Default for Negotiation<D> {
    fn default() -> Self {
        Self { state: SignalingState::Stable, pending_local: None, current_local: None, pending_remote: None, current_remote: None }
    }
}

impl<D: Clone> Negotiation<D> {
    pub fn check(&self, side: Side, ty: SdpType) -> PcResult<SignalingState> {
        next_state(self.state, side, ty)
    }

    /// Apply a description webrtcbin accepted (webrtc-pc §4.4.1.6 steps for each type).
    pub fn apply(&mut self, side: Side, ty: SdpType, desc: Option<D>) -> PcResult<SignalingState> {
        let next = self.check(side, ty)?;
        match (side, ty) {
            (_, SdpType::Rollback) => {
                self.pending_local = None;
                self.pending_remote = None;
            }
            (Side::Local, SdpType::Offer | SdpType::Pranswer) => self.pending_local = desc.map(|d| (ty, d)),
            (Side::Remote, SdpType::Offer | SdpType::Pranswer) => self.pending_remote = desc.map(|d| (ty, d)),
            (Side::Local, SdpType::Answer) => {
                self.current_local = desc.map(|d| (ty, d));
                self.current_remote = self.pending_remote.take().or(self.current_remote.take());
                self.pending_local = None;
            }
            (Side::Remote, SdpType::Answer) => {
                self.current_remote = desc.map(|d| (ty, d));
                self.current_local = self.pending_local.take().or(self.current_local.take());
                self.pending_remote = None;
            }
        }
        self.state = next;
        Ok(next)
    }

    pub fn local(&self) -> Option<&(SdpType, D)> {
        self.pending_local.as_ref().or(self.current_local.as_ref())
    }
    pub fn remote(&self) -> Option<&(SdpType, D)> {
        self.pending_remote.as_ref().or(self.current_remote.as_ref())
    }
    pub fn remote_mut(&mut self) -> Option<&mut (SdpType, D)> {
        if self.pending_remote.is_some() {
            self.pending_remote.as_mut()
        } else {
            self.current_remote.as_mut()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::SignalingState::*;
    use super::*;
    use crate::error::ErrorCode;

    #[test]
    fn offer_answer_round_trip() {
        let mut offerer = Negotiation::<&str>::default();
        let mut answerer = Negotiation::<&str>::default();
        assert_eq!(offerer.apply(Side::Local, SdpType::Offer, Some("o")).unwrap(), HaveLocalOffer);
        assert_eq!(answerer.apply(Side::Remote, SdpType::Offer, Some("o")).unwrap(), HaveRemoteOffer);
        assert_eq!(answerer.apply(Side::Local, SdpType::Answer, Some("a")).unwrap(), Stable);
        assert_eq!(offerer.apply(Side::Remote, SdpType::Answer, Some("a")).unwrap(), Stable);
        assert_eq!(offerer.current_local.as_ref().unwrap().1, "o");
        assert_eq!(offerer.current_remote.as_ref().unwrap().1, "a");
        assert!(offerer.pending_local.is_none() && offerer.pending_remote.is_none());
        assert_eq!(answerer.current_remote.as_ref().unwrap().1, "o");
        assert_eq!(answerer.current_local.as_ref().unwrap().1, "a");
    }

    #[test]
    fn pranswer_then_answer() {
        let mut n = Negotiation::<&str>::default();
        n.apply(Side::Local, SdpType::Offer, Some("o")).unwrap();
        assert_eq!(n.apply(Side::Remote, SdpType::Pranswer, Some("p")).unwrap(), HaveRemotePranswer);
        assert_eq!(n.remote().unwrap().1, "p");
        assert_eq!(n.apply(Side::Remote, SdpType::Answer, Some("a")).unwrap(), Stable);
        assert_eq!(n.current_local.as_ref().unwrap().1, "o");
    }

    #[test]
    fn wrong_state_calls_are_invalid_state() {
        let bad = [
            (Stable, Side::Remote, SdpType::Answer),
            (Stable, Side::Local, SdpType::Answer),
            (Stable, Side::Local, SdpType::Rollback),
            (Stable, Side::Remote, SdpType::Pranswer),
            (HaveLocalOffer, Side::Remote, SdpType::Offer),
            (HaveLocalOffer, Side::Local, SdpType::Answer),
            (HaveRemoteOffer, Side::Local, SdpType::Offer),
            (HaveRemoteOffer, Side::Remote, SdpType::Answer),
            (HaveLocalPranswer, Side::Local, SdpType::Rollback),
            (Closed, Side::Local, SdpType::Offer),
        ];
        for (state, side, ty) in bad {
            let err = next_state(state, side, ty).unwrap_err();
            assert_eq!(err.code, ErrorCode::InvalidState, "{state:?} {side:?} {ty:?}");
        }
    }

    #[test]
    fn rollback_returns_to_stable_and_keeps_current() {
        let mut n = Negotiation::<&str>::default();
        n.apply(Side::Local, SdpType::Offer, Some("o1")).unwrap();
        n.apply(Side::Remote, SdpType::Answer, Some("a1")).unwrap();
        n.apply(Side::Local, SdpType::Offer, Some("o2")).unwrap();
        assert_eq!(n.apply(Side::Local, SdpType::Rollback, None).unwrap(), Stable);
        assert_eq!(n.local().unwrap().1, "o1");
        assert_eq!(n.remote().unwrap().1, "a1");
    }

    #[test]
    fn create_checks() {
        assert!(check_create_offer(Stable).is_ok());
        assert!(check_create_offer(HaveLocalOffer).is_ok());
        assert_eq!(check_create_offer(HaveRemoteOffer).unwrap_err().code, ErrorCode::InvalidState);
        assert_eq!(check_create_answer(Stable).unwrap_err().code, ErrorCode::InvalidState);
        assert!(check_create_answer(HaveRemoteOffer).is_ok());
        assert_eq!(check_create_answer(Closed).unwrap_err().code, ErrorCode::InvalidState);
    }

    #[test]
    fn sdp_type_parse() {
        assert_eq!(SdpType::parse("offer").unwrap(), SdpType::Offer);
        assert_eq!(SdpType::parse("bogus").unwrap_err().code, ErrorCode::Type);
    }
}
