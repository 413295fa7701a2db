//! `AudioPlayer`: a track played from a native queue of PCM that JS writes into in chunks of
//! any size, rate and channel count (text-to-speech output, prompts).
//!
//! Threads: `enqueue`, `mark` and `clear` run on the JS thread and only touch the queue under
//! its lock (conversion to 48 kHz mono happens there, `media/convert.rs`). A 10 ms tick on
//! GStreamer's clock thread (`ticker.rs`) takes one frame from the queue and pushes it into
//! the track, which hands it to every consumer (senders of any connection, mixers, recorders)
//! synchronously: the frame is on its way to the wire when the tick returns. Events (`mark`,
//! `drain`, water marks) go to JS through one threadsafe function, in order, after the frame
//! they describe has been pushed. The JS event loop pausing therefore never starves the
//! track; only the events arrive late.
//!
//! Positions (marks, `playedMs`) count samples of the 48 kHz queue since the player started.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use gst_audio::{AudioFormat, AudioInfo};
use napi::bindgen_prelude::Int16Array;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

use super::convert::{ConvertError, ToNative};
use super::ticker::Ticker;
use super::track::{NativeTrack, TrackCore};
use super::{raw_caps, FRAME_SAMPLES, RATE};
use crate::error::{coded, PcError};
use crate::runtime;

const FRAME: usize = FRAME_SAMPLES as usize;
const TICK: gst::ClockTime = gst::ClockTime::from_mseconds(10);
/// Audio arriving at an idle player starts once this much is queued (or after `START_WAIT`
/// ticks): a producer writing just in time (chunks of a few ms, as text-to-speech streams
/// them) then never leaves a tick with half a frame.
const PREBUFFER: usize = 2 * FRAME;
const START_WAIT: u32 = 2;
/// `clear()` fades the audio being cut over 5 ms (a step to zero is a click).
const FADE: usize = FRAME / 2;

fn ms(samples: u64) -> f64 {
    samples as f64 * 1000.0 / RATE as f64
}

#[napi(object)]
pub struct NativePlayerEvent {
    /// "mark", "drain", "highwater" or "lowwater".
    pub kind: String,
    /// The mark's name.
    pub name: Option<String>,
    /// A mark dropped by `clear()` before its audio was sent.
    pub cleared: bool,
    pub played_ms: f64,
    pub queued_ms: f64,
}

struct Event {
    kind: &'static str,
    name: Option<String>,
    cleared: bool,
}

struct Queue {
    samples: VecDeque<i16>,
    /// The chunks' conversion to 48 kHz mono S16 (its resampler history spans chunks).
    input: ToNative,
    scratch: Vec<i16>,
    /// Samples sent (the fade after `clear()` counts as sent).
    played: u64,
    marks: VecDeque<(u64, String)>,
    /// Samples to fade out at the next tick (set by `clear()`).
    fade: Vec<i16>,
    playing: bool,
    waited: u32,
    high_water: usize,
    low_water: usize,
    above_high: bool,
    frame_index: u64,
    events: Vec<Event>,
}

impl Queue {
    fn new(high_water: usize, low_water: usize) -> Self {
        Self {
            samples: VecDeque::new(),
            input: ToNative::default(),
            scratch: Vec::new(),
            played: 0,
            marks: VecDeque::new(),
            fade: Vec::new(),
            playing: false,
            waited: 0,
            high_water,
            low_water,
            above_high: false,
            frame_index: 0,
            events: Vec::new(),
        }
    }

    /// The position after everything queued: what was sent, what waits, what fades out.
    fn written(&self) -> u64 {
        self.played + self.samples.len() as u64 + self.fade.len() as u64
    }

    fn event(&mut self, kind: &'static str) {
        self.events.push(Event { kind, name: None, cleared: false });
    }

    /// Marks whose point has been sent: sample `p` went out (p < played), or everything
    /// before it did and nothing follows it yet.
    fn reach_marks(&mut self) {
        while let Some((p, _)) = self.marks.front() {
            if *p < self.played || (*p == self.played && self.samples.is_empty()) {
                let (_, name) = self.marks.pop_front().unwrap_or_default();
                self.events.push(Event { kind: "mark", name: Some(name), cleared: false });
            } else {
                break;
            }
        }
    }

