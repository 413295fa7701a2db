//! `AudioMixer`: N input tracks → any number of output tracks, each the full mix or a mix-minus
//! (the mix without some inputs, e.g. without the participant it is sent back to).
//!
//! Format: 48 kHz mono S16, the internal track format; other input formats are converted on
//! arrival (`convert.rs`). Each input feeds a drift-controlled FIFO (`fifo.rs`: pitch-preserving
//! period insertion/removal, `media/tsm.rs`; concealment on underrun) from a track consumer, on
//! the producer's thread.
//!
//! Timing: one tick every 10 ms takes exactly one 480-sample frame from every FIFO (an empty
//! FIFO contributes silence, it never stalls the mix), mixes (`mix.rs`) and pushes one frame to
//! every output, timestamped continuously (PTS = frame index × 10 ms). Ticks come from
//! `ticker.rs` (GStreamer's single clock thread, shared by all mixers, players and the consent
//! checks): no thread per mixer (the budget is ≤ 3 threads per connection), and a tick costs
//! microseconds (`bench/mixer.js`).
//! A mixer ticks only while it has outputs and is not stopped; while ticking, the clock entry
//! holds the mixer alive, so an output track in use keeps sounding even if JS dropped the mixer.

pub mod feed;
pub mod fifo;
pub mod mix;

use std::sync::{Arc, Mutex, Weak};

use napi_derive::napi;

use self::feed::Feed;
use self::fifo::{Read, FRAME};
use self::mix::{Acc, Frame};
use super::ticker::Ticker;
use super::track::{NativeTrack, TrackCore};
use super::{raw_caps, RATE};
use crate::runtime;

const TICK: gst::ClockTime = gst::ClockTime::from_mseconds(10);
/// Gain is a linear amplitude factor (as Web Audio's GainNode); the cap keeps the i32
/// accumulator far from overflow (see `mix.rs`).
pub const MAX_GAIN: f64 = 16.0;

struct Input {
    id: u32,
    feed: Arc<Mutex<Feed>>,
    source: Arc<TrackCore>,
    consumer: u64,
    gain: f32,
    muted: bool,
    removing: bool,
    /// Gain reached at the end of the last frame: the start of the next ramp.
    applied: f32,
    contrib: Box<Acc>,
    /// Whether `contrib` holds this tick's (non-zero) contribution.
    active: bool,
}

impl Input {
    fn detach(&self) {
        self.source.remove_consumer(self.consumer);
    }
}

struct Output {
    id: u64,
    track: Arc<TrackCore>,
    /// Input ids left out of this output (sorted).
    exclude: Vec<u32>,
}

struct State {
    stopped: bool,
    next_input: u32,
    next_output: u64,
    /// Sorted by id (ids only grow, removal keeps order): exclusions resolve by binary search.
    inputs: Vec<Input>,
    outputs: Vec<Output>,
    frame: u64,
    total: Box<Acc>,
    scratch: Box<Acc>,
    caps: gst::Caps,
}

#[napi(object)]
pub struct NativeMixerInputStats {
    pub id: u32,
    /// Queued audio now, ms.
    pub depth_ms: f64,
    /// Largest queued audio before a tick since the previous `inputStats()`, ms.
    pub peak_depth_ms: f64,
    pub primed: bool,
    /// Jitter headroom the input's FIFO keeps above one frame, ms (raised by underruns).
    pub headroom_ms: f64,
    pub underruns: i64,
    /// Bursts cut back to the target depth (crossfaded skips).
    pub overflows: i64,
    /// Net input samples removed by pitch-period removal (negative: periods inserted).
    pub stretched_samples: i64,
    /// Audio removed plus audio inserted by pitch-period removal / insertion, ms (the pitch
    /// never changes: see `mixer/fifo.rs`).
    pub stretched_ms: f64,
    /// Output filled in after underruns (a faded continuation, then silence until the input
    /// re-primed), ms.
    pub concealed_ms: f64,
    pub dropped_samples: i64,
}

pub struct MixerCore {
    state: Mutex<State>,
    ticker: Ticker,
}

fn frame_to_buffer(frame: &Frame, index: u64) -> Option<gst::Buffer> {
    let mut buffer = gst::Buffer::with_size(FRAME * 2).ok()?;
    {
        let b = buffer.get_mut()?;
        b.set_pts(TICK * index);
        b.set_duration(TICK);
        b.set_offset(index * FRAME as u64);
        b.set_offset_end((index + 1) * FRAME as u64);
        let mut map = b.map_writable().ok()?;
        super::pcm::write_samples(map.as_mut_slice(), frame);
    }
    Some(buffer)
}

