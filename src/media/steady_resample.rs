//! A receive chain's resampler that never restarts on the jitter buffer's timing.
//!
//! audioresample restarts whenever a buffer is flagged DISCONT or its timestamp is more than
//! 1/32 s off the samples it took since its last restart (gstaudioresample.c,
//! `gst_audio_resample_check_discont`): it drops its filter's history, so the waveform breaks
//! and everything after comes a few samples early. A receive chain's timestamps come from the
//! jitter buffer, which moves them against the audio while its skew estimate settles (a
//! stream's first seconds) and when a sender's packets stall and then come in a burst: the
//! audio itself is contiguous (RFC 3550 timestamps, concealment for what was lost), only its
//! timing moved. Measured with a phone whose packets stall 30–90 ms every 600 ms: 22 restarts
//! in a 13 s call, the echo path a canceller (`voice/canceller.rs`) sees drifting by 2 ms over
//! it, its echo return loss enhancement down from 57–68 to 35–52 dB.
//!
//! So the resampler sees contiguous timestamps and no DISCONT, and each output buffer gets back
//! the timing of the input it came from: the audio goes through whole, and the sink still plays
//! each stretch when the jitter buffer said.
//!
//! Threads: both probes run on the chain's streaming thread (the jitter buffer's), one after
//! the other for each buffer; the lock is never contended.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use super::caps_cache::{from_pad, rate_and_bpf, CapsCache};

/// Input stretches remembered for the output: the resampler holds back less than one.
const SPANS: usize = 16;

#[derive(Default)]
struct Timeline {
    /// The contiguous timeline: the first input's timestamp and the input samples since.
    start: Option<gst::ClockTime>,
    samples: u64,
    /// Input buffers by their place on the contiguous timeline: (start, real − contiguous, ns).
    spans: VecDeque<(gst::ClockTime, i64)>,
}

impl Timeline {
    /// The contiguous timestamp for an input buffer of `frames` at `rate` stamped `pts`.
    fn input(&mut self, pts: gst::ClockTime, frames: u64, rate: u32) -> gst::ClockTime {
        let start = *self.start.get_or_insert(pts);
        let at = start + gst::ClockTime::SECOND.mul_div_floor(self.samples, u64::from(rate.max(1))).unwrap_or(gst::ClockTime::ZERO);
        self.samples += frames;
        if self.spans.len() == SPANS {
            self.spans.pop_front();
        }
        self.spans.push_back((at, pts.nseconds() as i64 - at.nseconds() as i64));
        at
    }

    /// The real timestamp for output stamped `at` on the contiguous timeline: that of the
    /// input stretch it starts in.
    fn output(&mut self, at: gst::ClockTime) -> gst::ClockTime {
        while self.spans.len() > 1 && self.spans[1].0 <= at {
            self.spans.pop_front();
        }
        let offset = self.spans.front().map_or(0, |s| s.1);
        gst::ClockTime::from_nseconds((at.nseconds() as i64 + offset).max(0) as u64)
    }
}

