//! Pitch-preserving time-scale modification (TSM): a stream is made longer or shorter by
//! inserting or removing one whole pitch period, never by resampling.
//!
//! The method is the one of WebRTC NetEq's `Accelerate` / `PreemptiveExpand`
//! (modules/audio_coding/neteq/time_stretch.cc): find the pitch period by normalised
//! autocorrelation, coarse on a 4× decimated copy and refined at the full rate, and only act
//! where the signal is periodic (correlation ≥ `CORR_MIN`) or quiet; the period is removed or
//! repeated with a linear crossfade over the whole period, which for a periodic signal blends
//! two nearly identical waveforms. A tone keeps its frequency exactly up to the lag's rounding
//! (< 0.5 sample: for a 440 Hz tone a phase step of < 0.03 rad, < 0.05 % of the phase a 20 ms
//! window spans), and there is no sample step (both crossfade ends join the original signal).
//!
//! Resampling by r shifts every frequency by r for as long as it lasts (1.25 % ≈ 21 cents was
//! audible and moved tones off their bins, issue 15); a period insert/drop changes duration
//! only.
//!
//! Also here: periodic extension for concealment (NetEq's `Expand`, reduced to its core: repeat
//! the last pitch period; `Extension`) and the alignment that merges returning audio into it
//! (`best_alignment`), used when a mixer input underruns.

use std::collections::VecDeque;
use std::sync::LazyLock;

/// `GST_DEBUG=gstpc-tsm:6` logs every period inserted or removed and every concealment.
pub static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("gstpc-tsm", gst::DebugColorFlags::empty(), Some("Pitch-period insertion/removal and concealment"))
});

/// Shortest lag searched: 2.5 ms (a 400 Hz pitch; higher tones match at a multiple).
pub const MIN_LAG: usize = 120;
/// Longest lag searched: 15 ms (a 67 Hz pitch), as NetEq's 2.5–15 ms pitch range.
pub const MAX_LAG: usize = 720;
/// Correlation window: 10 ms.
pub const WIN: usize = 480;
/// Periodic enough to repeat or remove a period: NetEq's accelerate threshold (0.9, Q14 14746).
pub const CORR_MIN: f32 = 0.9;
/// Quiet enough that any lag will do (RMS ≈ −50 dBFS): nothing audible to mismatch.
pub const QUIET_RMS: f32 = 100.0;
const DECIM: usize = 4;
/// Coarse peaks refined at the full rate.
const PEAKS: usize = 4;

/// The result of a lag search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Match {
    pub lag: usize,
    /// Normalised correlation at `lag` (1 = identical shape).
    pub corr: f32,
    /// The reference segment is below `QUIET_RMS`.
    pub quiet: bool,
}

impl Match {
    /// Whether a period of this lag may be inserted or removed inaudibly.
    pub fn usable(&self) -> bool {
        self.quiet || self.corr >= CORR_MIN
    }
}

fn ncc<A: Fn(usize) -> f32>(at: &A, a: usize, b: usize, n: usize, step: usize) -> f32 {
    let (mut ab, mut aa, mut bb) = (0.0f32, 0.0f32, 0.0f32);
    let mut i = 0;
    while i < n {
        let (x, y) = (at(a + i), at(b + i));
        ab += x * y;
        aa += x * x;
        bb += y * y;
        i += step;
    }
    ab / (aa * bb).sqrt().max(1e-3)
}

