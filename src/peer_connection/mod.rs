//! `NativePeerConnection`: one webrtcbin in its own pipeline, the negotiation state in
//! front of it, and the send/receive chains of its transceivers.
//!
//! Threading: webrtcbin answers on its own threads. Every closure holds a `Weak<Inner>`,
//! and no lock of ours is held while a webrtcbin action signal is emitted or a pad is
//! requested (webrtcbin may call `on-new-transceiver` back synchronously).
//!
//! | entry point | thread |
//! |---|---|
//! | every `#[napi]` method below | Node's main thread |
//! | operation results (`offer_answer.rs`: the create-* and set-*-description promise replies, `description_applied`) | webrtcbin's operation thread, holding its PC lock: state only, no action signal, no pipeline change |
//! | `Drop for Inner` (a connection collected without close()) | whichever thread drops the last reference; `close()` is safe on any |
//! | `on-ice-candidate`, ICE gathering/connection state notifies (`signals.rs` → `gathering.rs`, `connection_state.rs`) | webrtcbin's and libnice's threads |
//! | `pad-added` (`receive.rs`) | a streaming thread of the pipeline |
//! | gathering guard and consent ticks (`gathering.rs`, `connection_state.rs`) | GStreamer's system clock thread |
//! | pipeline teardown after `close()` | `gstpc-teardown` (`teardown.rs`) |
//!
//! Files: `inner.rs` (the shared state and close), `transceivers.rs` (the registry),
//! `offer_answer.rs`, `gathering.rs`, `connection_state.rs`, `receive.rs`, `signals.rs`.

mod connection_state;
mod gathering;
mod inner;
mod mline_match;
mod offer_answer;
mod parameters;
mod receive;
mod signals;
mod transceivers;

use std::sync::{Arc, Mutex};
use gst::prelude::*;
use napi_derive::napi;
use crate::workarounds::consent::Consent;
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use crate::events::{EventSink, NativeEvent};
use crate::ice::{self, NativeConfig};
use crate::workarounds::in_flight::InFlight;
use crate::media::dtmf_send;
use crate::media::track::NativeTrack;
use crate::negotiation::{Negotiation, SdpType, Side};
use crate::runtime::{self, make};
use crate::sdp::limits::Limits;
use crate::sdp::direction;
use crate::states::{IceConnectionState, IceGatheringState, PeerConnectionState};

use inner::*;
pub use inner::{CreateInputs, NativeDescription, NativeTransceiver};
use signals::connect_signals;

/// Decoding and scheduling margin added to the jitter buffer's latency for playout.
pub(crate) const PLAYOUT_HEADROOM_MS: u64 = 10;