impl State {
    /// Mix one frame; returns what to push to which track (pushed after the lock is released).
    fn render(&mut self) -> Vec<(Arc<TrackCore>, gst::Sample)> {
        let total = &mut *self.total;
        total.fill(0);
        let mut frame: Frame = [0; FRAME];
        for input in &mut self.inputs {
            let read = match input.feed.lock() {
                Ok(mut feed) => feed.fifo.read(&mut frame),
                Err(_) => Read::Silence,
            };
            let target = if input.removing || input.muted || read == Read::Silence { 0.0 } else { input.gain };
            if read == Read::Silence || (input.applied == 0.0 && target == 0.0) {
                // Silent or re-priming: the next audio ramps in from 0.
                input.applied = 0.0;
                input.active = false;
                continue;
            }
            mix::contribute(&frame, input.applied, target, &mut input.contrib, total);
            input.applied = target;
            input.active = true;
        }

        let index = self.frame;
        self.frame += 1;
        let mut pushes = Vec::with_capacity(self.outputs.len());
        let mut full: Option<gst::Sample> = None;
        let mut out: Frame = [0; FRAME];
        for output in &self.outputs {
            let excluded: Vec<&Acc> = output
                .exclude
                .iter()
                .filter_map(|id| self.inputs.binary_search_by_key(id, |i| i.id).ok())
                .map(|i| &self.inputs[i])
                .filter(|i| i.active)
                .map(|i| &*i.contrib)
                .collect();
            let sample = if excluded.is_empty() {
                // Every full-mix output shares one refcounted buffer.
                if full.is_none() {
                    mix::full(total, &mut out);
                    full = frame_to_buffer(&out, index).map(|b| gst::Sample::builder().buffer(&b).caps(&self.caps).build());
                }
                full.clone()
            } else {
                mix::minus(total, &excluded, &mut self.scratch, &mut out);
                frame_to_buffer(&out, index).map(|b| gst::Sample::builder().buffer(&b).caps(&self.caps).build())
            };
            if let Some(sample) = sample {
                pushes.push((output.track.clone(), sample));
            }
        }

        // Inputs whose fade-out frame has just been mixed are gone for good.
        self.inputs.retain(|i| !(i.removing && i.applied == 0.0));
        pushes
    }
}