/// Search the lag `L` in [lo, hi] for which `x[a + dir·L ..][..n]` best matches `x[a..][..n]`
/// (`dir` = +1: a later segment, for removing; −1: an earlier one, for repeating), among the
/// true peaks of the correlation (local maxima at the full rate) no longer than `limit`. Only a
/// true peak is a pitch period: the best lag of a range cut short of the period (a 229 Hz tone,
/// period 209.4, searched up to 200) still correlates > 0.9 but is a frequency step. The
/// caller guarantees that every compared sample is inside `x`. Cost: ≈ 40 k multiply-adds for
/// the full range (coarse pass on a 4× decimated copy, refine ±4 samples around the four best
/// coarse peaks).
pub fn find_lag(x: &[i16], a: usize, dir: isize, lo: usize, hi: usize, n: usize, limit: usize) -> Match {
    let lo = lo.max(1);
    let hi = hi.max(lo);
    // Quiet means the whole span a period may be taken from or crossfaded into, not just
    // the reference: a quiet reference with a chirp's onset one lag further would blend the
    // onset away (or repeat it as an echo) at a lag picked without alignment.
    let (from, to) = if dir > 0 { (a, a + hi + n) } else { (a - hi, a + n) };
    let peak_energy = x[from..to]
        .chunks(n.max(1))
        .map(|c| c.iter().map(|&s| (s as f32) * (s as f32)).sum::<f32>() / c.len() as f32)
        .fold(0.0f32, f32::max);
    let quiet = peak_energy.sqrt() < QUIET_RMS;
    if quiet {
        // Nothing audible to align: pay as much as is owed.
        return Match { lag: limit.clamp(lo, hi), corr: 0.0, quiet };
    }
    let pos = |l: usize| (a as isize + dir * l as isize) as usize;
    // Coarse: 4-sample means (a box low-pass, enough to locate the peak to ±4 samples).
    // Aligned so that the reference starts on a decimated sample.
    let (first, last) = if dir > 0 { (a, a + hi + n) } else { (a - hi / DECIM * DECIM, a + n) };
    let dec: Vec<f32> =
        x[first..last].chunks_exact(DECIM).map(|c| c.iter().map(|&s| s as f32).sum::<f32>()).collect();
    let at_d = |i: usize| dec.get(i).copied().unwrap_or(0.0);
    let ref_d = (a - first) / DECIM;
    let nd = n / DECIM;
    let (lo_d, hi_d) = (lo.div_ceil(DECIM), hi / DECIM);
    // A tone has a peak at every multiple of its period; the one whose lag is closest to an
    // integer only shows at the full rate, so several coarse peaks are refined.
    let mut peaks = [(f32::MIN, lo); PEAKS];
    let mut prev = (f32::MIN, f32::MIN);
    let mut scores = Vec::with_capacity(hi_d.saturating_sub(lo_d) + 1);
    for ld in lo_d..=hi_d.max(lo_d).min(limit / DECIM + 1) {
        let b = (ref_d as isize + dir * ld as isize) as usize;
        if b + nd > dec.len() {
            break;
        }
        scores.push((ld, ncc(&at_d, ref_d, b, nd, 1)));
    }
    for (i, &(ld, c)) in scores.iter().enumerate() {
        let next = scores.get(i + 1).map_or(f32::MIN, |s| s.1);
        // Local maxima only, so the candidates are different peaks.
        if c >= prev.1 && c >= next {
            if let Some(k) = peaks.iter().position(|p| c > p.0) {
                peaks.copy_within(k..PEAKS - 1, k + 1);
                peaks[k] = (c, ld * DECIM);
            }
        }
        prev = (prev.1, c);
    }
    let at = |i: usize| x[i] as f32;
    let mut best = Match { lag: lo, corr: 0.0, quiet };
    for &(c, l0) in &peaks {
        if c == f32::MIN {
            continue;
        }
        let (from, to) = (l0.saturating_sub(DECIM + 1).max(lo), (l0 + DECIM + 1).min(hi));
        let cs: Vec<f32> = (from..=to).map(|l| ncc(&at, a, pos(l), n, 1)).collect();
        let Some((i, &c)) = cs.iter().enumerate().max_by(|p, q| p.1.total_cmp(q.1)) else { continue };
        // Inside the refined window, and not at the range's ends: a true peak.
        let l = from + i;
        if i == 0 || i == cs.len() - 1 || l > limit {
            continue;
        }
        if c > best.corr {
            best = Match { lag: l, corr: c, quiet };
        }
    }
    best
}

