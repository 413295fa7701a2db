//! `NativeRtpSession`: the media backend for SIP peers that speak plain RTP/AVP (RFC 3551):
//! trunks, desk phones, PBXs. No ICE, no DTLS: an `rtpbin` with one UDP port pair per
//! m-line (`transport.rs`), the same send and receive chains as webrtcbin's connections
//! (`media::sender`, `media::receiver`), and the shared signaling state machine
//! (`negotiation.rs`). It has `NativePeerConnection`'s methods, so the W3C layer drives it
//! through the same seam (`js/internal/MediaSession.ts`).
//!
//! | entry point | thread |
//! |---|---|
//! | every `#[napi]` method | Node's main thread; every operation completes there, its result goes through the event channel |
//! | rtpbin's `request-pt-map`, `pad-added` | the thread that pushes the stream's packet: a socket reader (`socket/`), or a media worker releasing packets held behind a gap |
//! | the first packet of a stream (`Transport::watch`) | a socket reader thread (`socket/`) |
//! | pipeline teardown after `close()` | `gstpc-teardown` |
//!
//! States: ICE gathering completes when the local description is applied (there is nothing
//! to gather: `c=` and `m=` carry our address); ICE and the connection go `checking` /
//! `connecting` once both descriptions are there and `connected` when the first RTP packet
//! arrives. The media timeout (`media_timeout`, checked every second on GStreamer's clock
//! thread) stands in for ICE consent: silence on every sendrecv stream for `mediaTimeout`
//! makes the session `disconnected` (and `connected` again when RTP resumes); silence for
//! twice that, or no first packet within twice that, makes it `failed`. A stream on hold or
//! inactive is never timed out.

pub mod description;
mod srtp;
mod stats;
mod socket;
mod transport;
pub use socket::register as register_socket_source;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use gst::prelude::*;
use gst_sdp::SDPMessage;
use napi::threadsafe_function::ThreadsafeFunction;
use napi::Status;
use napi_derive::napi;

use crate::error::{coded, napi_err, PcError, PcResult};
use crate::events::{EventSink, NativeEvent};
use crate::ice::NativeConfig;
use crate::media::codec::{Codec, SUPPORTED};
use crate::media::dtmf_receive;
use crate::media::dtmf_send;
use crate::media::receiver;
use crate::media::rtp_parameters::{self, NativeCodec, NativeRtpParameters};
use crate::media::sender::{random_ssrc, SendChain};
use crate::media::track::{NativeTrack, TrackCore};
use crate::negotiation::{check_create_answer, check_create_offer, Negotiation, SdpType, Side, SignalingState};
use crate::peer_connection::{CreateInputs, NativeDescription, NativeTransceiver};
use crate::runtime::{self, make};
use crate::sdp::crypto::{self, Crypto};
use crate::sdp::profile::{self, RtpProfile, Security};
use crate::sdp::{direction as dir, to_text};
use crate::states::{IceConnectionState, IceGatheringState, PeerConnectionState};

use srtp::SessionSrtp;
use transport::Transport;

struct Stream {
    id: u32,
    /// rtpbin's session number: the stream's index in creation order, never reused.
    session: u32,
    mid: Option<String>,
    mline: Option<u32>,
    /// The W3C [[Direction]].
    direction: &'static str,
    sender: Option<Arc<SendChain>>,
    receiver: Arc<TrackCore>,
    transport: Option<Arc<Transport>>,
    /// setCodecPreferences' choice, in order (None: all of ours).
    codecs: Option<Vec<&'static Codec>>,
    /// SRTP (SDES) or plain RTP, fixed when its ports are bound.
    secure: Option<bool>,
    /// The `a=crypto` lines of our last offer (each its own key).
    offered_crypto: Vec<Crypto>,
    /// Of our last answer: (the offerer's key, ours).
    answered_crypto: Option<(Crypto, Crypto)>,
}

struct State {
    negotiation: Negotiation<SDPMessage>,
    streams: Vec<Stream>,
    next_id: u32,
    /// `o=` version of our descriptions (RFC 3264 §8: one more for each new one).
    version: u64,
    gathering: IceGatheringState,
    ice: IceConnectionState,
    connection: PeerConnectionState,
    /// `transport::now_ms()` when the last description completing a negotiation was applied:
    /// silence is measured from there at the latest. None until both sides have one.
    armed_ms: Option<u64>,
    closed: bool,
}

struct Inner {
    pipeline: Mutex<Option<gst::Pipeline>>,
    /// Weak: the pipeline owns it, and `close()` must release it (sessions, jitter buffers,
    /// their buses: a socketpair each in GStreamer 1.22) while JS may still hold this session.
    rtpbin: gst::glib::WeakRef<gst::Element>,
    events: EventSink,
    state: Mutex<State>,
    /// Where our sockets are bound and what `c=` says.
    address: IpAddr,
    port_range: Option<(u16, u16)>,
    profile: RtpProfile,
    /// The SDES suites we offer and accept, ours first.
    suites: Vec<crypto::Suite>,
    session_id: u64,
    /// SRTP of the rtpbin sessions that have it (`srtp.rs`), by session number.
    srtp: Mutex<HashMap<u32, Arc<SessionSrtp>>>,
    media_timeout_ms: u64,
}

#[napi]
pub struct NativeRtpSession {
    inner: Arc<Inner>,
}

/// LiveKit's SIP bridge waits 15 s of silence in a call (and 30 s for the first packet).
pub const DEFAULT_MEDIA_TIMEOUT_MS: u32 = 15_000;

/// The answer media follows, and whether it is ours (we answered): a provisional answer being
/// negotiated (early media: webrtc-pc §4.4.1.6 applies "pranswer" as "answer" to the media),
/// else the one that settled the last negotiation.
fn current_answer(n: &Negotiation<SDPMessage>) -> Option<(&SDPMessage, bool)> {
    match (&n.pending_local, &n.pending_remote, &n.current_local, &n.current_remote) {
        (Some((SdpType::Pranswer, l)), ..) => Some((l, true)),
        (_, Some((SdpType::Pranswer, r)), ..) => Some((r, false)),
        (_, _, Some((SdpType::Answer, l)), _) => Some((l, true)),
        (_, _, _, Some((SdpType::Answer, r))) => Some((r, false)),
        _ => None,
    }
}

