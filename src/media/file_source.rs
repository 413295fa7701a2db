//! An audio file played in real time as a track:
//! filesrc → decodebin → audioconvert → audioresample → 10 ms buffers → 48 kHz mono → appsink
//! (clock-synced).
//!
//! Looping seeks back to the start at end-of-stream; otherwise end-of-stream ends the track.

use std::sync::{Arc, Weak};

use gst::prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

use super::bus::{set_state_or_error, BusWatch};
use super::track::{NativeTrack, TrackCore};
use super::track_io::appsink_into;
use crate::runtime::{self, make};

pub type EndedFn = ThreadsafeFunction<bool, napi::Unknown<'static>, bool, Status, false, true>;

#[napi]
pub struct NativeFileSource {
    track: Arc<TrackCore>,
}

#[napi]
impl NativeFileSource {
    /// `on_ended(true)` runs once when the file ended the track (not after `stop()`).
    #[napi(constructor)]
    // The type is spelled out, not `EndedFn`: napi-rs writes a parameter's type into
    // index.d.ts by name, and an alias name is not declared there (TS2304 for every user
    // without skipLibCheck).
    pub fn new(path: String, looping: bool, on_ended: ThreadsafeFunction<bool, napi::Unknown<'static>, bool, Status, false, true>) -> napi::Result<Self> {
        runtime::init_or_throw()?;
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => {}
            Ok(_) => return Err(napi::Error::from_reason(format!("not a file: {path}"))),
            Err(e) => return Err(napi::Error::from_reason(format!("cannot open {path}: {e}"))),
        }
        let track = start(&path, looping, Arc::new(on_ended)).map_err(|e| napi::Error::from_reason(format!("cannot play {path}: {e}")))?;
        Ok(Self { track })
    }

    #[napi]
    pub fn track(&self) -> NativeTrack {
        NativeTrack::from_core(self.track.clone())
    }

    #[napi]
    pub fn stop(&self) {
        self.track.stop();
    }
}

fn start(path: &str, looping: bool, on_ended: Arc<EndedFn>) -> Result<Arc<TrackCore>, String> {
    let track = TrackCore::new("audio");
    let pipeline = gst::Pipeline::new();
    let src = make("filesrc")?;
    src.set_property("location", path);
    let decode = make("decodebin")?;
    let convert = make("audioconvert")?;
    let resample = make("audioresample")?;
    // Parsers and decoders hand out whatever block they read (wavparse: ~43 ms at 48 kHz
    // mono), and the synced sink then delivers each block at once: a call fed from a file
    // sent its packets in bursts of two or three, which the far end's jitter buffer had to
    // absorb. Cut into the 10 ms frames every other source delivers.
    let split = make("audiobuffersplit")?;
    split.set_property("output-buffer-duration", gst::Fraction::new(1, 100));
    // Clock-synced: a file decodes faster than real time; the sink paces it.
    let sink = appsink_into(&track, true);
    pipeline.add_many([&src, &decode, &convert, &resample, &split, sink.upcast_ref()]).map_err(|e| e.to_string())?;
    src.link(&decode).map_err(|e| e.to_string())?;
    gst::Element::link_many([&convert, &resample, &split, sink.upcast_ref()]).map_err(|e| e.to_string())?;
    let convert_sink = convert.static_pad("sink").ok_or("audioconvert without sink pad")?;
    decode.connect_pad_added(move |_, pad| {
        let is_audio = pad.current_caps().or_else(|| Some(pad.query_caps(None))).and_then(|c| c.structure(0).map(|s| s.name().starts_with("audio/"))).unwrap_or(false);
        if is_audio && !convert_sink.is_linked() {
            let _ = pad.link(&convert_sink);
        }
    });

    let watch = BusWatch::install(&pipeline);
    // End-of-stream arrives on a streaming thread, which must not seek or stop the
    // pipeline itself: both are done from a short-lived thread.
    let (weak_pipeline, weak_track, w, cb) = (pipeline.downgrade(), Arc::downgrade(&track), watch.clone(), on_ended.clone());
    watch.on_eos(move || {
        let (p, t, w, cb) = (weak_pipeline.clone(), weak_track.clone(), w.clone(), cb.clone());
        std::thread::spawn(move || {
            if looping {
                if let Some(p) = p.upgrade() {
                    w.clear_eos();
                    if p.seek_simple(gst::SeekFlags::FLUSH, gst::ClockTime::ZERO).is_ok() {
                        return;
                    }
                }
            }
            end(&t, &cb);
        });
    });
    // A decoding error mid-file ends the track like the end of the file does.
    let weak_track = Arc::downgrade(&track);
    watch.on_error(move || {
        let (t, cb) = (weak_track.clone(), on_ended.clone());
        std::thread::spawn(move || end(&t, &cb));
    });
    // PAUSED prerolls: an unreadable or undecodable file fails here, synchronously.
    set_state_or_error(&pipeline, &watch, gst::State::Paused)?;
    set_state_or_error(&pipeline, &watch, gst::State::Playing)?;
    track.on_stop(move || {
        let _ = pipeline.set_state(gst::State::Null);
    });
    Ok(track)
}

fn end(track: &Weak<TrackCore>, on_ended: &EndedFn) {
    if let Some(track) = track.upgrade() {
        if !track.is_ended() {
            track.stop();
            on_ended.call(true, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }
}
