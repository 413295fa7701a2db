//! `NativePeerConnection`: one webrtcbin in its own pipeline, the negotiation state in
//! front of it, and the send/receive chains of its transceivers.
//!
//! Threading: webrtcbin answers on its own threads. Every closure holds a `Weak<Inner>`,
//! and no lock of ours is held while a webrtcbin action signal is emitted or a pad is
//! requested (webrtcbin may call `on-new-transceiver` back synchronously).

use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gst_sdp::SDPMessage;
use gst_webrtc::{
    WebRTCICEConnectionState, WebRTCICEGatheringState, WebRTCPeerConnectionState, WebRTCRTPTransceiver,
    WebRTCRTPTransceiverDirection as Direction, WebRTCSDPType, WebRTCSessionDescription,
};
use napi_derive::napi;

use crate::consent::{self, Consent, Verdict};
use crate::error::{PcError, PcResult};
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;

use crate::events::{EventSink, NativeEvent};
use crate::ice::{self, NativeConfig};
use crate::in_flight::InFlight;
use crate::media::codec;
use crate::media::dtmf_receive;
use crate::media::dtmf_send;
use crate::media::receiver::{self, link_decoder};
use crate::media::sender::SendChain;
use crate::media::track::{NativeTrack, TrackCore};
use crate::negotiation::{self, Negotiation, SdpType, Side, SignalingState};
use crate::rollback;
use crate::runtime::{self, make};
use crate::sdp::candidate::Candidate;
use crate::sdp::local::{self, LocalCandidate};
use crate::sdp::limits::Limits;
use crate::sdp::{direction, ice_credentials, ssrc, telephone_event, to_text, validate, webrtcbin_view};
use crate::teardown;

/// With only host addresses to gather, gathering is over once candidates stop coming.
const HOST_GATHERING_QUIET: Duration = Duration::from_millis(250);
/// Upper bounds on gathering: webrtcbin 1.22 may never report `complete` (fixed in 1.28).
const GATHERING_LIMIT_HOST_ONLY: Duration = Duration::from_secs(2);
const GATHERING_LIMIT_WITH_SERVERS: Duration = Duration::from_secs(5);
/// Decoding and scheduling margin added to the jitter buffer's latency for playout.
const PLAYOUT_HEADROOM_MS: u64 = 10;
const GATHERING_POLL: gst::ClockTime = gst::ClockTime::from_mseconds(50);

#[napi(object)]
pub struct NativeDescription {
    #[napi(js_name = "type")]
    pub kind: String,
    pub sdp: String,
}

#[napi(object)]
pub struct NativeTransceiver {
    pub id: u32,
    pub kind: String,
    pub mid: Option<String>,
    pub mline_index: Option<u32>,
    pub direction: String,
    pub current_direction: Option<String>,
    pub stopped: bool,
}

struct Transceiver {
    id: u32,
    kind: &'static str,
    gst: WebRTCRTPTransceiver,
    sender: Option<Arc<SendChain>>,
    receiver: Arc<TrackCore>,
    stopped: bool,
    /// The W3C [[Direction]]; webrtcbin's own transceiver stays sendrecv (sdp::direction).
    direction: Direction,
    /// The remote offer's m-line this transceiver answers, until webrtcbin associates it.
    pending_mline: Option<u32>,
}

struct State {
    negotiation: Negotiation<SDPMessage>,
    transceivers: Vec<Transceiver>,
    next_transceiver: u32,
    local_candidates: Vec<LocalCandidate>,
    local_ufrag: Option<String>,
    gathering: &'static str,
    gathering_started: Option<Instant>,
    last_candidate_at: Option<Instant>,
    guard_running: bool,
    ice_connection: &'static str,
    connection: &'static str,
    /// The last ICE/connection state change was ours (consent lost), not webrtcbin's.
    consent_lost: bool,
    closed: bool,
}

/// The GStreamer side of a connection, dropped as a whole at close(): libnice's sockets and
/// threads go only when webrtcbin is finalized, and the bus holds a socketpair until the
/// pipeline is, so close() must drop the last references rather than wait for Node's GC.
#[derive(Clone)]
struct Media {
    pipeline: gst::Pipeline,
    webrtc: gst::Element,
}

pub struct Inner {
    media: Mutex<Option<Media>>,
    events: EventSink,
    state: Mutex<State>,
    has_ice_servers: bool,
    /// Size limits on what the remote side sends (sdp::limits).
    limits: Limits,
    consent: Consent,
    /// Promises handed to webrtcbin, settled by close() if webrtcbin has not (in_flight.rs).
    in_flight: InFlight,
}

#[napi]
pub struct NativePeerConnection {
    inner: Arc<Inner>,
}

fn direction_str(d: Direction) -> &'static str {
    match d {
        Direction::Sendrecv => "sendrecv",
        Direction::Sendonly => "sendonly",
        Direction::Recvonly => "recvonly",
        Direction::Inactive => "inactive",
        _ => "stopped",
    }
}

fn parse_direction(s: &str) -> PcResult<Direction> {
    match s {
        "sendrecv" => Ok(Direction::Sendrecv),
        "sendonly" => Ok(Direction::Sendonly),
        "recvonly" => Ok(Direction::Recvonly),
        "inactive" => Ok(Direction::Inactive),
        other => Err(PcError::type_error(format!("'{other}' is not a valid RTCRtpTransceiverDirection"))),
    }
}

fn gst_sdp_type(ty: SdpType) -> WebRTCSDPType {
    match ty {
        SdpType::Offer => WebRTCSDPType::Offer,
        SdpType::Pranswer => WebRTCSDPType::Pranswer,
        SdpType::Answer => WebRTCSDPType::Answer,
        SdpType::Rollback => WebRTCSDPType::Rollback,
    }
}

/// RFC 3550 §8.1: SSRCs are chosen at random.
fn random_ssrc() -> u32 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    u32::from_ne_bytes(b).max(1)
}

fn napi_err(e: impl std::fmt::Display) -> napi::Error {
    napi::Error::from_reason(e.to_string())
}