/// Whether what media follows is a provisional answer (the call is not answered yet).
fn provisional(n: &Negotiation<SDPMessage>) -> bool {
    [&n.pending_local, &n.pending_remote].iter().any(|d| matches!(d, Some((SdpType::Pranswer, _))))
}

/// The direction of m-line `i` from our side, as `answer` (ours or the peer's) settled it.
fn our_direction(answer: &gst_sdp::SDPMessageRef, ours: bool, i: u32) -> &'static str {
    let d = description::direction(answer, i);
    if ours { d } else { dir::reverse(d) }
}

/// The address we bind to and announce: the first of `localAddresses`, else loopback when it
/// is all the host has, else the host's first IPv4 address that is not loopback.
fn local_address(config: &NativeConfig) -> PcResult<IpAddr> {
    if let Some(first) = config.local_addresses.as_ref().and_then(|a| a.first()) {
        return first.parse().map_err(|_| PcError::type_error(format!("localAddresses: '{first}' is not an IP address")));
    }
    Ok(crate::ice::first_host_address().unwrap_or(IpAddr::from([127, 0, 0, 1])))
}

#[napi]
impl NativeRtpSession {
    #[napi(constructor)]
    pub fn new(config: NativeConfig, on_event: ThreadsafeFunction<NativeEvent, napi::Unknown<'static>, NativeEvent, Status, false, true>) -> napi::Result<Self> {
        runtime::init_or_throw()?;
        let profile = RtpProfile::parse(config.rtp_profile.as_deref().unwrap_or("RTP/AVP")).map_err(|e| napi::Error::new(Status::InvalidArg, e.message))?;
        let address = local_address(&config).map_err(|e| napi::Error::new(Status::InvalidArg, e.message))?;
        let suites = crypto::Suite::list(config.srtp_crypto_suites.as_deref()).map_err(|e| napi::Error::new(Status::InvalidArg, e.message))?;
        let port_range = match (config.port_min, config.port_max) {
            (Some(min), Some(max)) if min <= max && max <= 65535 => Some((min as u16, max as u16)),
            _ => None,
        };
        let pipeline = gst::Pipeline::new();
        let rtpbin = make("rtpbin").map_err(napi_err)?;
        crate::workarounds::receive_start::start_fast_rtpbin(&rtpbin);
        let jitter = config.jitter_buffer_latency.unwrap_or(crate::ice::DEFAULT_JITTER_BUFFER_MS);
        rtpbin.set_property("latency", jitter);
        pipeline.add(&rtpbin).map_err(napi_err)?;
        if let Some(bus) = pipeline.bus() {
            bus.set_sync_handler(|_, msg| {
                if let gst::MessageView::Error(e) = msg.view() {
                    gst::debug!(crate::log::CAT, "plain RTP pipeline error: {} ({:?})", e.error(), e.debug());
                }
                gst::BusSyncReply::Drop
            });
        }
        let inner = Arc::new(Inner {
            pipeline: Mutex::new(Some(pipeline.clone())),
            rtpbin: rtpbin.downgrade(),
            events: EventSink::new(on_event),
            state: Mutex::new(State {
                negotiation: Negotiation::default(),
                streams: Vec::new(),
                next_id: 0,
                version: 0,
                gathering: IceGatheringState::New,
                ice: IceConnectionState::New,
                connection: PeerConnectionState::New,
                armed_ms: None,
                closed: false,
            }),
            address,
            port_range,
            profile,
            suites,
            session_id: u64::from(random_ssrc()),
            srtp: Mutex::default(),
            media_timeout_ms: u64::from(config.media_timeout.unwrap_or(DEFAULT_MEDIA_TIMEOUT_MS)).max(1),
        });
        // rtpbin asks for these when it makes a session (binding its ports does): an SDES
        // session gets srtpenc for what it sends and srtpdec for what it receives.
        for (signal, encoder) in [("request-rtp-encoder", true), ("request-rtcp-encoder", true), ("request-rtp-decoder", false), ("request-rtcp-decoder", false)] {
            let weak = Arc::downgrade(&inner);
            rtpbin.connect(signal, false, move |args| {
                let element = (|| {
                    let session = args[1].get::<u32>().ok()?;
                    let srtp = weak.upgrade()?.srtp.lock().ok()?.get(&session).cloned()?;
                    Some(if encoder { srtp.enc.clone() } else { srtp.dec.clone() })
                })();
                Some(element.to_value())
            });
        }
        // Each stream's jitter buffer: ordering on the socket's thread, no thread of its own
        // (`media::reorder`). rtpbin gives it `latency` as the wait for a missing packet.
        rtpbin.connect("request-jitterbuffer", false, |_| Some(make(crate::media::reorder::NAME).ok().to_value()));
        let weak = Arc::downgrade(&inner);
        // Signal handlers answer with a value of the signal's type, None included: glib-rs
        // panics on a missing return value (across C, an abort).
        rtpbin.connect("request-pt-map", false, move |args| {
            let caps = (|| {
                let session = args[1].get::<u32>().ok()?;
                let pt = args[2].get::<u32>().ok()?;
                weak.upgrade()?.pt_map(session, pt)
            })();
            Some(caps.to_value())
        });
        let weak = Arc::downgrade(&inner);
        rtpbin.connect_pad_added(move |_, pad| {
            if let Some(inner) = weak.upgrade() {
                inner.on_src_pad(pad);
            }
        });
        pipeline.set_state(gst::State::Playing).map_err(napi_err)?;
        Ok(Self { inner })
    }

