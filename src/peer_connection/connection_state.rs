//! The ICE connection and peer connection states: webrtcbin's, overridden by consent
//! (consent.rs) when the peer goes silent.

use std::sync::Arc;
use gst::prelude::*;
use crate::workarounds::consent::{self, Verdict};
use crate::workarounds::fingerprint::{self, Decide, Decision, OnMismatch};
use crate::events::NativeEvent;
use crate::states::{IceConnectionState, IceGatheringState, PeerConnectionState};

use super::inner::*;

/// Every this many consent ticks (seconds) the receivers' loss reports reach the encoders:
/// RTCP receiver reports come every few seconds, so more often would read the same ones.
const LOSS_FEED_TICKS: u64 = 5;

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
    /// webrtcbin's ICE connection state, shown unless there is no transport (`State::transportless`).
    pub(super) fn on_ice_agent_state(&self, state: IceConnectionState) {
        self.update_ice_connection(|st| {
            st.ice_agent = state;
            (!st.transportless).then(|| shown(st))
        });
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
        self.update_ice_connection(|_| Some(state));
    }

    /// The state `next` decides under the same lock as the change (a state webrtcbin reports
    /// must not land after an answer that took its transport away), announced once changed.
    fn update_ice_connection(&self, next: impl FnOnce(&mut State) -> Option<IceConnectionState>) {
        let state = {
            let mut st = self.lock();
            let Some(state) = next(&mut st) else { return };
            if st.closed || st.ice_connection == state {
                return;
            }
            st.ice_connection = state;
            state
        };
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
        self.gate_media();
        if !self.consent.start_once() {
            return;
        }
        let weak = Arc::downgrade(self);
        consent::every_second(move || weak.upgrade().is_some_and(|inner| inner.consent_tick()));
    }

    pub(super) fn consent_tick(self: &Arc<Self>) -> bool {
        if self.lock().closed || !self.consent.is_running() {
            return false;
        }
        if let Some(bin) = self.webrtc().ok().and_then(|w| w.downcast::<gst::Bin>().ok()) {
            self.consent.probe_sources(&bin);
        }
        if self.fingerprint_gate.failed() {
            // Failed for good (webrtc-pc §5.5.1): silence after it changes nothing.
            return true;
        }
        let (ice, lost) = {
            let st = self.lock();
            (st.ice_connection, st.consent_lost)
        };
        use IceConnectionState as Ice;
        use PeerConnectionState as Pc;
        // Consent decides both states at once (webrtc-pc §4.3.3: the connection state follows its
        // one ICE transport here).
        if self.consent.sample() % LOSS_FEED_TICKS == 0 {
            self.feed_loss();
        }
        let next = match consent::verdict(self.consent.silence(), self.consent.streaming()) {
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

    /// The loss each of our streams' receivers reported, to its encoder (`media::loss_report`).
    fn feed_loss(&self) {
        let senders: Vec<Arc<crate::media::sender::SendChain>> = self.lock().transceivers.iter().filter_map(|t| t.sender.clone()).collect();
        if senders.is_empty() {
            return;
        }
        let Some(bin) = self.webrtc().ok().and_then(|w| w.downcast::<gst::Bin>().ok()) else { return };
        for (ssrc, fraction) in crate::media::loss_report::reported(&bin) {
            if let Some(sender) = senders.iter().find(|s| s.ssrc() == ssrc) {
                sender.report_loss(fraction);
            }
        }
    }

    /// Gate the media of every transport webrtcbin has made so far on the fingerprint check
    /// (`workarounds::fingerprint`). Called when a description is applied (webrtcbin makes the
    /// transports there, before ICE can connect) and when ICE connects.
    pub(super) fn gate_media(self: &Arc<Self>) {
        let Some(bin) = self.webrtc().ok().and_then(|w| w.downcast::<gst::Bin>().ok()) else { return };
        let weak = Arc::downgrade(self);
        let decide: Decide = Arc::new(move || weak.upgrade().map_or(Decision::Pending, |inner| inner.fingerprint_decision()));
        let weak = Arc::downgrade(self);
        let on_mismatch: OnMismatch = Arc::new(move || {
            if let Some(inner) = weak.upgrade() {
                inner.fingerprint_failed();
            }
        });
        self.fingerprint_gate.install(&bin, &decide, &on_mismatch);
    }

    /// On a streaming thread, while media waits: the peer's certificates against the remote
    /// description's fingerprints.
    fn fingerprint_decision(&self) -> Decision {
        let Some(bin) = self.webrtc().ok().and_then(|w| w.downcast::<gst::Bin>().ok()) else { return Decision::Pending };
        let certificates = fingerprint::peer_certificates(&bin);
        let expected = self.lock().negotiation.remote().map(|(_, sdp)| fingerprint::of_description(sdp));
        fingerprint::decide(&certificates, expected.as_deref())
    }

    /// webrtc-pc §5.5.1: the DTLS transport fails with "fingerprint-failure", and with it the
    /// connection (§4.3.3); ICE stays as it is.
    fn fingerprint_failed(&self) {
        if self.lock().closed {
            return;
        }
        self.events.emit(NativeEvent { error_code: Some("fingerprint-failure".into()), ..NativeEvent::new("dtlserror") });
        self.set_connection(PeerConnectionState::Failed);
    }

    pub(super) fn set_connection(&self, state: PeerConnectionState) {
        self.update_connection(state, false);
    }

    /// webrtcbin's own connection state, which is not ours while there is no transport.
    pub(super) fn on_webrtcbin_connection(&self, state: PeerConnectionState) {
        self.update_connection(state, true);
    }

    fn update_connection(&self, state: PeerConnectionState, from_webrtcbin: bool) {
        if self.fingerprint_gate.failed() && !matches!(state, PeerConnectionState::Failed | PeerConnectionState::Closed) {
            return;
        }
        {
            let mut st = self.lock();
            if st.closed || st.connection == state || (from_webrtcbin && st.transportless) {
                return;
            }
            st.connection = state;
        }
        self.events.emit(NativeEvent::state("connectionstatechange", state.as_str()));
    }
}