/// webrtcbin promise replies: `Ok(None)` is success for set-*-description; a structure
/// with an `error` field is a failure; an interrupted/expired promise is a failure too.
fn check_reply(reply: Result<Option<&gst::StructureRef>, gst::PromiseError>) -> PcResult<Option<&gst::StructureRef>> {
    match reply {
        Ok(Some(s)) => match s.get::<gst::glib::Error>("error") {
            Ok(err) => Err(PcError::operation(err.message().to_owned())),
            Err(_) => Ok(Some(s)),
        },
        Ok(None) => Ok(None),
        Err(e) => Err(PcError::operation(format!("webrtcbin did not complete the operation ({e:?})"))),
    }
}

fn media_ufrag(msg: &gst_sdp::SDPMessageRef) -> Option<String> {
    msg.media(0)
        .and_then(|m| m.attribute_val("ice-ufrag"))
        .or_else(|| msg.attribute_val("ice-ufrag"))
        .map(str::to_owned)
}

fn mid_of(msg: &gst_sdp::SDPMessageRef, idx: u32) -> Option<String> {
    msg.media(idx).and_then(|m| m.attribute_val("mid")).map(str::to_owned)
}

impl Inner {
    /// The pipeline and webrtcbin, or InvalidStateError once the connection is closed.
    fn media(&self) -> PcResult<Media> {
        self.media
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
            .ok_or_else(|| PcError::invalid_state("the RTCPeerConnection is closed"))
    }

