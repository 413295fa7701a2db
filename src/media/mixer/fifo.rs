//! One mixer input's FIFO, kept near a target depth against clock drift.
//!
//! Every producer runs on its own clock (a GStreamer pipeline, an RTP sender's sound card, a
//! JS `setInterval`), the mixer on the system clock. Over minutes even 100 ppm matters, and a
//! JS pusher can be off by a percent. Without control the FIFO of a fast input grows without
//! bound (latency) and a slow one underruns every few seconds (gaps).
//!
//! Control (per input):
//! - The controlled quantity is the *minimum* depth seen just before a read over a block of
//!   `BLOCK` ticks. The minimum, not the mean, because producers deliver in chunks (10 ms from
//!   native sources, 20 ms from an Opus RTP stream, bursts from JS): the minimum is the headroom
//!   that protects against underrun whatever the chunk size.
//! - The band is [FRAME + headroom, + 15 ms], the headroom adapting to the input's jitter
//!   (`HEADROOM_MIN`: raised by each underrun, relaxed after calm periods).
//! - Outside the band, each 10 ms frame is rendered from `FRAME ± k` input
//!   samples by linear interpolation: a uniform time-stretch of at most `MAX_STRETCH`/`FRAME`
//!   (1.25 %, about 21 cents), continuous across frame boundaries, so there is no dropped or
//!   inserted sample to click. The rate is proportional to the distance outside the band
//!   (fractional, carried from frame to frame), and the estimate is corrected for what this
//!   block already consumed, so the loop does not overshoot.
//! - A burst beyond `HARD_MAX` is cut back to `TARGET` at once with a `XFADE`-sample crossfade.
//! - An underrun (the input stopped, or fell far behind) plays what is left, decays from the last
//!   value to zero over `DECAY` samples (no step), and re-primes: the input is silent until
//!   `TARGET` samples are queued again, then fades in (the mixer's gain ramp starts at 0).
//!
//! Bounds (48 kHz), at the minimum headroom: the depth before a read never exceeds `HARD_MAX`
//! (80 ms) — the worst-case latency the FIFO can add. On-time inputs settle with a minimum depth
//! in [15, 30] ms (each 5 ms of earned headroom moves that band up by 5 ms). With
//! |drift| ≤ 0.5 % the minimum settles ≤ 2 ms outside that band, so the depth before a read
//! stays below ≈ 32 ms + one producer chunk (42 ms for 10 ms chunks, 52 ms for 20 ms RTP
//! packets) and above ≈ 13 ms (one frame + 3 ms of headroom); drift up to 1.25 % is followed
//! with proportionally larger offsets.

use std::collections::VecDeque;

use crate::media::FRAME_SAMPLES;

