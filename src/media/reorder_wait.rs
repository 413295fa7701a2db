//! How long a plain RTP receive stream (`udp_rtp_source.rs`) waits for a missing packet, grown
//! to cover the reordering the network shows.
//!
//! rtpjitterbuffer forwards packets in order at once; it only waits when one is missing,
//! until its `latency` past the packet's expected time, then declares it lost (the decoder
//! conceals it) and drops it if it still comes. On a path that reorders (netem's jitter,
//! ECMP, Wi-Fi retries), a wait shorter than the reordering turns every overtaken packet into
//! a loss: with ±15 ms of netem jitter on 20 ms packets and the 5 ms default, 0.6–0.9 % of
//! the packets were lost and concealed (bench/fidelity.js, scenario jitter), each an audible
//! artefact in a tone.
//!
//! So the wait starts at the configured latency and rises to three times the stream's
//! interarrival jitter once that is beyond 6.7 ms (a path whose delay varies by more than the
//! packet spacing reorders), and, when a packet arrives reordered later than the wait minus
//! `MARGIN`, to cover it (rounded up to `STEP`, at most the
//! configured maximum). The stream's playout delay is the same number (the sink plays each
//! buffer at its time + the pipeline latency), and raising it at once would hold the output
//! back by the difference: a gap. Instead the sink's ts-offset first drops by the difference
//! and the delay then grows by whole pitch periods at 5 % of stream time (`PlayoutRamp::grow`,
//! `Pace::CATCH_UP`: 40 ms in 0.8 s), the way a new stream's delay grows but faster: no gap,
//! no pitch change. Until it has grown, a reordered packet is still waited for, and reaches the
//! consumer late instead of lost, and the consumer sees the network's jitter (at 1 %, a mixer
//! input underran and overflowed in the 4 s the delay took to grow).
//!
//! The wait does not shrink again during the stream: a path that reordered once tends to
//! again, and shrinking it would mean removing audio.
//!
//! Threads: `observe` runs on the udpsrc streaming thread (under no lock); the change is
//! applied on GStreamer's async-call thread pool (`call_async`), since the latency
//! recalculation walks the whole pipeline.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use super::playout::{Pace, PlayoutRamp};

/// Waiting this much longer than the lateness seen covers the same reordering again with
/// some spread (the estimate is taken against the newest packet's arrival).
const MARGIN_MS: u64 = 5;
/// The wait moves in steps of 5 ms: a few raises, not one per packet.
const STEP_MS: u32 = 5;
/// Interarrival jitter below which the wait is left to reordering alone: with delays spread
/// uniformly over ±a, J ≈ 2a/3, and 20 ms packets overtake one another only once 2a > 20 ms.
const JITTER_FLOOR_NS: u64 = 6_700_000;

pub struct ReorderWait {
    /// The wait wanted (ms): the jitter buffer latency and the pipeline latency follow it.
    target: AtomicU32,
    max: u32,
    /// The wait applied so far (ms); locked only by the async applier.
    applied: Mutex<u32>,
    pipeline: gst::glib::WeakRef<gst::Pipeline>,
    jitterbuffer: gst::glib::WeakRef<gst::Element>,
    sink: gst::glib::WeakRef<gst::Element>,
    ramp: Arc<PlayoutRamp>,
}

impl ReorderWait {
    /// `ramp` is the one the sink's samples pass through.
    pub fn new(pipeline: &gst::Pipeline, jitterbuffer: &gst::Element, sink: &gst::Element, ramp: Arc<PlayoutRamp>, initial_ms: u32, max_ms: u32) -> Arc<Self> {
        Arc::new(Self {
            target: AtomicU32::new(initial_ms),
            max: max_ms.max(initial_ms),
            applied: Mutex::new(initial_ms),
            pipeline: pipeline.downgrade(),
            jitterbuffer: jitterbuffer.downgrade(),
            sink: sink.downgrade(),
            ramp,
        })
    }