    fn below_low(&mut self) {
        if self.above_high && self.samples.len() <= self.low_water {
            self.above_high = false;
            self.event("lowwater");
        }
    }

    /// The next 10 ms frame (silence while idle).
    fn next_frame(&mut self, frame: &mut [i16; FRAME]) {
        frame.fill(0);
        // Marks are judged against what earlier ticks sent: the encoders packetize 20 ms, so
        // the packet carrying a frame leaves 0–20 ms after the frame was handed to them (and
        // 48 → 8 kHz resampling holds back a few samples); one tick later is the middle of that.
        self.reach_marks();
        if !self.fade.is_empty() {
            // A raised-cosine gain: smooth at both ends, so the cut has no corner to hear.
            let n = self.fade.len();
            for (i, (d, s)) in frame.iter_mut().zip(self.fade.drain(..)).enumerate() {
                let gain = 0.5 * (1.0 + (std::f32::consts::PI * (i + 1) as f32 / n as f32).cos());
                *d = (s as f32 * gain) as i16;
            }
            self.played += n as u64;
        } else if !self.samples.is_empty() {
            if !self.playing {
                self.waited += 1;
                self.playing = self.samples.len() >= PREBUFFER || self.waited > START_WAIT;
            }
            if self.playing {
                let n = self.samples.len().min(FRAME);
                for (d, s) in frame.iter_mut().zip(self.samples.drain(..n)) {
                    *d = s;
                }
                self.played += n as u64;
                if self.samples.is_empty() {
                    self.playing = false;
                    self.waited = 0;
                    self.event("drain");
                }
                self.below_low();
            }
        }
    }
}

pub struct PlayerCore {
    queue: Mutex<Queue>,
    /// Taken before the queue lock is released by whoever hands events to JS, so that events
    /// from the tick and from JS calls reach JS in the order the queue produced them.
    emitting: Mutex<()>,
    track: Weak<TrackCore>,
    caps: gst::Caps,
    on_event: ThreadsafeFunction<NativePlayerEvent, napi::Unknown<'static>, NativePlayerEvent, Status, false, true>,
    ticker: Ticker,
}

type Result<T> = napi::Result<T, &'static str>;

fn failure(message: &str) -> napi::Error<&'static str> {
    napi::Error::new("GenericFailure", message.to_owned())
}

fn invalid(message: &str) -> napi::Error<&'static str> {
    napi::Error::new("InvalidArg", message.to_owned())
}

