//! The echo canceller: WebRTC's AEC3 (the `sonora` crate, a Rust port of webrtc-audio-processing's
//! AudioProcessing module) on the caller's audio, the agent's voice as its render signal.
//!
//! AEC3 finds the echo path's delay itself (its matched filters cover about 500 ms: measured, an
//! echo 500 ms late is cancelled, one 650 ms late is not) and adapts within half a second, so the
//! reference goes in as sent. Both signals are put on the pipeline's running time by arrival
//! (`RenderTimeline`), and each 10 ms capture frame is processed right after the render frame of
//! the same moment less `RENDER_LAG`: the canceller always sees the agent's audio before its echo,
//! whatever order the two threads deliver them in. An echo path shorter than `RENDER_LAG` is
//! therefore not cancelled; a phone line's is always longer (network round trip plus the jitter
//! buffers at both ends).
//!
//! Our own receiver moves the echo path: a new stream's playout delay grows by inserting pitch
//! periods into the caller's audio (`media/playout.rs`), and everything after one comes that
//! much later, echo included. AEC3 takes such a move for a new echo path and re-adapts, and
//! while it does its suppressor takes more of the caller talking over the agent (measured: −3.3
//! to −3.7 dB instead of −2.5 to −2.8 with the agent starting 1 s into the stream). The receiver
//! marks each inserted period on its sample (`playout::INSERTED`), and the timeline then reads
//! the reference that much further back: the path AEC3 sees stays where it was.
//!
//! Threads: `RenderTimeline::write` runs on the reference's producer thread (often GStreamer's
//! clock thread, in a player's or mixer's tick: it only copies samples under a short lock);
//! `Canceller::process` runs on the processor's capture streaming thread and does all the
//! canceller's work, render included.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

use sonora::config::EchoCanceller;
use sonora::{AudioProcessing, Config, StreamConfig};

use super::super::{FRAME_SAMPLES, RATE};

const FRAME: usize = FRAME_SAMPLES as usize;
/// The render frame processed with a capture frame is this much older than it: the reference
/// arrives on another thread, up to a few ms after the capture frame of the same moment.
pub const RENDER_LAG_MS: u64 = 20;
const RENDER_LAG: u64 = RENDER_LAG_MS * RATE as u64 / 1000;
/// The timeline keeps at most this much reference the capture has not reached (a capture that
/// stalls must not grow it).
const KEEP: usize = RATE as usize;
/// Reference already read that is kept, to be read again after an inserted period (the
/// longest is 15 ms, `tsm::MAX_LAG`).
const HISTORY: u64 = 20 * RATE as u64 / 1000;

/// The reference (the agent's voice as sent) by sample position on the pipeline's running time;
/// silence where nothing was sent.
#[derive(Default)]
pub struct RenderTimeline {
    /// Position of `samples[0]`.
    start: u64,
    samples: VecDeque<i16>,
    /// Periods inserted into the capture not yet reached: (capture position, samples).
    inserted: VecDeque<(u64, u64)>,
    /// Samples inserted into the capture so far, up to the last read.
    behind: u64,
}

impl RenderTimeline {
    /// `samples` sent from position `at` on (contiguous with the previous write unless the
    /// producer paused: `track_io::Retimer` stamps them).
    pub fn write(&mut self, at: u64, samples: &[i16]) {
        let end = self.start + self.samples.len() as u64;
        if self.samples.is_empty() || at > end + KEEP as u64 {
            // First write, or after a long pause: start over there.
            self.samples.clear();
            self.start = at.max(self.start);
        } else if at > end {
            self.samples
                .extend(std::iter::repeat_n(0, (at - end) as usize));
        }
        // The part the capture has already passed is dropped.
        let skip = self.start.saturating_sub(at) as usize;
        if skip >= samples.len() {
            return;
        }
        let (samples, at) = (&samples[skip..], at.max(self.start));
        let overlap = ((self.start + self.samples.len() as u64).saturating_sub(at) as usize)
            .min(samples.len());
        let from = (at - self.start) as usize;
        for (slot, &s) in self.samples.range_mut(from..from + overlap).zip(samples) {
            *slot = s;
        }
        self.samples.extend(&samples[overlap..]);
        if self.samples.len() > KEEP {
            let drop = self.samples.len() - KEEP;
            self.samples.drain(..drop);
            self.start += drop as u64;
        }
    }

    /// `samples` were inserted into the capture at position `at`: from there on it comes that
    /// much later than the reference.
    pub fn capture_inserted(&mut self, at: u64, samples: u64) {
        self.inserted.push_back((at, samples));
    }

    /// The reference for the capture frame at `capture` (`RENDER_LAG` earlier, and earlier by
    /// what was inserted into the capture before it) into `out`.
    pub fn read_for(&mut self, capture: u64, out: &mut [i16]) {
        while let Some(&(at, n)) = self.inserted.front() {
            if at > capture {
                break;
            }
            self.behind += n;
            self.inserted.pop_front();
        }
        self.read(capture.saturating_sub(RENDER_LAG + self.behind), out);
    }