    /// The current wait (= playout delay once grown), ms.
    pub fn ms(&self) -> u32 {
        self.target.load(Ordering::Relaxed)
    }

    /// The wait needed for a packet that came `lateness_ns` after its place in time.
    fn needed(&self, lateness_ns: u64) -> u32 {
        let ms = (lateness_ns.div_ceil(1_000_000) + MARGIN_MS).min(u64::from(self.max)) as u32;
        ms.div_ceil(STEP_MS).saturating_mul(STEP_MS).min(self.max)
    }

    /// The stream's interarrival jitter (RFC 3550 §A.8) is `jitter_ns`: a path whose delay
    /// varies by more than the packet spacing reorders, so the wait covers three times the
    /// jitter (uniform ±15 ms of netem delay: J ≈ 10 ms, reordering up to 30 ms) before the
    /// first reordered packet has to be lost to teach it. Below 6.7 ms of jitter (loopback,
    /// a LAN, an SFU next door: J ≈ 0.1–1 ms; a sender paced by a busy Node timer: 2–5 ms),
    /// where 20 ms packets do not overtake one another, it leaves the wait alone, so a steady
    /// path keeps its short delay.
    pub fn observe_jitter(self: &Arc<Self>, jitter_ns: u64) {
        if jitter_ns < JITTER_FLOOR_NS {
            return;
        }
        self.raise(self.needed(3 * jitter_ns));
    }

    /// A reordered packet arrived `lateness_ns` late: raise the wait if it did not cover it.
    pub fn observe(self: &Arc<Self>, lateness_ns: u64) {
        self.raise(self.needed(lateness_ns));
    }

    fn raise(self: &Arc<Self>, need: u32) {
        if self.target.fetch_max(need, Ordering::Relaxed) >= need {
            return;
        }
        let Some(pipeline) = self.pipeline.upgrade() else { return };
        let this = self.clone();
        pipeline.call_async(move |p| this.apply(p));
    }

    /// Bring the jitter buffer, the sink and the pipeline to the current target. Calls may
    /// run in any order and at once (a thread pool): each applies whatever target is
    /// current, under `applied`.
    fn apply(&self, pipeline: &gst::Pipeline) {
        let (Some(jitterbuffer), Some(sink)) = (self.jitterbuffer.upgrade(), self.sink.upgrade()) else { return };
        let Ok(mut applied) = self.applied.lock() else { return };
        let target = self.target.load(Ordering::Relaxed);
        if target <= *applied {
            return;
        }
        let by = target - *applied;
        // ts-offset first: until the pipeline latency rises, buffers play earlier (a consumer
        // sees them early, harmlessly), never later.
        self.ramp.grow(&sink, gst::ClockTime::from_mseconds(u64::from(by)), Pace::CATCH_UP);
        jitterbuffer.set_property("latency", target);
        pipeline.set_latency(gst::ClockTime::from_mseconds(u64::from(target)));
        // It fails, harmlessly, while the source is stopping.
        let _ = pipeline.recalculate_latency();
        gst::debug!(super::tsm::CAT, "RTP receive wait raised by {by} ms to {target} ms for a reordered packet");
        *applied = target;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_covers_the_lateness_with_a_margin_in_steps_up_to_the_maximum() {
        gst::init().unwrap();
        let pipeline = gst::Pipeline::new();
        let jb = gst::ElementFactory::make("identity").build().unwrap();
        let sink = gst::ElementFactory::make("appsink").build().unwrap();
        let ramp = Arc::new(PlayoutRamp::idle());
        let w = ReorderWait::new(&pipeline, &jb, &sink, ramp.clone(), 5, 60);
        let ms = 1_000_000;
        assert_eq!(w.needed(0), 5);
        assert_eq!(w.needed(ms), 10);
        assert_eq!(w.needed(21 * ms), 30);
        assert_eq!(w.needed(200 * ms), 60);
        assert_eq!(ReorderWait::new(&pipeline, &jb, &sink, ramp, 80, 60).max, 80);
    }
}
