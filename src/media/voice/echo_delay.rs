//! How long after we send the agent's voice (the reference) its echo comes back in the
//! caller's audio: the phone line's round trip plus the far end's hybrid or acoustic path,
//! unknown and different on every call.
//!
//! webrtcdsp's echo canceller (webrtc-audio-processing 0.3's AEC) only converges when the
//! reference is aligned with the echo within its short filter: with the reference stamped when
//! it was sent, an 80 ms echo path left ≥ 13 dB of echo, and the library's own delay-agnostic
//! mode did not find an 80 ms delay in 36 s. So the delay is measured here, by normalized
//! cross-correlation of the two signals: both are reduced to 2 kHz (10 ms frames averaged in
//! blocks of 24 samples: speech's energy is below 1 kHz) and written on a common time axis (the
//! reference by arrival, the capture at the timestamps the echo probe matches), then four times a second the last second of capture is correlated against
//! the reference at every lag up to `MAX_DELAY_MS`. A first estimate is adopted when the peak is
//! clear and two in a row agree within 8 ms; after that a clear estimate within 25 ms of the
//! adopted delay is followed at once (the path drifting), a larger jump once confirmed.

use std::collections::VecDeque;

use super::dot;

const RATE: usize = 2000;
const DECIMATE: usize = 24;
/// Positions kept: the window plus the largest lag plus slack.
const KEEP: usize = 4 * RATE;
const WINDOW: usize = RATE;
pub const MAX_DELAY_MS: usize = 500;
const MAX_LAG: usize = MAX_DELAY_MS * RATE / 1000;
/// Estimate once per this many capture positions (0.25 s): a receiver's playout delay that
/// grows at its start (1 % of real time here, `media/playout.rs`) moves the echo by 2.5 ms
/// between estimates.
const EVERY: usize = RATE / 4;
/// A peak of normalized correlation below this is no evidence (no echo, or double talk).
const MIN_PEAK: f64 = 0.35;
/// Consecutive estimates this close (8 ms) agree: the echo path moves, slowly.
const AGREE: usize = 8 * RATE / 1000;
/// A frame this far (20 ms) behind a lane's end re-anchors it.
const REANCHOR: u64 = (20 * RATE / 1000) as u64;
/// Once a delay is adopted, a clear estimate this close to it (25 ms) is followed at once: the
/// path drifting; a larger jump must be confirmed by the next estimate.
const FOLLOW: usize = 25 * RATE / 1000;

/// Samples on a common 2 kHz time axis: position = arrival time × 2 kHz.
struct Lane {
    /// Position of `values[0]`.
    start: u64,
    values: VecDeque<f32>,
}

impl Lane {
    fn new() -> Self {
        Self { start: 0, values: VecDeque::new() }
    }

    fn end(&self) -> u64 {
        self.start + self.values.len() as u64
    }

    /// Writes `values` at position `at` (gaps become silence; a frame overlapping the end by
    /// a little, arrival jitter, is placed after it; one far behind the end re-anchors the lane
    /// there, so a burst after a stall does not leave it ahead of time for good).
    fn write(&mut self, at: u64, values: &[f32]) {
        if self.values.is_empty() || at < self.start {
            self.values.clear();
            self.start = at;
        }
        if at + REANCHOR < self.end() {
            self.values.truncate((at - self.start) as usize);
        }
        let end = self.end();
        if at > end {
            let gap = (at - end) as usize;
            if gap > KEEP {
                self.values.clear();
                self.start = at;
            } else {
                self.values.extend(std::iter::repeat(0.0).take(gap));
            }
        }
        self.values.extend(values.iter().copied());
        while self.values.len() > KEEP {
            self.values.pop_front();
            self.start += 1;
        }
    }

    fn get(&self, pos: u64) -> f32 {
        if pos < self.start {
            return 0.0;
        }
        self.values.get((pos - self.start) as usize).copied().unwrap_or(0.0)
    }
}

pub struct EchoDelay {
    reference: Lane,
    capture: Lane,
    since: usize,
    candidate: Option<usize>,
    /// The adopted delay, in 2 kHz samples.
    adopted: Option<usize>,
}

impl Default for EchoDelay {
    fn default() -> Self {
        Self { reference: Lane::new(), capture: Lane::new(), since: 0, candidate: None, adopted: None }
    }
}

fn decimate(frame: &[i16]) -> Vec<f32> {
    frame.chunks(DECIMATE).map(|c| c.iter().map(|&s| s as f32).sum::<f32>() / c.len() as f32 / 32768.0).collect()
}

fn position(arrival_ns: u64) -> u64 {
    arrival_ns / (1_000_000_000 / RATE as u64)
}

impl EchoDelay {
    /// A frame of the agent's voice (48 kHz mono), as it was sent.
    pub fn reference(&mut self, arrival_ns: u64, frame: &[i16]) {
        self.reference.write(position(arrival_ns), &decimate(frame));
    }