/// Crossfade weight of the second signal at step `i` of `len` (linear: for two aligned periods
/// of one waveform a linear crossfade keeps the amplitude).
#[inline]
fn w(i: usize, len: usize) -> f32 {
    (i + 1) as f32 / (len + 1) as f32
}

#[inline]
fn blend(a: i16, b: i16, w: f32) -> i16 {
    (a as f32 * (1.0 - w) + b as f32 * w).round().clamp(i16::MIN as f32, i16::MAX as f32) as i16
}

/// Remove `lag` samples from the front of `buf` (≥ 2·lag long): the first period is crossfaded
/// into the second, so the output starts on the old first sample and ends the crossfade on the
/// old sample 2·lag − 1, followed by the old sample 2·lag.
pub fn drop_period(buf: &mut VecDeque<i16>, lag: usize) {
    debug_assert!(buf.len() >= 2 * lag);
    for i in 0..lag {
        buf[lag + i] = blend(buf[i], buf[lag + i], w(i, lag));
    }
    buf.drain(..lag);
}

/// Insert `lag` samples before the front of `buf` (≥ lag long), after `hist` (what was output
/// last, ≥ lag long): the inserted period fades from the upcoming audio (continuing `hist`)
/// into the last period of `hist` (which the upcoming audio continues).
pub fn insert_period(buf: &mut VecDeque<i16>, hist: &[i16], lag: usize) {
    let upcoming: Vec<i16> = buf.iter().take(lag).copied().collect();
    for &s in period_before(&upcoming, hist, lag).iter().rev() {
        buf.push_front(s);
    }
}

/// The period `insert_period` puts before `upcoming` (≥ lag long): `hist ++ upcoming` played as
/// `hist ++ period ++ upcoming`.
pub fn period_before(upcoming: &[i16], hist: &[i16], lag: usize) -> Vec<i16> {
    debug_assert!(upcoming.len() >= lag && hist.len() >= lag);
    let past = &hist[hist.len() - lag..];
    (0..lag).map(|i| blend(upcoming[i], past[i], w(i, lag))).collect()
}

/// A periodic continuation of the audio played last (NetEq's Expand, reduced to its core:
/// repeat the last pitch period), for concealment.
///
/// The period is fractional (the integer correlation peak refined to 1/64 sample), and the
/// continuation is read between samples (linear interpolation). Unlike a period insertion (crossfaded over a whole period, where a fraction
/// of a sample of phase error blends away), the continuation is spliced onto the audio just
/// played, so an integer period's phase error is a step there: a 440 Hz tone (period 109.09,
/// taken as 218) stepped by ≈ 1.5 % of its amplitude, which the fidelity checker flags as a
/// click.
#[derive(Clone)]
pub struct Extension {
    hist: Vec<i16>,
    period: f32,
    /// Samples of continuation produced so far.
    j: usize,
}

impl Extension {
    /// Continue `hist` (what was played last, oldest first, ≥ `MAX_LAG + WIN` long).
    pub fn new(hist: &[i16]) -> Self {
        let h = hist.len();
        let a = h - WIN;
        let m = find_lag(hist, a, -1, MIN_LAG, MAX_LAG, WIN, MAX_LAG);
        let at = |i: usize| hist[i] as f32;
        let mut period = m.lag as f32;
        if m.corr > 0.0 && m.lag + 1 < a {
            // The period within a sample of the lag (in 1/64 steps) whose interpolated copy
            // one period back matches the last `WIN` samples best. Every repetition of the
            // period repeats its error as a step (a parabola through the correlation peak was
            // 0.2 sample off for a coded 440 Hz tone continued with 327: a residual step every
            // 7 ms that the fidelity checker counts as clicks).
            let err = |p: f32| -> f32 {
                (0..WIN)
                    .map(|i| {
                        let t = (a + i) as f32 - p;
                        let k = t.floor() as usize;
                        let f = t - k as f32;
                        let d = at(a + i) - (at(k) * (1.0 - f) + at(k + 1) * f);
                        d * d
                    })
                    .sum()
            };
            let mut best = (f32::MAX, period);
            for step in -64i32..=64 {
                let p = m.lag as f32 + step as f32 / 64.0;
                let e = err(p);
                if e < best.0 {
                    best = (e, p);
                }
            }
            period = best.1;
        }
        Self { hist: hist.to_vec(), period, j: 0 }
    }

