//! Decoded PCM delivered to JS in 10 ms frames (node-webrtc's `nonstandard.RTCAudioSink`).
//!
//! The frames a producer's buffer completes cross to Node in one call (a 20 ms packet: two
//! frames), which `RTCAudioSink` dispatches one `data` event per frame: each crossing is a
//! wake-up of Node's loop and a JS object, and the frames of one buffer are there together
//! anyway.
//!
//! A crossing is positional arguments (samples, rate, channels, frames per frame), the
//! samples copied into an ordinary JS-owned Int16Array: Node's main thread spent a third of
//! its time per crossing building the object (property names interned on every call) and
//! wrapping our vector as an external buffer (a finalizer and a weak handle each), where a
//! copy of 20 ms of audio costs next to nothing.

use std::sync::{Arc, Mutex};

use gst_audio::AudioInfo;
use napi::bindgen_prelude::{FnArgs, Int16ArraySlice, ToNapiValue};
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::{Env, Status};
use napi_derive::napi;

use super::caps_cache::CapsCache;
use super::track::{NativeTrack, TrackCore};

/// Samples that reach JS as a copy in a new Int16Array.
pub struct CopiedSamples(Vec<i16>);

impl ToNapiValue for CopiedSamples {
    unsafe fn to_napi_value(env: napi::sys::napi_env, val: Self) -> napi::Result<napi::sys::napi_value> {
        let array = Int16ArraySlice::copy_from(&Env::from_raw(env), &val.0)?;
        <&Int16ArraySlice>::to_napi_value(env, &array)
    }
}

/// Whole 10 ms frames one after the other, their rate, channels, and samples per channel
/// in one frame: the arguments of a crossing.
type Frames = FnArgs<(CopiedSamples, u32, u32, u32)>;

/// Re-chunks whatever buffer sizes the producer emits into exact 10 ms frames.
#[derive(Default)]
struct Framer {
    rate: u32,
    channels: u32,
    /// Audio short of a whole frame, kept (with its capacity) from one buffer to the next.
    pending: Vec<i16>,
    /// The samples' rate and channels.
    format: CapsCache<(u32, u32)>,
}

impl Framer {
    /// The whole frames now pending, together, if any.
    fn feed(&mut self, sample: &gst::Sample) -> Option<Frames> {
        let &(rate, channels) = self.format.get(&sample.caps_owned()?, |c| AudioInfo::from_caps(c).ok().map(|i| (i.rate(), i.channels())))?;
        if rate != self.rate || channels != self.channels {
            self.pending.clear();
            self.rate = rate;
            self.channels = channels;
        }
        let map = sample.buffer()?.map_readable().ok()?;
        super::pcm::extend_samples(&mut self.pending, map.as_slice());
        let frame_frames = rate / 100;
        let frame_len = (frame_frames * channels) as usize;
        let whole = self.pending.len().checked_div(frame_len)? * frame_len;
        if whole == 0 {
            return None;
        }
        // One allocation of the frames' exact size (it crosses to Node's thread); the rest
        // moves to the front of `pending`, which keeps its capacity.
        let samples = self.pending.drain(..whole).collect();
        Some(FnArgs::from((CopiedSamples(samples), rate, channels, frame_frames)))
    }
}

#[napi]
pub struct NativeAudioSink {
    /// Released at stop(): a stopped sink must not keep the track (and its producer) alive.
    attached: Mutex<Option<(Arc<TrackCore>, u64)>>,
}

#[napi]
impl NativeAudioSink {
    #[napi(
        constructor,
        ts_args_type = "track: NativeTrack, onFrames: (samples: Int16Array, sampleRate: number, channelCount: number, numberOfFrames: number) => void"
    )]
    pub fn new(
        track: &NativeTrack,
        on_frames: ThreadsafeFunction<Frames, napi::Unknown<'static>, Frames, Status, false, true>,
    ) -> Self {
        let tsfn = Arc::new(on_frames);
        let framer = Mutex::new(Framer::default());
        let id = track.core.add_consumer(Arc::new(move |sample: &gst::Sample| {
            // Called under the framer's lock, so frames reach Node in the order they were cut.
            let Ok(mut framer) = framer.lock() else { return };
            if let Some(frames) = framer.feed(sample) {
                tsfn.call(frames, ThreadsafeFunctionCallMode::NonBlocking);
            }
        }));
        Self { attached: Mutex::new(Some((track.core.clone(), id))) }
    }

    #[napi]
    pub fn stop(&self) {
        if let Some((track, id)) = self.attached.lock().ok().and_then(|mut c| c.take()) {
            track.remove_consumer(id);
        }
    }
}

impl Drop for NativeAudioSink {
    fn drop(&mut self) {
        self.stop();
    }
}
