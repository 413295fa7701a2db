//! The playout delay of a new receive stream: it starts small and grows to the full jitter
//! buffer latency over the stream's first seconds.
//!
//! A receive sink plays each buffer at its arrival (PTS) + the pipeline latency (jitter
//! buffer + headroom): the jitter buffer's latency is a fixed playout delay that absorbs
//! network jitter. Applied from the first packet it also delays first audio by all of it
//! (50 ms by default). Like WebRTC's NetEq, which starts near zero delay and raises its
//! target as it observes jitter, a new stream here starts with no delay (the sink's
//! `ts-offset` at −latency: a buffer later than its time is played at once) and the delay
//! grows at 1 % of real time until it is the whole playout delay: 5 s for the default
//! 50 ms. Growing the delay means delivering slightly
//! slower than real time, so 1 % is chosen to stay within what the mixer's input FIFO follows
//! without a gap (`mixer/fifo.rs`: up to 1.25 % drift); nothing is dropped or inserted.
//! During those seconds jitter larger than the current delay reaches the consumer as late
//! frames (a sink plays late buffers at once), not as loss.

use std::sync::Mutex;

use gst::prelude::*;

/// Delay added per unit of stream time: 1 % (10 µs per ms).
const RAMP_DIVISOR: u64 = 100;

pub struct PlayoutRamp {
    /// The playout delay (ns) the sink's ts-offset starts below 0 by.
    latency_ns: u64,
    state: Mutex<Ramp>,
}

enum Ramp {
    /// No sample yet.
    Waiting,
    /// Growing since the sample with this PTS.
    Running(gst::ClockTime),
    Done,
}

impl PlayoutRamp {
    /// Start `sink` playing `latency` earlier than the pipeline's playout delay; None if
    /// there is nothing to ramp (a zero latency).
    pub fn start(sink: &gst::Element, latency: gst::ClockTime) -> Option<Self> {
        if latency.is_zero() {
            return None;
        }
        sink.set_property("ts-offset", -(latency.nseconds() as i64));
        Some(Self { latency_ns: latency.nseconds(), state: Mutex::new(Ramp::Waiting) })
    }

    /// Called for each sample the sink renders, with its PTS: moves ts-offset towards 0.
    pub fn advance(&self, sink: &gst::Element, pts: Option<gst::ClockTime>) {
        let Some(pts) = pts else { return };
        let offset = {
            let Ok(mut state) = self.state.lock() else { return };
            match *state {
                Ramp::Done => return,
                Ramp::Waiting => {
                    *state = Ramp::Running(pts);
                    return;
                }
                Ramp::Running(first) => {
                    let grown = pts.saturating_sub(first).nseconds() / RAMP_DIVISOR;
                    if grown >= self.latency_ns {
                        *state = Ramp::Done;
                        0
                    } else {
                        -((self.latency_ns - grown) as i64)
                    }
                }
            }
        };
        sink.set_property("ts-offset", offset);
    }

    #[cfg(test)]
    fn is_done(&self) -> bool {
        self.state.lock().map(|s| matches!(*s, Ramp::Done)).unwrap_or(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offset(sink: &gst::Element) -> i64 {
        sink.property::<i64>("ts-offset")
    }

    #[test]
    fn grows_the_delay_at_one_percent_until_the_full_latency() {
        gst::init().unwrap();
        let sink = gst::ElementFactory::make("appsink").build().unwrap();
        let ms = gst::ClockTime::from_mseconds;
        let ramp = PlayoutRamp::start(&sink, ms(40)).unwrap();
        assert_eq!(offset(&sink), -40_000_000);
        ramp.advance(&sink, Some(ms(1000)));
        assert_eq!(offset(&sink), -40_000_000);
        // 1 s of stream later: 10 ms more delay.
        ramp.advance(&sink, Some(ms(2000)));
        assert_eq!(offset(&sink), -30_000_000);
        ramp.advance(&sink, Some(ms(4999)));
        assert_eq!(offset(&sink), -10_000);
        assert!(!ramp.is_done());
        ramp.advance(&sink, Some(ms(5000)));
        assert_eq!(offset(&sink), 0);
        assert!(ramp.is_done());
        ramp.advance(&sink, Some(ms(9000)));
        assert_eq!(offset(&sink), 0);
    }

    #[test]
    fn nothing_to_ramp_at_zero_latency() {
        gst::init().unwrap();
        let sink = gst::ElementFactory::make("appsink").build().unwrap();
        assert!(PlayoutRamp::start(&sink, gst::ClockTime::ZERO).is_none());
        assert_eq!(offset(&sink), 0);
    }
}