    #[napi]
    pub fn create_offer(&self, request_id: u32, _ice_restart: bool, inputs: CreateInputs) -> napi::Result<(), &'static str> {
        let result = self.inner.create_offer(&inputs);
        self.inner.reply(request_id, result.map(Some)).map_err(coded)
    }

    #[napi]
    pub fn create_answer(&self, request_id: u32, inputs: CreateInputs) -> napi::Result<(), &'static str> {
        let result = self.inner.create_answer(&inputs);
        self.inner.reply(request_id, result.map(Some)).map_err(coded)
    }

    #[napi]
    pub fn set_local_description(&self, request_id: u32, sdp_type: String, sdp: String) -> napi::Result<(), &'static str> {
        let result = self.inner.set_description(Side::Local, &sdp_type, &sdp);
        self.inner.reply_state(request_id, result).map_err(coded)
    }

    #[napi]
    pub fn set_remote_description(&self, request_id: u32, sdp_type: String, sdp: String) -> napi::Result<(), &'static str> {
        let result = self.inner.set_description(Side::Remote, &sdp_type, &sdp);
        self.inner.reply_state(request_id, result).map_err(coded)
    }

    /// There is no ICE: only the end of candidates is accepted (and changes nothing).
    #[napi]
    pub fn add_ice_candidate(&self, request_id: u32, candidate: String, _sdp_mid: Option<String>, _sdp_m_line_index: Option<u32>, _username_fragment: Option<String>) {
        let event = if candidate.is_empty() {
            NativeEvent::result(request_id)
        } else {
            NativeEvent::failure(request_id, &PcError::operation("a plain RTP session has no ICE: candidates cannot be added"))
        };
        self.inner.events.emit(event);
    }

    #[napi]
    pub fn add_transceiver(&self, kind: String, direction: String) -> napi::Result<u32> {
        if kind != "audio" {
            return Err(napi_err(format!("unsupported kind {kind}")));
        }
        let direction = dir::DIRECTIONS.into_iter().find(|d| *d == direction).ok_or_else(|| napi_err(format!("bad direction {direction}")))?;
        Ok(self.inner.add_stream(direction))
    }

    /// Media follows each description as it is applied (all on this thread): nothing is left.
    #[napi]
    pub fn apply_media(&self) -> napi::Result<(), &'static str> {
        Ok(())
    }

    #[napi]
    pub fn transceivers(&self) -> Vec<NativeTransceiver> {
        let st = self.inner.lock();
        let n = &st.negotiation;
        st.streams
            .iter()
            .map(|s| {
                let current_direction = s.mline.zip(current_answer(n)).map(|(i, (answer, ours))| our_direction(answer, ours, i).to_owned());
                let answer_direction = s.mline.and_then(|i| match n.remote() {
                    Some((SdpType::Offer, offer)) => Some(dir::answer(s.direction, description::direction(offer, i)).to_owned()),
                    _ => None,
                });
                NativeTransceiver {
                    id: s.id,
                    kind: "audio".into(),
                    mid: s.mid.clone(),
                    mline_index: s.mline,
                    direction: s.direction.to_owned(),
                    current_direction,
                    answer_direction,
                }
            })
            .collect()
    }

    #[napi]
    pub fn receiver_track(&self, transceiver_id: u32) -> napi::Result<NativeTrack> {
        let st = self.inner.lock();
        st.streams
            .iter()
            .find(|s| s.id == transceiver_id)
            .map(|s| NativeTrack::from_core(s.receiver.clone()))
            .ok_or_else(|| napi_err(format!("unknown transceiver {transceiver_id}")))
    }

    /// The stream's receiver track becomes `track` (see NativePeerConnection's; the seam
    /// needs both backends to have it).
    #[napi]
    pub fn adopt_receiver_track(&self, transceiver_id: u32, track: &NativeTrack) -> napi::Result<()> {
        let mut st = self.inner.lock();
        let s = st.streams.iter_mut().find(|s| s.id == transceiver_id).ok_or_else(|| napi_err(format!("unknown transceiver {transceiver_id}")))?;
        s.receiver = track.core.clone();
        Ok(())
    }

    /// The next packet of the stream is reported (a `receiving` event).
    #[napi]
    pub fn expect_media(&self, transceiver_id: u32) -> napi::Result<(), &'static str> {
        if let Some(t) = self.inner.lock().streams.iter().find(|s| s.id == transceiver_id).and_then(|s| s.transport.clone()) {
            t.report_next();
        }
        Ok(())
    }

    #[napi]
    pub fn set_direction(&self, transceiver_id: u32, direction: String) -> napi::Result<()> {
        let direction = dir::DIRECTIONS.into_iter().find(|d| *d == direction).ok_or_else(|| napi_err(format!("bad direction {direction}")))?;
        let mut st = self.inner.lock();
        let s = st.streams.iter_mut().find(|s| s.id == transceiver_id).ok_or_else(|| napi_err(format!("unknown transceiver {transceiver_id}")))?;
        s.direction = direction;
        Ok(())
    }

    #[napi]
    pub fn rtp_parameters(&self, transceiver_id: u32) -> napi::Result<NativeRtpParameters, &'static str> {
        let st = self.inner.lock();
        let s = st.streams.iter().find(|s| s.id == transceiver_id).ok_or_else(|| coded(PcError::operation(format!("unknown transceiver {transceiver_id}"))))?;
        let n = &st.negotiation;
        let section = s.mline.and_then(|i| current_answer(n).and_then(|(m, _)| m.media(i)));
        let (codecs, header_extensions) = section.map(rtp_parameters::from_section).unwrap_or_default();
        Ok(NativeRtpParameters { codecs, header_extensions, cname: None, reduced_size: false })
    }

    #[napi]
    pub fn set_encoding(&self, transceiver_id: u32, active: bool, max_bitrate: Option<u32>) -> napi::Result<()> {
        let sender = self.inner.ensure_sender(transceiver_id).map_err(|e| napi_err(e.message))?;
        sender.set_encoding(active, max_bitrate);
        Ok(())
    }

    #[napi]
    pub fn set_codec_preferences(&self, transceiver_id: u32, codecs: Vec<NativeCodec>) -> napi::Result<(), &'static str> {
        let chosen: Vec<&'static Codec> = codecs.iter().filter_map(rtp_parameters::codec_of).fold(Vec::new(), |mut v, c| {
            if !v.contains(&c) {
                v.push(c);
            }
            v
        });
        let mut st = self.inner.lock();
        let s = st.streams.iter_mut().find(|s| s.id == transceiver_id).ok_or_else(|| coded(PcError::operation(format!("unknown transceiver {transceiver_id}"))))?;
        s.codecs = (!chosen.is_empty()).then_some(chosen);
        Ok(())
    }

    #[napi]
    pub fn set_sender_track(&self, transceiver_id: u32, track: Option<&NativeTrack>) -> napi::Result<()> {
        let has_sender = self.inner.lock().streams.iter().any(|s| s.id == transceiver_id && s.sender.is_some());
        if track.is_none() && !has_sender {
            return Ok(());
        }
        let sender = self.inner.ensure_sender(transceiver_id).map_err(|e| napi_err(e.message))?;
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
        self.inner.lock().ice.as_str().to_owned()
    }

    #[napi]
    pub fn connection_state(&self) -> String {
        self.inner.lock().connection.as_str().to_owned()
    }

    #[napi]
    pub fn local_description(&self) -> Option<NativeDescription> {
        self.inner.render(|n| n.local())
    }

    #[napi]
    pub fn current_local_description(&self) -> Option<NativeDescription> {
        self.inner.render(|n| n.current_local.as_ref())
    }

    #[napi]
    pub fn pending_local_description(&self) -> Option<NativeDescription> {
        self.inner.render(|n| n.pending_local.as_ref())
    }

    #[napi]
    pub fn remote_description(&self) -> Option<NativeDescription> {
        self.inner.render(|n| n.remote())
    }

    #[napi]
    pub fn current_remote_description(&self) -> Option<NativeDescription> {
        self.inner.render(|n| n.current_remote.as_ref())
    }

    #[napi]
    pub fn pending_remote_description(&self) -> Option<NativeDescription> {
        self.inner.render(|n| n.pending_remote.as_ref())
    }

    /// webrtc-pc §7: the last answer lets this sender send, with telephone-event at its
    /// codec's clock rate.
    #[napi]
    pub fn can_insert_dtmf(&self, transceiver_id: u32) -> bool {
        matches!(self.inner.sender(transceiver_id), Some(s) if s.is_active() && s.dtmf().can_send())
    }

    #[napi]
    pub fn insert_dtmf(&self, transceiver_id: u32, tone: String, duration: u32) -> bool {
        let Some(event) = tone.chars().next().and_then(dtmf_send::event_of) else { return false };
        match self.inner.sender(transceiver_id) {
            Some(s) if s.is_active() => s.dtmf().queue(event, duration),
            _ => false,
        }
    }

    /// getStats(): a `transport` object with what the sockets took and dropped.
    #[napi]
    pub fn get_stats(&self, request_id: u32) {
        let stats = self.inner.stats();
        self.inner.events.emit(NativeEvent { stats: Some(stats), ..NativeEvent::result(request_id) });
    }

    #[napi]
    pub fn jitter_buffer_latency(&self, _transceiver_id: u32) -> Option<u32> {
        self.inner.rtpbin.upgrade().map(|rtpbin| rtpbin.property::<u32>("latency"))
    }

    #[napi]
    pub fn close(&self) {
        self.inner.close();
    }
}