    /// Samples over which a repetition's end is crossfaded into the period before it: a
    /// quarter period, at most 2.5 ms.
    pub fn overlap(&self) -> usize {
        (self.period / 4.0).min(120.0) as usize
    }

    /// The history sample one period before the one `back` samples before its end
    /// (`back` ≥ 1), interpolated.
    pub fn sample_before(&self, back: usize) -> f32 {
        self.at((self.hist.len() - back) as f32 - self.period)
    }

    /// The period repeated, in samples (fractional).
    pub fn period(&self) -> f32 {
        self.period
    }

    fn at(&self, pos: f32) -> f32 {
        let h = self.hist.len();
        let pos = pos.max(0.0);
        let i = pos.floor() as usize;
        let f = pos - i as f32;
        self.hist[i.min(h - 1)] as f32 * (1.0 - f) + self.hist[(i + 1).min(h - 1)] as f32 * f
    }

    /// The next sample of the continuation, at full level.
    ///
    /// Each repetition ends crossfaded (over a quarter period, ≤ 2.5 ms) into the period before
    /// it, which the next repetition's start naturally follows (ITU-T G.711 Appendix I does the
    /// same at its pitch buffer's wrap): coded audio is a tone plus codec noise, and the noise
    /// does not repeat with the period, so a bare wrap stepped by the noise level at every
    /// repetition.
    pub fn next_sample(&mut self) -> f32 {
        let h = self.hist.len();
        let p = self.period;
        let j = self.j;
        self.j += 1;
        // The sample whole periods before `h + j`, at most one sample before `h`.
        let k = ((j + 1) as f32 / p).ceil();
        let pos = (h + j) as f32 - k * p;
        let v = self.at(pos);
        let overlap = self.overlap() as f32;
        let to_end = (h - 1) as f32 - pos;
        if to_end < overlap && pos - p >= 0.0 {
            let w = 1.0 - to_end / overlap;
            return v * (1.0 - w) + self.at(pos - p) * w;
        }
        v
    }
}

