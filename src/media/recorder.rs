//! Tracks recorded to one file, one channel per track (a call: caller left, agent right), as
//! WAV (48 kHz S16) or Ogg/Opus:
//! tracks → per-channel FIFO (`mixer/feed.rs`) → 10 ms tick → interleaved frame → appsrc →
//! wavenc | opusenc ! oggmux → filesink.
//!
//! The tick (`ticker.rs`, GStreamer's clock thread) takes one frame from every channel's FIFO,
//! as the mixer does: channels stay aligned, a channel whose producer pauses or whose track has
//! ended records silence (after the FIFO's short concealment), and the file lasts as long as the
//! recording did. A channel's track can be replaced mid-call (`replace`), into the same FIFO.
//! The recording finalizes on `stop()`, or once no channel has a live track left (a track
//! ending leaves its channel silent while another still records). Both formats are only valid
//! after end-of-stream reached the muxer (wavenc writes the RIFF sizes then), which `stop()`
//! waits for.

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use gst::prelude::*;
use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;

use super::bus::{set_state_or_error, BusWatch};
use super::mixer::feed::Feed;
use super::mixer::fifo::{Read, FRAME};
use super::ticker::Ticker;
use super::track::{NativeTrack, TrackCore};
use super::RATE;
use crate::error::{coded, PcError};
use crate::runtime::{self, make};

/// How long `stop()` waits for the muxer to finalize before giving up.
const FINALIZE_TIMEOUT: Duration = Duration::from_secs(5);
const TICK: gst::ClockTime = gst::ClockTime::from_mseconds(10);
pub const MAX_CHANNELS: usize = 8;

struct Channel {
    feed: Arc<Mutex<Feed>>,
    /// The track feeding this channel and its consumer id; None: silent.
    source: Option<(Arc<TrackCore>, u64)>,
}

impl Channel {
    fn detach(&mut self) {
        if let Some((track, id)) = self.source.take() {
            track.remove_consumer(id);
        }
    }
}

struct State {
    channels: Vec<Channel>,
    frame: u64,
    finished: bool,
}

struct Recorder {
    state: Mutex<State>,
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    watch: BusWatch,
    ticker: Ticker,
}

impl Recorder {
    /// One interleaved frame of every channel into the file; false once finished.
    fn tick(&self) -> bool {
        let Ok(mut st) = self.state.lock() else { return false };
        if st.finished {
            return false;
        }
        let n = st.channels.len();
        let mut bytes = vec![0u8; FRAME * n * 2];
        let mut frame = [0i16; FRAME];
        for (c, channel) in st.channels.iter().enumerate() {
            let read = channel.feed.lock().map(|mut f| f.fifo.read(&mut frame)).unwrap_or(Read::Silence);
            if read == Read::Silence {
                continue;
            }
            for (i, s) in frame.iter().enumerate() {
                let at = (i * n + c) * 2;
                bytes[at..at + 2].copy_from_slice(&s.to_le_bytes());
            }
        }
        let index = st.frame;
        st.frame += 1;
        drop(st);
        let mut buffer = gst::Buffer::from_mut_slice(bytes);
        if let Some(b) = buffer.get_mut() {
            b.set_pts(TICK * index);
            b.set_duration(TICK);
        }
        // Never blocks: the appsrc drops its oldest buffers beyond its limit instead.
        let _ = self.appsrc.push_buffer(buffer);
        true
    }

    /// Feed `channel` from `track` (None: silence). Returns the track, whose end the caller
    /// must then `watch_end` once the state lock is released (`on_stop` runs at once on a
    /// track that has just ended).
    fn attach(st: &mut State, channel: usize, track: Option<Arc<TrackCore>>) -> Option<Arc<TrackCore>> {
        st.channels[channel].detach();
        let track = track?;
        let feed = st.channels[channel].feed.clone();
        let id = track.add_consumer(Arc::new(move |sample: &gst::Sample| {
            if let Ok(mut feed) = feed.lock() {
                feed.accept(sample);
            }
        }));
        st.channels[channel].source = Some((track.clone(), id));
        Some(track)
    }