impl Inner {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pipeline(&self) -> PcResult<gst::Pipeline> {
        self.pipeline.lock().unwrap_or_else(|p| p.into_inner()).clone().ok_or_else(|| PcError::invalid_state("the RTCPeerConnection is closed"))
    }

    fn rtpbin(&self) -> PcResult<gst::Element> {
        self.rtpbin.upgrade().ok_or_else(|| PcError::invalid_state("the RTCPeerConnection is closed"))
    }

    /// A wrong state throws on this call (webrtc-pc: a promise rejected on the same task);
    /// everything else answers by event.
    fn reply(&self, request_id: u32, result: PcResult<Option<String>>) -> PcResult<()> {
        match result {
            Err(e) if e.code == crate::error::ErrorCode::InvalidState => Err(e),
            Err(e) => {
                self.events.emit(NativeEvent::failure(request_id, &e));
                Ok(())
            }
            Ok(sdp) => {
                self.events.emit(NativeEvent { sdp, ..NativeEvent::result(request_id) });
                Ok(())
            }
        }
    }

    fn reply_state(&self, request_id: u32, result: PcResult<(SignalingState, Vec<NativeEvent>)>) -> PcResult<()> {
        match result {
            Err(e) if matches!(e.code, crate::error::ErrorCode::InvalidState | crate::error::ErrorCode::Type) => Err(e),
            Err(e) => {
                self.events.emit(NativeEvent::failure(request_id, &e));
                Ok(())
            }
            Ok((state, after)) => {
                self.events.emit(NativeEvent { state: Some(state.as_str().to_owned()), ..NativeEvent::result(request_id) });
                for ev in after {
                    self.events.emit(ev);
                }
                Ok(())
            }
        }
    }

    fn render(&self, pick: impl Fn(&Negotiation<SDPMessage>) -> Option<&(SdpType, SDPMessage)>) -> Option<NativeDescription> {
        let st = self.lock();
        pick(&st.negotiation).map(|(ty, m)| NativeDescription { kind: ty.as_str().to_owned(), sdp: to_text(m) })
    }

    fn add_stream(&self, direction: &'static str) -> u32 {
        let mut st = self.lock();
        let id = st.next_id;
        st.next_id += 1;
        let session = st.streams.len() as u32;
        st.streams.push(Stream {
            id,
            session,
            mid: None,
            mline: None,
            direction,
            sender: None,
            receiver: TrackCore::new("audio"),
            transport: None,
            codecs: None,
            secure: None,
            offered_crypto: Vec::new(),
            answered_crypto: None,
        });
        id
    }