    /// A frame of the caller's audio (48 kHz mono) at its timestamp. Returns, four times a
    /// second, the windows to correlate: `Window::correlate` runs outside the lock the
    /// caller holds on this (the reference arrives on GStreamer's clock thread when it comes
    /// from a player or a mixer, which must not wait for a correlation).
    pub fn capture(&mut self, pts_ns: u64, frame: &[i16]) -> Option<Window> {
        let values = decimate(frame);
        self.since += values.len();
        self.capture.write(position(pts_ns), &values);
        if self.since < EVERY || self.capture.values.len() < WINDOW {
            return None;
        }
        self.since = 0;
        let end = self.capture.end();
        let from = end - WINDOW as u64;
        // Reference over [from − MAX_LAG, end): index k of r is position from − MAX_LAG + k.
        let base = from.saturating_sub(MAX_LAG as u64);
        Some(Window {
            capture: (from..end).map(|p| self.capture.get(p)).collect(),
            reference: (base..end).map(|p| self.reference.get(p)).collect(),
            offset: (from - base) as usize,
        })
    }

    /// The adopted delay in ms, once there is one.
    pub fn delay_ms(&self) -> Option<f64> {
        self.adopted.map(|lag| lag as f64 * 1000.0 / RATE as f64)
    }

    /// Takes the best lag of a window (None: no clear peak).
    pub fn update(&mut self, lag: Option<usize>) {
        let Some(lag) = lag else {
            self.candidate = None;
            return;
        };
        let follows = self.adopted.is_some_and(|a| a.abs_diff(lag) <= FOLLOW);
        if follows || self.candidate.is_some_and(|c| c.abs_diff(lag) <= AGREE) {
            self.adopted = Some(lag);
        }
        self.candidate = Some(lag);
    }
}

/// The last second of capture and the reference it may echo.
pub struct Window {
    capture: Vec<f32>,
    reference: Vec<f32>,
    offset: usize,
}

impl Window {
    /// The lag (2 kHz samples) of the clearest normalized correlation peak, if clear enough.
    pub fn correlate(&self) -> Option<usize> {
        let (c, r, offset) = (&self.capture, &self.reference, self.offset);
        let c_energy = dot(c, c) as f64;
        if c_energy < 1e-6 {
            return None;
        }
        let mut best = (0.0f64, 0usize);
        // Energy of the reference window at lag 0, slid towards larger lags incrementally.
        let mut r_energy = dot(&r[offset..offset + WINDOW], &r[offset..offset + WINDOW]) as f64;
        for lag in 0..=offset.min(MAX_LAG) {
            let start = offset - lag;
            if lag > 0 {
                let enter = r[start] as f64;
                let leave = r[start + WINDOW] as f64;
                r_energy += enter * enter - leave * leave;
            }
            if r_energy < 1e-6 {
                continue;
            }
            // f32 products (vectorized): the window's sum needs no more precision than a peak pick.
            let ncc = dot(c, &r[start..start + WINDOW]) as f64 / (c_energy * r_energy).sqrt();
            if ncc > best.0 {
                best = (ncc, lag);
            }
        }
        (best.0 >= MIN_PEAK).then_some(best.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Noise-like "speech": a deterministic pseudo-random signal, bursty like syllables.
    fn voice(n: usize, seed: u32) -> Vec<i16> {
        let mut x = seed;
        (0..n)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let envelope = if (i / 9600) % 3 == 2 { 0.0 } else { 1.0 };
                ((x as i32 >> 20) as f32 * 4.0 * envelope) as i16
            })
            .collect()
    }

    #[test]
    fn finds_an_echo_delay_under_double_talk() {
        let agent = voice(48_000 * 6, 7);
        let caller = voice(48_000 * 6, 99);
        let delay = 48 * 137; // 137 ms
        let mut d = EchoDelay::default();
        for f in 0..600 {
            let t = f as u64 * 10_000_000 + 1_000_000_000;
            let frame = &agent[f * 480..(f + 1) * 480];
            d.reference(t, frame);
            let echo: Vec<i16> = (0..480)
                .map(|i| {
                    let k = (f * 480 + i) as isize - delay as isize;
                    let e = if k >= 0 { agent[k as usize] as f32 * 0.316 } else { 0.0 };
                    let own = if f > 300 { caller[f * 480 + i] as f32 * 0.3 } else { 0.0 };
                    (e + own) as i16
                })
                .collect();
            if let Some(w) = d.capture(t + 3_000_000, &echo) {
                d.update(w.correlate()); // arrival jitter: 3 ms late
            }
        }
        let ms = d.delay_ms().expect("an estimate");
        assert!((ms - 140.0).abs() <= 2.0, "{ms}");
    }

    #[test]
    fn no_estimate_without_echo() {
        let agent = voice(48_000 * 4, 7);
        let caller = voice(48_000 * 4, 99);
        let mut d = EchoDelay::default();
        for f in 0..400 {
            let t = f as u64 * 10_000_000;
            d.reference(t, &agent[f * 480..(f + 1) * 480]);
            if let Some(w) = d.capture(t, &caller[f * 480..(f + 1) * 480]) {
                d.update(w.correlate());
            }
        }
        assert_eq!(d.delay_ms(), None);
    }
}
