//! The send chain of one transceiver: track → push source → convert/resample → [capsfilter →
//! encoder → payloader] → webrtcbin. The track's buffers are re-timestamped on arrival in
//! this connection's running time, because every track has its own clock base.
//!
//! The bracketed encoding part follows the codec of the last answer: it is built at the
//! first answer and swapped under an IDLE probe when a later answer changes the codec.
//! Until the first answer webrtcbin's sink pad stays unlinked, which also keeps
//! webrtcbin 1.22 from narrowing our first offer to one codec (it intersects its codec
//! preferences with what the peer of its sink pad can produce, `_find_codec_preferences`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;
use gst_webrtc::{WebRTCDTLSTransportState, WebRTCRTPTransceiver};

use super::codec::Codec;
use super::dtmf_send::DtmfInjector;
use super::push_source::PushSource;
use super::track::TrackCore;
use crate::runtime::make;


/// The codec-specific tail of the chain.
struct Encoding {
    codec: &'static Codec,
    pt: u32,
    ptime: u32,
    payloader: gst::Element,
    /// capsfilter, encoder, payloader, in stream order.
    elements: Vec<gst::Element>,
    /// The answer's fmtp for `pt` says `useinbandfec=1` (RFC 7587 §7).
    fec: bool,
}

/// A random SSRC (RFC 3550 §8.1: chosen at random so that two sources rarely collide); never 0.
pub fn random_ssrc() -> u32 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    u32::from_ne_bytes(b).max(1)
}

/// RFC 3551 §4.5: 20 ms unless the peer's `a=ptime` says otherwise.
pub const DEFAULT_PTIME_MS: u32 = 20;

pub struct SendChain {
    pipeline: gst::glib::WeakRef<gst::Pipeline>,
    source: PushSource,
    /// The last element of the codec-independent part.
    resample: gst::Element,
    sinkpad: gst::Pad,
    ssrc: u32,
    encoding: Mutex<Option<Encoding>>,
    elements: Vec<gst::Element>,
    attached: Mutex<Option<(Arc<TrackCore>, u64)>>,
    /// Whether the last answer lets us send (RFC 3264 §6.1): webrtcbin 1.22 forwards
    /// whatever reaches its sink pad, even on a recvonly or inactive m-line.
    active: Arc<AtomicBool>,
    /// What the last answer allows (`set_active`), kept apart from the application's
    /// `encodings[0].active` (`set_encoding`): both must say yes.
    negotiated_send: AtomicBool,
    /// RTCRtpEncodingParameters (webrtc-pc §5.2.1): `active`, and `maxBitrate` in bit/s.
    encoding_params: Mutex<(bool, Option<u32>)>,
    dtmf: DtmfInjector,
    /// Packet duration in ms for the next encoder (`set_ptime`; RFC 3551 §4.5 default 20).
    ptime: std::sync::atomic::AtomicU32,
    /// The loss the receiver last reported, in percent (`report_loss`), for a new encoder too.
    loss_percent: std::sync::atomic::AtomicU32,
}

impl SendChain {
    /// Build the codec-independent part inside `pipeline`; `sinkpad` (a webrtcbin sink
    /// pad) is linked once `set_codec` knows the codec.
    pub fn build(pipeline: &gst::Pipeline, sinkpad: &gst::Pad, ssrc: u32) -> Result<Self, String> {
        let source = PushSource::new(pipeline, &format!("send_{ssrc:08x}"))?;
        let convert = make("audioconvert")?;
        let resample = make("audioresample")?;
        let elements = vec![convert, resample.clone()];
        pipeline.add_many(&elements).map_err(|e| e.to_string())?;
        gst::Element::link_many(&elements).map_err(|e| e.to_string())?;
        let convert_sink = elements[0].static_pad("sink").ok_or("audioconvert without sink pad")?;
        source.pad().link(&convert_sink).map_err(|e| format!("cannot link the send pad: {e:?}"))?;
        for e in &elements {
            let _ = e.sync_state_with_parent();
        }
        let dtmf = DtmfInjector::default();
        dtmf.attach(sinkpad);
        drop_until_dtls_connected(sinkpad);
        Ok(Self {
            pipeline: pipeline.downgrade(),
            source,
            resample,
            sinkpad: sinkpad.clone(),
            ssrc,
            encoding: Mutex::new(None),
            elements,
            attached: Mutex::new(None),
            active: Arc::new(AtomicBool::new(false)),
            negotiated_send: AtomicBool::new(false),
            encoding_params: Mutex::new((true, None)),
            dtmf,
            ptime: std::sync::atomic::AtomicU32::new(DEFAULT_PTIME_MS),
            loss_percent: std::sync::atomic::AtomicU32::new(0),
        })
    }