impl MixerCore {
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            state: Mutex::new(State {
                stopped: false,
                next_input: 1,
                next_output: 1,
                inputs: Vec::new(),
                outputs: Vec::new(),
                frame: 0,
                total: Box::new([0; FRAME]),
                scratch: Box::new([0; FRAME]),
                caps: raw_caps(RATE, 1),
            }),
            ticker: Ticker::default(),
        })
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, String> {
        self.state.lock().map_err(|_| "mixer state poisoned".to_owned())
    }

    pub fn add_input(&self, source: &Arc<TrackCore>, gain: f32) -> Result<u32, String> {
        let mut st = self.lock()?;
        if st.stopped {
            return Err("the mixer is stopped".into());
        }
        let id = st.next_input;
        st.next_input += 1;
        let feed = Arc::new(Mutex::new(Feed::default()));
        let for_consumer = feed.clone();
        let consumer = source.add_consumer(Arc::new(move |sample: &gst::Sample| {
            if let Ok(mut feed) = for_consumer.lock() {
                feed.accept(sample);
            }
        }));
        st.inputs.push(Input {
            id,
            feed,
            source: source.clone(),
            consumer,
            gain,
            muted: false,
            removing: false,
            applied: 0.0,
            contrib: Box::new([0; FRAME]),
            active: false,
        });
        Ok(id)
    }

    fn with_input(&self, id: u32, f: impl FnOnce(&mut Input)) -> Result<(), String> {
        let mut st = self.lock()?;
        let input = st.inputs.iter_mut().find(|i| i.id == id && !i.removing).ok_or("unknown or removed mixer input")?;
        f(input);
        Ok(())
    }

    /// The new gain is reached by a linear ramp over the next frame.
    pub fn set_gain(&self, id: u32, gain: f32) -> Result<(), String> {
        self.with_input(id, |i| i.gain = gain)
    }

    pub fn set_muted(&self, id: u32, muted: bool) -> Result<(), String> {
        self.with_input(id, |i| i.muted = muted)
    }

    /// Detach at once (no more audio is queued); the input fades out over the next frame and is
    /// then dropped with its FIFO. Removing twice is a no-op.
    pub fn remove_input(&self, id: u32) {
        let Ok(mut st) = self.lock() else { return };
        let ticking = !st.stopped && !st.outputs.is_empty();
        if let Some(pos) = st.inputs.iter().position(|i| i.id == id) {
            st.inputs[pos].detach();
            if ticking {
                st.inputs[pos].removing = true;
            } else {
                st.inputs.remove(pos);
            }
        }
    }

    pub fn create_output(self: &Arc<Self>, mut exclude: Vec<u32>) -> Result<Arc<TrackCore>, String> {
        exclude.sort_unstable();
        exclude.dedup();
        let track = TrackCore::new("audio");
        let id = {
            let mut st = self.lock()?;
            if st.stopped {
                return Err("the mixer is stopped".into());
            }
            let id = st.next_output;
            st.next_output += 1;
            st.outputs.push(Output { id, track: track.clone(), exclude });
            id
        };
        let weak: Weak<Self> = Arc::downgrade(self);
        track.on_stop(move || {
            if let Some(mixer) = weak.upgrade() {
                if let Ok(mut st) = mixer.state.lock() {
                    st.outputs.retain(|o| o.id != id);
                }
            }
        });
        self.ensure_ticking();
        Ok(track)
    }

    fn ensure_ticking(self: &Arc<Self>) {
        let mixer = self.clone();
        self.ticker.ensure(TICK, move || mixer.on_tick());
    }

    /// One frame to every output; false (stop ticking) once there is no output left.
    fn on_tick(&self) -> bool {
        let pushes = match self.state.lock() {
            Ok(mut st) => {
                st.outputs.retain(|o| !o.track.is_ended());
                if st.stopped || st.outputs.is_empty() {
                    // Inputs being removed have nothing left to fade into.
                    st.inputs.retain(|i| !i.removing);
                    None
                } else {
                    Some(st.render())
                }
            }
            Err(_) => None,
        };
        let Some(pushes) = pushes else { return false };
        for (track, sample) in pushes {
            track.push(&sample);
        }
        true
    }

    pub fn is_ticking(&self) -> bool {
        self.ticker.is_running()
    }

    /// Detach every input, end every output track, stop ticking. Idempotent.
    pub fn stop(&self) {
        self.ticker.stop();
        let outputs = match self.state.lock() {
            Ok(mut st) => {
                st.stopped = true;
                for input in st.inputs.drain(..) {
                    input.detach();
                }
                std::mem::take(&mut st.outputs)
            }
            Err(_) => Vec::new(),
        };
        // Outside the lock: the tracks' stop hooks lock the state.
        for output in outputs {
            output.track.stop();
        }
    }

    pub fn input_stats(&self) -> Vec<NativeMixerInputStats> {
        let Ok(st) = self.state.lock() else { return Vec::new() };
        let ms = |samples: usize| samples as f64 * 1000.0 / RATE as f64;
        st.inputs
            .iter()
            .filter(|i| !i.removing)
            .filter_map(|i| {
                let mut feed = i.feed.lock().ok()?;
                let peak = feed.fifo.take_peak();
                let s = feed.fifo.stats;
                Some(NativeMixerInputStats {
                    id: i.id,
                    depth_ms: ms(feed.fifo.depth()),
                    peak_depth_ms: ms(peak),
                    primed: feed.fifo.is_primed(),
                    headroom_ms: ms(feed.fifo.headroom()),
                    underruns: s.underruns as i64,
                    overflows: s.overflows as i64,
                    stretched_samples: s.stretched,
                    stretched_ms: ms(s.stretched_abs as usize),
                    concealed_ms: ms(s.concealed as usize),
                    dropped_samples: s.dropped as i64,
                })
            })
            .collect()
    }
}

impl Drop for MixerCore {
    fn drop(&mut self) {
        if let Ok(st) = self.state.get_mut() {
            for input in st.inputs.drain(..) {
                input.detach();
            }
        }
    }
}

fn check_gain(gain: f64) -> napi::Result<f32> {
    if gain.is_finite() && (0.0..=MAX_GAIN).contains(&gain) {
        Ok(gain as f32)
    } else {
        Err(napi::Error::from_reason(format!("gain must be a number in [0, {MAX_GAIN}]")))
    }
}

