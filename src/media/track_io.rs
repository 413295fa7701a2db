//! The two bridges between a standalone pipeline (one that is not part of a connection:
//! UDP RTP in/out, files, recorders) and a track: an appsink that feeds a track, and a
//! track consumer that feeds an appsrc (connections use `push_source` instead).

use std::sync::{Arc, Mutex};

use gst::prelude::*;

use super::caps_cache::{rate_and_bpf, CapsCache};
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
                let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let period = ramp.as_ref().and_then(|ramp| ramp.process(sink.upcast_ref(), &sample));
                let Some(track) = weak.upgrade() else { return when_gone };
                if let Some(period) = period {
                    track.push(&period);
                    // The sample now plays one period later (the ramp raised ts-offset by it).
                    // This streaming thread has nothing else to do until then: the next
                    // buffer is due a whole buffer after that.
                    wait_out(sink.upcast_ref(), &period);
                }
                track.push(&sample);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}

/// Blocks for `sample`'s duration on `sink`'s clock; not at all when the sink has no clock
/// (not playing) or does not sync.
fn wait_out(sink: &gst::Element, sample: &gst::Sample) {
    let Some(duration) = sample.buffer().and_then(|b| b.duration()) else { return };
    let Some(clock) = sink.clock().filter(|_| sink.property::<bool>("sync")) else { return };
    let _ = clock.new_single_shot_id(clock.time() + duration).wait();
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
    state: Mutex<RetimeState>,
    resync: gst::ClockTime,
}

#[derive(Default)]
struct RetimeState {
    next_pts: Option<gst::ClockTime>,
    /// The samples' rate and bytes per frame.
    format: CapsCache<(u32, usize)>,
}

impl Default for Retimer {
    fn default() -> Self {
        Self::with_resync(RESYNC)
    }
}

impl Retimer {
    /// Resyncing to the clock whenever arrival is off by more than `resync`.
    pub fn with_resync(resync: gst::ClockTime) -> Self {
        Self { state: Mutex::default(), resync }
    }

    /// The sample's buffer (sharing its memory: no sample copy) stamped for `now`, and its caps.
    pub fn retime(&self, sample: &gst::Sample, now: gst::ClockTime) -> Option<(gst::Buffer, gst::Caps)> {
        // A reference to the sample's caps, not a copy (`CapsCache::get`): a sender compares
        // them with the last ones for every buffer.
        let (buffer, caps) = (sample.buffer()?, sample.caps_owned()?);
        let (pts, duration) = {
            let mut st = self.state.lock().ok()?;
            let &(rate, bpf) = st.format.get(&caps, rate_and_bpf)?;
            let frames = (buffer.size() / bpf.max(1)) as u64;
            let duration = gst::ClockTime::SECOND.mul_div_floor(frames, u64::from(rate)).unwrap_or(gst::ClockTime::ZERO);
            let pts = match st.next_pts {
                Some(p) if now.absdiff(p) < self.resync => p,
                _ => now,
            };
            st.next_pts = Some(pts + duration);
            (pts, duration)
        };
        let mut out = buffer.copy();
        {
            let out = out.make_mut();
            out.set_pts(pts);
            out.set_dts(gst::ClockTime::NONE);
            out.set_duration(duration);
        }
        Some((out, caps))
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::media::playout::{inserted_samples, Pace};

    /// A period the ramp inserts reaches the track alone, when its buffer was due, and the
    /// buffer one period later: a consumer handling audio as it arrives never gets a packet
    /// and a period at once. (A 100 Hz tone: every period the ramp can take is 10 ms.)
    #[test]
    fn a_ramped_sink_delivers_the_inserted_period_before_its_buffer_in_real_time() {
        gst::init().unwrap();
        let pipeline = gst::Pipeline::new();
        let src = gst::ElementFactory::make("audiotestsrc").property("is-live", true).property("freq", 100.0f64).property("volume", 0.4f64).property("samplesperbuffer", 960i32).build().unwrap();
        let track = TrackCore::new("audio");
        let ramp = Arc::new(PlayoutRamp::idle());
        let sink = appsink_into_through(&track, true, Some(ramp.clone()));
        let caps = gst::ElementFactory::make("capsfilter").property("caps", raw_caps(RATE, 1)).build().unwrap();
        pipeline.add_many([&src, &caps, sink.upcast_ref()]).unwrap();
        gst::Element::link_many([&src, &caps, sink.upcast_ref()]).unwrap();
        let arrivals: Arc<Mutex<Vec<(Instant, u32, usize)>>> = Arc::default();
        let seen = arrivals.clone();
        track.add_consumer(Arc::new(move |s: &gst::Sample| {
            let len = s.buffer().map_or(0, |b| b.size() / 2);
            seen.lock().unwrap().push((Instant::now(), inserted_samples(s), len));
        }));
        pipeline.set_state(gst::State::Playing).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        // 50 ms at 5 % of stream time: a 10 ms period about every 200 ms.
        ramp.grow(sink.upcast_ref(), gst::ClockTime::from_mseconds(50), Pace::CATCH_UP);
        std::thread::sleep(Duration::from_millis(1500));
        pipeline.set_state(gst::State::Null).unwrap();
        let arrivals = arrivals.lock().unwrap();
        let periods: Vec<usize> = (0..arrivals.len()).filter(|&i| arrivals[i].1 > 0).collect();
        assert!(periods.len() >= 4, "{} periods inserted", periods.len());
        for &i in &periods {
            let (at, inserted, len) = arrivals[i];
            assert_eq!((inserted, len), (480, 480), "a period alone, 10 ms");
            let (next, more, next_len) = arrivals.get(i + 1).copied().expect("the buffer follows its period");
            assert_eq!((more, next_len), (0, 960), "then the buffer, whole");
            let waited = next.duration_since(at);
            assert!(waited >= Duration::from_micros(9500), "the buffer followed its period after {waited:?}, not 10 ms");
        }
    }
}