    /// Encode with the codec and payload type the last answer settled on (browsers often
    /// pick another pt than ours; a SIP peer may pick G.711). The same SSRC continues
    /// across a codec change (RFC 3550 §5.1: the payload type may change within a stream).
    pub fn set_codec(&self, codec: &'static Codec, pt: u32) -> Result<(), String> {
        let ptime = self.ptime.load(Ordering::Relaxed);
        let mut current = self.encoding.lock().map_err(|_| "send chain lock poisoned")?;
        if let Some(enc) = current.as_mut().filter(|e| e.codec == codec && e.ptime == ptime) {
            if enc.pt != pt {
                enc.payloader.set_property("pt", pt);
                enc.pt = pt;
            }
            return Ok(());
        }
        let pipeline = self.pipeline.upgrade().ok_or("pipeline gone")?;
        let elements = codec.encode_chain(pt, self.ssrc, ptime)?;
        let max_bitrate = self.encoding_params.lock().map(|p| p.1).unwrap_or(None);
        codec.limit_bitrate(&elements[1], max_bitrate);
        let payloader = elements[2].clone();
        pipeline.add_many(&elements).map_err(|e| e.to_string())?;
        gst::Element::link_many(&elements).map_err(|e| e.to_string())?;
        codec.expect_loss(&elements[1], self.loss_percent.load(Ordering::Relaxed), false);
        self.source.set_packet(gst::ClockTime::from_mseconds(codec.packet_ms(ptime).into()), codec.sample_rate);
        let old = current.replace(Encoding { codec, pt, ptime, payloader, elements: elements.clone(), fec: false });
        drop(current);

        // Relink when no buffer is in flight between resample and webrtcbin: at once if
        // the chain is idle (always before the first answer), else after the current push.
        let swap = Mutex::new(Some((old.map(|o| o.elements), elements)));
        let sinkpad = self.sinkpad.clone();
        let weak = pipeline.downgrade();
        let srcpad = self.resample.static_pad("src").ok_or("audioresample without src pad")?;
        srcpad.add_probe(gst::PadProbeType::IDLE, move |pad, _| {
            let Some((old, new)) = swap.lock().ok().and_then(|mut s| s.take()) else {
                return gst::PadProbeReturn::Remove;
            };
            if let Some(old) = &old {
                if let Some(peer) = pad.peer() {
                    let _ = pad.unlink(&peer);
                }
                if let Some(src) = old.last().and_then(|p| p.static_pad("src")) {
                    let _ = src.unlink(&sinkpad);
                }
            }
            let linked = new[0].static_pad("sink").map(|p| pad.link(&p).is_ok()).unwrap_or(false)
                && new[2].static_pad("src").map(|p| p.link(&sinkpad).is_ok()).unwrap_or(false);
            if !linked {
                gst::warning!(crate::log::CAT, "cannot link the encoder for the negotiated codec");
            }
            for e in &new {
                let _ = e.sync_state_with_parent();
            }
            if let (Some(old), Some(pipeline)) = (old, weak.upgrade()) {
                for e in &old {
                    let _ = e.set_state(gst::State::Null);
                }
                let _ = pipeline.remove_many(&old);
            }
            gst::PadProbeReturn::Remove
        });
        Ok(())
    }

    /// Follow the answer that settled m-line `mline` (RFC 3264 §6.1): the codec and payload
    /// type it chose, telephone-event at that codec's clock (RFC 4733 §2.1), and whether we may
    /// send. DTMF and the direction are applied even when the codec switch fails.
    pub fn follow_answer(&self, answer: &gst_sdp::SDPMessageRef, mline: u32, send: bool) -> Result<(), String> {
        let negotiated = super::codec::negotiated(answer, mline);
        let switched = match negotiated {
            Some((c, pt)) => self.set_codec(c, pt).map_err(|e| format!("cannot switch the sender to {}: {e}", c.encoding_name)),
            None => Ok(()),
        };
        if let Some((_, pt)) = negotiated {
            self.set_fec(crate::sdp::fmtp_param(answer, mline, pt, "useinbandfec").as_deref() == Some("1"));
        }
        let dtmf = negotiated.and_then(|(c, _)| crate::sdp::telephone_event::negotiated(answer, mline, c.clock_rate).map(|pt| (pt, c.clock_rate)));
        self.dtmf.configure(dtmf);
        self.set_active(send);
        switched
    }

    fn set_fec(&self, fec: bool) {
        if let Some(enc) = self.encoding.lock().ok().as_mut().and_then(|e| e.as_mut()) {
            enc.fec = fec;
            enc.codec.expect_loss(&enc.elements[1], self.loss_percent.load(Ordering::Relaxed), fec);
        }
    }