pub const FRAME: usize = FRAME_SAMPLES as usize;
/// The controller keeps the block minimum (depth just before a read) within
/// [low, high] = [FRAME + headroom, low + 15 ms]: at least one frame plus the input's jitter
/// headroom. The band is wider than a 10 ms chunk, so an on-time producer is not stretched
/// whatever the phase of its chunks against the ticks.
///
/// The headroom adapts per input (like an adaptive jitter buffer, RFC 3550 §A.8's jitter
/// being the same idea): it starts at `HEADROOM_MIN`, every underrun raises it by
/// `HEADROOM_STEP` (up to `HEADROOM_MAX`), and every `RELAX_TICKS` without one lowers it by
/// 1 ms. A steady producer (a local ToneSource) stays at the minimum latency; one whose
/// chunks arrive with a few ms of jitter (RTP through a jitter buffer that cannot smooth
/// it, bench/latency.js) stops underrunning after one or two raises instead of glitching
/// every few seconds.
pub const HEADROOM_MIN: usize = FRAME / 2;
pub const HEADROOM_STEP: usize = FRAME / 2;
/// 30 ms: with the 15 ms band and a 20 ms chunk the depth then stays below `HARD_MAX`.
pub const HEADROOM_MAX: usize = 3 * FRAME;
/// 30 s without an underrun lowers the headroom by 1 ms.
pub const RELAX_TICKS: u32 = 3000;
const BAND: usize = FRAME + FRAME / 2;
/// Depth at which an input starts (or restarts) playing: 7.5 ms above the band's floor, so
/// that with 10 ms chunks the minimum lands inside the band in any phase.
const START_ABOVE_LOW: usize = FRAME * 3 / 4;
/// The band and start depth at the minimum headroom (15 ms, 30 ms and 22.5 ms).
pub const LOW: usize = FRAME + HEADROOM_MIN;
pub const HIGH: usize = LOW + BAND;
pub const TARGET: usize = LOW + START_ABOVE_LOW;
/// Largest stretch per frame, in samples: 6/480 = 1.25 % speed change (≈ 21 cents).
pub const MAX_STRETCH: f64 = 6.0;
/// Proportional gain: 1 sample per frame (0.21 %) at the band edge, plus 1 per 64 samples
/// (1.3 ms) beyond it. A 0.5 % drift (2.4 samples per frame) settles ≈ 1.9 ms outside.
const STRETCH_STEP: f64 = 64.0;
/// Ticks per measurement block (250 ms: long enough to see the low point of 20 ms chunks and of
/// timer jitter, short enough that drift moves the depth by < 1 ms per block).
pub const BLOCK: u32 = 25;
/// Hard latency bound: 80 ms.
pub const HARD_MAX: usize = 8 * FRAME;
/// Crossfade length when cutting a burst (2 ms).
pub const XFADE: usize = 96;
/// Decay to silence on underrun (1 ms).
pub const DECAY: usize = 48;

/// What a read produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Read {
    /// The frame holds audio (possibly ending in an underrun decay).
    Audio,
    /// Not primed: the frame is silence.
    Silence,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FifoStats {
    pub underruns: u64,
    /// Bursts cut back to the target (each one an audible skip, crossfaded).
    pub overflows: u64,
    /// Net input samples consumed beyond real time by stretching (negative: inserted).
    pub stretched: i64,
    /// Samples dropped by overflow cuts.
    pub dropped: u64,
    /// Largest depth before a read since the last `take_peak`.
    pub peak: usize,
}

pub struct InputFifo {
    buf: VecDeque<i16>,
    primed: bool,
    /// Last sample handed out (start point of an underrun decay).
    last: i16,
    /// Minimum depth this block, normalised to the block start (depth + net stretch so far).
    block_min: usize,
    block_ticks: u32,
    /// Net samples consumed beyond `FRAME` per tick since the block started.
    block_net: i64,
    /// Corrected minimum of the previous block, as of that block's end.
    estimate: Option<i64>,
    /// Fractional stretch carried to the next frame (the rate changes smoothly, not in steps).
    carry: f64,
    /// Jitter headroom above one frame (see `HEADROOM_MIN`).
    headroom: usize,
    /// Ticks read since the last underrun or headroom change.
    calm: u32,
    pub stats: FifoStats,
}

impl Default for InputFifo {
    fn default() -> Self {
        Self {
            buf: VecDeque::with_capacity(HARD_MAX + FRAME * 4),
            primed: false,
            last: 0,
            block_min: usize::MAX,
            block_ticks: 0,
            block_net: 0,
            estimate: None,
            carry: 0.0,
            headroom: HEADROOM_MIN,
            calm: 0,
            stats: FifoStats::default(),
        }
    }
}

impl InputFifo {
    pub fn depth(&self) -> usize {
        self.buf.len()
    }

    /// The current jitter headroom in samples.
    pub fn headroom(&self) -> usize {
        self.headroom
    }

    fn low(&self) -> usize {
        FRAME + self.headroom
    }

    fn high(&self) -> usize {
        self.low() + BAND
    }

    fn target(&self) -> usize {
        self.low() + START_ABOVE_LOW
    }

    pub fn is_primed(&self) -> bool {
        self.primed
    }