    /// The reference at positions `[at, at + out.len())` (silence where there is none), and
    /// everything more than `HISTORY` before the end of that span dropped.
    fn read(&mut self, at: u64, out: &mut [i16]) {
        for (i, slot) in out.iter_mut().enumerate() {
            let p = at + i as u64;
            *slot = if p >= self.start {
                self.samples
                    .get((p - self.start) as usize)
                    .copied()
                    .unwrap_or(0)
            } else {
                0
            };
        }
        let end = (at + out.len() as u64).saturating_sub(HISTORY);
        let drop = (end.saturating_sub(self.start) as usize).min(self.samples.len());
        self.samples.drain(..drop);
        self.start = self.start.max(end);
    }
}

/// The canceller on the capture path, 10 ms frames at `RATE`, mono.
pub struct Canceller {
    apm: Option<AudioProcessing>,
    /// Capture samples not yet a whole frame, and the position of the first.
    pending: Vec<i16>,
    pending_at: u64,
    /// Processed samples not yet handed back (only when buffers are not whole frames).
    ready: VecDeque<i16>,
    render: Vec<i16>,
    scratch: Vec<i16>,
}

impl Default for Canceller {
    fn default() -> Self {
        let stream = StreamConfig::new(RATE, 1);
        let config = Config {
            echo_canceller: Some(EchoCanceller::default()),
            ..Default::default()
        };
        let apm = AudioProcessing::builder()
            .config(config)
            .capture_config(stream)
            .render_config(stream)
            .build();
        Self {
            apm: Some(apm),
            pending: Vec::new(),
            pending_at: 0,
            ready: VecDeque::new(),
            render: vec![0; FRAME],
            scratch: vec![0; FRAME],
        }
    }
}

impl Canceller {
    /// Cancels the echo in `samples` (captured from position `at`) in place. Buffers of whole
    /// frames come back with no delay; once a buffer is not, the output lags by one frame.
    pub fn process(&mut self, at: u64, samples: &mut [i16], timeline: &Mutex<RenderTimeline>) {
        if self.pending.is_empty() && self.ready.is_empty() && samples.len().is_multiple_of(FRAME) {
            for (k, frame) in samples.chunks_exact_mut(FRAME).enumerate() {
                self.frame(at + (k * FRAME) as u64, frame, timeline);
            }
            return;
        }
        if self.pending.is_empty() && self.ready.is_empty() {
            // From here on the output lags a frame behind: every buffer's worth is then ready
            // in time, whatever the buffer sizes (a frame less one sample would do).
            self.ready.extend(std::iter::repeat_n(0, FRAME));
        }
        if self.pending.is_empty() {
            self.pending_at = at;
        }
        self.pending.extend_from_slice(samples);
        let whole = self.pending.len() / FRAME * FRAME;
        let mut frames = std::mem::take(&mut self.pending);
        for (k, frame) in frames[..whole].chunks_exact_mut(FRAME).enumerate() {
            self.frame(self.pending_at + (k * FRAME) as u64, frame, timeline);
        }
        self.ready.extend(&frames[..whole]);
        frames.drain(..whole);
        self.pending = frames;
        self.pending_at += whole as u64;
        for slot in samples.iter_mut() {
            *slot = self.ready.pop_front().unwrap_or(0);
        }
    }