/// Wraps `resampler` (an audioresample in a receive chain) in the two probes.
pub fn install(resampler: &gst::Element) {
    let (Some(sink), Some(src)) = (resampler.static_pad("sink"), resampler.static_pad("src")) else { return };
    let timeline = Arc::new(Mutex::new(Timeline::default()));
    let input = timeline.clone();
    let format = Mutex::new(CapsCache::default());
    sink.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM | gst::PadProbeType::EVENT_FLUSH, move |pad, info| {
        match &mut info.data {
            Some(gst::PadProbeData::Buffer(buffer)) => {
                let Some((rate, bpf)) = from_pad(pad, &format, rate_and_bpf) else { return gst::PadProbeReturn::Ok };
                let (Some(pts), Ok(mut timeline)) = (buffer.pts(), input.lock()) else { return gst::PadProbeReturn::Ok };
                let frames = (buffer.size() / bpf.max(1)) as u64;
                let at = timeline.input(pts, frames, rate);
                let buffer = buffer.make_mut();
                buffer.set_pts(at);
                buffer.unset_flags(gst::BufferFlags::DISCONT);
            }
            // A new format or a flush starts the resampler over anyway.
            Some(gst::PadProbeData::Event(e)) if matches!(e.type_(), gst::EventType::Caps | gst::EventType::FlushStop) => {
                if let Ok(mut timeline) = input.lock() {
                    *timeline = Timeline::default();
                }
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
    src.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(gst::PadProbeData::Buffer(buffer)) = &mut info.data {
            if let (Some(at), Ok(mut timeline)) = (buffer.pts(), timeline.lock()) {
                let pts = timeline.output(at);
                buffer.make_mut().set_pts(pts);
            }
        }
        gst::PadProbeReturn::Ok
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_timeline_is_contiguous_in_and_real_out() {
        let ms = gst::ClockTime::from_mseconds;
        let mut t = Timeline::default();
        // 20 ms buffers at 8 kHz, the third and fourth 50 ms late (a stall, then a burst).
        let real = [0u64, 20, 90, 91, 80, 100];
        let at: Vec<_> = real.iter().map(|&r| t.input(ms(r), 160, 8000)).collect();
        assert_eq!(at, [ms(0), ms(20), ms(40), ms(60), ms(80), ms(100)]);
        // Output (48 kHz, held back a little) gets the real timing of the input it starts in.
        assert_eq!(t.output(ms(1)), ms(1));
        assert_eq!(t.output(ms(41)), ms(91));
        assert_eq!(t.output(ms(61)), ms(92));
        assert_eq!(t.output(ms(81)), ms(81));
        assert_eq!(t.output(ms(101)), ms(101));
    }

    /// A 400 Hz tone (amplitude 8000) at 8 kHz in 20 ms buffers whose timestamps jump 70 ms
    /// ahead and back every 600 ms (a stall and its burst, as the jitter buffer stamps them)
    /// through audioresample to 48 kHz. Without the probes it restarted 10 times: 60 samples
    /// lost, the tone off by up to 15954 where its phase broke. With them all the audio comes
    /// out and the tone is within 90 of a clean one throughout (the filter's ripple), and each
    /// output buffer keeps its input's timestamp.
    #[test]
    fn wandering_timestamps_do_not_restart_the_resampler() {
        gst::init().unwrap();
        let run = |steady: bool| {
            let pipeline = gst::Pipeline::new();
            let src = gst_app::AppSrc::builder().caps(&super::super::raw_caps(8000, 1)).format(gst::Format::Time).build();
            let resample = gst::ElementFactory::make("audioresample").build().unwrap();
            let sink = gst_app::AppSink::builder().caps(&super::super::raw_caps(48_000, 1)).sync(false).build();
            pipeline.add_many([src.upcast_ref(), &resample, sink.upcast_ref()]).unwrap();
            gst::Element::link_many([src.upcast_ref(), &resample, sink.upcast_ref()]).unwrap();
            if steady {
                install(&resample);
            }
            pipeline.set_state(gst::State::Playing).unwrap();
            let tone = |n: usize| (8000.0 * (2.0 * std::f64::consts::PI * 400.0 * n as f64 / 8000.0).sin()) as i16;
            let shift = |k: u64| match k % 30 {
                10..=13 => 70 - 10 * (k % 30 - 10),
                _ => 0,
            };
            let mut stamps = Vec::new();
            for k in 0..150u64 {
                let samples: Vec<u8> = (0..160).flat_map(|i| tone(k as usize * 160 + i).to_le_bytes()).collect();
                let mut buffer = gst::Buffer::from_slice(samples);
                let pts = gst::ClockTime::from_mseconds(20 * k + shift(k));
                buffer.get_mut().unwrap().set_pts(pts);
                stamps.push(pts);
                src.push_buffer(buffer).unwrap();
            }
            src.end_of_stream().unwrap();
            let (mut out, mut out_stamps) = (Vec::<i16>::new(), Vec::new());
            while let Ok(sample) = sink.pull_sample() {
                let buffer = sample.buffer().unwrap();
                out_stamps.push(buffer.pts().unwrap());
                let map = buffer.map_readable().unwrap();
                out.extend(map.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
            }
            pipeline.set_state(gst::State::Null).unwrap();
            (out, stamps, out_stamps)
        };
        // The output against the 400 Hz tone at 48 kHz, at the filter's delay (the part of a
        // sample or two audioresample does not compensate, in tenths of a sample): the worst
        // sample-by-sample deviation after 20 ms.
        let worst = |out: &[i16]| {
            (0..80).map(|tenths| {
                let lag = tenths as f64 / 10.0;
                out.iter().enumerate().skip(960).map(|(n, &s)| {
                    let ideal = 8000.0 * (2.0 * std::f64::consts::PI * 400.0 * (n as f64 - lag) / 48_000.0).sin();
                    (s as f64 - ideal).abs()
                }).fold(0f64, f64::max)
            }).fold(f64::MAX, f64::min)
        };
        let (plain, _, _) = run(false);
        assert!(worst(&plain) > 2000.0, "without the probes audioresample restarts: worst deviation {:.0}, {} samples", worst(&plain), plain.len());
        let (out, stamps, out_stamps) = run(true);
        // All of it, but for the few samples of the filter's tail that EOS leaves.
        assert!(out.len().abs_diff(150 * 960) <= 12, "{} samples", out.len());
        assert!(worst(&out) < 200.0, "worst deviation from the tone {:.0}", worst(&out));
        // Each output buffer is stamped within its input's 20 ms of the input's own stamp.
        for (k, at) in out_stamps.iter().enumerate().skip(1) {
            let near = stamps.iter().any(|s| at.absdiff(*s) <= gst::ClockTime::from_mseconds(20));
            assert!(near, "output buffer {k} at {at} has no input near it");
        }
    }
}