    fn sender(&self, id: u32) -> Option<Arc<SendChain>> {
        self.lock().streams.iter().find(|s| s.id == id).and_then(|s| s.sender.clone())
    }

    /// The stream's UDP ports, bound on first use and kept across re-offers.
    fn ensure_transport(self: &Arc<Self>, id: u32, secure: bool) -> PcResult<Arc<Transport>> {
        let session = {
            let st = self.lock();
            let s = st.streams.iter().find(|s| s.id == id).ok_or_else(|| PcError::operation(format!("unknown transceiver {id}")))?;
            if s.secure.is_some_and(|was| was != secure) {
                return Err(PcError::invalid_access("a stream cannot change between plain RTP and SRTP"));
            }
            if let Some(t) = &s.transport {
                return Ok(t.clone());
            }
            s.session
        };
        if secure {
            let srtp = Arc::new(SessionSrtp::new(session).map_err(PcError::operation)?);
            self.srtp.lock().unwrap_or_else(|p| p.into_inner()).insert(session, srtp);
        }
        let pipeline = self.pipeline()?;
        let transport = Arc::new(Transport::bind(&pipeline, &self.rtpbin()?, session, self.address, self.port_range, secure).map_err(PcError::operation)?);
        let weak: Weak<Inner> = Arc::downgrade(self);
        transport.watch(move || {
            if let Some(inner) = weak.upgrade() {
                inner.media_arrived(id);
            }
        });
        if let Some(s) = self.lock().streams.iter_mut().find(|s| s.id == id) {
            s.transport = Some(transport.clone());
            s.secure = Some(secure);
        }
        Ok(transport)
    }

    fn ensure_sender(self: &Arc<Self>, id: u32) -> PcResult<Arc<SendChain>> {
        if let Some(s) = self.sender(id) {
            return Ok(s);
        }
        let secure = self.lock().streams.iter().find(|s| s.id == id).and_then(|s| s.secure).unwrap_or(self.profile == RtpProfile::Savp);
        let transport = self.ensure_transport(id, secure)?;
        let session = self.lock().streams.iter().find(|s| s.id == id).map(|s| s.session).ok_or_else(|| PcError::operation(format!("unknown transceiver {id}")))?;
        let pipeline = self.pipeline()?;
        let rtpbin = self.rtpbin()?;
        let sinkpad = rtpbin.request_pad_simple(&format!("send_rtp_sink_{session}")).ok_or_else(|| PcError::operation("rtpbin refused a send pad"))?;
        transport.link_rtp(&rtpbin, &format!("send_rtp_src_{session}")).map_err(PcError::operation)?;
        let chain = Arc::new(SendChain::build(&pipeline, &sinkpad, random_ssrc()).map_err(PcError::operation)?);
        let mut st = self.lock();
        let s = st.streams.iter_mut().find(|s| s.id == id).ok_or_else(|| PcError::operation(format!("unknown transceiver {id}")))?;
        s.sender = Some(chain.clone());
        drop(st);
        self.follow_answer();
        Ok(chain)
    }

    fn next_version(st: &mut State) -> u64 {
        st.version += 1;
        st.version
    }

    fn create_offer(self: &Arc<Self>, inputs: &CreateInputs) -> PcResult<String> {
        let state = self.lock().negotiation.state;
        check_create_offer(state)?;
        let ids: Vec<u32> = self.lock().streams.iter().map(|s| s.id).collect();
        // Our offers use the profile (RFC 3264: the answer keeps it); SDES with fresh keys
        // each time, so every offer re-keys (RFC 4568 §7.1.4).
        let secure = self.profile == RtpProfile::Savp;
        let mut media = Vec::new();
        for id in ids {
            let port = if inputs.stopping.contains(&id) { 0 } else { self.ensure_transport(id, secure)?.port };
            let keys = if secure { crypto::offer(&self.suites)? } else { Vec::new() };
            media.push((id, port, keys));
        }
        let mut st = self.lock();
        let version = Self::next_version(&mut st);
        let mut msg = description::session(self.address, self.session_id, version);
        // Existing m-lines keep their place (RFC 3264 §8); new streams come after them.
        let mut order = media;
        order.sort_by_key(|(id, _, _)| st.streams.iter().find(|s| s.id == *id).and_then(|s| s.mline).unwrap_or(u32::MAX));
        for (id, port, keys) in order {
            let Some(s) = st.streams.iter_mut().find(|s| s.id == id) else { continue };
            let mid = s.mid.clone().unwrap_or_else(|| s.session.to_string());
            let codecs: Vec<&'static Codec> = s.codecs.clone().unwrap_or_else(|| SUPPORTED.iter().collect());
            let mut m = description::offer_media(&codecs, port, &mid, s.direction, (!keys.is_empty()).then_some(keys.as_slice()));
            s.offered_crypto = keys;
            if port == 0 {
                m.set_port_info(0, 1);
            }
            msg.add_media(m);
        }
        Ok(to_text(&msg))
    }