/// JS handle (wrapped by `js/media/AudioMixer.ts` and `js/media/MixerInput.ts`).
#[napi]
pub struct NativeAudioMixer {
    core: Arc<MixerCore>,
}

#[napi]
impl NativeAudioMixer {
    #[napi(constructor)]
    pub fn new() -> napi::Result<Self> {
        runtime::init_or_throw()?;
        Ok(Self { core: MixerCore::new() })
    }

    /// Returns the input id.
    #[napi]
    pub fn add_input(&self, track: &NativeTrack, gain: f64) -> napi::Result<u32> {
        let gain = check_gain(gain)?;
        self.core.add_input(&track.core, gain).map_err(napi::Error::from_reason)
    }

    #[napi]
    pub fn set_gain(&self, input: u32, gain: f64) -> napi::Result<()> {
        let gain = check_gain(gain)?;
        self.core.set_gain(input, gain).map_err(napi::Error::from_reason)
    }

    #[napi]
    pub fn set_muted(&self, input: u32, muted: bool) -> napi::Result<()> {
        self.core.set_muted(input, muted).map_err(napi::Error::from_reason)
    }

    #[napi]
    pub fn remove_input(&self, input: u32) {
        self.core.remove_input(input);
    }

    /// A new output track: the mix of every input except `exclude`.
    #[napi]
    pub fn create_track(&self, exclude: Vec<u32>) -> napi::Result<NativeTrack> {
        self.core.create_output(exclude).map(NativeTrack::from_core).map_err(napi::Error::from_reason)
    }

    #[napi]
    pub fn stop(&self) {
        self.core.stop();
    }

    #[napi(getter)]
    pub fn ticking(&self) -> bool {
        self.core.is_ticking()
    }

    /// FIFO state per input (diagnostics; peaks reset on each call).
    #[napi]
    pub fn input_stats(&self) -> Vec<NativeMixerInputStats> {
        self.core.input_stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone_frame(n0: usize, freq: f64) -> gst::Sample {
        let bytes: Vec<u8> = (n0..n0 + FRAME)
            .flat_map(|n| ((8000.0 * (2.0 * std::f64::consts::PI * freq * n as f64 / RATE as f64).sin()) as i16).to_le_bytes())
            .collect();
        gst::Sample::builder().buffer(&gst::Buffer::from_mut_slice(bytes)).caps(&raw_caps(RATE, 1)).build()
    }

    #[test]
    fn mix_minus_and_removal_through_the_core() {
        gst::init().unwrap();
        let mixer = MixerCore::new();
        let a = TrackCore::new("audio");
        let b = TrackCore::new("audio");
        let ia = mixer.add_input(&a, 1.0).unwrap();
        let _ib = mixer.add_input(&b, 1.0).unwrap();
        // Drive the core by hand: no clock.
        for t in 0..3 {
            a.push(&tone_frame(t * FRAME, 440.0));
            b.push(&tone_frame(t * FRAME, 1000.0));
        }
        let out_full = TrackCore::new("audio");
        let out_minus = TrackCore::new("audio");
        {
            let mut st = mixer.state.lock().unwrap();
            st.outputs.push(Output { id: 1, track: out_full.clone(), exclude: vec![] });
            st.outputs.push(Output { id: 2, track: out_minus.clone(), exclude: vec![ia] });
        }
        // Prime (ramp-in frame), then a steady frame: minus-A must equal B alone.
        let _ = mixer.state.lock().unwrap().render();
        let pushes = mixer.state.lock().unwrap().render();
        let pcm = |s: &gst::Sample| -> Vec<i16> {
            let m = s.buffer().unwrap().map_readable().unwrap();
            crate::media::pcm::samples(m.as_slice())
        };
        let minus = pcm(&pushes[1].1);
        let b_alone = pcm(&tone_frame(FRAME, 1000.0));
        assert_eq!(minus, b_alone);
        assert_eq!(pushes[0].1.buffer().unwrap().pts(), Some(TICK));

        mixer.remove_input(ia);
        assert_eq!(mixer.state.lock().unwrap().inputs.len(), 2, "fades out first");
        let _ = mixer.state.lock().unwrap().render();
        assert_eq!(mixer.state.lock().unwrap().inputs.len(), 1);
        mixer.stop();
        assert!(out_full.is_ended() && out_minus.is_ended());
    }
}
