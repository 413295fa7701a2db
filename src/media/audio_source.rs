//! PCM pushed from JS (node-webrtc's `nonstandard.RTCAudioSource`) into a track.

use std::sync::{Arc, Mutex};

use napi::bindgen_prelude::Int16Array;
use napi_derive::napi;

use super::raw_caps;
use super::track::{NativeTrack, TrackCore};
use crate::runtime;

#[napi]
pub struct NativeAudioSource {
    track: Arc<TrackCore>,
    caps: Mutex<Option<(u32, u32, gst::Caps)>>,
}

#[napi]
impl NativeAudioSource {
    #[napi(constructor)]
    pub fn new() -> napi::Result<Self> {
        runtime::init_or_throw()?;
        Ok(Self { track: TrackCore::new("audio"), caps: Mutex::new(None) })
    }

    #[napi]
    pub fn track(&self) -> NativeTrack {
        NativeTrack::from_core(self.track.clone())
    }

    /// Consumers resample as needed (the send chain has audioresample), so any rate works.
    #[napi]
    pub fn push(&self, samples: Int16Array, sample_rate: u32, channel_count: u32) -> napi::Result<()> {
        if sample_rate == 0 || channel_count == 0 || channel_count > 8 {
            return Err(napi::Error::from_reason("invalid sampleRate or channelCount"));
        }
        let caps = {
            let mut cached = self.caps.lock().map_err(|_| napi::Error::from_reason("poisoned"))?;
            match &*cached {
                Some((r, c, caps)) if *r == sample_rate && *c == channel_count => caps.clone(),
                _ => {
                    let caps = raw_caps(sample_rate, channel_count);
                    *cached = Some((sample_rate, channel_count, caps.clone()));
                    caps
                }
            }
        };
        let buffer = gst::Buffer::from_mut_slice(super::pcm::to_bytes(&samples));
        let sample = gst::Sample::builder().buffer(&buffer).caps(&caps).build();
        self.track.push(&sample);
        Ok(())
    }
}