    fn create_answer(self: &Arc<Self>, inputs: &CreateInputs) -> PcResult<String> {
        let (offer, owners) = {
            let st = self.lock();
            check_create_answer(st.negotiation.state)?;
            let Some((SdpType::Offer, offer)) = st.negotiation.remote() else {
                return Err(PcError::invalid_state("no remote offer to answer"));
            };
            let owners: Vec<Option<u32>> = (0..offer.medias_len() as u32).map(|i| st.streams.iter().find(|s| s.mline == Some(i)).map(|s| s.id)).collect();
            (offer.clone(), owners)
        };
        let keying = profile::answers(&offer, self.profile)?;
        // Per m-line: our port and, for SDES, (the offerer's key, our fresh one).
        let mut ports = Vec::new();
        for (i, (owner, offered)) in owners.iter().zip(offer.medias()).enumerate() {
            ports.push(match owner {
                Some(id) if !inputs.stopping.contains(id) && offered.port() != 0 => {
                    let keys = match keying.iter().find(|(line, _)| *line == i as u32) {
                        Some((_, Security::Sdes)) => Some(crypto::answer(crypto::lines(offered), &self.suites)?),
                        _ => None,
                    };
                    Some((self.ensure_transport(*id, keys.is_some())?.port, keys))
                }
                _ => None,
            });
        }
        let mut st = self.lock();
        let version = Self::next_version(&mut st);
        let mut msg = description::session(self.address, self.session_id, version);
        for (i, offered) in offer.medias().enumerate() {
            let stream = owners[i].and_then(|id| st.streams.iter_mut().find(|s| s.id == id));
            let m = match (stream, ports[i].take()) {
                (Some(s), Some((port, keys))) => {
                    let direction = dir::answer(s.direction, description::direction(&offer, i as u32));
                    let m = description::answer_media(offered, port, direction, keys.as_ref().map(|(_, ours)| ours), s.codecs.as_deref())?;
                    s.answered_crypto = keys;
                    m
                }
                _ => description::rejected(offered),
            };
            msg.add_media(m);
        }
        Ok(to_text(&msg))
    }

    /// Whether each audio m-line's keying is one the profile accepts and this backend speaks.
    fn check_security(&self, msg: &SDPMessage) -> PcResult<()> {
        if profile::answers(msg, self.profile)?.iter().any(|(_, k)| *k == Security::Dtls) {
            return Err(PcError::invalid_access(
                "a DTLS-SRTP (WebRTC) description needs webrtcbin: a connection moves there only for its first remote offer, before any description is applied",
            ));
        }
        Ok(())
    }

    fn set_description(self: &Arc<Self>, side: Side, sdp_type: &str, sdp: &str) -> PcResult<(SignalingState, Vec<NativeEvent>)> {
        let ty = SdpType::parse(sdp_type)?;
        if self.lock().closed {
            return Err(PcError::invalid_state("the RTCPeerConnection is closed"));
        }
        self.lock().negotiation.check(side, ty)?;
        if ty == SdpType::Rollback {
            let state = self.lock().negotiation.apply(side, ty, None)?;
            return Ok((state, Vec::new()));
        }
        let msg = crate::sdp::validate::parse(sdp)?;
        if side == Side::Remote {
            self.check_security(&msg)?;
        }
        let keys = if matches!(ty, SdpType::Answer | SdpType::Pranswer) { self.answer_keys(side, &msg)? } else { Vec::new() };
        let mut after = Vec::new();
        {
            let mut st = self.lock();
            if side == Side::Remote && ty == SdpType::Offer {
                Self::associate(&mut st, &msg);
            }
            if side == Side::Local && ty == SdpType::Offer {
                // webrtc-pc §4.4.1.6: our offer gives each stream in it its m-line and mid.
                for (i, m) in msg.medias().enumerate() {
                    let mid = m.attribute_val("mid").map(str::to_owned);
                    if let Some(s) = st.streams.iter_mut().find(|s| s.mid.is_some() && s.mid == mid || s.mid.is_none() && mid.as_deref() == Some(&s.session.to_string())) {
                        s.mline = Some(i as u32);
                        s.mid = mid;
                    }
                }
            }
            let state = st.negotiation.apply(side, ty, Some(msg))?;
            if side == Side::Local && st.gathering == IceGatheringState::New {
                st.gathering = IceGatheringState::Complete;
                after.push(NativeEvent::state("icegatheringstatechange", "gathering"));
                after.push(NativeEvent::state("icegatheringstatechange", "complete"));
            }
            let start_timer = st.armed_ms.is_none() && st.negotiation.local().is_some() && st.negotiation.remote().is_some();
            if st.negotiation.local().is_some() && st.negotiation.remote().is_some() {
                st.armed_ms = Some(transport::now_ms());
            }
            if st.negotiation.local().is_some() && st.negotiation.remote().is_some() && st.ice == IceConnectionState::New {
                st.ice = IceConnectionState::Checking;
                st.connection = PeerConnectionState::Connecting;
                after.push(NativeEvent::state("iceconnectionstatechange", "checking"));
                after.push(NativeEvent::state("connectionstatechange", "connecting"));
            }
            if start_timer {
                let weak = Arc::downgrade(self);
                crate::workarounds::consent::every_second(move || weak.upgrade().is_some_and(|inner| inner.check_media()));
            }
            drop(st);
            for (session, ours, theirs) in keys {
                if let Some(srtp) = self.srtp.lock().unwrap_or_else(|p| p.into_inner()).get(&session) {
                    srtp.set_ours(&ours);
                    srtp.set_theirs(theirs);
                }
            }
            if ty == SdpType::Answer || ty == SdpType::Pranswer {
                self.follow_answer();
            }
            return Ok((state, after));
        }
    }

    /// The SRTP keys an answer settles, per rtpbin session: (session, ours, theirs). Ours is
    /// the key of the offered line the answer picked by its tag (RFC 4568 §5.1.2); theirs is
    /// in the answer's line. An answer to an SDES offer without a usable line is refused.
    fn answer_keys(&self, side: Side, answer: &SDPMessage) -> PcResult<Vec<(u32, Crypto, Crypto)>> {
        let st = self.lock();
        let mut keys = Vec::new();
        for s in &st.streams {
            let Some(i) = s.mline else { continue };
            if side == Side::Local {
                if let Some((theirs, ours)) = &s.answered_crypto {
                    keys.push((s.session, ours.clone(), theirs.clone()));
                }
                continue;
            }
            if s.offered_crypto.is_empty() || answer.media(i).is_none_or(|m| m.port() == 0) {
                continue;
            }
            let lines = answer.media(i).map(crypto::lines).unwrap_or_default();
            let theirs = match lines.as_slice() {
                [line] => crypto::parse(line)?.ok_or_else(|| PcError::invalid_access(format!("m-line {i}: the answer's a=crypto is not one we can use")))?,
                [] => return Err(PcError::invalid_access(format!("m-line {i}: the answer to our SDES offer has no a=crypto (RFC 4568 §5.1.2)"))),
                _ => return Err(PcError::invalid_access(format!("m-line {i}: an answer has exactly one a=crypto line (RFC 4568 §5.1.2)"))),
            };
            let ours = crypto::chosen(&s.offered_crypto, theirs.tag)?;
            if ours.suite != theirs.suite {
                return Err(PcError::invalid_access(format!("m-line {i}: the answer changed the suite of a=crypto tag {}", theirs.tag)));
            }
            keys.push((s.session, ours.clone(), theirs));
        }
        Ok(keys)
    }