    fn webrtc(&self) -> PcResult<gst::Element> {
        self.media().map(|m| m.webrtc)
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A poisoned lock only means a panic elsewhere was caught; the state is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The single place transceivers enter our list: locally added ones and those
    /// webrtcbin creates while applying a remote offer both pass through `on-new-transceiver`.
    fn register_transceiver(&self, t: &WebRTCRTPTransceiver) -> u32 {
        let mut st = self.lock();
        if let Some(existing) = st.transceivers.iter().find(|x| &x.gst == t) {
            return existing.id;
        }
        if t.property::<Option<gst::Caps>>("codec-preferences").is_none() {
            t.set_property("codec-preferences", codec::preferences(None));
        }
        let id = st.next_transceiver;
        st.next_transceiver += 1;
        st.transceivers.push(Transceiver {
            id,
            kind: "audio",
            gst: t.clone(),
            sender: None,
            receiver: {
                let track = TrackCore::new("audio");
                track.enable_rtp_tap(); // RtpForwarder passthrough (media/receiver.rs)
                track
            },
            stopped: false,
            direction: t.property::<Direction>("direction"),
            pending_mline: None,
        });
        id
    }

    /// webrtcbin creates transceivers for a remote offer without always telling us
    /// (`on-new-transceiver` is not emitted for all of them in 1.22): enumerate its list.
    /// Called from the JS thread only, never from a webrtcbin callback (the action signal
    /// takes webrtcbin's own lock).
    /// Registers the transceivers webrtcbin made itself (while applying or answering a
    /// description), so the registry lists every one.
    fn sync_transceivers(&self) {
        let Ok(webrtc) = self.webrtc() else { return };
        let mut idx = 0u32;
        while let Some(t) = webrtc.emit_by_name::<Option<WebRTCRTPTransceiver>>("get-transceiver", &[&(idx as i32)]) {
            self.register_transceiver(&t);
            idx += 1;
        }
    }

    /// webrtc-pc §4.4.1.6 (remote offer): every offered m-section gets a transceiver at
    /// setRemoteDescription time, reusing one made by addTrack or else a new recvonly one.
    /// webrtcbin 1.22 only does this inside create-answer, too late for `track` events and
    /// for `addTrack` to reuse it; its create-answer then matches ours as compatible.
    /// A transceiver that cannot be made fails the setRemoteDescription that needed it.
    fn answer_remote_media(&self) -> PcResult<()> {
        let (offer, missing): (SDPMessage, Vec<u32>) = {
            let mut st = self.lock();
            let Some((SdpType::Offer, offer)) = st.negotiation.pending_remote.as_ref() else { return Ok(()) };
            let offer = offer.clone();
            let audio: Vec<u32> = (0..offer.medias_len())
                .filter(|i| offer.media(*i).is_some_and(|m| m.media() == Some("audio") && m.port() != 0))
                .collect();
            let mut missing = Vec::new();
            for i in audio {
                let covered = st.transceivers.iter().any(|t| {
                    !t.stopped && (t.pending_mline == Some(i) || t.gst.property::<u32>("mlineindex") == i)
                });
                if covered {
                    continue;
                }
                let reusable = st.transceivers.iter_mut().find(|t| {
                    !t.stopped && t.pending_mline.is_none() && t.gst.property::<u32>("mlineindex") == u32::MAX && t.sender.as_ref().is_some_and(|s| s.has_track())
                });
                match reusable {
                    Some(t) => {
                        t.pending_mline = Some(i);
                        let ssrc = t.sender.as_ref().map(|s| s.ssrc());
                        t.gst.set_property("codec-preferences", codec::answer_preferences(offer.media(i), ssrc));
                    }
                    None => missing.push(i),
                }
            }
            (offer, missing)
        };
        for i in missing {
            let id = self
                .add_transceiver(Direction::Recvonly)
                .map_err(|e| PcError::operation(format!("cannot create a transceiver for m-line {i}: {}", e.message)))?;
            if let Some(t) = self.lock().transceivers.iter_mut().find(|t| t.id == id) {
                t.gst.set_property("codec-preferences", codec::answer_preferences(offer.media(i), t.sender.as_ref().map(|s| s.ssrc())));
                t.pending_mline = Some(i);
            }
        }
        Ok(())
    }

    fn transceiver_gst(&self, id: u32) -> PcResult<WebRTCRTPTransceiver> {
        let st = self.lock();
        if st.closed {
            return Err(PcError::invalid_state("the RTCPeerConnection is closed"));
        }
        st.transceivers
            .iter()
            .find(|t| t.id == id)
            .map(|t| t.gst.clone())
            .ok_or_else(|| PcError::operation(format!("unknown transceiver {id}")))
    }

    /// Request a webrtcbin sink pad for `t` and build its send chain.
    fn ensure_sender(&self, id: u32) -> PcResult<Arc<SendChain>> {
        let t = self.transceiver_gst(id)?;
        if let Some(sender) = self.lock().transceivers.iter().find(|x| x.id == id).and_then(|x| x.sender.clone()) {
            return Ok(sender);
        }
        let mline = t.property::<u32>("mlineindex");
        let name = if mline == u32::MAX || mline as i32 == -1 { "sink_%u".to_owned() } else { format!("sink_{mline}") };
        let webrtc = self.webrtc()?;
        let pad = webrtc
            .request_pad_simple(&name)
            .ok_or_else(|| PcError::operation("webrtcbin refused a sink pad"))?;
        let pad_trans = pad.property::<Option<WebRTCRTPTransceiver>>("transceiver");
        if pad_trans.as_ref() != Some(&t) {
            webrtc.release_request_pad(&pad);
            return Err(PcError::operation("webrtcbin bound the sink pad to another transceiver"));
        }
        let chain = Arc::new(SendChain::build(&self.media()?.pipeline, &pad, random_ssrc()).map_err(PcError::operation)?);
        if let Some((codec, pt)) = self.negotiated_codec(&t) {
            chain.set_codec(codec, pt).map_err(PcError::operation)?;
            // The direction is only known at the next answer; until then the chain stays quiet.
        }
        let mut st = self.lock();
        if let Some(x) = st.transceivers.iter_mut().find(|x| x.id == id) {
            x.sender = Some(chain.clone());
        }
        Ok(chain)
    }

    /// The transceiver behind m-line `idx` of `msg`: by mid once negotiated, by the m-line
    /// it answers or was assigned, else (for our own offers) the new transceivers in
    /// creation order, which is how webrtcbin 1.22 lays out an offer.
    fn transceiver_for_mline<'a>(st: &'a State, msg: &gst_sdp::SDPMessageRef, idx: u32) -> Option<&'a Transceiver> {
        let mid = mid_of(msg, idx);
        let live = || st.transceivers.iter().filter(|t| !t.stopped);
        live()
            .find(|t| mid.is_some() && t.gst.property::<Option<String>>("mid") == mid)
            .or_else(|| live().find(|t| t.pending_mline == Some(idx)))
            .or_else(|| live().find(|t| t.gst.property::<u32>("mlineindex") == idx))
            .or_else(|| {
                let taken: Vec<Option<String>> = live().map(|t| t.gst.property::<Option<String>>("mid")).collect();
                let new_lines = (0..=idx).filter(|i| {
                    let m = mid_of(msg, *i);
                    m.is_none() || !taken.contains(&m)
                });
                let k = new_lines.count().checked_sub(1)?;
                live().filter(|t| t.gst.property::<Option<String>>("mid").is_none() && t.pending_mline.is_none()).nth(k)
            })
    }

    /// webrtcbin 1.22's `_create_offer_task` walks the m-lines of the last negotiation and puts
    /// each one whose mid a transceiver carries at the next index of the new offer. An m-line
    /// no transceiver carries (one we rejected and webrtcbin never associated, such as a video
    /// m-line before the audio ones) is skipped, so every later transceiver lands an index
    /// early and `sdp_media_from_transceiver` asserts `trans->mline == media_idx`: the process
    /// aborted. Until webrtcbin keeps such m-lines, that offer is an OperationError.
    /// Called from the JS thread with no lock held (get-transceiver takes webrtcbin's lock).
    fn check_offer_layout(&self) -> PcResult<()> {
        let last: Vec<Option<String>> = {
            let st = self.lock();
            let n = &st.negotiation;
            let Some((_, last)) = n.current_local.as_ref().or(n.current_remote.as_ref()) else { return Ok(()) };
            crate::sdp::mids::of(last).into_iter().map(|m| m.map(str::to_owned)).collect()
        };
        let webrtc = self.webrtc()?;
        let mut carried = Vec::new();
        let mut idx = 0i32;
        while let Some(t) = webrtc.emit_by_name::<Option<WebRTCRTPTransceiver>>("get-transceiver", &[&idx]) {
            carried.extend(t.property::<Option<String>>("mid"));
            idx += 1;
        }
        let is_carried = |m: &Option<String>| m.as_ref().is_some_and(|m| carried.contains(m));
        if let Some(gap) = last.iter().position(|m| !is_carried(m)) {
            if last[gap + 1..].iter().any(is_carried) {
                return Err(PcError::operation(format!(
                    "cannot renegotiate: m-line {gap} of the last negotiation was rejected before m-lines in use, which webrtcbin 1.22 cannot lay out"
                )));
            }
        }
        Ok(())
    }

    /// Put the real directions into an offer or answer webrtcbin created (it only knows sendrecv).
    fn apply_directions(&self, msg: &mut SDPMessage, answer: bool) {
        let st = self.lock();
        let offer = if answer { st.negotiation.pending_remote.as_ref().map(|(_, m)| m.clone()) } else { None };
        for idx in 0..msg.medias_len() {
            if msg.media(idx).is_none_or(|m| m.port() == 0 && !crate::sdp::has_attr(m, "bundle-only")) {
                continue;
            }
            let ours = Self::transceiver_for_mline(&st, msg, idx).map(|t| direction_str(t.direction)).unwrap_or("recvonly");
            let dir = match &offer {
                Some(offer) => direction::answer(ours, direction::of(offer, idx).unwrap_or("sendrecv")),
                None => ours,
            };
            if let Some(media) = msg.media_mut(idx) {
                direction::set(media, dir);
            }
        }
    }

    /// RFC 4733 DTMF formats in an offer or answer webrtcbin created (sdp::telephone_event).
    fn add_telephone_events(&self, msg: &mut SDPMessage, answer: bool) {
        if !answer {
            return telephone_event::add_to_offer(msg);
        }
        let offer = self.lock().negotiation.pending_remote.as_ref().map(|(_, m)| m.clone());
        if let Some(offer) = offer {
            telephone_event::add_to_answer(msg, &offer);
        }
    }

    /// The send chain of a transceiver, if it has one.
    fn sender(&self, id: u32) -> PcResult<Option<Arc<SendChain>>> {
        let st = self.lock();
        if st.closed {
            return Err(PcError::invalid_state("the RTCPeerConnection is closed"));
        }
        let t = st.transceivers.iter().find(|t| t.id == id).ok_or_else(|| PcError::operation(format!("unknown transceiver {id}")))?;
        Ok(if t.stopped { None } else { t.sender.clone() })
    }

    fn negotiated_codec(&self, t: &WebRTCRTPTransceiver) -> Option<(&'static codec::Codec, u32)> {
        let mline = t.property::<u32>("mlineindex");
        let st = self.lock();
        let answer = st.negotiation.current_local.as_ref().filter(|(ty, _)| *ty == SdpType::Answer)
            .or(st.negotiation.current_remote.as_ref().filter(|(ty, _)| *ty == SdpType::Answer))?;
        codec::negotiated(&answer.1, mline)
    }

    fn add_transceiver(&self, direction: Direction) -> PcResult<u32> {
        let pad = self
            .webrtc()?
            .request_pad_simple("sink_%u")
            .ok_or_else(|| PcError::operation("webrtcbin refused a sink pad"))?;
        let t = pad
            .property::<Option<WebRTCRTPTransceiver>>("transceiver")
            .ok_or_else(|| PcError::operation("webrtcbin created no transceiver"))?;
        let id = self.register_transceiver(&t);
        t.set_property("direction", Direction::Sendrecv);
        let ssrc = random_ssrc();
        t.set_property("codec-preferences", codec::preferences(Some(ssrc)));
        let chain = Arc::new(SendChain::build(&self.media()?.pipeline, &pad, ssrc).map_err(PcError::operation)?);
        let mut st = self.lock();
        if let Some(x) = st.transceivers.iter_mut().find(|x| x.id == id) {
            x.sender = Some(chain);
            x.direction = direction;
        }
        Ok(id)
    }

    /// Bookkeeping after webrtcbin accepted a description (webrtc-pc §4.4.1.6).
    fn description_applied(self: &Arc<Self>, side: Side, ty: SdpType, msg: Option<SDPMessage>) -> PcResult<SignalingState> {
        let answer = if ty == SdpType::Answer { msg.clone() } else { None };
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
                        st.gathering = "new";
                        st.gathering_started = Some(Instant::now());
                        st.last_candidate_at = None;
                    }
                    if st.gathering != "complete" && !st.guard_running {
                        st.guard_running = true;
                        start_guard = true;
                    }
                }
            }
            st.negotiation.apply(side, ty, msg)?
        };
        if let Some(answer) = answer {
            let senders: Vec<(WebRTCRTPTransceiver, Arc<SendChain>)> = self
                .lock()
                .transceivers
                .iter()
                .filter_map(|t| t.sender.clone().map(|s| (t.gst.clone(), s)))
                .collect();
            // Our direction for each m-line: the answer's if we answered, else the reverse of theirs.
            for (t, sender) in senders {
                let mline = t.property::<u32>("mlineindex");
                let negotiated = codec::negotiated(&answer, mline);
                if let Some((codec, pt)) = negotiated {
                    if let Err(e) = sender.set_codec(codec, pt) {
                        gst::warning!(crate::log::CAT, "cannot switch the sender to {}: {e}", codec.encoding_name);
                    }
                }
                // RFC 4733 §2.1: events use the audio codec's clock.
                let dtmf = negotiated.and_then(|(c, _)| telephone_event::negotiated(&answer, mline, c.clock_rate).map(|pt| (pt, c.clock_rate)));
                sender.dtmf().configure(dtmf);
                let dir = direction::of(&answer, mline).unwrap_or("inactive");
                let ours = if side == Side::Local { dir } else { direction::reverse(dir) };
                sender.set_active(matches!(ours, "sendrecv" | "sendonly"));
            }
        }
        if start_guard {
            schedule_gathering_guard(self);
        }
        Ok(state)
    }

    fn on_local_candidate(&self, mline: u32, candidate: String) {
        let attr = candidate.strip_prefix("a=").unwrap_or(&candidate).to_owned();
        let (mid, first) = {
            let mut st = self.lock();
            if st.closed || st.local_candidates.iter().any(|c| c.mline == mline && c.attr == attr) {
                return;
            }
            st.local_candidates.push(LocalCandidate { mline, attr: attr.clone() });
            st.last_candidate_at = Some(Instant::now());
            let first = st.gathering == "new";
            if first {
                st.gathering = "gathering";
            }
            (st.negotiation.local().and_then(|(_, m)| mid_of(m, mline)), first)
        };
        if first {
            self.events.emit(NativeEvent::state("icegatheringstatechange", "gathering"));
        }
        self.events.emit(NativeEvent {
            candidate: Some(attr),
            sdp_mid: mid,
            sdp_m_line_index: Some(mline),
            ..NativeEvent::new("icecandidate")
        });
    }

    fn set_gathering(&self, state: &'static str) {
        let emit: Vec<&'static str> = {
            let mut st = self.lock();
            if st.closed || st.gathering == state || st.gathering == "complete" && state != "new" {
                return;
            }
            let mut emit = Vec::new();
            if state == "complete" && st.gathering == "new" {
                emit.push("gathering");
            }
            emit.push(state);
            st.gathering = state;
            emit
        };
        for s in emit {
            self.events.emit(NativeEvent::state("icegatheringstatechange", s));
        }
    }

    /// Completes gathering when webrtcbin does not: 1.22 does not always move
    /// `ice-gathering-state` to `complete` after the last candidate (webrtc-pc wants
    /// `complete` and a null candidate), so gathering is declared complete once host
    /// candidates stop coming, or at a time limit.
    fn gathering_guard_tick(&self) -> bool {
        let done = {
            let mut st = self.lock();
            if st.closed || st.gathering == "complete" {
                st.guard_running = false;
                return false;
            }
            let Some(started) = st.gathering_started else {
                st.guard_running = false;
                return false;
            };
            let quiet = st.last_candidate_at.map(|t| t.elapsed() >= HOST_GATHERING_QUIET).unwrap_or(false);
            let limit = if self.has_ice_servers { GATHERING_LIMIT_WITH_SERVERS } else { GATHERING_LIMIT_HOST_ONLY };
            let done = (!self.has_ice_servers && quiet) || started.elapsed() >= limit;
            if done {
                st.guard_running = false;
            }
            done
        };
        if done {
            self.set_gathering("complete");
        }
        !done
    }

    fn set_ice_connection(&self, state: &'static str) {
        {
            let mut st = self.lock();
            if st.closed || st.ice_connection == state {
                return;
            }
            st.ice_connection = state;
        }
        self.events.emit(NativeEvent::state("iceconnectionstatechange", state));
    }

    /// Whether packets reach the peer: webrtcbin drops RTP until DTLS is up, and a SIP call is
    /// "established" (200/ACK) before that, so DTMF queued earlier would vanish unheard.
    fn media_connected(&self) -> bool {
        self.lock().connection == "connected"
    }

    /// ICE reached connected: from now on, silence from the peer means lost consent.
    fn watch_consent(self: &Arc<Self>) {
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

    fn consent_tick(&self) -> bool {
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
        let next = match consent::verdict(self.consent.silence()) {
            Verdict::Alive if lost => Some(("connected", false)),
            Verdict::Disconnected if matches!(ice, "connected" | "completed") => Some(("disconnected", true)),
            Verdict::Failed if ice != "failed" && (lost || matches!(ice, "connected" | "completed")) => Some(("failed", true)),
            _ => None,
        };
        if let Some((state, lost)) = next {
            self.lock().consent_lost = lost;
            self.set_ice_connection(state);
            self.set_connection(state);
        }
        true
    }

    fn set_connection(&self, state: &'static str) {
        {
            let mut st = self.lock();
            if st.closed || st.connection == state {
                return;
            }
            st.connection = state;
        }
        self.events.emit(NativeEvent::state("connectionstatechange", state));
    }

    fn on_src_pad(&self, pad: &gst::Pad) {
        if pad.direction() != gst::PadDirection::Src {
            return;
        }
        let trans = pad.property::<Option<WebRTCRTPTransceiver>>("transceiver");
        let found = {
            let st = self.lock();
            if st.closed {
                return;
            }
            st.transceivers.iter().find(|t| Some(&t.gst) == trans.as_ref()).map(|t| (t.id, t.receiver.clone()))
        };
        let Ok(Media { pipeline, .. }) = self.media() else { return };
        let result = match found {
            // The remote's RFC 4733 events: same SSRC as its audio, own payload type, own pad.
            Some((id, _)) if dtmf_receive::is_telephone_event(pad) => {
                let events = self.events.clone();
                let on_event: dtmf_receive::OnEvent = Arc::new(move |event, duration| {
                    let Some(tone) = dtmf_send::tone_of(event) else { return };
                    events.emit(NativeEvent {
                        transceiver_id: Some(id),
                        tone: Some(tone.to_string()),
                        duration: Some(duration),
                        ..NativeEvent::new("dtmf")
                    });
                });
                dtmf_receive::link(pad, on_event)
            }
            Some((_, track)) => link_decoder(&pipeline, pad, track),
            None => Err("RTP pad for an unknown transceiver".to_owned()),
        };
        if let Err(e) = result {
            // An undecodable stream must not stall webrtcbin: drop it.
            gst::warning!(crate::log::CAT, "cannot decode incoming stream: {e}");
            receiver::drain(pad, |_| {});
        }
    }

    fn render(&self, which: fn(&Negotiation<SDPMessage>) -> Option<&(SdpType, SDPMessage)>, local: bool) -> Option<NativeDescription> {
        let st = self.lock();
        let (ty, msg) = which(&st.negotiation)?;
        let sdp = if local {
            to_text(&local::render(msg, &st.local_candidates, st.gathering == "complete"))
        } else {
            to_text(msg)
        };
        Some(NativeDescription { kind: ty.as_str().to_owned(), sdp })
    }

    fn close(&self) {
        let (senders, receivers) = {
            let mut st = self.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            self.consent.stop();
            st.negotiation.state = SignalingState::Closed;
            st.ice_connection = "closed";
            st.connection = "closed";
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
                if let Some(bus) = media.pipeline.bus() {
                    bus.unset_sync_handler();
                }
                drop(media);
                runtime::trim_heap_soon();
            });
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}

