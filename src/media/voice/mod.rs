//! `VoiceProcessor`: a received track cleaned up for speech recognition — echo of the agent's
//! own voice removed, noise suppressed, optional gain control — as a new track, with
//! `speechstart`/`speechend` events from voice activity (`vad.rs`).
//!
//! Pipeline (one per processor, its own streaming thread):
//! ```text
//! input track ─▶ appsrc ─▶ audioconvert ─▶ audioresample ─▶ capsfilter ─[canceller]─▶ webrtcdsp ─▶ appsink ─▶ output track (+ VAD)
//! reference track ─▶ canceller::RenderTimeline
//! ```
//! The input is stamped in the pipeline's running time on arrival (`track_io::Retimer`), the
//! reference too, on the same clock, into the render timeline. The echo canceller is AEC3
//! (`canceller.rs`), run in a pad probe on the capsfilter's source pad; webrtcdsp does noise
//! suppression and gain control only (webrtc-audio-processing 0.3's canceller, webrtcdsp's own,
//! lost the caller by 3–4 dB while both talk and needed the delay measured for it).
//! The input's consumer hands the canceller the periods the receiver inserted (`playout::INSERTED`).
//! `echo_delay.rs` still measures the delay, for `echoDelayMs` and for the residual-echo guard
//! of the voice activity detector (`echo_guard.rs`). Gain control raised the caller by 10 dB
//! (off by default).
//!
//! Threads: the input and reference consumers run on their producers' threads (appsrc push,
//! timeline write; the input's also runs the delay correlation, four times a second, outside
//! the lock the reference's consumer takes: that one often runs on GStreamer's clock thread, in
//! a player's or mixer's tick, which must not wait); the canceller, the VAD and the output
//! track's consumers run on the capture appsrc's streaming thread; events reach JS through one
//! threadsafe function, in order.

pub mod canceller;
pub mod echo_delay;
pub mod echo_guard;
pub mod vad;

use std::sync::{Arc, Mutex};

use gst::prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

use self::canceller::{Canceller, RenderTimeline};
use self::echo_delay::EchoDelay;
use self::echo_guard::EchoGuard;
use self::vad::{Change, Vad};
use super::bus::{set_state_or_error, BusWatch};
use super::convert::ToNative;
use super::{pcm, playout, workers};
use super::track::{NativeTrack, TrackCore};
use super::track_io::Retimer;
use super::{raw_caps, FRAME_SAMPLES, RATE};
use crate::error::{coded, PcError};
use crate::runtime::{self, make};

/// Dot product in eight independent lanes, which the compiler vectorizes (the echo delay's
/// correlation and the VAD's periodicity are sums of a few hundred to thousands of products).
pub(crate) fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = ca.remainder().iter().zip(cb.remainder()).map(|(x, y)| x * y).sum();
    for (x, y) in ca.zip(cb) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// Level of 16-bit samples, dBFS.
pub(crate) fn dbfs(samples: &[i16]) -> f64 {
    let ms = samples.iter().map(|&s| (s as f64 / 32768.0).powi(2)).sum::<f64>() / samples.len().max(1) as f64;
    10.0 * (ms + 1e-12).log10()
}

const FRAME: usize = FRAME_SAMPLES as usize;

#[napi(object)]
pub struct NativeVoiceOptions {
    pub echo_cancellation: bool,
    /// "off", "low", "moderate", "high" or "very-high".
    pub noise_suppression: String,
    pub auto_gain_control: bool,
    pub voice_activity: bool,
}

#[napi(object)]
pub struct NativeVoiceEvent {
    /// "speechstart" or "speechend".
    pub kind: String,
    /// Media time of the boundary, ms of processed audio since the processor started.
    pub time_ms: f64,
}

struct Attached {
    track: Arc<TrackCore>,
    consumer: u64,
}