#[napi]
pub struct NativePeerConnection {
    inner: Arc<Inner>,
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
        crate::workarounds::receive_start::start_fast(&webrtc);
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
                gathering: IceGatheringState::New,
                gathering_started: None,
                last_candidate_at: None,
                guard_running: false,
                answer_to_apply: None,
                webrtcbin_bundle_tag: None,
                stale_local_offer: false,
                ice_connection: IceConnectionState::New,
                ice_agent: IceConnectionState::New,
                connection: PeerConnectionState::New,
                consent_lost: false,
                transportless: false,
                closed: false,
            }),
            has_ice_servers,
            limits: Limits::from_native(config.limits.as_ref()),
            consent: Consent::default(),
            fingerprint_gate: Default::default(),
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
    /// A wrong signaling state throws at once, so the promise is rejected on the same task
    /// (webrtc-pc §4.4.3.2: "return a promise rejected with"); the rest answers by event.
    pub fn create_offer(&self, request_id: u32, ice_restart: bool, inputs: CreateInputs) -> napi::Result<(), &'static str> {
        self.create(request_id, false, ice_restart, inputs).map_err(coded)
    }

    #[napi]
    pub fn create_answer(&self, request_id: u32, inputs: CreateInputs) -> napi::Result<(), &'static str> {
        self.create(request_id, true, false, inputs).map_err(coded)
    }

    /// An invalid type or signaling state throws at once (webrtc-pc §4.4.1.5); the rest
    /// answers by event.
    #[napi]
    pub fn set_local_description(&self, request_id: u32, sdp_type: String, sdp: String) -> napi::Result<(), &'static str> {
        self.set_description(request_id, Side::Local, &sdp_type, &sdp).map_err(coded)
    }

    #[napi]
    pub fn set_remote_description(&self, request_id: u32, sdp_type: String, sdp: String) -> napi::Result<(), &'static str> {
        self.set_description(request_id, Side::Remote, &sdp_type, &sdp).map_err(coded)
    }

    #[napi]
    pub fn add_ice_candidate(&self, request_id: u32, candidate: String, sdp_mid: Option<String>, sdp_m_line_index: Option<u32>, username_fragment: Option<String>) {
        let added = match self.add_ice_candidate_inner(&candidate, sdp_mid.as_deref(), sdp_m_line_index, username_fragment.as_deref()) {
            Ok(added) => added,
            Err(e) => return self.fail(request_id, e),
        };
        if added.for_agent {
            let attr = format!("candidate:{}", added.line.1.as_deref().unwrap_or_default());
            match self.inner.webrtc() {
                Ok(webrtc) => webrtc.emit_by_name::<()>("add-ice-candidate", &[&added.mline, &attr]),
                Err(e) => return self.fail(request_id, e),
            }
        }
        // webrtc-pc §4.4.1.3: the remote description reflects added candidates and the end
        // of candidates (once per section).
        if let Some((_, remote)) = self.inner.lock().negotiation.remote_mut() {
            if let Some(media) = remote.media_mut(added.mline) {
                let (key, value) = &added.line;
                if value.is_some() || !crate::sdp::has_attr(media, key) {
                    media.add_attribute(key, Some(value.as_deref().unwrap_or("")));
                }
            }
        }
        self.inner.events.emit(NativeEvent::result(request_id));
        if added.line.0 == "end-of-candidates" {
            self.inner.refresh_ice_connection();
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
    /// its PC lock, and making a transceiver needs it; switching an encoder is pipeline
    /// surgery): registers the transceivers webrtcbin made, gives every m-section of a remote
    /// offer one (webrtc-pc §4.4.1.6), and has the send chains take what an answer negotiated.
    /// Called once per applied description, before the transceivers are read; a failure fails
    /// that operation.
    #[napi]
    pub fn apply_media(&self) -> napi::Result<(), &'static str> {
        self.inner.sync_transceivers();
        // The error's code is the W3C name (`js/internal/errors.ts` maps it), not a napi status.
        self.inner.answer_remote_media().map_err(coded)?;
        self.inner.apply_answer_media().map_err(coded)
    }

    /// The registry as it is: reading it changes nothing.
    #[napi]
    pub fn transceivers(&self) -> Vec<NativeTransceiver> {
        let st = self.inner.lock();
        let local = st.negotiation.current_local.as_ref();
        let remote = st.negotiation.current_remote.as_ref();
        // webrtc-pc §4.4.1.6: setLocalDescription(offer) gives each transceiver in it its mid;
        // webrtcbin 1.22 associates ours only when the answer comes.
        let offered = match st.negotiation.pending_local.as_ref() {
            Some((SdpType::Offer, offer)) => Inner::mline_owners(&st, offer),
            _ => Vec::new(),
        };
        st.transceivers
            .iter()
            .enumerate()
            .map(|(ti, t)| {
                let mline = t.gst.property::<u32>("mlineindex");
                let mline = (mline != u32::MAX).then_some(mline).or(t.pending_mline);
                let laid_out = mline.or_else(|| offered.iter().position(|o| *o == Some(ti)).map(|i| i as u32));
                let mid = t.gst.property::<Option<String>>("mid").or_else(|| {
                    laid_out.and_then(|i| st.negotiation.local().or(st.negotiation.remote()).and_then(|(_, m)| mid_of(m, i)))
                });
                // webrtc-pc §4.4.1.6: currentDirection is the direction negotiated by the last
                // answer, from our point of view.
                let current_direction = mline.and_then(|i| match (local, remote) {
                    (Some((SdpType::Answer, l)), _) => direction::of(l, i).map(str::to_owned),
                    (_, Some((SdpType::Answer, r))) => direction::of(r, i).map(|d| direction::reverse(d).to_owned()),
                    _ => None,
                });
                let direction = direction_str(t.direction);
                let answer_direction = mline.and_then(|i| match remote {
                    Some((SdpType::Offer, offer)) => direction::of(offer, i).map(|offered| direction::answer(direction, offered).to_owned()),
                    _ => None,
                });
                NativeTransceiver {
                    id: t.id,
                    kind: t.kind.to_owned(),
                    mid,
                    mline_index: laid_out,
                    direction: direction.to_owned(),
                    current_direction,
                    answer_direction,
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

    /// The transceiver's receiver track becomes `track`: a connection that moves to this
    /// backend before anything is negotiated keeps its receiver tracks, and whatever already
    /// consumes them (sinks, mixers). Nothing is received yet, so no chain feeds the old one.
    #[napi]
    pub fn adopt_receiver_track(&self, transceiver_id: u32, track: &NativeTrack) -> napi::Result<()> {
        let mut st = self.inner.lock();
        let t = st.transceivers.iter_mut().find(|t| t.id == transceiver_id).ok_or_else(|| napi_err(format!("unknown transceiver {transceiver_id}")))?;
        track.core.enable_rtp_tap(); // RtpForwarder passthrough (media/receiver.rs), as for our own
        t.receiver = track.core.clone();
        Ok(())
    }

    /// The next packet of the transceiver's receive stream is reported (a `receiving` event).
    #[napi]
    pub fn expect_media(&self, transceiver_id: u32) -> napi::Result<(), &'static str> {
        self.inner.expect_media(transceiver_id).map_err(coded)
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

    /// RTCRtpSender/RTCRtpReceiver getParameters: the negotiated codecs, header extensions
    /// and our CNAME (parameters.rs).
    #[napi]
    pub fn rtp_parameters(&self, transceiver_id: u32) -> napi::Result<crate::media::rtp_parameters::NativeRtpParameters, &'static str> {
        self.inner.rtp_parameters(transceiver_id).map_err(coded)
    }

    /// setParameters' `encodings[0]`: `active` and `maxBitrate` (bit/s) for the send chain.
    #[napi]
    pub fn set_encoding(&self, transceiver_id: u32, active: bool, max_bitrate: Option<u32>) -> napi::Result<()> {
        let sender = self.inner.ensure_sender(transceiver_id).map_err(napi_err)?;
        sender.set_encoding(active, max_bitrate);
        Ok(())
    }

    #[napi]
    pub fn set_codec_preferences(&self, transceiver_id: u32, codecs: Vec<crate::media::rtp_parameters::NativeCodec>) -> napi::Result<(), &'static str> {
        self.inner.set_codec_preferences(transceiver_id, &codecs).map_err(coded)
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
        self.inner.lock().gathering.as_str().to_owned()
    }

    #[napi]
    pub fn ice_connection_state(&self) -> String {
        self.inner.lock().ice_connection.as_str().to_owned()
    }

    #[napi]
    pub fn connection_state(&self) -> String {
        self.inner.lock().connection.as_str().to_owned()
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

    /// getStats(): answered by a `result` event whose `stats` is a JSON array (src/stats/).
    #[napi]
    pub fn get_stats(&self, request_id: u32) {
        // No lock of ours is held here: get-stats takes webrtcbin's own lock.
        match self.inner.webrtc() {
            Ok(webrtc) => crate::stats::request(&webrtc, &self.inner.in_flight, self.inner.events.clone(), request_id, self.inner.fingerprint_gate.failed()),
            Err(e) => self.fail(request_id, e),
        }
    }

    /// The `latency` (ms) of the jitter buffer serving this transceiver's receive stream
    /// (jitter_buffer.rs), or null before webrtcbin has created one.
    #[napi]
    pub fn jitter_buffer_latency(&self, transceiver_id: u32) -> Option<u32> {
        let t = self.inner.transceiver_gst(transceiver_id).ok()?;
        crate::workarounds::jitter_buffer::latency(&self.inner.webrtc().ok()?, &t)
    }

    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}