    /// A remote offer's audio m-lines each get a stream: the one already there, else the
    /// first without an m-line, else a new one (webrtc-pc §4.4.1.6: recvonly).
    fn associate(st: &mut State, offer: &SDPMessage) {
        for (i, m) in offer.medias().enumerate() {
            let i = i as u32;
            if m.media() != Some("audio") || m.port() == 0 || st.streams.iter().any(|s| s.mline == Some(i)) {
                continue;
            }
            let mid = m.attribute_val("mid").map(str::to_owned);
            if let Some(s) = st.streams.iter_mut().find(|s| s.mline.is_none()) {
                s.mline = Some(i);
                s.mid = mid;
                continue;
            }
            let id = st.next_id;
            st.next_id += 1;
            let session = st.streams.len() as u32;
            st.streams.push(Stream {
                id,
                session,
                mid,
                mline: Some(i),
                direction: "recvonly",
                sender: None,
                receiver: TrackCore::new("audio"),
                transport: None,
                codecs: None,
                secure: None,
                offered_crypto: Vec::new(),
                answered_crypto: None,
            });
        }
    }

    /// After an answer (ours or theirs): each stream sends with the codec, payload type and
    /// telephone-event the answer chose, to the peer's address, when the answer lets it.
    /// Worked out under the lock, done after it (the send chain changes the pipeline, and
    /// streaming threads take the lock in `pt_map`).
    fn follow_answer(&self) {
        struct Plan {
            transport: Option<Arc<Transport>>,
            addresses: Option<(std::net::SocketAddr, std::net::SocketAddr)>,
            sender: Option<Arc<SendChain>>,
            mline: u32,
            ptime: u32,
            send: bool,
            rtcp_muxed: bool,
        }
        let (answer, plans) = {
            let st = self.lock();
            let n = &st.negotiation;
            // The peer's description that goes with it: its answer, or the offer we answered
            // (still pending while our answer is provisional).
            let remote = if provisional(n) { &n.pending_remote } else { &n.current_remote };
            let (Some((answer, ours)), Some((_, remote))) = (current_answer(n), remote) else { return };
            let plans: Vec<Plan> = st
                .streams
                .iter()
                .filter_map(|s| {
                    let i = s.mline?;
                    let addresses = description::remote_addresses(remote, i).ok().flatten();
                    Some(Plan {
                        transport: s.transport.clone(),
                        addresses,
                        sender: s.sender.clone(),
                        mline: i,
                        ptime: description::sending_ptime(remote, i),
                        send: matches!(our_direction(answer, ours, i), "sendrecv" | "sendonly") && addresses.is_some(),
                        rtcp_muxed: description::rtcp_muxed(answer, i),
                    })
                })
                .collect();
            (answer.clone(), plans)
        };
        for p in plans {
            if let (Some(t), Some((rtp, rtcp))) = (&p.transport, p.addresses) {
                t.set_remote(rtp, rtcp, p.rtcp_muxed);
            }
            let Some(sender) = p.sender else { continue };
            sender.set_ptime(p.ptime);
            if let Err(e) = sender.follow_answer(&answer, p.mline, p.send) {
                gst::warning!(crate::log::CAT, "{e}");
            }
        }
    }

    /// The media timeout, once a second (see the module doc). False stops the checks.
    fn check_media(&self) -> bool {
        use std::sync::atomic::Ordering::Relaxed;
        let now = transport::now_ms();
        let (next, emit) = {
            let mut st = self.lock();
            if st.closed {
                return false;
            }
            let Some(armed) = st.armed_ms else { return true };
            let n = &st.negotiation;
            // Early media (a pranswer: SIP's 183 with SDP) may be silent for as long as the
            // callee rings: the timeout runs from the final answer (which re-arms it).
            if provisional(n) {
                return true;
            }
            let Some((answer, ours)) = current_answer(n) else { return true };
            // Only streams both sides send on: on hold or inactive, silence is expected.
            let watched: Vec<u64> = st
                .streams
                .iter()
                .filter(|s| s.mline.is_some_and(|i| our_direction(answer, ours, i) == "sendrecv"))
                .filter_map(|s| s.transport.as_ref().map(|t| t.counters.last_ms.load(Relaxed)))
                .collect();
            if watched.is_empty() {
                return true;
            }
            let last = watched.iter().copied().max().unwrap_or(0);
            let silent = now.saturating_sub(last.max(armed));
            let timeout = self.media_timeout_ms;
            let next = match st.ice {
                IceConnectionState::Checking if last == 0 && silent > 2 * timeout => Some(IceConnectionState::Failed),
                IceConnectionState::Connected if silent > timeout => Some(IceConnectionState::Disconnected),
                // Gone for good (a phone that crashed, a path that stays down): failed, as a
                // WebRTC connection is after 30 s without consent (RFC 7675 §5.1).
                IceConnectionState::Disconnected if silent > 2 * timeout => Some(IceConnectionState::Failed),
                IceConnectionState::Disconnected if silent <= timeout && last > 0 => Some(IceConnectionState::Connected),
                _ => None,
            };
            let Some(next) = next else { return true };
            st.ice = next;
            st.connection = match next {
                IceConnectionState::Failed => PeerConnectionState::Failed,
                IceConnectionState::Disconnected => PeerConnectionState::Disconnected,
                _ => PeerConnectionState::Connected,
            };
            (next, st.connection)
        };
        gst::debug!(crate::log::CAT, "plain RTP media timeout: {}", next.as_str());
        self.events.emit(NativeEvent::state("iceconnectionstatechange", next.as_str()));
        self.events.emit(NativeEvent::state("connectionstatechange", emit.as_str()));
        next != IceConnectionState::Failed
    }

