//! The ICE connection and peer connection states: webrtcbin's, overridden by consent
//! (consent.rs) when the peer goes silent.

use std::sync::Arc;
use gst::prelude::*;
use crate::workarounds::consent::{self, Verdict};
use crate::events::NativeEvent;
use crate::states::{IceConnectionState, PeerConnectionState};

use super::inner::*;

impl Inner {
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
