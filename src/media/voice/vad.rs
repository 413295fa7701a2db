//! Voice activity from 10 ms frames of the processed (echo-cancelled, denoised) caller audio.
//!
//! webrtcdsp's own detector (webrtc-audio-processing 0.3) was measured on this build: onsets
//! 0–20 ms late but ends 110–270 ms late, and pink noise alone read as voice for 3.5–6 s out
//! of 10. Here a frame is voiced when
//! - its level is ≥ 10 dB above the noise floor (the minimum of 50 ms-smoothed levels over
//!   the last 1.5 s) and above −55 dBFS, and
//! - it is periodic: the normalized autocorrelation of the last 30 ms (at 8 kHz) peaks ≥ 0.5
//!   at a pitch lag of 2.5–15 ms (voiced speech is; noise, even loud and sudden, is not — the
//!   floor alone needs 1.5 s to catch up with noise that starts abruptly).
//! Speech starts after `ONSET` voiced frames in a row (reported at the first of them) and ends
//! after `HANGOVER` without one (reported at the end of the last voiced frame), so the short
//! gaps between words do not split an utterance.

use std::collections::VecDeque;

use super::{dbfs, dot};

const ONSET: usize = 2;
pub const HANGOVER_FRAMES: usize = 8;
const FLOOR_FRAMES: usize = 150;
const SMOOTH: usize = 5;
const ABOVE_FLOOR_DB: f64 = 10.0;
const MIN_DBFS: f64 = -55.0;
const MIN_PERIODICITY: f64 = 0.5;
/// 30 ms at 8 kHz.
const HISTORY: usize = 240;

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Change {
    /// Speech started at this frame index (10 ms units from the first frame).
    Start(u64),
    /// Speech ended at the end of this frame index.
    End(u64),
}

pub struct Vad {
    frame: u64,
    levels: VecDeque<f64>,
    smoothed: VecDeque<f64>,
    history: VecDeque<f32>,
    run: usize,
    silent: usize,
    speaking: bool,
    last_voiced: u64,
}

impl Default for Vad {
    fn default() -> Self {
        Self { frame: 0, levels: VecDeque::new(), smoothed: VecDeque::new(), history: VecDeque::new(), run: 0, silent: 0, speaking: false, last_voiced: 0 }
    }
}

/// Peak normalized autocorrelation over pitch lags 2.5–15 ms (20–120 samples at 8 kHz).
fn periodicity(x: &VecDeque<f32>) -> f64 {
    let (a, b) = x.as_slices();
    let x: Vec<f32> = a.iter().chain(b).copied().collect();
    let mut best: f64 = 0.0;
    for lag in 20..=120 {
        let n = x.len() - lag;
        let (head, tail) = (&x[..n], &x[lag..]);
        let (d, ea, eb) = (dot(head, tail) as f64, dot(head, head) as f64, dot(tail, tail) as f64);
        if ea > 0.0 && eb > 0.0 {
            best = best.max(d / (ea * eb).sqrt());
        }
    }
    best
}

impl Vad {
    /// One 10 ms frame at 48 kHz; returns a change of state, if any. `echo`: the frame is
    /// residual echo (`echo_guard.rs`), never voiced.
    pub fn push(&mut self, frame: &[i16], echo: bool) -> Option<Change> {
        let index = self.frame;
        self.frame += 1;
        let level = dbfs(frame);
        self.levels.push_back(level);
        if self.levels.len() > SMOOTH {
            self.levels.pop_front();
        }
        let smooth = self.levels.iter().sum::<f64>() / self.levels.len() as f64;
        self.smoothed.push_back(smooth);
        if self.smoothed.len() > FLOOR_FRAMES {
            self.smoothed.pop_front();
        }
        let floor = self.smoothed.iter().copied().fold(f64::INFINITY, f64::min);
        // 48 → 8 kHz by averaging blocks of 6 (enough for a pitch estimate).
        for block in frame.chunks(6) {
            self.history.push_back(block.iter().map(|&s| s as f32).sum::<f32>() / block.len() as f32);
        }
        while self.history.len() > HISTORY {
            self.history.pop_front();
        }
        let loud = level >= floor + ABOVE_FLOOR_DB && level >= MIN_DBFS;
        let voiced = loud && !echo && self.history.len() == HISTORY && periodicity(&self.history) >= MIN_PERIODICITY;
        if voiced {
            self.run += 1;
            self.silent = 0;
            self.last_voiced = index;
            if !self.speaking && self.run >= ONSET {
                self.speaking = true;
                return Some(Change::Start(index + 1 - ONSET as u64));
            }
        } else {
            self.run = 0;
            self.silent += 1;
            if self.speaking && self.silent >= HANGOVER_FRAMES {
                self.speaking = false;
                return Some(Change::End(self.last_voiced));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: usize = 480;

    fn frames(f: impl Fn(usize) -> f64, n: usize) -> Vec<Vec<i16>> {
        (0..n).map(|k| (0..FRAME).map(|i| (f(k * FRAME + i) * 32767.0) as i16).collect()).collect()
    }

    /// White noise in [-0.5, 0.5] (xorshift32), the same for every call.
    fn noise(i: usize) -> f64 {
        use std::sync::OnceLock;
        static NOISE: OnceLock<Vec<f64>> = OnceLock::new();
        let table = NOISE.get_or_init(|| {
            let mut x: u32 = 0x9e37_79b9;
            (0..48_000 * 5)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as f64 / u32::MAX as f64 - 0.5
                })
                .collect()
        });
        table[i % table.len()]
    }

    #[test]
    fn a_vowel_after_silence_starts_and_ends_speech() {
        // 0.5 s silence, 1 s of a 150 Hz vowel-like tone with harmonics, 0.5 s silence.
        let signal = |i: usize| {
            let t = i as f64 / 48_000.0;
            if (0.5..1.5).contains(&t) {
                0.2 * (2.0 * std::f64::consts::PI * 150.0 * t).sin() + 0.1 * (2.0 * std::f64::consts::PI * 300.0 * t).sin()
            } else {
                0.0005 * noise(i)
            }
        };
        let mut vad = Vad::default();
        let changes: Vec<_> = frames(signal, 200).iter().filter_map(|f| vad.push(f, false)).collect();
        assert_eq!(changes.len(), 2, "{changes:?}");
        let Change::Start(s) = changes[0] else { panic!("{changes:?}") };
        let Change::End(e) = changes[1] else { panic!("{changes:?}") };
        assert!((49..=53).contains(&s), "{s}");
        assert!((148..=150).contains(&e), "{e}");
    }

    #[test]
    fn loud_noise_starting_abruptly_is_not_speech() {
        let signal = |i: usize| if i < 48_000 { 0.0005 * noise(i) } else { 0.3 * noise(i) };
        let mut vad = Vad::default();
        let changes: Vec<_> = frames(signal, 400).iter().filter_map(|f| vad.push(f, false)).collect();
        assert_eq!(changes, vec![]);
    }
}
