//! The send chain of one transceiver: track → appsrc → convert/resample → encoder →
//! payloader → webrtcbin. The track's buffers are re-timestamped on arrival in this
//! connection's running time, because every track has its own clock base.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use super::codec::Codec;
use super::track::TrackCore;
use super::raw_caps;
use crate::runtime::make;

/// Arrival jitter beyond which we stop trusting the sample count and resync to the clock.
const RESYNC: gst::ClockTime = gst::ClockTime::from_mseconds(80);

pub struct SendChain {
    appsrc: gst_app::AppSrc,
    payloader: gst::Element,
    elements: Vec<gst::Element>,
    attached: Mutex<Option<(Arc<TrackCore>, u64)>>,
    codec: Mutex<(&'static Codec, u32)>,
    /// Whether the last answer lets us send (RFC 3264 §6.1): webrtcbin 1.22 forwards
    /// whatever reaches its sink pad, even on a recvonly or inactive m-line.
    active: Arc<AtomicBool>,
}

impl SendChain {
    /// Build the chain inside `pipeline` and link it to `sinkpad` (a webrtcbin sink pad).
    pub fn build(pipeline: &gst::Pipeline, sinkpad: &gst::Pad, codec: &'static Codec, pt: u32, ssrc: u32) -> Result<Self, String> {
        let appsrc = gst_app::AppSrc::builder()
            .is_live(true)
            .format(gst::Format::Time)
            .caps(&raw_caps(super::RATE, 1))
            .max_time(gst::ClockTime::from_mseconds(200))
            .leaky_type(gst_app::AppLeakyType::Downstream)
            .build();
        let convert = make("audioconvert")?;
        let resample = make("audioresample")?;
        let encoder = make(codec.encoder)?;
        let payloader = make(codec.payloader)?;
        payloader.set_property("pt", pt);
        payloader.set_property("ssrc", ssrc);
        let elements = vec![appsrc.clone().upcast::<gst::Element>(), convert, resample, encoder, payloader.clone()];
        pipeline.add_many(&elements).map_err(|e| e.to_string())?;
        gst::Element::link_many(&elements).map_err(|e| e.to_string())?;
        payloader
            .static_pad("src")
            .ok_or("payloader has no src pad")?
            .link(sinkpad)
            .map_err(|e| format!("cannot link sender to webrtcbin: {e:?}"))?;
        for e in &elements {
            let _ = e.sync_state_with_parent();
        }
        Ok(Self {
            appsrc,
            payloader,
            elements,
            attached: Mutex::new(None),
            codec: Mutex::new((codec, pt)),
            active: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Follow the payload type the answer settled on (browsers often pick another pt than ours).
    pub fn set_payload_type(&self, codec: &'static Codec, pt: u32) {
        let mut current = match self.codec.lock() {
            Ok(c) => c,
            Err(_) => return,
        };
        if current.0 == codec && current.1 != pt {
            self.payloader.set_property("pt", pt);
            *current = (codec, pt);
        }
    }

    pub fn ssrc(&self) -> u32 {
        self.payloader.property::<u32>("ssrc")
    }

    pub fn set_active(&self, active: bool) {
        self.active.store(active, Ordering::Release);
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
        let appsrc = self.appsrc.clone();
        let active = self.active.clone();
        let next_pts: Mutex<Option<gst::ClockTime>> = Mutex::new(None);
        let id = track.add_consumer(Arc::new(move |sample: &gst::Sample| {
            if !active.load(Ordering::Acquire) {
                return;
            }
            let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps()) else { return };
            let Some(now) = appsrc.current_running_time() else { return };
            let Some(info) = gst_audio::AudioInfo::from_caps(caps).ok() else { return };
            let frames = buffer.size() as u64 / info.bpf().max(1) as u64;
            let duration = gst::ClockTime::SECOND.mul_div_floor(frames, info.rate() as u64).unwrap_or(gst::ClockTime::ZERO);
            let pts = {
                let Ok(mut next) = next_pts.lock() else { return };
                // Contiguous timestamps keep the encoder gap-free; resync on real discontinuities.
                let pts = match *next {
                    Some(p) if now.absdiff(p) < RESYNC => p,
                    _ => now,
                };
                *next = Some(pts + duration);
                pts
            };
            let mut out = buffer.copy(); // shares the memory: no sample copy
            {
                let out = out.make_mut();
                out.set_pts(pts);
                out.set_dts(gst::ClockTime::NONE);
                out.set_duration(duration);
            }
            let sample = gst::Sample::builder().buffer(&out).caps(&caps.to_owned()).build();
            let _ = appsrc.push_sample(&sample);
        }));
        *attached = Some((track, id));
    }

    pub fn has_track(&self) -> bool {
        self.attached.lock().map(|a| a.is_some()).unwrap_or(false)
    }

    /// Detach from the track; the elements go down with the pipeline.
    pub fn detach(&self) {
        self.set_track(None);
    }

    pub fn elements(&self) -> &[gst::Element] {
        &self.elements
    }
}