    pub fn push(&mut self, samples: &[i16]) {
        self.buf.extend(samples.iter().copied());
        if self.primed && self.buf.len() > HARD_MAX {
            self.cut_to(self.target());
        }
        if !self.primed && self.buf.len() > self.target() + FRAME {
            // Not being read yet (no ticks, or just re-priming): keep only the newest audio.
            let excess = self.buf.len() - self.target();
            self.buf.drain(..excess);
        }
    }

    /// Drop the oldest samples down to `keep`, crossfading from the audio that would have
    /// played next into the audio that now plays next.
    fn cut_to(&mut self, keep: usize) {
        let drop = self.buf.len() - keep;
        let fade = XFADE.min(keep);
        for i in 0..fade {
            let w = (i + 1) as i32;
            let old = self.buf[i] as i32;
            let new = self.buf[drop + i] as i32;
            self.buf[drop + i] = ((old * (fade as i32 + 1 - w) + new * w) / (fade as i32 + 1)) as i16;
        }
        self.buf.drain(..drop);
        self.stats.overflows += 1;
        self.stats.dropped += drop as u64;
        self.reset_control();
    }

    fn reset_control(&mut self) {
        self.block_min = usize::MAX;
        self.block_ticks = 0;
        self.block_net = 0;
        self.estimate = None;
        self.carry = 0.0;
    }

    /// Stretch for this frame: positive consumes more input (input fast), negative less.
    fn stretch(&mut self) -> i64 {
        let Some(estimate) = self.estimate else { return 0 };
        let min = estimate - self.block_net;
        let (low, high) = (self.low() as i64, self.high() as i64);
        let beyond = if min > high {
            (min - high) as f64
        } else if min < low {
            (min - low) as f64
        } else {
            self.carry = 0.0;
            return 0;
        };
        let rate = (beyond.signum() + beyond / STRETCH_STEP).clamp(-MAX_STRETCH, MAX_STRETCH);
        self.carry += rate;
        let k = self.carry.trunc();
        self.carry -= k;
        k as i64
    }

    /// Fill `out` with the next 10 ms.
    pub fn read(&mut self, out: &mut [i16; FRAME]) -> Read {
        let depth = self.buf.len();
        self.stats.peak = self.stats.peak.max(depth);
        if !self.primed {
            if depth < self.target() {
                out.fill(0);
                return Read::Silence;
            }
            self.primed = true;
            self.reset_control();
        }
        if depth < FRAME {
            self.underrun(out);
            return Read::Audio;
        }

        let mut k = self.stretch();
        // Never consume what is not there (the interpolation reads one sample past the frame).
        if k > 0 && FRAME as i64 + k + 1 > depth as i64 {
            k = (depth as i64 - FRAME as i64 - 1).max(0);
        }
        let consume = (FRAME as i64 + k) as usize;
        if k == 0 {
            for (o, s) in out.iter_mut().zip(self.buf.drain(..FRAME)) {
                *o = s;
            }
        } else {
            // Output sample i sits at input position i·consume/FRAME: uniform spacing, and the
            // next frame starts exactly `consume` further on, so the stretch is seamless.
            let (a, b) = self.buf.as_slices();
            let at = |j: usize| if j < a.len() { a[j] } else { b.get(j - a.len()).copied().unwrap_or(0) };
            for (i, o) in out.iter_mut().enumerate() {
                let num = i * consume;
                let j = num / FRAME;
                let frac = (num % FRAME) as i32;
                let s0 = at(j) as i32;
                let s1 = if j + 1 < depth { at(j + 1) as i32 } else { s0 };
                *o = (s0 + ((s1 - s0) * frac) / FRAME as i32) as i16;
            }
            self.buf.drain(..consume);
            self.stats.stretched += k;
        }
        self.last = out[FRAME - 1];
        self.calm += 1;
        if self.calm >= RELAX_TICKS && self.headroom > HEADROOM_MIN {
            self.headroom -= FRAME / 10;
            self.calm = 0;
        }

        // Measurement, normalised to the block start so that this block's own corrections do
        // not distort it.
        let normalised = (depth as i64 + self.block_net).max(0) as usize;
        self.block_min = self.block_min.min(normalised);
        self.block_net += k;
        self.block_ticks += 1;
        if self.block_ticks >= BLOCK {
            self.estimate = Some(self.block_min as i64 - self.block_net);
            self.block_min = usize::MAX;
            self.block_ticks = 0;
            self.block_net = 0;
        }
        Read::Audio
    }

