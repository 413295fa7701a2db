//! createOffer/createAnswer and setLocal/RemoteDescription: checks, the webrtcbin
//! operation, and applying the result to the negotiation state and the send chains.

use std::sync::Arc;
use std::time::Instant;
use gst::prelude::*;
use gst_sdp::SDPMessage;
use gst_webrtc::{
    WebRTCRTPTransceiver, WebRTCSDPType, WebRTCSessionDescription,
};
use crate::error::{PcError, PcResult};
use crate::events::NativeEvent;
use crate::media::codec;
use crate::media::sender::SendChain;
use crate::negotiation::{self, SdpType, Side, SignalingState};
use crate::states::{IceConnectionState, IceGatheringState, PeerConnectionState};
use crate::workarounds::rollback;
use crate::sdp::{direction, ssrc, to_text, validate};
use crate::workarounds::{ice_credentials, pranswer, rejected_media, webrtcbin_view};

use super::inner::*;
use super::NativePeerConnection;
use super::gathering::schedule_gathering_guard;

impl Inner {
    /// Bookkeeping after webrtcbin accepted a description (webrtc-pc §4.4.1.6). Runs on
    /// webrtcbin's operation thread: state only; the send chains follow on the JS thread
    /// (`apply_answer_media`).
    pub(super) fn description_applied(self: &Arc<Self>, side: Side, ty: SdpType, msg: Option<SDPMessage>) -> PcResult<SignalingState> {
        // A pranswer starts media too (early media): webrtcbin has it as its answer.
        let answer = if matches!(ty, SdpType::Answer | SdpType::Pranswer) { msg.clone() } else { None };
        // An answer that rejects every m-section leaves no transport (webrtc-pc §4.3.2-§4.3.3:
        // with no transports the states are "new").
        let no_transport = ty == SdpType::Answer
            && msg.as_ref().is_some_and(|m| m.medias_len() > 0 && m.medias().all(|m| m.port() == 0 && !crate::sdp::has_attr(m, "bundle-only")));
        let mut start_guard = false;
        let state = {
            let mut st = self.lock();
            if st.closed {
                return Err(PcError::invalid_state("the RTCPeerConnection is closed"));
            }
            if side == Side::Local {
                if let Some(m) = &msg {
                    let ufrag = media_ufrag(m);
                    if ufrag != st.local_ufrag {
                        // New ICE credentials (first description or ICE restart): a new gathering cycle.
                        st.local_ufrag = ufrag;
                        st.local_candidates.clear();
                        st.gathering = IceGatheringState::New;
                        st.gathering_started = Some(Instant::now());
                        st.last_candidate_at = None;
                    }
                    if st.gathering != IceGatheringState::Complete && !st.guard_running {
                        st.guard_running = true;
                        start_guard = true;
                    }
                }
            }
            let state = st.negotiation.apply(side, ty, msg)?;
            if side == Side::Local && ty == SdpType::Offer {
                st.stale_local_offer = false;
            }
            if let Some(answer) = answer {
                st.answer_to_apply = Some((side, answer));
                st.transportless = no_transport;
            }
            state
        };
        if start_guard {
            schedule_gathering_guard(self);
        }
        if side == Side::Remote {
            self.fingerprint_gate.reconsider();
        }
        self.consent.renegotiated();
        self.gate_media();
        if no_transport {
            // A later m-section gets a transport of its own, and a new gathering cycle.
            self.lock().local_ufrag = None;
            self.set_gathering(IceGatheringState::New);
            self.set_ice_connection(IceConnectionState::New);
            self.set_connection(PeerConnectionState::New);
        } else if self.lock().connection == PeerConnectionState::New {
            // Transports again after none: webrtcbin's own states may not change (its old
            // transport still counts there), so they are read rather than waited for.
            if let Ok(webrtc) = self.webrtc() {
                self.on_ice_agent_state(IceConnectionState::from(webrtc.property::<gst_webrtc::WebRTCICEConnectionState>("ice-connection-state")));
                self.set_connection(PeerConnectionState::from(webrtc.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state")));
            }
        } else if side == Side::Remote {
            self.refresh_ice_connection();
        }
        Ok(state)
    }

    /// The answer that brings webrtcbin from its stale first offer back to stable
    /// (`rollback::settle`), with a promise that only logs: a failure shows up as the
    /// refusal of the remote offer that follows it.
    fn settling_answer(&self) -> Option<(WebRTCSessionDescription, gst::Promise)> {
        let webrtc = self.webrtc().ok()?;
        let stale = webrtc.property::<Option<WebRTCSessionDescription>>("pending-local-description")?;
        let answer = WebRTCSessionDescription::new(WebRTCSDPType::Answer, rollback::settle(stale.sdp()));
        let promise = self.in_flight.promise(|reply| {
            if let Err(e) = check_reply(reply) {
                gst::warning!(crate::log::CAT, "cannot settle the rolled-back offer: {}", e.message);
            }
        });
        Some((answer, promise))
    }

    /// The remote offer being answered restarts ICE: an m-section it shares (by mid) with the
    /// current remote description carries other credentials. Our answer then needs new ones
    /// too (RFC 8839 §4.4.1.1.2; webrtcbin 1.22 repeats those of its last answer).
    fn offer_restarts_ice(&self) -> bool {
        let st = self.lock();
        let n = &st.negotiation;
        let (Some((SdpType::Offer, offer)), Some((_, current))) = (&n.pending_remote, &n.current_remote) else { return false };
        offer.medias().any(|m| {
            let mid = m.attribute_val("mid");
            let before = current.medias().find(|c| mid.is_some() && c.attribute_val("mid") == mid);
            before.is_some_and(|c| c.attribute_val("ice-ufrag") != m.attribute_val("ice-ufrag"))
        })
    }

    /// A new offer or answer that is not an ICE restart carries the credentials of our last
    /// local description (`ice_credentials::keep`); the first keeps webrtcbin's.
    fn keep_ice_credentials(&self, sdp: &mut SDPMessage) {
        let st = self.lock();
        if let Some((_, last)) = st.negotiation.local() {
            ice_credentials::keep(sdp, last);
        }
    }

    /// The send chains take what the last accepted answer negotiated: codec, RFC 4733 payload
    /// type, and whether they send at all (our direction: the answer's if we answered, else the
    /// reverse of theirs). On the JS thread, after `description_applied`: switching an encoder
    /// is pipeline surgery, which has no place on webrtcbin's operation thread. Every sender is
    /// updated; the first failure is returned, and fails the operation that applied the answer.
    pub(super) fn apply_answer_media(&self) -> PcResult<()> {
        let (side, answer, senders, answered) = {
            let mut st = self.lock();
            let Some((side, answer)) = st.answer_to_apply.take() else { return Ok(()) };
            let senders: Vec<(WebRTCRTPTransceiver, Arc<SendChain>)> =
                st.transceivers.iter().filter_map(|t| t.sender.clone().map(|s| (t.gst.clone(), s))).collect();
            // Our own answer: the transceivers it answered with payload-less preferences
            // (`codec::answer_preferences`) take the negotiated payload types.
            let answered: Vec<(WebRTCRTPTransceiver, Option<u32>)> = if side == Side::Local {
                st.transceivers.iter().map(|t| (t.gst.clone(), t.sender.as_ref().map(|s| s.ssrc()))).collect()
            } else {
                Vec::new()
            };
            (side, answer, senders, answered)
        };
        for (t, ssrc) in answered {
            let prefs = answer.media(t.property::<u32>("mlineindex")).and_then(|m| codec::session_preferences(m, ssrc));
            if let Some(prefs) = prefs {
                t.set_property("codec-preferences", prefs);
            }
        }
        let mut first_error = None;
        for (t, sender) in senders {
            let mline = t.property::<u32>("mlineindex");
            let dir = direction::of(&answer, mline).unwrap_or("inactive");
            let ours = if side == Side::Local { dir } else { direction::reverse(dir) };
            if let Err(e) = sender.follow_answer(&answer, mline, matches!(ours, "sendrecv" | "sendonly")) {
                let err = PcError::operation(e);
                gst::warning!(crate::log::CAT, "{}", err.message);
                first_error.get_or_insert(err);
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

impl NativePeerConnection {
    pub(super) fn fail(&self, request_id: u32, err: PcError) {
        self.inner.events.emit(NativeEvent::failure(request_id, &err));
    }

    /// A description webrtcbin must not see (a rollback it cannot do, an answer repeating the
    /// pranswer it already has): our negotiation state only, answered at once.
    fn apply_state_only(&self, request_id: u32, side: Side, ty: SdpType, msg: Option<SDPMessage>) {
        self.inner.events.emit(applied(request_id, self.inner.description_applied(side, ty, msg)));
    }

    pub(super) fn create(&self, request_id: u32, answer: bool, ice_restart: bool, inputs: CreateInputs) -> PcResult<()> {
        let CreateInputs { msids, stopping } = inputs;
        let state = self.inner.lock().negotiation.state;
        if answer { negotiation::check_create_answer(state)? } else { negotiation::check_create_offer(state)? }
        if !answer {
            if let Err(e) = self.inner.check_offer_layout() {
                self.fail(request_id, e);
                return Ok(());
            }
        }
        let events = self.inner.events.clone();
        let weak = Arc::downgrade(&self.inner);
        let field = if answer { "answer" } else { "offer" };
        let promise = self.inner.in_flight.promise(move |reply| {
            let result = check_reply(reply).and_then(|s| {
                s.and_then(|s| s.get::<WebRTCSessionDescription>(field).ok())
                    .ok_or_else(|| PcError::operation(format!("webrtcbin produced no {field}")))
            });
            match result {
                Ok(desc) => {
                    let mut sdp = desc.sdp().to_owned();
                    let restart = ice_restart || (answer && weak.upgrade().is_some_and(|inner| inner.offer_restarts_ice()));
                    if restart {
                        ice_credentials::replace(&mut sdp);
                    } else if let Some(inner) = weak.upgrade() {
                        inner.keep_ice_credentials(&mut sdp);
                    }
                    ssrc::dedupe(&mut sdp);
                    if answer {
                        rejected_media::tidy(&mut sdp);
                    }
                    if let Some(inner) = weak.upgrade() {
                        inner.apply_directions(&mut sdp, answer);
                        inner.reject_stopped(&mut sdp, &stopping, answer);
                        inner.write_msids(&mut sdp, &msids);
                        inner.add_telephone_events(&mut sdp, answer);
                    }
                    events.emit(NativeEvent { sdp: Some(to_text(&sdp)), ..NativeEvent::result(request_id) })
                }
                Err(e) => events.emit(NativeEvent::failure(request_id, &e)),
            }
        });
        let signal = if answer { "create-answer" } else { "create-offer" };
        // RFC 8839 §4.4.1.1.1 / webrtc-pc §4.4.1.5: an ICE restart offer carries new credentials.
        let options = ice_restart.then(|| gst::Structure::builder("options").field("ice-restart", true).build());
        match self.inner.webrtc() {
            Ok(webrtc) => webrtc.emit_by_name::<()>(signal, &[&options, &promise]),
            Err(e) => self.fail(request_id, e),
        }
        Ok(())
    }

    pub(super) fn set_description(&self, request_id: u32, side: Side, ty: &str, sdp: &str) -> PcResult<()> {
        let ty = SdpType::parse(ty)?;
        self.inner.lock().negotiation.check(side, ty)?;
        let prepared = (|| -> PcResult<(SdpType, Option<SDPMessage>)> {
            if ty == SdpType::Rollback {
                return Ok((ty, None));
            }
            let st = self.inner.lock();
            let n = &st.negotiation;
            // The offer an answer answers is the other side's pending one.
            let offer = match (ty, side) {
                (SdpType::Answer | SdpType::Pranswer, Side::Remote) => n.pending_local.as_ref(),
                (SdpType::Answer | SdpType::Pranswer, Side::Local) => n.pending_remote.as_ref(),
                _ => None,
            };
            let ctx = validate::Context {
                limits: &self.inner.limits,
                previous: [&n.current_local, &n.current_remote].into_iter().flatten().map(|(_, m)| &**m).collect(),
                offer: offer.map(|(_, m)| &**m),
            };
            let msg = validate::prepare(sdp, side, &ctx)?;
            Ok((ty, Some(msg)))
        })();
        let (ty, msg) = match prepared {
            Ok(p) => p,
            Err(e) => {
                self.fail(request_id, e);
                return Ok(());
            }
        };
        // webrtcbin 1.22 cannot roll back (webrtcsdp.c has no rule for it): see rollback.rs.
        let (signal_side, gst_ty, for_webrtcbin) = if ty == SdpType::Rollback {
            let st = self.inner.lock();
            match rollback::plan(&st.negotiation) {
                rollback::Plan::Reapply(answer) => (Side::Remote, WebRTCSDPType::Answer, webrtcbin_view::for_webrtcbin(&answer, Side::Remote)),
                rollback::Plan::StateOnly => {
                    let stale = st.negotiation.state == SignalingState::HaveLocalOffer;
                    drop(st);
                    if stale {
                        self.inner.lock().stale_local_offer = true;
                    }
                    self.apply_state_only(request_id, side, ty, None);
                    return Ok(());
                }
            }
        } else {
            // webrtcbin 1.22 has no pranswer states: see pranswer.rs.
            let earlier = {
                let st = self.inner.lock();
                let n = &st.negotiation;
                let pending = if side == Side::Local { &n.pending_local } else { &n.pending_remote };
                pranswer::follows_pranswer(n.state, side, ty).then(|| pending.as_ref().map(|(_, m)| m.clone())).flatten()
            };
            if let (Some(earlier), Some(now)) = (earlier, msg.as_ref()) {
                if !pranswer::repeats(&webrtcbin_view::for_webrtcbin(&earlier, side), &webrtcbin_view::for_webrtcbin(now, side)) {
                    self.fail(request_id, PcError::operation("an answer after a pranswer must repeat it: webrtcbin 1.22 cannot take a second answer"));
                    return Ok(());
                }
                self.apply_state_only(request_id, side, ty, msg);
                return Ok(());
            }
            let gst_ty = if ty == SdpType::Pranswer { WebRTCSDPType::Answer } else { gst_sdp_type(ty) };
            (side, gst_ty, msg.as_ref().map(|m| webrtcbin_view::for_webrtcbin(m, side)).unwrap_or_else(SDPMessage::new))
        };
        let mut for_webrtcbin = for_webrtcbin;
        {
            let mut st = self.inner.lock();
            webrtcbin_view::keep_bundle_tag(&mut for_webrtcbin, st.webrtcbin_bundle_tag.as_deref());
            if let Some(tag) = webrtcbin_view::bundle_tag(&for_webrtcbin) {
                st.webrtcbin_bundle_tag = Some(tag);
            }
        }
        let desc = WebRTCSessionDescription::new(gst_ty, for_webrtcbin);
        let events = self.inner.events.clone();
        let weak = Arc::downgrade(&self.inner);
        let promise = self.inner.in_flight.promise(move |reply| {
            let result = check_reply(reply).and_then(|_| match weak.upgrade() {
                Some(inner) => inner.description_applied(side, ty, msg),
                None => Err(PcError::invalid_state("the RTCPeerConnection is closed")),
            });
            events.emit(applied(request_id, result));
        });
        let signal = if signal_side == Side::Local { "set-local-description" } else { "set-remote-description" };
        let settle = (side == Side::Remote && ty == SdpType::Offer && std::mem::take(&mut self.inner.lock().stale_local_offer))
            .then(|| self.inner.settling_answer())
            .flatten();
        match self.inner.webrtc() {
            Ok(webrtc) => {
                // webrtcbin runs its operations in the order they are emitted: the settling
                // answer is applied before the offer.
                if let Some(settle) = settle {
                    webrtc.emit_by_name::<()>("set-remote-description", &[&settle.0, &settle.1]);
                }
                webrtc.emit_by_name::<()>(signal, &[&desc, &promise])
            }
            Err(e) => self.fail(request_id, e),
        }
        Ok(())
    }
}

/// The answer to a set-*-description request: the signaling state it reached, or its failure.
fn applied(request_id: u32, result: PcResult<SignalingState>) -> NativeEvent {
    match result {
        Ok(state) => NativeEvent { state: Some(state.as_str().to_owned()), ..NativeEvent::result(request_id) },
        Err(e) => NativeEvent::failure(request_id, &e),
    }
}