    /// The fraction of our packets the receiver last reported lost (RTCP receiver report,
    /// RFC 3550 §6.4.1), for the encoder's loss protection (`Codec::expect_loss`).
    pub fn report_loss(&self, fraction: f64) {
        let percent = (fraction * 100.0).ceil().clamp(0.0, 100.0) as u32;
        if self.loss_percent.swap(percent, Ordering::Relaxed) == percent {
            return;
        }
        gst::debug!(crate::log::CAT, "ssrc {:08x}: the receiver reports {percent} % loss", self.ssrc);
        if let Some(enc) = self.encoding.lock().ok().as_ref().and_then(|e| e.as_ref()) {
            enc.codec.expect_loss(&enc.elements[1], percent, enc.fec);
        }
    }

    /// The packet duration the peer asked for (`a=ptime`), for the next `set_codec`, which
    /// rebuilds the encoder when it changed.
    pub fn set_ptime(&self, ms: u32) {
        self.ptime.store(ms, Ordering::Relaxed);
    }

    /// The negotiated codec and payload type, once an answer chose them.
    pub fn codec(&self) -> Option<(&'static Codec, u32)> {
        self.encoding.lock().ok()?.as_ref().map(|e| (e.codec, e.pt))
    }

    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    /// Sending needs an answer that allows it and an encoder (before that the chain is
    /// not linked to webrtcbin).
    pub fn set_active(&self, active: bool) {
        self.negotiated_send.store(active, Ordering::Release);
        self.update_active();
    }

    /// `encodings[0]` of setParameters (webrtc-pc §5.2 setParameters): `active: false` stops
    /// sending without renegotiation; `maxBitrate` caps the encoder (a fixed-rate codec such
    /// as G.711 is already below any cap a caller can mean).
    pub fn set_encoding(&self, active: bool, max_bitrate: Option<u32>) {
        if let Ok(mut p) = self.encoding_params.lock() {
            *p = (active, max_bitrate);
        }
        if let Some(enc) = self.encoding.lock().ok().as_ref().and_then(|e| e.as_ref()) {
            enc.codec.limit_bitrate(&enc.elements[1], max_bitrate);
        }
        self.update_active();
    }

    fn update_active(&self) {
        let ready = self.codec().is_some();
        let wanted = self.encoding_params.lock().map(|p| p.0).unwrap_or(true);
        self.active.store(self.negotiated_send.load(Ordering::Acquire) && wanted && ready, Ordering::Release);
    }

    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Acquire)
    }

    pub fn dtmf(&self) -> &DtmfInjector {
        &self.dtmf
    }

    /// Attach a track (or none: the sender then sends nothing, as `replaceTrack(null)`).
    pub fn set_track(&self, track: Option<Arc<TrackCore>>) {
        let mut attached = match self.attached.lock() {
            Ok(a) => a,
            Err(_) => return,
        };
        if let Some((old, id)) = attached.take() {
            old.remove_consumer(id);
        }
        let Some(track) = track else { return };
        let id = self.source.feed(&track, self.active.clone());
        *attached = Some((track, id));
    }

    pub fn has_track(&self) -> bool {
        self.attached.lock().map(|a| a.is_some()).unwrap_or(false)
    }

    /// Detach from the track; the elements go down with the pipeline.
    pub fn detach(&self) {
        self.set_track(None);
    }

    pub fn elements(&self) -> Vec<gst::Element> {
        let mut all = self.elements.clone();
        if let Some(enc) = self.encoding.lock().ok().and_then(|e| e.as_ref().map(|e| e.elements.clone())) {
            all.extend(enc);
        }
        all
    }
}

/// Drop what reaches webrtcbin's sink pad until this transceiver's DTLS transport is
/// connected, then get out of the way. webrtcbin 1.22's transportsendbin blocks RTP upstream
/// of dtlssrtpenc until the SRTP key is set, and the blocked thread would be the shared media
/// worker that pushed the packet: held for the whole handshake, or for good if the
/// connection never connects, and every other call on that worker went silent with it.
/// Dropping (not gating the track) keeps the encoder running, so the first packet after the
/// handshake is at most one frame away.
/// Only webrtcbin's sink pads have a transceiver (and a DTLS transport); rtpbin's sends at once.
fn drop_until_dtls_connected(sinkpad: &gst::Pad) {
    if sinkpad.find_property("transceiver").is_none() {
        return;
    }
    sinkpad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, |pad, info| {
        if dtls_connected(pad) {
            return gst::PadProbeReturn::Remove;
        }
        // Taken and released here: the packet is consumed, upstream sees a normal push.
        info.data.take();
        gst::PadProbeReturn::Handled
    });
}

fn dtls_connected(sinkpad: &gst::Pad) -> bool {
    sinkpad
        .property::<Option<WebRTCRTPTransceiver>>("transceiver")
        .and_then(|t| t.sender())
        .and_then(|s| s.transport())
        .is_some_and(|t| t.state() == WebRTCDTLSTransportState::Connected)
}