    fn frame(&mut self, at: u64, frame: &mut [i16], timeline: &Mutex<RenderTimeline>) {
        if let Ok(mut t) = timeline.lock() {
            t.read_for(at, &mut self.render);
        }
        let Some(apm) = self.apm.as_mut() else { return };
        let (render, scratch) = (&self.render, &mut self.scratch);
        // A panic in the canceller must not take the streaming thread down: the audio then
        // passes through uncancelled.
        let done = catch_unwind(AssertUnwindSafe(|| {
            apm.process_render_i16(render, scratch).is_ok()
                && apm.process_capture_i16(frame, scratch).is_ok()
        }));
        match done {
            Ok(true) => frame.copy_from_slice(scratch),
            Ok(false) => {}
            Err(_) => {
                gst::error!(crate::log::CAT, "the echo canceller panicked: the caller's audio passes through uncancelled from now on");
                self.apm = None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeline_reads_what_was_written_where_it_was_written() {
        let mut t = RenderTimeline::default();
        t.write(1000, &[1, 2, 3, 4]);
        t.write(1004, &[5, 6]);
        let mut out = [9; 8];
        t.read(998, &mut out);
        assert_eq!(out, [0, 0, 1, 2, 3, 4, 5, 6]);
        // Past the end: silence. A late write into what was read replaces it while it is
        // kept (HISTORY), and is dropped after.
        t.write(1004, &[7, 7, 8]);
        let mut out = [9; 3];
        t.read(1006, &mut out);
        assert_eq!(out, [8, 0, 0]);
        t.read(1004, &mut out);
        assert_eq!(out, [7, 7, 8], "read again from the history");
        t.read(1006 + HISTORY, &mut out);
        t.write(1004, &[5, 5, 5]);
        t.read(1004, &mut out);
        assert_eq!(out, [0, 0, 0]);
    }

    #[test]
    fn a_period_inserted_into_the_capture_moves_the_reference_back_by_its_length() {
        let mut t = RenderTimeline::default();
        let ramp: Vec<i16> = (0..4000).map(|i| i as i16).collect();
        t.write(0, &ramp);
        let mut out = [0; 480];
        t.read_for(2000, &mut out);
        assert_eq!(out[0] as u64, 2000 - RENDER_LAG);
        t.capture_inserted(2960, 240);
        t.read_for(2480, &mut out);
        assert_eq!(out[0] as u64, 2480 - RENDER_LAG, "not before the period");
        t.read_for(2960, &mut out);
        assert_eq!(
            out[0] as u64,
            2960 - RENDER_LAG - 240,
            "from the period on, read again"
        );
        t.read_for(3440, &mut out);
        assert_eq!(out[0] as u64, 3440 - RENDER_LAG - 240);
    }

    #[test]
    fn timeline_fills_a_short_gap_with_silence_and_stays_bounded() {
        let mut t = RenderTimeline::default();
        t.write(0, &[1, 1]);
        t.write(4, &[2, 2]);
        let mut out = [9; 6];
        t.read(0, &mut out);
        assert_eq!(out, [1, 1, 0, 0, 2, 2]);
        for k in 0..300 {
            t.write(6 + k * 480, &[3; 480]);
        }
        assert!(t.samples.len() <= KEEP);
    }

    /// Noise in 250 ms bursts as the reference (speech-like: a steady tone is what AEC3 treats as
    /// unlike an echo), its echo 80 ms later and 10 dB down as the capture: after two seconds the
    /// echo is ≥ 20 dB down; a capture with no reference passes at its level.
    #[test]
    fn cancels_a_delayed_echo_and_passes_the_near_end() {
        let noise = |n: usize| {
            let mut x = (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5555;
            x ^= x >> 29;
            x = x.wrapping_mul(0xBF58_476D_1CE4_E5B9);
            x ^= x >> 32;
            if n % 24_000 < 12_000 {
                ((x % 16_000) as i32 - 8_000) as i16
            } else {
                0
            }
        };
        let tone = |n: usize| {
            (8000.0 * (2.0 * std::f64::consts::PI * 1000.0 * n as f64 / RATE as f64).sin()) as i16
        };
        let timeline = Mutex::new(RenderTimeline::default());
        let mut canceller = Canceller::default();
        let delay = 80 * FRAME / 10;
        let (mut before, mut after) = (0f64, 0f64);
        for k in 0..300 {
            let at = (k * FRAME) as u64;
            let reference: Vec<i16> = (0..FRAME).map(|i| noise(k * FRAME + i)).collect();
            timeline.lock().unwrap().write(at, &reference);
            let mut capture: Vec<i16> = (0..FRAME)
                .map(|i| {
                    (k * FRAME + i)
                        .checked_sub(delay)
                        .map_or(0, |n| noise(n) / 3)
                })
                .collect();
            if k >= 200 {
                before += capture.iter().map(|&s| (s as f64).powi(2)).sum::<f64>();
            }
            canceller.process(at, &mut capture, &timeline);
            if k >= 200 {
                after += capture.iter().map(|&s| (s as f64).powi(2)).sum::<f64>();
            }
        }
        assert!(
            10.0 * (before / after.max(1.0)).log10() >= 20.0,
            "echo down {:.1} dB",
            10.0 * (before / after.max(1.0)).log10()
        );

        let mut canceller = Canceller::default();
        let empty = Mutex::new(RenderTimeline::default());
        let (mut input, mut output) = (0f64, 0f64);
        for k in 0..100 {
            let mut capture: Vec<i16> = (0..FRAME).map(|i| tone(k * FRAME + i) / 3).collect();
            if k >= 50 {
                input += capture.iter().map(|&s| (s as f64).powi(2)).sum::<f64>();
            }
            canceller.process((k * FRAME) as u64, &mut capture, &empty);
            if k >= 50 {
                output += capture.iter().map(|&s| (s as f64).powi(2)).sum::<f64>();
            }
        }
        assert!((10.0 * (output / input).log10()).abs() < 1.0);
    }

    #[test]
    fn part_frames_come_back_in_order_with_a_fixed_lag() {
        let timeline = Mutex::new(RenderTimeline::default());
        let mut canceller = Canceller::default();
        // 7 ms buffers: the output is the input one frame late, with no gap.
        let chunk = 7 * FRAME / 10;
        let mut out = Vec::new();
        for k in 0..50 {
            let mut b: Vec<i16> = (0..chunk)
                .map(|i| {
                    if (k * chunk + i) % 960 < 480 {
                        3000
                    } else {
                        -3000
                    }
                })
                .collect();
            canceller.process((k * chunk) as u64, &mut b, &timeline);
            out.extend(b);
        }
        assert_eq!(out.len(), 50 * chunk);
        assert!(out[..FRAME].iter().all(|&s| s == 0));
        assert!(out[FRAME + 100..]
            .chunks(480)
            .all(|c| c.iter().any(|&s| s.abs() > 1000)));
    }
}