fn schedule_gathering_guard(inner: &Arc<Inner>) {
    let clock = gst::SystemClock::obtain();
    let id = clock.new_single_shot_id(clock.time() + GATHERING_POLL);
    let weak = Arc::downgrade(inner);
    let _ = id.wait_async(move |_, _, _| {
        if let Some(inner) = weak.upgrade() {
            if inner.gathering_guard_tick() {
                schedule_gathering_guard(&inner);
            }
        }
    });
}

fn connect_signals(inner: &Arc<Inner>, webrtc: &gst::Element) {

    let weak = Arc::downgrade(inner);
    webrtc.connect("on-ice-candidate", false, move |values| {
        let mline = values[1].get::<u32>().ok()?;
        let candidate = values[2].get::<String>().ok()?;
        if let Some(inner) = weak.upgrade() {
            inner.on_local_candidate(mline, candidate);
        }
        None
    });

    let weak = Arc::downgrade(inner);
    webrtc.connect("on-new-transceiver", false, move |values| {
        if let (Some(inner), Ok(t)) = (weak.upgrade(), values[1].get::<WebRTCRTPTransceiver>()) {
            inner.register_transceiver(&t);
        }
        None
    });

    let weak: Weak<Inner> = Arc::downgrade(inner);
    webrtc.connect_notify(Some("ice-gathering-state"), move |webrtc, _| {
        let Some(inner) = weak.upgrade() else { return };
        match webrtc.property::<WebRTCICEGatheringState>("ice-gathering-state") {
            WebRTCICEGatheringState::Gathering => inner.set_gathering("gathering"),
            WebRTCICEGatheringState::Complete => inner.set_gathering("complete"),
            _ => {}
        }
    });

    let weak: Weak<Inner> = Arc::downgrade(inner);
    webrtc.connect_notify(Some("ice-connection-state"), move |webrtc, _| {
        let Some(inner) = weak.upgrade() else { return };
        let state = ice::connection_state_name(webrtc.property::<WebRTCICEConnectionState>("ice-connection-state"));
        if matches!(state, "connected" | "completed") {
            inner.watch_consent();
        }
        inner.set_ice_connection(state);
    });

    let weak: Weak<Inner> = Arc::downgrade(inner);
    webrtc.connect_notify(Some("connection-state"), move |webrtc, _| {
        let Some(inner) = weak.upgrade() else { return };
        let state = match webrtc.property::<WebRTCPeerConnectionState>("connection-state") {
            WebRTCPeerConnectionState::New => "new",
            WebRTCPeerConnectionState::Connecting => "connecting",
            WebRTCPeerConnectionState::Connected => "connected",
            WebRTCPeerConnectionState::Disconnected => "disconnected",
            WebRTCPeerConnectionState::Failed => "failed",
            _ => "closed",
        };
        inner.set_connection(state);
    });

    let weak = Arc::downgrade(inner);
    webrtc.connect_pad_added(move |_, pad| {
        if let Some(inner) = weak.upgrade() {
            inner.on_src_pad(pad);
        }
    });
}