struct Processor {
    pipeline: gst::Pipeline,
    /// Kept so that errors after the start are recorded (`BusWatch` drops every message).
    _watch: BusWatch,
    delay: Arc<Mutex<EchoDelay>>,
    attached: Mutex<Vec<Attached>>,
}

impl Processor {
    /// Detach from the tracks and stop the pipeline (idempotent; not on a streaming thread of
    /// this pipeline).
    fn shutdown(&self) {
        let attached = self.attached.lock().map(|mut a| std::mem::take(&mut *a)).unwrap_or_default();
        for a in attached {
            a.track.remove_consumer(a.consumer);
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

fn chain(pipeline: &gst::Pipeline, elements: &[gst::Element]) -> Result<(), String> {
    pipeline.add_many(elements).map_err(|e| e.to_string())?;
    gst::Element::link_many(elements).map_err(|e| e.to_string())
}

#[napi]
pub struct NativeVoiceProcessor {
    inner: Arc<Processor>,
    output: Arc<TrackCore>,
}

#[napi]
impl NativeVoiceProcessor {
    #[napi(constructor)]
    pub fn new(track: &NativeTrack, reference: Option<&NativeTrack>, options: NativeVoiceOptions, on_event: ThreadsafeFunction<NativeVoiceEvent, napi::Unknown<'static>, NativeVoiceEvent, Status, false, true>) -> napi::Result<Self, &'static str> {
        runtime::init_or_throw().map_err(|e| napi::Error::new("GenericFailure", e.reason))?;
        if track.core.is_ended() || reference.is_some_and(|r| r.core.is_ended()) {
            return Err(coded(PcError::invalid_state("the track has ended")));
        }
        if options.echo_cancellation && reference.is_none() {
            return Err(coded(PcError::type_error("echoCancellation needs the reference track (what is sent to this caller)")));
        }
        let levels = ["off", "low", "moderate", "high", "very-high"];
        if !levels.contains(&options.noise_suppression.as_str()) {
            return Err(coded(PcError::type_error(format!("noiseSuppression must be one of {levels:?}"))));
        }
        let (inner, output) = build(&track.core, reference.map(|r| &r.core), &options, on_event).map_err(|e| napi::Error::new("GenericFailure", format!("cannot start the voice processor: {e}")))?;
        Ok(Self { inner, output })
    }

    #[napi]
    pub fn track(&self) -> NativeTrack {
        NativeTrack::from_core(self.output.clone())
    }

    /// The measured echo delay (reference sent → echo back), once measured.
    #[napi(getter)]
    pub fn echo_delay_ms(&self) -> Option<f64> {
        self.inner.delay.lock().ok()?.delay_ms()
    }

    /// Ends the output track and releases the pipeline.
    #[napi]
    pub fn stop(&self) {
        self.output.stop();
        self.inner.shutdown();
    }
}

/// The echo canceller on `native`'s source pad (10 ms frames of `raw_caps(RATE, 1)`), on the
/// capture streaming thread.
fn install_canceller(native: &gst::Element, timeline: Arc<Mutex<RenderTimeline>>) -> Result<(), String> {
    let pad = native.static_pad("src").ok_or("capsfilter has no source pad")?;
    let canceller = Mutex::new((Canceller::default(), Vec::<i16>::new()));
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_mut() else { return gst::PadProbeReturn::Ok };
        let (Some(pts), Ok(mut canceller)) = (buffer.pts(), canceller.lock()) else { return gst::PadProbeReturn::Ok };
        let (canceller, samples) = &mut *canceller;
        let buffer = buffer.make_mut();
        let Ok(mut map) = buffer.map_writable() else { return gst::PadProbeReturn::Ok };
        let bytes = map.as_mut_slice();
        samples.clear();
        pcm::extend_samples(samples, bytes);
        canceller.process(pcm::samples_in(pts.nseconds()), samples, &timeline);
        pcm::write_samples(bytes, samples);
        gst::PadProbeReturn::Ok
    });
    Ok(())
}

fn build(input: &Arc<TrackCore>, reference: Option<&Arc<TrackCore>>, options: &NativeVoiceOptions, on_event: ThreadsafeFunction<NativeVoiceEvent, napi::Unknown<'static>, NativeVoiceEvent, Status, false, true>) -> Result<(Arc<Processor>, Arc<TrackCore>), String> {
    let pipeline = gst::Pipeline::new();
    let capture = super::track_io::live_appsrc(gst::ClockTime::from_mseconds(500));
    let dsp = make("webrtcdsp")?;
    dsp.set_property("echo-cancel", false);
    dsp.set_property("gain-control", options.auto_gain_control);
    dsp.set_property("voice-detection", false);
    dsp.set_property("delay-agnostic", false);
    let suppress = options.noise_suppression != "off";
    dsp.set_property("noise-suppression", suppress);
    if suppress {
        dsp.set_property_from_str("noise-suppression-level", &options.noise_suppression);
    }
    let sink = gst_app::AppSink::builder().caps(&raw_caps(RATE, 1)).sync(false).build();
    let native = make("capsfilter")?;
    native.set_property("caps", raw_caps(RATE, 1));
    chain(&pipeline, &[capture.clone().upcast(), make("audioconvert")?, make("audioresample")?, native.clone(), dsp, make("audioconvert")?, sink.clone().upcast()])?;
    let timeline = Arc::new(Mutex::new(RenderTimeline::default()));
    if options.echo_cancellation {
        install_canceller(&native, timeline.clone())?;
    }

    let output = TrackCore::new("audio");
    let delay = Arc::new(Mutex::new(EchoDelay::default()));
    let guard = Arc::new(Mutex::new(EchoGuard::default()));

    // Output: the processed audio into the output track, through the VAD.
    let weak_out = Arc::downgrade(&output);
    // The VAD state: the detector, audio not yet a whole frame, the format conversion.
    let vad = Mutex::new((Vad::default(), Vec::<i16>::new(), ToNative::default(), Vec::<i16>::new()));
    let voice_activity = options.voice_activity;
    let on_event = Arc::new(on_event);
    let vad_guard = guard.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if voice_activity {
                    if let Ok(mut vad) = vad.lock() {
                        let (detector, pending, format, scratch) = &mut *vad;
                        let mut echo = false;
                        if format.convert(&sample, scratch) {
                            pending.extend_from_slice(scratch);
                            let pts = sample.buffer().and_then(|b| b.pts());
                            echo = pts.is_some_and(|pts| vad_guard.lock().is_ok_and(|g| g.is_echo(pts.nseconds(), dbfs(scratch))));
                        }
                        let mut at = 0;
                        while pending.len() - at >= FRAME {
                            if let Some(change) = detector.push(&pending[at..at + FRAME], echo) {
                                let (kind, time_ms) = match change {
                                    Change::Start(f) => ("speechstart", f as f64 * 10.0),
                                    Change::End(f) => ("speechend", (f + 1) as f64 * 10.0),
                                };
                                on_event.call(NativeVoiceEvent { kind: kind.to_owned(), time_ms }, ThreadsafeFunctionCallMode::NonBlocking);
                            }
                            at += FRAME;
                        }
                        pending.drain(..at);
                    }
                }
                match weak_out.upgrade() {
                    Some(track) => {
                        track.push(&sample);
                        Ok(gst::FlowSuccess::Ok)
                    }
                    None => Err(gst::FlowError::Eos),
                }
            })
            .build(),
    );

    let watch = BusWatch::install(&pipeline);
    set_state_or_error(&pipeline, &watch, gst::State::Playing)?;
    let processor = Arc::new(Processor { pipeline: pipeline.clone(), _watch: watch, delay: delay.clone(), attached: Mutex::new(Vec::new()) });

    let mut attached = Vec::new();
    // Capture: stamped on arrival; measured at those stamps (the ones the probe matches)
    // against the reference for the echo delay.
    {
        let retimer = Retimer::default();
        let src = capture.clone();
        let delay = delay.clone();
        let guard = guard.clone();
        let estimate = Mutex::new((options.echo_cancellation, ToNative::default(), Vec::<i16>::new()));
        let timeline = timeline.clone();
        let consumer = input.add_consumer(Arc::new(move |sample: &gst::Sample| {
            let Some(now) = src.current_running_time() else { return };
            let Some((buffer, caps)) = retimer.retime(sample, now) else { return };
            let pts = buffer.pts().unwrap_or(now);
            let inserted = playout::inserted_samples(sample);
            if inserted > 0 {
                if let Ok(mut t) = timeline.lock() {
                    t.capture_inserted(pcm::samples_in(pts.nseconds()), inserted as u64);
                }
            }
            let _ = src.push_sample(&gst::Sample::builder().buffer(&buffer).caps(&caps).build());
            let Ok(mut estimate) = estimate.lock() else { return };
            let (on, format, scratch) = &mut *estimate;
            if !*on || !format.convert(sample, scratch) {
                return;
            }
            if let Ok(mut g) = guard.lock() {
                g.input(pts.nseconds(), dbfs(scratch));
            }
            let window = delay.lock().ok().and_then(|mut d| d.capture(pts.nseconds(), scratch));
            // The correlation (a second of capture at each of 1001 lags: two million products,
            // four times a second) runs on a media worker, without the lock the reference's consumer
            // takes: this consumer runs on the input's receiving thread, which a plain-RTP
            // input shares with other calls' sockets (`rtp_session/socket/`).
            if let Some(window) = window {
                let delay = delay.clone();
                workers::spawn(Box::new(move || {
                    let lag = window.correlate();
                    if let Ok(mut d) = delay.lock() {
                        d.update(lag);
                    }
                }));
            }
        }));
        attached.push(Attached { track: input.clone(), consumer });
    }
    // Reference: onto the render timeline, stamped like the input (on arrival, contiguous).
    if let (true, Some(reference)) = (options.echo_cancellation, reference) {
        let retimer = Retimer::default();
        let src = capture.clone();
        let delay = delay.clone();
        let guard = guard.clone();
        let format = Mutex::new((ToNative::default(), Vec::<i16>::new()));
        let consumer = reference.add_consumer(Arc::new(move |sample: &gst::Sample| {
            let Some(now) = src.current_running_time() else { return };
            let Some(at) = retimer.retime(sample, now).and_then(|(buffer, _)| buffer.pts()) else { return };
            let (Ok(mut format), Ok(mut d)) = (format.lock(), delay.lock()) else { return };
            let (format, scratch) = &mut *format;
            if !format.convert(sample, scratch) {
                return;
            }
            let echo = d.delay_ms();
            d.reference(now.nseconds(), scratch);
            if let Ok(mut g) = guard.lock() {
                g.reference(now.nseconds(), dbfs(scratch), echo.map(|ms| (ms * 1e6) as u64));
            }
            if let Ok(mut t) = timeline.lock() {
                t.write(pcm::samples_in(at.nseconds()), scratch);
            }
        }));
        attached.push(Attached { track: reference.clone(), consumer });
    }
    if let Ok(mut a) = processor.attached.lock() {
        *a = attached;
    }
    // The input ending ends the output. The output track holds the processor: a processor JS
    // dropped keeps running while its track is used; the track ending (or dropped by everyone)
    // releases the pipeline, on a thread of its own (the hook may run on one of its streaming
    // threads).
    let weak_out = Arc::downgrade(&output);
    input.on_stop(move || {
        if let Some(out) = weak_out.upgrade() {
            out.stop();
        }
    });
    let held = processor.clone();
    output.on_stop(move || {
        std::thread::spawn(move || held.shutdown());
    });
    Ok((processor, output))
}