    fn underrun(&mut self, out: &mut [i16; FRAME]) {
        let n = self.buf.len();
        for (o, s) in out.iter_mut().zip(self.buf.drain(..)) {
            *o = s;
        }
        let from = if n > 0 { out[n - 1] } else { self.last } as i32;
        for (i, o) in out[n..].iter_mut().enumerate() {
            *o = if i < DECAY { (from * (DECAY - 1 - i) as i32 / DECAY as i32) as i16 } else { 0 };
        }
        self.last = 0;
        self.primed = false;
        self.stats.underruns += 1;
        self.headroom = (self.headroom + HEADROOM_STEP).min(HEADROOM_MAX);
        self.calm = 0;
        self.reset_control();
    }

    /// The peak depth since the previous call.
    pub fn take_peak(&mut self) -> usize {
        std::mem::replace(&mut self.stats.peak, self.buf.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(n0: usize, len: usize, step: f64) -> Vec<i16> {
        (n0..n0 + len).map(|n| (10000.0 * (n as f64 * step).sin()) as i16).collect()
    }

    /// Feed `rate`·FRAME samples per tick (fractional, accumulated) and read one frame per tick.
    fn run(rate: f64, ticks: usize) -> (InputFifo, usize, i32) {
        let mut f = InputFifo::default();
        let mut out = [0i16; FRAME];
        let (mut fed, mut owed, mut max_late_depth, mut max_jump, mut prev) = (0usize, 0.0f64, 0, 0i32, None::<i16>);
        for t in 0..ticks {
            owed += rate * FRAME as f64;
            let n = owed.floor() as usize;
            owed -= n as f64;
            f.push(&sine(fed, n, 0.03));
            fed += n;
            let depth = f.depth();
            if f.read(&mut out) == Read::Audio {
                for &s in out.iter() {
                    if let Some(p) = prev {
                        max_jump = max_jump.max((s as i32 - p as i32).abs());
                    }
                    prev = Some(s);
                }
            }
            if t > ticks / 2 {
                max_late_depth = max_late_depth.max(depth);
            }
        }
        (f, max_late_depth, max_jump)
    }

    #[test]
    fn on_time_input_is_passed_through_untouched() {
        let (f, depth, jump) = run(1.0, 3000);
        assert_eq!(f.stats.stretched, 0);
        assert_eq!(f.stats.underruns, 0);
        assert!(depth <= HIGH + FRAME, "depth {depth}");
        eprintln!("on time: max depth before read {:.1} ms, {:?}", depth as f64 / 48.0, f.stats);
        // A sine of amplitude 10000 at 0.03 rad/sample moves at most 300 per sample.
        assert!(jump <= 301, "jump {jump}");
    }

    #[test]
    fn fast_input_keeps_bounded_depth_without_steps() {
        let (f, depth, jump) = run(1.005, 6000); // 60 s at +0.5 %
        assert_eq!(f.stats.overflows, 0);
        assert!(depth <= HIGH + FRAME + 3 * STRETCH_STEP as usize, "depth {depth}");
        eprintln!("+0.5 %: max depth before read {:.1} ms, {:?}", depth as f64 / 48.0, f.stats);
        assert!(f.stats.stretched > 0);
        // Stretching by ≤ 1.25 % changes the per-sample slope by ≤ 1.25 %.
        assert!(jump <= 310, "jump {jump}");
    }

    #[test]
    fn slow_input_keeps_playing_without_underruns() {
        let (f, depth, jump) = run(0.995, 6000);
        assert_eq!(f.stats.underruns, 0, "{:?}", f.stats);
        assert!(f.stats.stretched < 0);
        assert!(depth >= FRAME);
        eprintln!("-0.5 %: {:?}", f.stats);
        assert!(jump <= 310, "jump {jump}");
    }

    #[test]
    fn burst_is_cut_back_with_a_crossfade() {
        let mut f = InputFifo::default();
        let mut out = [0i16; FRAME];
        f.push(&sine(0, TARGET, 0.03));
        assert_eq!(f.read(&mut out), Read::Audio);
        f.push(&sine(TARGET, HARD_MAX, 0.03));
        assert_eq!(f.stats.overflows, 1);
        assert_eq!(f.depth(), TARGET);
    }

    #[test]
    fn underrun_decays_then_reprimes() {
        let mut f = InputFifo::default();
        let mut out = [0i16; FRAME];
        f.push(&vec![8000i16; TARGET]);
        while f.stats.underruns == 0 {
            assert_eq!(f.read(&mut out), Read::Audio);
        }
        // What was left plays, then decays from 8000 to 0 within DECAY samples: no step.
        let left = TARGET % FRAME;
        assert_eq!(out[left.saturating_sub(1)], 8000);
        assert_eq!(out[left + DECAY], 0);
        assert!(out.windows(2).all(|w| (w[0] as i32 - w[1] as i32).abs() <= 8000 / DECAY as i32 + 1));
        // It restarts with more headroom: 5 ms more before it plays again.
        assert_eq!(f.headroom(), HEADROOM_MIN + HEADROOM_STEP);
        f.push(&vec![1i16; TARGET]);
        assert_eq!(f.read(&mut out), Read::Silence);
        f.push(&vec![1i16; HEADROOM_STEP]);
        assert_eq!(f.read(&mut out), Read::Audio);
    }

    /// 20 ms chunks on time except one in a hundred, 25 ms late (a hiccup the block minimum
    /// has not seen yet): the first hiccups underrun and raise the headroom, later ones do not.
    #[test]
    fn rare_late_chunks_earn_headroom_then_stop_underrunning() {
        let mut f = InputFifo::default();
        let mut out = [0i16; FRAME];
        let mut fed = 0;
        let mut late_underruns = 0;
        let mut pending: Vec<usize> = Vec::new();
        for ms in 0..40_000usize {
            if ms % 20 == 0 {
                pending.push(ms + if ms % 2000 == 1000 { 25 } else { 0 });
            }
            while let Some(pos) = pending.iter().position(|&due| due <= ms) {
                pending.remove(pos);
                f.push(&sine(fed, 2 * FRAME, 0.03));
                fed += 2 * FRAME;
            }
            if ms % 10 == 5 {
                let before = f.stats.underruns;
                f.read(&mut out);
                if ms > 20_000 && f.stats.underruns > before {
                    late_underruns += 1;
                }
            }
        }
        eprintln!("hiccups: headroom {:.1} ms, {:?}", f.headroom() as f64 / 48.0, f.stats);
        assert!(f.stats.underruns >= 1, "{:?}", f.stats);
        assert_eq!(late_underruns, 0, "{:?}", f.stats);
        assert!(f.headroom() > HEADROOM_MIN && f.headroom() <= HEADROOM_MAX);
    }

    #[test]
    fn headroom_relaxes_after_calm() {
        let mut f = InputFifo::default();
        let mut out = [0i16; FRAME];
        f.push(&vec![100i16; TARGET]);
        while f.stats.underruns == 0 {
            f.read(&mut out);
        }
        let raised = f.headroom();
        let mut fed = 0;
        for _ in 0..(RELAX_TICKS as usize * 2 + 100) {
            f.push(&sine(fed, FRAME, 0.03));
            fed += FRAME;
            f.read(&mut out);
        }
        assert!(f.headroom() < raised, "{} !< {}", f.headroom(), raised);
    }
}