/// Where `x` best continues `ahead` (≥ n long, the audio that would play next): the shift in
/// `shifts` (`x` ≥ its end + n long) whose `x[shift..][..n]` correlates best with it. For
/// merging new audio into a concealment without a phase jump (NetEq's Merge).
pub fn best_alignment(ahead: &[f32], x: &[i16], shifts: std::ops::RangeInclusive<usize>, n: usize) -> usize {
    let mut best = (f32::MIN, *shifts.start());
    for d in shifts {
        let (mut ab, mut bb, mut aa) = (0.0f32, 0.0f32, 0.0f32);
        for i in 0..n {
            let (p, q) = (ahead[i], x[d + i] as f32);
            ab += p * q;
            aa += p * p;
            bb += q * q;
        }
        let c = ab / (aa * bb).sqrt().max(1e-3);
        if c > best.0 {
            best = (c, d);
        }
    }
    best.1
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// Concealment: continue `hist` (≥ `MAX_LAG + WIN` long) periodically for `out.len()` samples,
    /// fading out with a raised cosine that reaches 0 on the last sample.
    fn fade_out_extension(hist: &[i16], out: &mut [i16]) {
        let mut e = Extension::new(hist);
        let n = out.len();
        for (j, o) in out.iter_mut().enumerate() {
            let g = 0.5 * (1.0 + (std::f32::consts::PI * (j + 1) as f32 / n as f32).cos());
            *o = (e.next_sample() * g).round() as i16;
        }
    }

    pub fn sine(n0: usize, len: usize, freq: f64, amp: f64) -> Vec<i16> {
        (n0..n0 + len).map(|n| (amp * (2.0 * std::f64::consts::PI * freq * n as f64 / 48_000.0).sin()).round() as i16).collect()
    }

    /// Frequency of a tone in `x` from its upward zero crossings (linearly interpolated).
    pub fn zc_freq(x: &[i16]) -> Option<f64> {
        let mut crossings = Vec::new();
        for i in 1..x.len() {
            let (a, b) = (x[i - 1] as f64, x[i] as f64);
            if a < 0.0 && b >= 0.0 {
                crossings.push(i as f64 - 1.0 + (-a) / (b - a));
            }
        }
        if crossings.len() < 3 {
            return None;
        }
        let span = crossings[crossings.len() - 1] - crossings[0];
        Some((crossings.len() - 1) as f64 * 48_000.0 / span)
    }

    /// Every 20 ms window's frequency within `tol` (relative) of `freq`; the largest jump.
    pub fn check_tone(x: &[i16], freq: f64, tol: f64) -> (f64, i32) {
        let mut worst = 0.0f64;
        for w in x.chunks_exact(960) {
            let f = zc_freq(w).expect("a tone");
            worst = worst.max((f / freq - 1.0).abs());
        }
        assert!(worst <= tol, "a 20 ms window is {:.3} % off {freq} Hz", worst * 100.0);
        (worst, max_step(x))
    }

    /// The largest step between neighbouring samples: a click shows as one above the sine's own.
    pub fn max_step(x: &[i16]) -> i32 {
        x.windows(2).map(|w| (w[1] as i32 - w[0] as i32).abs()).max().unwrap_or(0)
    }

    pub fn max_slope(freq: f64, amp: f64) -> i32 {
        // The largest step between samples of the sine itself (+1 for rounding to integers).
        (2.0 * amp * (std::f64::consts::PI * freq / 48_000.0).sin()).ceil() as i32 + 1
    }

    /// Stretch and compress a tone by many period drops / inserts spread through it.
    fn run(freq: f64, insert: bool) {
        let amp = 12_000.0;
        let src = sine(0, 48_000 * 2, freq, amp);
        let mut buf: VecDeque<i16> = src.iter().copied().collect();
        let mut out: Vec<i16> = Vec::new();
        let mut ops = 0;
        while buf.len() > 4 * MAX_LAG {
            // Every 100 ms: one op (a far higher rate than the FIFO ever uses).
            if out.len() > 2 * MAX_LAG {
                let m = if insert {
                    let mut s: Vec<i16> = out[out.len() - MAX_LAG - WIN..].to_vec();
                    let h = s.len();
                    s.extend(buf.iter().take(WIN));
                    find_lag(&s, h, -1, MIN_LAG, MAX_LAG, WIN, MAX_LAG)
                } else {
                    let s: Vec<i16> = buf.iter().take(2 * MAX_LAG + WIN).copied().collect();
                    find_lag(&s, 0, 1, MIN_LAG, MAX_LAG, WIN, MAX_LAG)
                };
                assert!(m.usable(), "{m:?}");
                if insert {
                    insert_period(&mut buf, &out, m.lag);
                } else {
                    drop_period(&mut buf, m.lag);
                }
                ops += 1;
            }
            let n = buf.len().min(4800);
            out.extend(buf.drain(..n));
        }
        let (worst, jump) = check_tone(&out, freq, 0.001);
        let limit = max_slope(freq, amp);
        eprintln!("{freq} Hz {}: {ops} ops, {} → {} samples, worst window {:.4} %, max step {jump} (sine {limit})", if insert { "insert" } else { "drop" }, src.len(), out.len(), worst * 100.0);
        assert!(jump <= limit, "step {jump} > {limit}");
        assert!(ops >= 15);
    }

    #[test]
    fn dropping_periods_keeps_the_frequency_and_makes_no_step() {
        for f in [440.0, 443.7, 700.0, 1100.0, 157.3] {
            run(f, false);
        }
    }

    #[test]
    fn inserting_periods_keeps_the_frequency_and_makes_no_step() {
        for f in [440.0, 443.7, 700.0, 1100.0, 157.3] {
            run(f, true);
        }
    }

    #[test]
    fn noise_is_not_periodic_but_silence_is_quiet() {
        let mut seed = 1u32;
        let noise: Vec<i16> = (0..3000)
            .map(|_| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (seed >> 16) as i16 / 4
            })
            .collect();
        let m = find_lag(&noise, 0, 1, MIN_LAG, MAX_LAG, WIN, MAX_LAG);
        assert!(!m.usable(), "{m:?}");
        let quiet = vec![3i16; 3000];
        assert!(find_lag(&quiet, 0, 1, MIN_LAG, MAX_LAG, WIN, MAX_LAG).usable());
    }

    #[test]
    fn concealment_continues_the_tone_and_fades_to_zero() {
        let (f, amp) = (700.0, 10_000.0);
        let hist = sine(0, MAX_LAG + WIN, f, amp);
        let mut out = vec![0i16; 240];
        fade_out_extension(&hist, &mut out);
        assert_eq!(*out.last().unwrap(), 0);
        let mut all = hist.clone();
        all.extend(&out);
        let jump = max_step(&all);
        assert!(jump <= max_slope(f, amp), "step {jump}");
    }

    /// 60 ms of continuation (many repetitions of the period): on pitch, and no step at the
    /// splice or at any repetition — the second difference of a sine is at most ω²·A, and a
    /// period a fraction of a sample off shows as a spike in it at every repetition.
    #[test]
    fn a_long_continuation_repeats_the_period_without_steps() {
        for f in [229.2, 440.0, 700.0, 1100.0, 1234.5] {
            let amp = 10_000.0;
            let h = MAX_LAG + WIN;
            let hist = sine(0, h, f, amp);
            let mut e = Extension::new(&hist);
            let mut all: Vec<i16> = hist.clone();
            all.extend((0..2880).map(|_| e.next_sample().round() as i16));
            let w = 2.0 * std::f64::consts::PI * f / 48_000.0;
            let bound = (w * w * amp).ceil() as i32 + 12;
            let worst = all[h - 100..].windows(3).map(|x| (x[2] as i32 - 2 * x[1] as i32 + x[0] as i32).abs()).max().unwrap();
            assert!(worst <= bound, "{f} Hz: second difference {worst} > {bound} (period {})", e.period());
            let (dev, _) = check_tone(&all[h..], f, 0.001);
            assert!(dev <= 0.001, "{f} Hz: {:.4} % off", dev * 100.0);
        }
    }

    /// The continuation is the tone itself (faded), to a fraction of a percent, whatever the
    /// period's fraction of a sample: an integer period put a 1.5 % step at the splice of a
    /// 440 Hz tone (period 109.09, continued with 218).
    #[test]
    fn concealment_continues_the_tone_in_phase() {
        for f in [229.2, 440.0, 700.0, 1100.0, 1234.5] {
            let amp = 10_000.0;
            let h = MAX_LAG + WIN;
            let hist = sine(0, h, f, amp);
            let truth = sine(h, 240, f, amp);
            let mut out = vec![0i16; 240];
            fade_out_extension(&hist, &mut out);
            let worst = out
                .iter()
                .enumerate()
                .map(|(j, &o)| {
                    let g = 0.5 * (1.0 + (std::f64::consts::PI * (j + 1) as f64 / 240.0).cos());
                    (o as f64 - truth[j] as f64 * g).abs()
                })
                .fold(0.0, f64::max);
            assert!(worst <= 0.002 * amp, "{f} Hz: off by {worst}");
        }
    }
}
