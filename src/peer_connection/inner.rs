//! The shared state of a connection: the GStreamer side (pipeline and webrtcbin), the
//! negotiation and transceiver state behind one lock, and close().

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;
use gst::prelude::*;
use gst_sdp::SDPMessage;
use gst_webrtc::{
    WebRTCRTPTransceiver,
    WebRTCRTPTransceiverDirection as Direction, WebRTCSDPType,
};
use napi_derive::napi;
use crate::workarounds::consent::Consent;
use crate::workarounds::fingerprint;
use crate::error::{PcError, PcResult};
use crate::events::EventSink;
use crate::workarounds::in_flight::InFlight;
use crate::media::sender::SendChain;
use crate::media::track::TrackCore;
use crate::negotiation::{Negotiation, SdpType, Side, SignalingState};
use crate::heap;
use crate::sdp::local::{self, LocalCandidate};
use crate::sdp::limits::Limits;
use crate::sdp::to_text;
use crate::states::{IceConnectionState, IceGatheringState, PeerConnectionState};
use crate::teardown;


#[napi(object)]
pub struct NativeDescription {
    #[napi(js_name = "type")]
    pub kind: String,
    pub sdp: String,
}

/// A sender's msid, as the W3C layer (its one authority) hands it to createOffer/createAnswer.
#[napi(object)]
pub struct SenderMsid {
    pub transceiver: u32,
    /// [[AssociatedMediaStreamIds]]
    pub streams: Vec<String>,
    pub track: String,
}

/// What the W3C layer, the one authority on these, tells createOffer/createAnswer about its
/// transceivers.
#[napi(object)]
pub struct CreateInputs {
    pub msids: Vec<SenderMsid>,
    /// Transceivers whose m-sections are rejected: [[Stopping]] or [[Stopped]] (webrtc-pc §5.4).
    pub stopping: Vec<u32>,
}

#[napi(object)]
pub struct NativeTransceiver {
    pub id: u32,
    pub kind: String,
    pub mid: Option<String>,
    pub mline_index: Option<u32>,
    pub direction: String,
    pub current_direction: Option<String>,
    /// What an answer to the current remote offer would say for this m-line now (RFC 3264
    /// §6.1 applied to `direction`); absent unless we answered and the m-line is in the offer.
    /// webrtc-pc §4.7.3 compares the current local answer with it.
    pub answer_direction: Option<String>,
}

pub(super) struct Transceiver {
    pub(super) id: u32,
    pub(super) kind: &'static str,
    pub(super) gst: WebRTCRTPTransceiver,
    pub(super) sender: Option<Arc<SendChain>>,
    pub(super) receiver: Arc<TrackCore>,
    /// The W3C [[Direction]]; webrtcbin's own transceiver stays sendrecv (sdp::direction).
    pub(super) direction: Direction,
    /// The remote offer's m-line this transceiver answers, until webrtcbin associates it.
    pub(super) pending_mline: Option<u32>,
    /// The codecs setCodecPreferences chose, in its order (None: all of ours).
    pub(super) codecs: Option<Vec<&'static crate::media::codec::Codec>>,
}

pub(super) struct State {
    pub(super) negotiation: Negotiation<SDPMessage>,
    pub(super) transceivers: Vec<Transceiver>,
    pub(super) next_transceiver: u32,
    pub(super) local_candidates: Vec<LocalCandidate>,
    pub(super) local_ufrag: Option<String>,
    pub(super) gathering: IceGatheringState,
    pub(super) gathering_started: Option<Instant>,
    pub(super) last_candidate_at: Option<Instant>,
    pub(super) guard_running: bool,
    pub(super) ice_connection: IceConnectionState,
    /// webrtcbin's own ICE connection state, before `connection_state::shown` clamps it.
    pub(super) ice_agent: IceConnectionState,
    pub(super) connection: PeerConnectionState,
    /// An answer webrtcbin accepted whose codecs and directions the send chains have not
    /// taken yet: `apply_answer_media` does that on the JS thread, not on webrtcbin's.
    pub(super) answer_to_apply: Option<(Side, SDPMessage)>,
    /// The last ICE/connection state change was ours (consent lost), not webrtcbin's.
    pub(super) consent_lost: bool,
    /// The last answer rejected every m-section: there is no transport (webrtc-pc §4.3.2), and
    /// what webrtcbin still reports of its orphaned one (it goes on closing down) is not ours.
    pub(super) transportless: bool,
    /// The first mid of the BUNDLE group webrtcbin last got (`webrtcbin_view::keep_bundle_tag`).
    pub(super) webrtcbin_bundle_tag: Option<String>,
    /// Our first offer was rolled back, but webrtcbin still holds it (`rollback::settle`).
    pub(super) stale_local_offer: bool,
    pub(super) closed: bool,
}