impl NativePeerConnection {
    fn fail(&self, request_id: u32, err: PcError) {
        self.inner.events.emit(NativeEvent::failure(request_id, &err));
    }

    fn create(&self, request_id: u32, answer: bool, ice_restart: bool) {
        if answer {
            self.inner.sync_transceivers();
        }
        let state = self.inner.lock().negotiation.state;
        let check = if answer { negotiation::check_create_answer(state) } else { negotiation::check_create_offer(state) };
        if let Err(e) = check.and_then(|()| if answer { Ok(()) } else { self.inner.check_offer_layout() }) {
            return self.fail(request_id, e);
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
                    if ice_restart {
                        ice_credentials::replace(&mut sdp);
                    }
                    ssrc::dedupe(&mut sdp);
                    if let Some(inner) = weak.upgrade() {
                        inner.apply_directions(&mut sdp, answer);
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
    }

    fn set_description(&self, request_id: u32, side: Side, ty: &str, sdp: &str) {
        let prepared = (|| -> PcResult<(SdpType, Option<SDPMessage>)> {
            let ty = SdpType::parse(ty)?;
            self.inner.lock().negotiation.check(side, ty)?;
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
            Err(e) => return self.fail(request_id, e),
        };
        // webrtcbin 1.22 cannot roll back (webrtcsdp.c has no rule for it): see rollback.rs.
        let (signal_side, gst_ty, for_webrtcbin) = if ty == SdpType::Rollback {
            let st = self.inner.lock();
            match rollback::plan(&st.negotiation) {
                rollback::Plan::Reapply(answer) => (Side::Remote, WebRTCSDPType::Answer, webrtcbin_view::for_webrtcbin(&answer, Side::Remote)),
                rollback::Plan::StateOnly => {
                    drop(st);
                    let result = self.inner.description_applied(side, ty, None);
                    return match result {
                        Ok(state) => self.inner.events.emit(NativeEvent { state: Some(state.as_str().to_owned()), ..NativeEvent::result(request_id) }),
                        Err(e) => self.fail(request_id, e),
                    };
                }
            }
        } else {
            (side, gst_sdp_type(ty), msg.as_ref().map(|m| webrtcbin_view::for_webrtcbin(m, side)).unwrap_or_else(SDPMessage::new))
        };
        let desc = WebRTCSessionDescription::new(gst_ty, for_webrtcbin);
        let events = self.inner.events.clone();
        let weak = Arc::downgrade(&self.inner);
        let promise = self.inner.in_flight.promise(move |reply| {
            let result = check_reply(reply).and_then(|_| match weak.upgrade() {
                Some(inner) => inner.description_applied(side, ty, msg),
                None => Err(PcError::invalid_state("the RTCPeerConnection is closed")),
            });
            match result {
                Ok(state) => events.emit(NativeEvent { state: Some(state.as_str().to_owned()), ..NativeEvent::result(request_id) }),
                Err(e) => events.emit(NativeEvent::failure(request_id, &e)),
            }
        });
        let signal = if signal_side == Side::Local { "set-local-description" } else { "set-remote-description" };
        match self.inner.webrtc() {
            Ok(webrtc) => webrtc.emit_by_name::<()>(signal, &[&desc, &promise]),
            Err(e) => self.fail(request_id, e),
        }
    }

    fn add_ice_candidate_inner(&self, candidate: &str, mid: Option<&str>, index: Option<u32>) -> PcResult<Option<(u32, String)>> {
        let mline = {
            let st = self.inner.lock();
            if st.closed {
                return Err(PcError::invalid_state("the RTCPeerConnection is closed"));
            }
            let (_, remote) = st
                .negotiation
                .remote()
                .ok_or_else(|| PcError::invalid_state("addIceCandidate called before setRemoteDescription"))?;
            // Added candidates are kept in the remote description (below), so it holds them all.
            let known = remote.medias().map(|m| m.attributes().filter(|a| a.key() == "candidate").count()).sum::<usize>();
            if !candidate.is_empty() {
                self.inner.limits.check_candidates(known + 1)?;
            }
            // webrtc-pc §4.4.1.3: sdpMid wins over sdpMLineIndex when both are given.
            match (mid, index) {
                (Some(mid), _) => (0..remote.medias_len())
                    .find(|i| mid_of(remote, *i).as_deref() == Some(mid))
                    .ok_or_else(|| PcError::operation(format!("no m-line with mid '{mid}'")))?,
                (None, Some(i)) if i < remote.medias_len() => i,
                (None, Some(i)) => return Err(PcError::operation(format!("sdpMLineIndex {i} out of range"))),
                (None, None) => return Err(PcError::type_error("candidate needs sdpMid or sdpMLineIndex")),
            }
        };
        if candidate.is_empty() {
            return Ok(None); // end-of-candidates (RFC 8838 §8.2): nothing for the agent to do
        }
        let attr = candidate.strip_prefix("a=").unwrap_or(candidate).to_owned();
        // An RTCP candidate (component 2) has nothing to pair with: RTCP is multiplexed
        // (RFC 8843 §9, rtcp-mux-only); browsers accept and ignore it, libnice would warn.
        if Candidate::parse(&attr)?.component == 2 {
            return Ok(None);
        }
        Ok(Some((mline, attr)))
    }
}

#[napi]
impl NativePeerConnection {
    #[napi(constructor)]
    pub fn new(
        config: NativeConfig,
        on_event: ThreadsafeFunction<NativeEvent, napi::Unknown<'static>, NativeEvent, Status, false, true>,
    ) -> napi::Result<Self> {
        runtime::init_or_throw()?;
        ice::check_local_addresses(&config).map_err(|e| napi::Error::new(Status::InvalidArg, e))?;
        let pipeline = gst::Pipeline::new();
        let webrtc = make("webrtcbin").map_err(napi_err)?;
        crate::receive_start::start_fast(&webrtc);
        pipeline.add(&webrtc).map_err(napi_err)?;
        ice::configure(&webrtc, &config).map_err(napi_err)?;
        if let Some(bus) = pipeline.bus() {
            // Nobody iterates this bus; drop messages so they do not pile up, but say why
            // a pipeline failed (`GST_DEBUG=gstpc:5`).
            bus.set_sync_handler(move |_, msg| {
                if let gst::MessageView::Error(e) = msg.view() {
                    gst::debug!(crate::log::CAT, "pipeline error: {} ({:?})", e.error(), e.debug());
                }
                gst::BusSyncReply::Drop
            });
        }
        let has_ice_servers = config.ice_servers.iter().any(|s| !s.urls.is_empty());
        let inner = Arc::new(Inner {
            media: Mutex::new(Some(Media { pipeline: pipeline.clone(), webrtc: webrtc.clone() })),
            events: EventSink::new(on_event),
            state: Mutex::new(State {
                negotiation: Negotiation::default(),
                transceivers: Vec::new(),
                next_transceiver: 0,
                local_candidates: Vec::new(),
                local_ufrag: None,
                gathering: "new",
                gathering_started: None,
                last_candidate_at: None,
                guard_running: false,
                ice_connection: "new",
                connection: "new",
                consent_lost: false,
                closed: false,
            }),
            has_ice_servers,
            limits: Limits::from_native(config.limits.as_ref()),
            consent: Consent::default(),
            in_flight: InFlight::default(),
        });
        connect_signals(&inner, &webrtc);
        // All sinks of a pipeline wait the same latency, the largest of any path — here the
        // send path's (encoder frames, pacing), which would delay what we play out. The
        // receive path needs only the jitter buffer plus a little decoding headroom.
        let jitter = config.jitter_buffer_latency.unwrap_or(ice::DEFAULT_JITTER_BUFFER_MS);
        pipeline.set_latency(gst::ClockTime::from_mseconds(u64::from(jitter) + PLAYOUT_HEADROOM_MS));
        pipeline.set_state(gst::State::Playing).map_err(napi_err)?;
        Ok(Self { inner })
    }

    #[napi]
    pub fn create_offer(&self, request_id: u32, ice_restart: bool) {
        self.create(request_id, false, ice_restart);
    }

    #[napi]
    pub fn create_answer(&self, request_id: u32) {
        self.create(request_id, true, false);
    }

    #[napi]
    pub fn set_local_description(&self, request_id: u32, sdp_type: String, sdp: String) {
        self.set_description(request_id, Side::Local, &sdp_type, &sdp);
    }

    #[napi]
    pub fn set_remote_description(&self, request_id: u32, sdp_type: String, sdp: String) {
        self.set_description(request_id, Side::Remote, &sdp_type, &sdp);
    }

    #[napi]
    pub fn add_ice_candidate(&self, request_id: u32, candidate: String, sdp_mid: Option<String>, sdp_m_line_index: Option<u32>) {
        match self.add_ice_candidate_inner(&candidate, sdp_mid.as_deref(), sdp_m_line_index) {
            Ok(None) => self.inner.events.emit(NativeEvent::result(request_id)),
            Ok(Some((mline, attr))) => {
                match self.inner.webrtc() {
                    Ok(webrtc) => webrtc.emit_by_name::<()>("add-ice-candidate", &[&mline, &attr]),
                    Err(e) => return self.fail(request_id, e),
                }
                // webrtc-pc §4.4.1.3: the remote description reflects added candidates.
                if let Some((_, remote)) = self.inner.lock().negotiation.remote_mut() {
                    if let Some(media) = remote.media_mut(mline) {
                        media.add_attribute("candidate", attr.strip_prefix("candidate:"));
                    }
                }
                self.inner.events.emit(NativeEvent::result(request_id));
            }
            Err(e) => self.fail(request_id, e),
        }
    }

    #[napi]
    pub fn add_transceiver(&self, kind: String, direction: String) -> napi::Result<u32> {
        if kind != "audio" {
            return Err(napi_err(format!("unsupported kind {kind}")));
        }
        let direction = parse_direction(&direction).map_err(napi_err)?;
        self.inner.add_transceiver(direction).map_err(napi_err)
    }

    /// The end of applying a description, on the JS thread (webrtcbin's promise thread holds
    /// its PC lock, and making a transceiver needs it): registers the transceivers webrtcbin
    /// made, and for a remote offer gives every offered m-section one (webrtc-pc §4.4.1.6).
    /// Called once per applied description, before the transceivers are read.
    #[napi]
    pub fn apply_remote_media(&self) -> napi::Result<()> {
        self.inner.sync_transceivers();
        self.inner.answer_remote_media().map_err(napi_err)
    }

    /// The registry as it is: reading it changes nothing.
    #[napi]
    pub fn transceivers(&self) -> Vec<NativeTransceiver> {
        let st = self.inner.lock();
        let local = st.negotiation.current_local.as_ref();
        let remote = st.negotiation.current_remote.as_ref();
        st.transceivers
            .iter()
            .map(|t| {
                let mline = t.gst.property::<u32>("mlineindex");
                let mline = (mline != u32::MAX).then_some(mline).or(t.pending_mline);
                let mid = t.gst.property::<Option<String>>("mid").or_else(|| {
                    mline.and_then(|i| st.negotiation.local().or(st.negotiation.remote()).and_then(|(_, m)| mid_of(m, i)))
                });
                // webrtc-pc §4.4.1.6: currentDirection is the direction negotiated by the last
                // answer, from our point of view.
                let current_direction = mline.and_then(|i| match (local, remote) {
                    (Some((SdpType::Answer, l)), _) => direction::of(l, i).map(str::to_owned),
                    (_, Some((SdpType::Answer, r))) => direction::of(r, i).map(|d| direction::reverse(d).to_owned()),
                    _ => None,
                });
                let direction = if t.stopped { "stopped" } else { direction_str(t.direction) };
                NativeTransceiver {
                    id: t.id,
                    kind: t.kind.to_owned(),
                    mid,
                    mline_index: mline,
                    direction: direction.to_owned(),
                    current_direction: if t.stopped { Some("stopped".to_owned()) } else { current_direction },
                    stopped: t.stopped,
                }
            })
            .collect()
    }

    #[napi]
    pub fn receiver_track(&self, transceiver_id: u32) -> napi::Result<NativeTrack> {
        let st = self.inner.lock();
        st.transceivers
            .iter()
            .find(|t| t.id == transceiver_id)
            .map(|t| NativeTrack::from_core(t.receiver.clone()))
            .ok_or_else(|| napi_err(format!("unknown transceiver {transceiver_id}")))
    }

    #[napi]
    pub fn set_direction(&self, transceiver_id: u32, direction: String) -> napi::Result<()> {
        let direction = parse_direction(&direction).map_err(napi_err)?;
        let mut st = self.inner.lock();
        let t = st
            .transceivers
            .iter_mut()
            .find(|t| t.id == transceiver_id)
            .ok_or_else(|| napi_err(format!("unknown transceiver {transceiver_id}")))?;
        t.direction = direction;
        Ok(())
    }

    #[napi]
    pub fn set_sender_track(&self, transceiver_id: u32, track: Option<&NativeTrack>) -> napi::Result<()> {
        let has_sender = self
            .inner
            .lock()
            .transceivers
            .iter()
            .any(|t| t.id == transceiver_id && t.sender.is_some());
        if track.is_none() && !has_sender {
            return Ok(());
        }
        let sender = self.inner.ensure_sender(transceiver_id).map_err(napi_err)?;
        sender.set_track(track.map(|t| t.core.clone()));
        Ok(())
    }

    #[napi]
    pub fn signaling_state(&self) -> String {
        self.inner.lock().negotiation.state.as_str().to_owned()
    }

    #[napi]
    pub fn ice_gathering_state(&self) -> String {
        self.inner.lock().gathering.to_owned()
    }

    #[napi]
    pub fn ice_connection_state(&self) -> String {
        self.inner.lock().ice_connection.to_owned()
    }

    #[napi]
    pub fn connection_state(&self) -> String {
        self.inner.lock().connection.to_owned()
    }

    #[napi]
    pub fn local_description(&self) -> Option<NativeDescription> {
        self.inner.render(|n| n.local(), true)
    }

    #[napi]
    pub fn current_local_description(&self) -> Option<NativeDescription> {
        self.inner.render(|n| n.current_local.as_ref(), true)
    }

    #[napi]
    pub fn pending_local_description(&self) -> Option<NativeDescription> {
        self.inner.render(|n| n.pending_local.as_ref(), true)
    }

    #[napi]
    pub fn remote_description(&self) -> Option<NativeDescription> {
        self.inner.render(|n| n.remote(), false)
    }

    #[napi]
    pub fn current_remote_description(&self) -> Option<NativeDescription> {
        self.inner.render(|n| n.current_remote.as_ref(), false)
    }

    #[napi]
    pub fn pending_remote_description(&self) -> Option<NativeDescription> {
        self.inner.render(|n| n.pending_remote.as_ref(), false)
    }

    /// webrtc-pc §7 "determine if DTMF can be sent": the last answer lets this sender send,
    /// with an audio codec, and negotiated telephone-event at that codec's clock rate.
    #[napi]
    pub fn can_insert_dtmf(&self, transceiver_id: u32) -> bool {
        self.inner.media_connected() && matches!(self.inner.sender(transceiver_id), Ok(Some(s)) if s.is_active() && s.dtmf().can_send())
    }

    /// Queue one DTMF tone ('0'-'9', '*', '#', 'A'-'D') of `duration` ms on the sender's RTP
    /// stream (RFC 4733). Tones play in the order queued; the W3C timing (tonechange,
    /// inter-tone gap) is the caller's. False when DTMF cannot be sent now.
    #[napi]
    pub fn insert_dtmf(&self, transceiver_id: u32, tone: String, duration: u32) -> bool {
        let Some(event) = tone.chars().next().and_then(dtmf_send::event_of) else { return false };
        match self.inner.sender(transceiver_id) {
            Ok(Some(s)) if s.is_active() && self.inner.media_connected() => s.dtmf().queue(event, duration),
            _ => false,
        }
    }

    /// getStats(): answered by a `result` event whose `stats` is a JSON array (stats.rs).
    #[napi]
    pub fn get_stats(&self, request_id: u32) {
        // No lock of ours is held here: get-stats takes webrtcbin's own lock.
        match self.inner.webrtc() {
            Ok(webrtc) => crate::stats::request(&webrtc, &self.inner.in_flight, self.inner.events.clone(), request_id),
            Err(e) => self.fail(request_id, e),
        }
    }

    /// The `latency` (ms) of the jitter buffer serving this transceiver's receive stream
    /// (jitter_buffer.rs), or null before webrtcbin has created one.
    #[napi]
    pub fn jitter_buffer_latency(&self, transceiver_id: u32) -> Option<u32> {
        let t = self.inner.transceiver_gst(transceiver_id).ok()?;
        crate::jitter_buffer::latency(&self.inner.webrtc().ok()?, &t)
    }

    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}