    /// The track ending silences its channel, and finalizes the file if it was the last.
    fn watch_end(self: &Arc<Self>, channel: usize, track: &Arc<TrackCore>) {
        let weak: Weak<Self> = Arc::downgrade(self);
        let ended = Arc::downgrade(track);
        track.on_stop(move || {
            let Some(rec) = weak.upgrade() else { return };
            let last = {
                let Ok(mut st) = rec.state.lock() else { return };
                let ch = &mut st.channels[channel];
                if ch.source.as_ref().is_some_and(|(t, _)| std::ptr::eq(Arc::as_ptr(t), ended.as_ptr())) {
                    ch.source = None;
                }
                !st.finished && st.channels.iter().all(|c| c.source.is_none())
            };
            if last {
                rec.finish();
            }
        });
    }

    /// Stop taking audio and send end-of-stream (idempotent).
    fn finish(&self) {
        self.ticker.stop();
        let Ok(mut st) = self.state.lock() else { return };
        if st.finished {
            return;
        }
        st.finished = true;
        for ch in &mut st.channels {
            ch.detach();
        }
        drop(st);
        let _ = self.appsrc.end_of_stream();
    }

    fn finish_and_wait(&self) -> Result<(), String> {
        self.finish();
        let finalized = self.watch.wait_eos(FINALIZE_TIMEOUT);
        let _ = self.pipeline.set_state(gst::State::Null);
        match (finalized, self.watch.error()) {
            (true, _) => Ok(()),
            (false, Some(e)) => Err(format!("recording failed: {e}")),
            (false, None) => Err("recording was not finalized in time".to_owned()),
        }
    }
}

#[napi]
pub struct NativeTrackRecorder {
    inner: Arc<Recorder>,
}

pub struct StopRecording {
    inner: Arc<Recorder>,
}

impl Task for StopRecording {
    type Output = ();
    type JsValue = ();

    /// Runs on the libuv thread pool: waiting for end-of-stream must not block Node.
    fn compute(&mut self) -> napi::Result<()> {
        self.inner.finish_and_wait().map_err(napi::Error::from_reason)
    }

    fn resolve(&mut self, _env: Env, _output: ()) -> napi::Result<()> {
        Ok(())
    }
}

#[napi]
impl NativeTrackRecorder {
    /// One channel per entry of `tracks` (None: silent until `replaceTrack`). `format`: "wav"
    /// or "ogg" (Opus).
    #[napi(constructor)]
    pub fn new(tracks: Vec<Option<&NativeTrack>>, path: String, format: String) -> napi::Result<Self, &'static str> {
        runtime::init_or_throw().map_err(|e| napi::Error::new("GenericFailure", e.reason))?;
        if tracks.is_empty() || tracks.len() > MAX_CHANNELS {
            return Err(coded(PcError::type_error(format!("a recording has 1 to {MAX_CHANNELS} channels"))));
        }
        if format != "wav" && format != "ogg" {
            return Err(coded(PcError::type_error(format!("unknown recording format {format}"))));
        }
        if tracks.iter().flatten().any(|t| t.core.is_ended()) {
            return Err(coded(PcError::invalid_state("the track has ended")));
        }
        let inner = start(tracks.len(), &path, &format).map_err(|e| napi::Error::new("GenericFailure", format!("cannot record to {path}: {e}")))?;
        let attached: Vec<_> = {
            let Ok(mut st) = inner.state.lock() else { return Err(napi::Error::new("GenericFailure", "recorder state poisoned".to_owned())) };
            tracks.iter().enumerate().map(|(c, t)| (c, Recorder::attach(&mut st, c, t.map(|t| t.core.clone())))).collect()
        };
        for (c, track) in attached {
            if let Some(track) = track {
                inner.watch_end(c, &track);
            }
        }
        let ticking = inner.clone();
        inner.ticker.ensure(TICK, move || ticking.tick());
        Ok(Self { inner })
    }

    /// Feed `channel` from `track` from now on (None: silence); the channel's FIFO carries on,
    /// so the switch leaves no gap.
    #[napi]
    pub fn replace_track(&self, channel: u32, track: Option<&NativeTrack>) -> napi::Result<(), &'static str> {
        if track.is_some_and(|t| t.core.is_ended()) {
            return Err(coded(PcError::invalid_state("the track has ended")));
        }
        let attached = {
            let Ok(mut st) = self.inner.state.lock() else { return Err(napi::Error::new("GenericFailure", "recorder state poisoned".to_owned())) };
            if st.finished {
                return Err(coded(PcError::invalid_state("the recording has finished")));
            }
            if channel as usize >= st.channels.len() {
                return Err(coded(PcError::type_error(format!("no channel {channel}"))));
            }
            Recorder::attach(&mut st, channel as usize, track.map(|t| t.core.clone()))
        };
        if let Some(track) = attached {
            self.inner.watch_end(channel as usize, &track);
        }
        Ok(())
    }

    /// Resolves once the file is complete (end-of-stream reached it).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop(&self) -> AsyncTask<StopRecording> {
        AsyncTask::new(StopRecording { inner: self.inner.clone() })
    }
}