/// The GStreamer side of a connection, dropped as a whole at close(): libnice's sockets and
/// threads go only when webrtcbin is finalized, and the bus holds a socketpair until the
/// pipeline is, so close() must drop the last references rather than wait for Node's GC.
#[derive(Clone)]
pub(super) struct Media {
    pub(super) pipeline: gst::Pipeline,
    pub(super) webrtc: gst::Element,
}

pub struct Inner {
    pub(super) media: Mutex<Option<Media>>,
    pub(super) events: EventSink,
    pub(super) state: Mutex<State>,
    pub(super) has_ice_servers: bool,
    /// Size limits on what the remote side sends (sdp::limits).
    pub(super) limits: Limits,
    pub(super) consent: Consent,
    /// Media waits for the peer's certificate to match the SDP (`workarounds::fingerprint`).
    pub(super) fingerprint_gate: Arc<fingerprint::Gate>,
    /// Promises handed to webrtcbin, settled by close() if webrtcbin has not (in_flight.rs).
    pub(super) in_flight: InFlight,
}

pub(super) fn direction_str(d: Direction) -> &'static str {
    match d {
        Direction::Sendrecv => "sendrecv",
        Direction::Sendonly => "sendonly",
        Direction::Recvonly => "recvonly",
        Direction::Inactive => "inactive",
        _ => "stopped",
    }
}

pub(super) fn parse_direction(s: &str) -> PcResult<Direction> {
    match s {
        "sendrecv" => Ok(Direction::Sendrecv),
        "sendonly" => Ok(Direction::Sendonly),
        "recvonly" => Ok(Direction::Recvonly),
        "inactive" => Ok(Direction::Inactive),
        other => Err(PcError::type_error(format!("'{other}' is not a valid RTCRtpTransceiverDirection"))),
    }
}

pub(super) fn gst_sdp_type(ty: SdpType) -> WebRTCSDPType {
    match ty {
        SdpType::Offer => WebRTCSDPType::Offer,
        SdpType::Pranswer => WebRTCSDPType::Pranswer,
        SdpType::Answer => WebRTCSDPType::Answer,
        SdpType::Rollback => WebRTCSDPType::Rollback,
    }
}

pub(super) use crate::error::{coded, napi_err};
pub(super) use crate::media::sender::random_ssrc;

/// webrtcbin promise replies: `Ok(None)` is success for set-*-description; a structure
/// with an `error` field is a failure; an interrupted/expired promise is a failure too.
pub(super) fn check_reply(reply: Result<Option<&gst::StructureRef>, gst::PromiseError>) -> PcResult<Option<&gst::StructureRef>> {
    match reply {
        Ok(Some(s)) => match s.get::<gst::glib::Error>("error") {
            Ok(err) => Err(PcError::operation(err.message().to_owned())),
            Err(_) => Ok(Some(s)),
        },
        Ok(None) => Ok(None),
        Err(e) => Err(PcError::operation(format!("webrtcbin did not complete the operation ({e:?})"))),
    }
}

pub(super) fn media_ufrag(msg: &gst_sdp::SDPMessageRef) -> Option<String> {
    msg.media(0)
        .and_then(|m| m.attribute_val("ice-ufrag"))
        .or_else(|| msg.attribute_val("ice-ufrag"))
        .map(str::to_owned)
}

pub(super) fn mid_of(msg: &gst_sdp::SDPMessageRef, idx: u32) -> Option<String> {
    msg.media(idx).and_then(|m| m.attribute_val("mid")).map(str::to_owned)
}

