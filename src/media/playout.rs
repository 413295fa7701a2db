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

/// How far decoded audio may run ahead of its timestamps: the longest audio packet, one
/// 120 ms Opus packet (RFC 6716 §3.2.5), which a decoder emits whole at the packet's PTS.
pub const MAX_LEAD: gst::ClockTime = gst::ClockTime::from_mseconds(120);

/// Keeps a decoder's output in real time: the audio of buffers stamped with PTS p may not end
/// later than p + `MAX_LEAD` on the contiguous timeline of what was already let through.
///
/// Decoders stamp their output with the input's PTS (GstAudioDecoder at tolerance 0), which
/// rtpjitterbuffer derives from the RTP timestamps and arrival times; the sink plays a buffer
/// at its PTS, or at once when that is past. So audio longer than the time its timestamps
/// span — an Opus packet whose TOC claims 60 or 120 ms sent every 20 ms (RFC 6716 §3.1), a
/// G.711 payload with more samples than the timestamp step (RFC 3551 §4.5.14 ties one octet
/// to one timestamp unit), concealment for more time than a gap lasted — piles up and is
/// delivered faster than real time. The excess is cut here (its tail), counted in `trimmed`.
#[derive(Default)]
pub struct RealTimeClamp {
    /// End of the audio let through so far.
    end: Mutex<Option<gst::ClockTime>>,
    /// Audio cut, ns.
    pub trimmed: std::sync::atomic::AtomicU64,
}

impl RealTimeClamp {
    /// Clamp the raw audio leaving `pad` (a decoder's src pad).
    pub fn install(pad: &gst::Pad) -> std::sync::Arc<Self> {
        let clamp = std::sync::Arc::new(Self::default());
        let c = clamp.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let Some(gst::PadProbeData::Buffer(buffer)) = &mut info.data else { return gst::PadProbeReturn::Ok };
            let Some(audio) = pad.current_caps().and_then(|caps| gst_audio::AudioInfo::from_caps(&caps).ok()) else {
                return gst::PadProbeReturn::Ok;
            };
            let (Some(pts), bpf) = (buffer.pts(), audio.bpf() as usize) else { return gst::PadProbeReturn::Ok };
            let frames = buffer.size() / bpf.max(1);
            match c.keep(pts, frames, audio.rate()) {
                Some(keep) if keep == frames => gst::PadProbeReturn::Ok,
                Some(keep) => {
                    let rate = u64::from(audio.rate());
                    let mut cut = match buffer.copy_region(gst::BufferCopyFlags::all(), 0..keep * bpf) {
                        Ok(b) => b,
                        Err(_) => return gst::PadProbeReturn::Drop,
                    };
                    cut.make_mut().set_duration(gst::ClockTime::SECOND.mul_div_floor(keep as u64, rate));
                    *buffer = cut;
                    gst::PadProbeReturn::Ok
                }
                None => gst::PadProbeReturn::Drop,
            }
        });
        clamp
    }

    /// How many of `frames` frames at `rate` stamped `pts` to let through (None: none).
    fn keep(&self, pts: gst::ClockTime, frames: usize, rate: u32) -> Option<usize> {
        let rate_u = u64::from(rate.max(1));
        let duration = gst::ClockTime::SECOND.mul_div_floor(frames as u64, rate_u)?;
        let mut end = self.end.lock().ok()?;
        let start = end.map_or(pts, |e| e.max(pts));
        let allowed = (pts + MAX_LEAD).saturating_sub(start).min(duration);
        let keep = (allowed.nseconds() * rate_u / 1_000_000_000) as usize;
        let keep = keep.min(frames);
        if keep < frames {
            let cut = duration.saturating_sub(gst::ClockTime::SECOND.mul_div_floor(keep as u64, rate_u)?);
            self.trimmed.fetch_add(cut.nseconds(), std::sync::atomic::Ordering::Relaxed);
        }
        *end = Some(start + gst::ClockTime::SECOND.mul_div_floor(keep as u64, rate_u)?);
        (keep > 0).then_some(keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clamp_passes_real_time_audio_and_cuts_what_runs_ahead() {
        let ms = gst::ClockTime::from_mseconds;
        let c = RealTimeClamp::default();
        // 20 ms packets at their time, with a hole (a late start) in between: all kept.
        for i in [0u64, 1, 2, 5, 6] {
            assert_eq!(c.keep(ms(20 * i), 960, 48_000), Some(960));
        }
        // 60 ms of audio per 20 ms of timestamps: kept until 120 ms ahead, then only what
        // the timestamps advance.
        let mut kept = 0;
        for i in 7u64..57 {
            kept += c.keep(ms(20 * i), 2880, 48_000).unwrap_or(0);
        }
        let lead_ms = (kept as u64 / 48) as i64 - 50 * 20;
        assert!((lead_ms - 100).abs() <= 20, "ran {lead_ms} ms ahead");
        // 1000 buffers of concealment at one instant: at most 120 ms of it.
        let c = RealTimeClamp::default();
        let total: usize = (0..1000).filter_map(|_| c.keep(ms(1000), 960, 48_000)).sum();
        assert_eq!(total, 120 * 48);
        assert_eq!(c.trimmed.load(std::sync::atomic::Ordering::Relaxed), 1000 * 20_000_000 - 120_000_000);
    }

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
