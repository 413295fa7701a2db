//! The ICE connection and peer connection states: webrtcbin's, overridden by consent
//! (consent.rs) when the peer goes silent.

use std::sync::Arc;
use gst::prelude::*;
use crate::workarounds::consent::{self, Verdict};
use crate::events::NativeEvent;
use crate::states::{IceConnectionState, IceGatheringState, PeerConnectionState};

use super::inner::*;

/// webrtc-pc §5.6 RTCIceTransportState "completed": gathering has finished, the far end has
/// said it has no more candidates, and every pair is checked. libnice's READY (webrtcbin's
/// completed) only means the last, and on loopback it comes milliseconds after connected;
/// until the other two hold the state is connected, as in browsers.
fn shown(st: &State) -> IceConnectionState {
    let remote_done = st.negotiation.remote().is_some_and(|(_, sdp)| {
        sdp.medias().any(|m| m.port() != 0 && crate::sdp::has_attr(m, "end-of-candidates"))
    });
    match st.ice_agent {
        IceConnectionState::Completed if !(st.gathering == IceGatheringState::Complete && remote_done) => IceConnectionState::Connected,
        s => s,
    }
}

impl Inner {
    pub(super) fn on_ice_agent_state(&self, state: IceConnectionState) {
        let shown = {
            let mut st = self.lock();
            st.ice_agent = state;
            shown(&st)
        };
        self.set_ice_connection(shown);
    }

    /// Gathering completed or the far end's end-of-candidates arrived: "completed" may now hold.
    pub(super) fn refresh_ice_connection(&self) {
        let shown = {
            let st = self.lock();
            if st.consent_lost || st.ice_connection != IceConnectionState::Connected {
                return;
            }
            shown(&st)
        };
        self.set_ice_connection(shown);
    }

    pub(super) fn set_ice_connection(&self, state: IceConnectionState) {
        {
            let mut st = self.lock();
            if st.closed || st.ice_connection == state {
                return;
            }
            st.ice_connection = state;
        }
        self.events.emit(NativeEvent::state("iceconnectionstatechange", state.as_str()));
    }

    /// Whether packets reach the peer: webrtcbin drops RTP until DTLS is up, and a SIP call is
    /// "established" (200/ACK) before that, so DTMF queued earlier would vanish unheard.
    pub(super) fn media_connected(&self) -> bool {
        self.lock().connection == PeerConnectionState::Connected
    }

    /// ICE reached connected: from now on, silence from the peer means lost consent.
    pub(super) fn watch_consent(self: &Arc<Self>) {
        self.consent.touch();
        if let Some(bin) = self.webrtc().ok().and_then(|w| w.downcast::<gst::Bin>().ok()) {
            self.consent.probe_sources(&bin);
        }
        if !self.consent.start_once() {
            return;
        }
        let weak = Arc::downgrade(self);
        consent::every_second(move || weak.upgrade().is_some_and(|inner| inner.consent_tick()));
    }

    pub(super) fn consent_tick(&self) -> bool {
        if self.lock().closed || !self.consent.is_running() {
            return false;
        }
        if let Some(bin) = self.webrtc().ok().and_then(|w| w.downcast::<gst::Bin>().ok()) {
            self.consent.probe_sources(&bin);
        }
        let (ice, lost) = {
            let st = self.lock();
            (st.ice_connection, st.consent_lost)
        };
        use IceConnectionState as Ice;
        use PeerConnectionState as Pc;
        // Consent decides both states at once (webrtc-pc §4.3.3: the connection state follows its
        // one ICE transport here).
        let next = match consent::verdict(self.consent.silence()) {
            Verdict::Alive if lost => Some((Ice::Connected, Pc::Connected, false)),
            Verdict::Disconnected if ice.is_up() => Some((Ice::Disconnected, Pc::Disconnected, true)),
            Verdict::Failed if ice != Ice::Failed && (lost || ice.is_up()) => Some((Ice::Failed, Pc::Failed, true)),
            _ => None,
        };
        if let Some((ice, pc, lost)) = next {
            self.lock().consent_lost = lost;
            self.set_ice_connection(ice);
            self.set_connection(pc);
        }
        true
    }

    pub(super) fn set_connection(&self, state: PeerConnectionState) {
        {
            let mut st = self.lock();
            if st.closed || st.connection == state {
                return;
            }
            st.connection = state;
        }
        self.events.emit(NativeEvent::state("connectionstatechange", state.as_str()));
    }
}
