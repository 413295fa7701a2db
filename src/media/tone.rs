//! A live sine tone: `audiotestsrc` paced by the clock, feeding a track.

use std::sync::Arc;

use gst::prelude::*;
use napi_derive::napi;

use super::track::{NativeTrack, TrackCore};
use super::track_io::appsink_into;
use super::{raw_caps, FRAME_SAMPLES, RATE};
use crate::runtime;

pub struct Tone {
    pub track: Arc<TrackCore>,
}

impl Tone {
    pub fn start(frequency: f64, amplitude: f64) -> Result<Self, String> {
        runtime::ensure_init()?;
        let track = TrackCore::new("audio");
        let pipeline = gst::Pipeline::new();
        let src = gst::ElementFactory::make("audiotestsrc")
            .property("is-live", true)
            .property_from_str("wave", "sine")
            .property("freq", frequency)
            .property("volume", amplitude.clamp(0.0, 1.0))
            .property("samplesperbuffer", FRAME_SAMPLES as i32)
            .build()
            .map_err(|e| e.to_string())?;
        // Live: delivered as produced (audiotestsrc is-live already paces by the clock).
        let sink = appsink_into(&track, false);
        pipeline.add_many([&src, sink.upcast_ref()]).map_err(|e| e.to_string())?;
        src.link_filtered(&sink, &raw_caps(RATE, 1)).map_err(|e| e.to_string())?;
        pipeline.set_state(gst::State::Playing).map_err(|e| e.to_string())?;
        track.on_stop(move || {
            let _ = pipeline.set_state(gst::State::Null);
        });
        Ok(Self { track })
    }
}

#[napi]
pub struct NativeToneSource {
    tone: Tone,
}

#[napi]
impl NativeToneSource {
    #[napi(constructor)]
    pub fn new(frequency: f64, amplitude: f64) -> napi::Result<Self> {
        if !(frequency.is_finite() && frequency > 0.0 && frequency < RATE as f64 / 2.0) {
            return Err(napi::Error::from_reason("frequency must be between 0 and 24000 Hz"));
        }
        Ok(Self { tone: Tone::start(frequency, amplitude).map_err(napi::Error::from_reason)? })
    }
    #[napi]
    pub fn track(&self) -> NativeTrack {
        NativeTrack::from_core(self.tone.track.clone())
    }
    #[napi]
    pub fn stop(&self) {
        self.tone.track.stop();
    }
}
