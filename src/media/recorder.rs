//! A track recorded to a WAV file:
//! track → appsrc → audiorate → audioconvert → audioresample → 48 kHz mono S16 → wavenc → filesink.
//!
//! Timestamps follow arrival (contiguous while the producer is live, media/track_io.rs), and
//! `audiorate` fills a pause of the producer with silence, so the file's duration is the
//! wall-clock time between the first buffer and the end, as a call recording should be.
//! wavenc writes the RIFF sizes at end-of-stream, so the file is only valid after `stop()`
//! (or the track's end) has carried end-of-stream to the sink.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use gst::prelude::*;
use napi::bindgen_prelude::AsyncTask;
use napi::{Env, Task};
use napi_derive::napi;

use super::bus::{set_state_or_error, BusWatch};
use super::track::{NativeTrack, TrackCore};
use super::track_io::{feed_appsrc, live_appsrc};
use super::{raw_caps, RATE};
use crate::runtime::{self, make};

/// How long `stop()` waits for wavenc to finalize before giving up.
const FINALIZE_TIMEOUT: Duration = Duration::from_secs(5);

struct Recorder {
    track: Arc<TrackCore>,
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    watch: BusWatch,
    consumer: Mutex<Option<u64>>,
}

impl Recorder {
    /// Stop taking audio and send end-of-stream (idempotent).
    fn finish(&self) {
        if let Some(id) = self.consumer.lock().ok().and_then(|mut c| c.take()) {
            self.track.remove_consumer(id);
            let _ = self.appsrc.end_of_stream();
        }
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
    #[napi(constructor)]
    pub fn new(track: &NativeTrack, path: String) -> napi::Result<Self> {
        runtime::init_or_throw()?;
        if track.core.is_ended() {
            return Err(napi::Error::from_reason("the track has ended"));
        }
        let inner = start(track.core.clone(), &path).map_err(|e| napi::Error::from_reason(format!("cannot record to {path}: {e}")))?;
        Ok(Self { inner })
    }

    /// Resolves once the WAV header is written (end-of-stream reached the file).
    #[napi(ts_return_type = "Promise<void>")]
    pub fn stop(&self) -> AsyncTask<StopRecording> {
        AsyncTask::new(StopRecording { inner: self.inner.clone() })
    }
}

impl Drop for NativeTrackRecorder {
    fn drop(&mut self) {
        self.inner.finish();
    }
}

fn start(track: Arc<TrackCore>, path: &str) -> Result<Arc<Recorder>, String> {
    let pipeline = gst::Pipeline::new();
    let appsrc = live_appsrc();
    let rate = make("audiorate")?;
    // Start the file at the first buffer, not at running time zero.
    rate.set_property("skip-to-first", true);
    let convert = make("audioconvert")?;
    let resample = make("audioresample")?;
    let filter = make("capsfilter")?;
    filter.set_property("caps", raw_caps(RATE, 1));
    let wavenc = make("wavenc")?;
    let sink = make("filesink")?;
    sink.set_property("location", path);
    sink.set_property("async", false);
    let elements = [appsrc.upcast_ref::<gst::Element>().clone(), rate, convert, resample, filter, wavenc, sink];
    pipeline.add_many(&elements).map_err(|e| e.to_string())?;
    gst::Element::link_many(&elements).map_err(|e| e.to_string())?;
    let watch = BusWatch::install(&pipeline);
    // Opening the file happens here: a bad path fails the constructor.
    set_state_or_error(&pipeline, &watch, gst::State::Playing)?;
    let recorder = Arc::new(Recorder { track: track.clone(), pipeline, appsrc: appsrc.clone(), watch: watch.clone(), consumer: Mutex::new(None) });
    // Once the file is finalized nothing more can be written: release the file at once
    // (from another thread: the end-of-stream callback runs on the streaming thread).
    let weak = recorder.pipeline.downgrade();
    watch.on_eos(move || {
        let weak = weak.clone();
        std::thread::spawn(move || {
            if let Some(p) = weak.upgrade() {
                let _ = p.set_state(gst::State::Null);
            }
        });
    });
    if let Ok(mut c) = recorder.consumer.lock() {
        *c = Some(feed_appsrc(&track, &appsrc));
    }
    // The track ending finalizes the file too.
    let weak = Arc::downgrade(&recorder);
    track.on_stop(move || {
        if let Some(r) = weak.upgrade() {
            r.finish();
        }
    });
    Ok(recorder)
}