/// A recorder JS dropped without `stop()` finalizes its file then, as `stop()` would: the
/// pipeline must stay referenced until end-of-stream has reached the file (dropping it while
/// PLAYING would leave a WAV without sizes), so a thread of its own holds it and waits.
impl Drop for NativeTrackRecorder {
    fn drop(&mut self) {
        let inner = self.inner.clone();
        let spawned = std::thread::Builder::new().name("gstpc-release".into()).spawn(move || {
            if let Err(e) = inner.finish_and_wait() {
                gst::warning!(crate::log::CAT, "a dropped recorder: {e}");
            }
        });
        if spawned.is_err() {
            self.inner.finish();
        }
    }
}

fn start(channels: usize, path: &str, format: &str) -> Result<Arc<Recorder>, String> {
    let pipeline = gst::Pipeline::new();
    let mut caps = gst::Caps::builder("audio/x-raw").field("format", "S16LE").field("layout", "interleaved").field("rate", RATE as i32).field("channels", channels as i32);
    if channels > 2 {
        // One channel per party: no speaker positions.
        caps = caps.field("channel-mask", gst::Bitmask::new(0));
    }
    let appsrc = gst_app::AppSrc::builder()
        .format(gst::Format::Time)
        .caps(&caps.build())
        .max_time(gst::ClockTime::from_seconds(2))
        .leaky_type(gst_app::AppLeakyType::Downstream)
        .build();
    let mut elements = vec![appsrc.upcast_ref::<gst::Element>().clone()];
    match format {
        "wav" => elements.push(make("wavenc")?),
        "ogg" => {
            elements.push(make("opusenc")?);
            elements.push(make("oggmux")?);
        }
        other => return Err(format!("unknown format {other}")),
    }
    let sink = make("filesink")?;
    sink.set_property("location", path);
    sink.set_property("async", false);
    elements.push(sink);
    pipeline.add_many(&elements).map_err(|e| e.to_string())?;
    gst::Element::link_many(&elements).map_err(|e| e.to_string())?;
    let watch = BusWatch::install(&pipeline);
    // Opening the file happens here: a bad path fails the constructor.
    set_state_or_error(&pipeline, &watch, gst::State::Playing)?;
    // Once the file is finalized nothing more can be written: release the file at once
    // (from another thread: the end-of-stream callback runs on the streaming thread).
    let weak = pipeline.downgrade();
    watch.on_eos(move || {
        let weak = weak.clone();
        std::thread::spawn(move || {
            if let Some(p) = weak.upgrade() {
                let _ = p.set_state(gst::State::Null);
            }
        });
    });
    let state = State { channels: (0..channels).map(|_| Channel { feed: Arc::new(Mutex::new(Feed::default())), source: None }).collect(), frame: 0, finished: false };
    Ok(Arc::new(Recorder { state: Mutex::new(state), pipeline, appsrc, watch, ticker: Ticker::default() }))
}
