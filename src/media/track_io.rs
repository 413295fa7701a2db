//! The two bridges between a standalone pipeline (one that is not part of a connection:
//! UDP RTP in/out, files, recorders) and a track: an appsink that feeds a track, and a
//! track consumer that feeds an appsrc (connections use `push_source` instead).

use std::sync::{Arc, Mutex};

use gst::prelude::*;

use super::playout::PlayoutRamp;
use super::raw_caps;
use super::track::TrackCore;
use super::RATE;

/// Arrival jitter beyond which the sample count is no longer trusted and timestamps
/// resync to the clock.
const RESYNC: gst::ClockTime = gst::ClockTime::from_mseconds(80);

/// An appsink that delivers 48 kHz mono S16 to `track`. `sync`: pace by the clock (file
/// playback, jitter-buffer playout) or deliver as produced (live sources).
pub fn appsink_into(track: &Arc<TrackCore>, sync: bool) -> gst_app::AppSink {
    appsink_into_through(track, sync, None)
}

/// `appsink_into`, each sample first passing `ramp` (a playout delay that grows: `playout.rs`).
pub fn appsink_into_through(track: &Arc<TrackCore>, sync: bool, ramp: Option<Arc<PlayoutRamp>>) -> gst_app::AppSink {
    let sink = gst_app::AppSink::builder().caps(&raw_caps(RATE, 1)).sync(sync).build();
    // A standalone pipeline has nobody else to feed: it ends with its track.
    feed_track(&sink, track, ramp, Err(gst::FlowError::Eos));
    sink
}

/// Makes `sink` push every sample into `track`, first through `ramp` if any. Once the track
/// is gone, each sample returns `when_gone`.
pub fn feed_track(
    sink: &gst_app::AppSink,
    track: &Arc<TrackCore>,
    ramp: Option<Arc<PlayoutRamp>>,
    when_gone: Result<gst::FlowSuccess, gst::FlowError>,
) {
    let weak = Arc::downgrade(track);
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |sink| {
                let mut sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if let Some(ramp) = &ramp {
                    sample = ramp.process(sink.upcast_ref(), sample);
                }
                match weak.upgrade() {
                    Some(track) => {
                        track.push(&sample);
                        Ok(gst::FlowSuccess::Ok)
                    }
                    None => when_gone,
                }
            })
            .build(),
    );
}

/// A live appsrc for raw audio from a track (caps come with each sample) that holds at most
/// `queue` of it, dropping the oldest beyond.
pub fn live_appsrc(queue: gst::ClockTime) -> gst_app::AppSrc {
    gst_app::AppSrc::builder()
        .is_live(true)
        .format(gst::Format::Time)
        .caps(&raw_caps(RATE, 1))
        .max_time(queue)
        .leaky_type(gst_app::AppLeakyType::Downstream)
        .build()
}

/// Re-timestamps a track's buffers in a consumer pipeline's running time.
///
/// Every track has its own clock base, so buffers are re-timestamped on arrival,
/// contiguously (encoders and wavenc want no gaps from jitter), resyncing to the clock
/// after a real pause of the producer (> 80 ms): the gap then shows in the timestamps,
/// where `audiorate` or an encoder's DTX can deal with it.
pub struct Retimer {
    next_pts: Mutex<Option<gst::ClockTime>>,
    resync: gst::ClockTime,
}

impl Default for Retimer {
    fn default() -> Self {
        Self::with_resync(RESYNC)
    }
}

impl Retimer {
    /// Resyncing to the clock whenever arrival is off by more than `resync`.
    pub fn with_resync(resync: gst::ClockTime) -> Self {
        Self { next_pts: Mutex::new(None), resync }
    }

    /// The sample's buffer (sharing its memory: no sample copy) stamped for `now`, and its caps.
    pub fn retime(&self, sample: &gst::Sample, now: gst::ClockTime) -> Option<(gst::Buffer, gst::Caps)> {
        let (buffer, caps) = (sample.buffer()?, sample.caps()?);
        let info = gst_audio::AudioInfo::from_caps(caps).ok()?;
        let frames = buffer.size() as u64 / info.bpf().max(1) as u64;
        let duration = gst::ClockTime::SECOND.mul_div_floor(frames, info.rate() as u64).unwrap_or(gst::ClockTime::ZERO);
        let pts = {
            let mut next = self.next_pts.lock().ok()?;
            let pts = match *next {
                Some(p) if now.absdiff(p) < self.resync => p,
                _ => now,
            };
            *next = Some(pts + duration);
            pts
        };
        let mut out = buffer.copy();
        {
            let out = out.make_mut();
            out.set_pts(pts);
            out.set_dts(gst::ClockTime::NONE);
            out.set_duration(duration);
        }
        Some((out, caps.to_owned()))
    }
}

/// Attach `appsrc` to `track` as a consumer (timestamps: `Retimer`); returns the consumer id.
pub fn feed_appsrc(track: &TrackCore, appsrc: &gst_app::AppSrc) -> u64 {
    let appsrc = appsrc.clone();
    let retimer = Retimer::default();
    track.add_consumer(Arc::new(move |sample: &gst::Sample| {
        let Some(now) = appsrc.current_running_time() else { return };
        let Some((buffer, caps)) = retimer.retime(sample, now) else { return };
        let sample = gst::Sample::builder().buffer(&buffer).caps(&caps).build();
        let _ = appsrc.push_sample(&sample);
    }))
}