impl PlayerCore {
    fn lock(&self) -> Result<MutexGuard<'_, Queue>> {
        self.queue.lock().map_err(|_| failure("player state poisoned"))
    }

    /// Takes the events gathered under the queue lock and hands over from the queue lock to
    /// the emit lock; `emit` then sends them (and what the caller does in between, the tick's
    /// push, stays ordered with them).
    fn hand_over<'a>(&'a self, mut q: MutexGuard<'a, Queue>) -> (Option<MutexGuard<'a, ()>>, Vec<NativePlayerEvent>) {
        let (played, queued) = (ms(q.played), ms(q.samples.len() as u64));
        let events = std::mem::take(&mut q.events)
            .into_iter()
            .map(|e| NativePlayerEvent { kind: e.kind.to_owned(), name: e.name, cleared: e.cleared, played_ms: played, queued_ms: queued })
            .collect();
        let guard = self.emitting.lock().ok();
        drop(q);
        (guard, events)
    }

    fn emit(&self, events: Vec<NativePlayerEvent>) {
        for event in events {
            self.on_event.call(event, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// One tick: false once the track is gone or ended (the ticker then stops).
    fn tick(&self) -> bool {
        let Some(track) = self.track.upgrade().filter(|t| !t.is_ended()) else { return false };
        let mut frame = [0i16; FRAME];
        let Ok(mut q) = self.queue.lock() else { return false };
        q.next_frame(&mut frame);
        let index = q.frame_index;
        q.frame_index += 1;
        let (_emitting, events) = self.hand_over(q);
        if let Some(buffer) = frame_buffer(&frame, index) {
            track.push(&gst::Sample::builder().buffer(&buffer).caps(&self.caps).build());
        }
        self.emit(events);
        true
    }

    /// The track ended: queued audio is dropped and pending marks are reported `cleared`.
    fn ended(&self) {
        self.ticker.stop();
        let Ok(mut q) = self.queue.lock() else { return };
        q.samples.clear();
        for (_, name) in std::mem::take(&mut q.marks) {
            q.events.push(Event { kind: "mark", name: Some(name), cleared: true });
        }
        let (_emitting, events) = self.hand_over(q);
        self.emit(events);
    }
}

fn frame_buffer(frame: &[i16; FRAME], index: u64) -> Option<gst::Buffer> {
    let mut buffer = gst::Buffer::from_mut_slice(super::pcm::to_bytes(frame));
    {
        let b = buffer.get_mut()?;
        b.set_pts(TICK * index);
        b.set_duration(TICK);
    }
    Some(buffer)
}

#[napi]
pub struct NativeAudioPlayer {
    track: Arc<TrackCore>,
    core: Arc<PlayerCore>,
}

#[napi]
impl NativeAudioPlayer {
    /// `high_water_ms`/`low_water_ms`: queue depths for the back-pressure events.
    #[napi(constructor)]
    pub fn new(
        high_water_ms: f64,
        low_water_ms: f64,
        on_event: ThreadsafeFunction<NativePlayerEvent, napi::Unknown<'static>, NativePlayerEvent, Status, false, true>,
    ) -> Result<Self> {
        runtime::init_or_throw().map_err(|e| failure(&e.reason))?;
        if !(low_water_ms >= 0.0 && high_water_ms > low_water_ms && high_water_ms.is_finite()) {
            return Err(invalid("lowWaterMs must be ≥ 0 and below highWaterMs"));
        }
        let samples_in = |ms: f64| (ms * RATE as f64 / 1000.0).round() as usize;
        let track = TrackCore::new("audio");
        let core = Arc::new(PlayerCore {
            queue: Mutex::new(Queue::new(samples_in(high_water_ms), samples_in(low_water_ms))),
            emitting: Mutex::new(()),
            track: Arc::downgrade(&track),
            caps: raw_caps(RATE, 1),
            on_event,
            ticker: Ticker::default(),
        });
        // The clock entry holds the core while the track lives; the track ending (or being
        // dropped by everyone) stops it.
        let ticking = core.clone();
        core.ticker.ensure(TICK, move || ticking.tick());
        let weak = Arc::downgrade(&core);
        track.on_stop(move || {
            if let Some(core) = weak.upgrade() {
                core.ended();
            }
        });
        Ok(Self { track, core })
    }

    #[napi]
    pub fn track(&self) -> NativeTrack {
        NativeTrack::from_core(self.track.clone())
    }

    /// Queue interleaved S16 samples; returns false when the queue is at or above the high
    /// water mark (a `lowwater` event follows once it has played down to the low one).
    #[napi]
    pub fn enqueue(&self, samples: Int16Array, sample_rate: u32, channel_count: u32) -> Result<bool> {
        if !(1..=8).contains(&channel_count) || sample_rate == 0 || sample_rate > 384_000 {
            return Err(invalid("invalid sampleRate or channelCount"));
        }
        if samples.len() % channel_count as usize != 0 {
            return Err(invalid("samples.length must be a multiple of channelCount"));
        }
        if self.track.is_ended() {
            return Err(coded(PcError::invalid_state("the player's track has ended")));
        }
        let mut q = self.core.lock()?;
        let below = {
            let info = AudioInfo::builder(AudioFormat::S16le, sample_rate, channel_count).build().map_err(|_| invalid("unsupported audio format"))?;
            // SAFETY: any i16 slice is a valid u8 slice of twice its length (u8 has no
            // alignment); they are S16LE's bytes on the little-endian hosts the addon runs on,
            // as the converter's own 48 kHz S16LE output is read as i16 there too.
            let bytes = unsafe { std::slice::from_raw_parts(samples.as_ptr() as *const u8, samples.len() * 2) };
            let q = &mut *q;
            match q.input.append_bytes(&info, bytes, &mut q.scratch, &mut q.samples) {
                Ok(()) => {}
                Err(ConvertError::Unsupported) => return Err(invalid("unsupported audio format")),
                Err(ConvertError::Failed) => return Err(failure("audio conversion failed")),
            }
            let below = q.samples.len() < q.high_water;
            if !below && !q.above_high {
                q.above_high = true;
                q.event("highwater");
            }
            below
        };
        let (_emitting, events) = self.core.hand_over(q);
        self.core.emit(events);
        Ok(below)
    }

    /// A `mark` event once everything queued before this call has been sent.
    #[napi]
    pub fn mark(&self, name: String) -> Result<()> {
        if self.track.is_ended() {
            return Err(coded(PcError::invalid_state("the player's track has ended")));
        }
        let mut q = self.core.lock()?;
        let at = q.written();
        q.marks.push_back((at, name));
        Ok(())
    }

    /// Drops everything queued; the audio being played fades out within the next frame.
    /// Pending marks are reported at once with `cleared`. Returns the ms dropped.
    #[napi]
    pub fn clear(&self) -> Result<f64> {
        let mut q = self.core.lock()?;
        let dropped = {
            let q = &mut *q;
            let dropped = q.samples.len();
            if q.playing && q.fade.is_empty() {
                let n = q.samples.len().min(FADE);
                q.fade = q.samples.drain(..n).collect();
            }
            q.samples.clear();
            // The resampler's history belongs to the audio just dropped.
            q.input = ToNative::default();
            q.playing = false;
            q.waited = 0;
            for (_, name) in std::mem::take(&mut q.marks) {
                q.events.push(Event { kind: "mark", name: Some(name), cleared: true });
            }
            q.below_low();
            dropped
        };
        let (_emitting, events) = self.core.hand_over(q);
        self.core.emit(events);
        Ok(ms(dropped as u64))
    }

    #[napi(getter)]
    pub fn queued_ms(&self) -> Result<f64> {
        Ok(ms(self.core.lock()?.samples.len() as u64))
    }

    #[napi(getter)]
    pub fn played_ms(&self) -> Result<f64> {
        Ok(ms(self.core.lock()?.played))
    }

    /// Ends the track (and the ticks); queued audio is dropped, pending marks fire `cleared`.
    #[napi]
    pub fn stop(&self) {
        self.track.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue() -> Queue {
        Queue::new(48_000, 4_800)
    }

    fn push(q: &mut Queue, n: usize, value: i16) {
        q.samples.extend(std::iter::repeat(value).take(n));
    }

    #[test]
    fn a_short_clip_starts_after_the_wait_and_drains() {
        let mut q = queue();
        push(&mut q, 100, 1000);
        let mut f = [0; FRAME];
        for _ in 0..START_WAIT {
            q.next_frame(&mut f);
            assert_eq!(q.played, 0);
        }
        q.next_frame(&mut f);
        assert_eq!(q.played, 100);
        assert_eq!(&f[..100], &[1000; 100][..]);
        assert!(f[100..].iter().all(|&s| s == 0));
        assert_eq!(q.events.iter().map(|e| e.kind).collect::<Vec<_>>(), ["drain"]);
    }

    #[test]
    fn a_mark_fires_with_the_frame_that_carries_its_point() {
        let mut q = queue();
        push(&mut q, 700, 1);
        q.marks.push_back((q.written(), "mid".into()));
        push(&mut q, 3 * FRAME - 700, 1);
        q.marks.push_back((q.written(), "end".into()));
        let mut f = [0; FRAME];
        let mut fired = Vec::new();
        for _ in 0..4 {
            q.next_frame(&mut f);
            fired.push(q.events.drain(..).filter_map(|e| e.name).collect::<Vec<_>>());
        }
        // Sample 700 goes out in the second frame, the last sample in the third: each mark
        // fires one tick after its frame.
        assert_eq!(fired, [vec![], vec![], vec!["mid".to_owned()], vec!["end".to_owned()]]);
    }

    #[test]
    fn clear_fades_out_within_one_frame_then_silence() {
        let mut q = queue();
        push(&mut q, 10 * FRAME, 10_000);
        let mut f = [0; FRAME];
        q.next_frame(&mut f);
        q.playing = true;
        q.fade = q.samples.drain(..FADE).collect();
        q.samples.clear();
        q.next_frame(&mut f);
        assert!(f[0] > 9_000 && f[FADE - 1] == 0 && f[FADE..].iter().all(|&s| s == 0), "{:?}", &f[..4]);
        assert!(f.windows(2).all(|w| w[0] >= w[1]));
        q.next_frame(&mut f);
        assert!(f.iter().all(|&s| s == 0));
    }
}