    fn pt_map(&self, session: u32, pt: u32) -> Option<gst::Caps> {
        let st = self.lock();
        let mline = st.streams.iter().find(|s| s.session == session)?.mline?;
        let n = &st.negotiation;
        let caps = [n.remote(), n.local()].into_iter().flatten().find_map(|(_, m)| description::pt_caps(m, mline, pt));
        caps
    }

    /// `recv_rtp_src_<session>_<ssrc>_<pt>`: a new stream from the peer.
    fn on_src_pad(&self, pad: &gst::Pad) {
        let name = pad.name();
        let Some(session) = name.strip_prefix("recv_rtp_src_").and_then(|r| r.split('_').next()).and_then(|s| s.parse::<u32>().ok()) else { return };
        let found = self.lock().streams.iter().find(|s| s.session == session).map(|s| (s.id, s.receiver.clone()));
        let Ok(pipeline) = self.pipeline() else { return };
        let result = match found {
            Some((id, _)) if dtmf_receive::is_telephone_event(pad) => {
                let events = self.events.clone();
                dtmf_receive::link(
                    pad,
                    Arc::new(move |event, duration| {
                        let Some(tone) = dtmf_send::tone_of(event) else { return };
                        events.emit(NativeEvent { transceiver_id: Some(id), tone: Some(tone.to_string()), duration: Some(duration), ..NativeEvent::new("dtmf") });
                    }),
                )
            }
            Some((_, track)) => receiver::link_decoder(&pipeline, pad, track, receiver::Playout::OnArrival),
            None => Err("RTP pad of an unknown session".to_owned()),
        };
        if let Err(e) = result {
            gst::warning!(crate::log::CAT, "cannot decode incoming stream: {e}");
            receiver::drain(pad, |_| {});
        }
    }

    /// The first packet of a stream (a socket reader's thread): the receiver unmutes, and the first of
    /// the session makes it connected.
    fn media_arrived(&self, id: u32) {
        let connected = {
            let mut st = self.lock();
            if st.closed {
                return;
            }
            let first = st.ice != IceConnectionState::Connected;
            st.ice = IceConnectionState::Connected;
            st.connection = PeerConnectionState::Connected;
            first
        };
        if connected {
            self.events.emit(NativeEvent::state("iceconnectionstatechange", "connected"));
            self.events.emit(NativeEvent::state("connectionstatechange", "connected"));
        }
        self.events.emit(NativeEvent { transceiver_id: Some(id), ..NativeEvent::new("receiving") });
    }

    fn stats(&self) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let srtp = self.srtp.lock().unwrap_or_else(|p| p.into_inner()).clone();
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs_f64() * 1000.0).unwrap_or(0.0);
        // Read under the lock, then ask rtpbin without it (its session takes its own locks).
        let lines: Vec<(u32, serde_json::Value, Option<(SDPMessage, u32)>, Option<u32>)> = {
            let st = self.lock();
            let n = &st.negotiation;
            let answer = current_answer(n).map(|(m, _)| m.clone());
            st.streams
                .iter()
                .filter_map(|s| s.transport.as_ref().map(|t| (s, t)))
                .map(|(s, t)| {
                    let sec = srtp.get(&s.session);
                    let transport = serde_json::json!({
                        "id": format!("T{}", s.session),
                        "type": "transport",
                        "timestamp": now,
                        "packetsReceived": t.counters.packets.load(Relaxed),
                        "bytesReceived": t.counters.bytes.load(Relaxed),
                        "packetsDiscarded": t.counters.dropped.load(Relaxed),
                        "srtpCipher": sec.and_then(|x| x.suite()).map_or(serde_json::Value::Null, Into::into),
                        "srtpPacketsDropped": sec.map_or(0, |x| x.dropped() + x.unkeyed.load(Relaxed)),
                    });
                    (s.session, transport, answer.clone().zip(s.mline), s.sender.as_ref().map(|x| x.ssrc()))
                })
                .collect()
        };
        let Some(rtpbin) = self.rtpbin.upgrade() else { return "[]".to_owned() };
        let all: Vec<serde_json::Value> = lines
            .iter()
            .flat_map(|(session, transport, answer, ours)| {
                let line = stats::Line { session: *session, transport: transport.clone(), answer: answer.as_ref().map(|(m, i)| (&**m, *i)), rtpbin: &rtpbin, ours: *ours };
                stats::objects(&line, now)
            })
            .collect();
        serde_json::Value::Array(all).to_string()
    }

    fn close(&self) {
        let (senders, receivers) = {
            let mut st = self.lock();
            if st.closed {
                return;
            }
            st.closed = true;
            st.negotiation.state = SignalingState::Closed;
            st.ice = IceConnectionState::Closed;
            st.connection = PeerConnectionState::Closed;
            let senders: Vec<Arc<SendChain>> = st.streams.iter().filter_map(|s| s.sender.clone()).collect();
            let receivers: Vec<Arc<TrackCore>> = st.streams.iter().map(|s| s.receiver.clone()).collect();
            st.streams.clear();
            (senders, receivers)
        };
        self.events.close();
        for s in &senders {
            s.detach();
        }
        for r in receivers {
            r.stop();
        }
        self.srtp.lock().unwrap_or_else(|p| p.into_inner()).clear();
        let pipeline = self.pipeline.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(pipeline) = pipeline {
            crate::teardown::submit(move || {
                let _ = pipeline.set_state(gst::State::Null);
                drop(pipeline);
                crate::heap::trim_soon();
            });
        }
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.close();
    }
}