impl Inner {
    /// The pipeline and webrtcbin, or InvalidStateError once the connection is closed.
    pub(super) fn media(&self) -> PcResult<Media> {
        self.media
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| PcError::invalid_state("the RTCPeerConnection is closed"))
    }

    pub(super) fn webrtc(&self) -> PcResult<gst::Element> {
        self.media().map(|m| m.webrtc)
    }

    pub(super) fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere was caught; the state is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(super) fn render(&self, which: fn(&Negotiation<SDPMessage>) -> Option<&(SdpType, SDPMessage)>, local: bool) -> Option<NativeDescription> {
        let st = self.lock();
        let (ty, msg) = which(&st.negotiation)?;
        let sdp = if local {
            to_text(&local::render(msg, &st.local_candidates, st.gathering == IceGatheringState::Complete))
        } else {
            to_text(msg)
        };
        Some(NativeDescription { kind: ty.as_str().to_owned(), sdp })
    }

    pub(super) fn close(&self) {
        let (senders, receivers) = {
            let mut st = self.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            self.consent.stop();
            st.negotiation.state = SignalingState::Closed;
            st.ice_connection = IceConnectionState::Closed;
            st.connection = PeerConnectionState::Closed;
            let senders: Vec<Arc<SendChain>> = st.transceivers.iter().filter_map(|t| t.sender.clone()).collect();
            let receivers: Vec<Arc<TrackCore>> = st.transceivers.iter().map(|t| t.receiver.clone()).collect();
            // Transceivers reference their transports and, through them, the ICE agent with
            // its sockets: let them go with webrtcbin below.
            st.transceivers.clear();
            (senders, receivers)
        };
        self.events.close();
        for s in &senders {
            s.detach();
        }
        // webrtc-pc §4.4.1.7: close() releases everything now (the pipeline right after, on a
        // teardown thread), not when Node's GC gets to it.
        // The guard must be gone before the state change: going to NULL waits for webrtcbin's
        // threads, and their callbacks (ICE state notifications) take this lock. (A guard
        // in an `if let` scrutinee would live to the end of the block: that deadlocked.)
        let media = self.media.lock().unwrap_or_else(|p| p.into_inner()).take();
        // Before the state change, which discards webrtcbin's queued operations with their
        // promises still pending. Their callbacks see an interrupted promise and report a
        // failure into the closed event sink: JS has rejected those requests already.
        self.in_flight.interrupt_all();
        // Tracks end now: nothing the pipeline still decodes reaches a consumer.
        for r in receivers {
            r.stop();
        }
        // Going to NULL joins every streaming thread and can take seconds after hostile
        // input (one libsrtp stream to free per SSRC a third party sent): not on the caller's
        // thread, which is Node's, or a streaming thread of this very pipeline when the last
        // reference goes there (teardown.rs).
        if let Some(media) = media {
            teardown::submit(move || {
                let _ = media.pipeline.set_state(gst::State::Null);
                // webrtcbin 1.22 takes its children to READY before it stops its operation
                // thread: an operation running then (createOffer making a transport bin) adds
                // an element synced to PAUSED that nothing takes down again, and disposing it
                // is a GStreamer CRITICAL. Whatever the walk down missed goes to NULL here.
                for e in media.pipeline.iterate_recurse().into_iter().flatten() {
                    if e.current_state() != gst::State::Null {
                        gst::debug!(crate::log::CAT, obj = &e, "still {:?} after the pipeline's NULL", e.current_state());
                        let _ = e.set_locked_state(false);
                        let _ = e.set_state(gst::State::Null);
                    }
                }
                if let Some(bus) = media.pipeline.bus() {
                    bus.unset_sync_handler();
                }
                drop(media);
                heap::trim_soon();
            });
        }
    }
}

/// A connection dropped without close() (Node's GC) closes itself. The last reference may go on
/// the JS thread (the napi finalizer) or on a webrtcbin/streaming thread whose callback had
/// upgraded its `Weak<Inner>`; close() is safe on either: it emits no action signal, and the
/// pipeline goes to NULL on `gstpc-teardown`, never on the thread that drops it.
impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}
