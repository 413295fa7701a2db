//! The playout delay of a new receive stream: it starts small and grows to the full jitter
//! buffer latency over the stream's first seconds.
//!
//! A receive sink plays each buffer at its arrival (PTS) + the pipeline latency (jitter
//! buffer + headroom): the jitter buffer's latency is a fixed playout delay that absorbs
//! network jitter. Applied from the first packet it also delays first audio by all of it
//! (50 ms by default). Like WebRTC's NetEq, which starts near zero delay and raises its
//! target as it observes jitter, a new stream here starts with no delay (the sink's
//! `ts-offset` at −latency: a buffer later than its time is played at once) and the delay
//! grows by 1 % of the stream's time until it is the whole playout delay: 5 s for the default
//! 50 ms. A delay raised mid-stream for reordering (`reorder_wait.rs`) grows at 5 % (`Pace`).
//!
//! The delay grows by inserting whole pitch periods (`media/tsm.rs`, NetEq's preemptive
//! expand): when the pace's share of the stream time has run ahead of what was inserted by at
//! least 2.5 ms, one period (2.5–15 ms, where the audio is periodic or quiet) is inserted
//! before the buffer being delivered and `ts-offset` rises by exactly its length, so the next
//! buffer plays that much later and the audio stays continuous. The period is a sample of its
//! own, delivered when the buffer was due, and says so in its info (`INSERTED`, for the echo
//! canceller); the buffer follows one period later, at its new time (`track_io::feed_track`
//! waits for it on the sink's clock). Consumers that handle audio as it arrives (a JS sink, a
//! socket to a speech service) thus get it in real time: a 20 ms packet and a 15 ms period
//! delivered together would be 35 ms at once and then nothing for 35 ms. Nothing is
//! resampled: delivering 1 % slower than real time left the consumer to follow it, and the
//! mixer's drift control then pitch-shifted every new caller by 1 % for 5 s. The delay ends
//! within one minimum period (2.5 ms) below the full latency, never above it. During those
//! seconds jitter larger than the current delay reaches the consumer as late frames (a sink
//! plays late buffers at once), not as loss.

use std::sync::Mutex;

use gst::prelude::*;

use super::caps_cache::{from_pad, rate_and_bpf, CapsCache};
use super::tsm::{self, MAX_LAG, MIN_LAG, WIN};

/// How fast a delay grows, as a fraction of stream time (1/divisor).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pace(u64);

impl Pace {
    /// A new stream: 1 % (10 µs per ms, 5 s for 50 ms). Its jitter is not known yet, and the
    /// first seconds of a call are when a listener notices rhythm most.
    pub const NEW_STREAM: Pace = Pace(100);
    /// A stream already shown to reorder: 5 % (1 s for 50 ms). Until the delay has grown,
    /// packets later than it reach the consumer late (a mixer input underruns and then
    /// overflows on the burst behind them), so it grows as fast as periods can be inserted
    /// without running into each other (one 2.5–15 ms period per 50–300 ms).
    pub const CATCH_UP: Pace = Pace(20);
}
/// The info of a delivered sample that is an inserted period: field `samples`, its length.
/// Everything after it plays that much later.
pub const INSERTED: &str = "gstpc-playout-inserted";

/// How many samples of a delivered sample were inserted (0: none; else all of it).
pub fn inserted_samples(sample: &gst::Sample) -> u32 {
    sample.info().filter(|i| i.name() == INSERTED).and_then(|i| i.get::<u32>("samples").ok()).unwrap_or(0)
}

/// Delivered audio kept for the period search (25 ms).
const HIST: usize = MAX_LAG + WIN;

pub struct PlayoutRamp {
    state: Mutex<Ramp>,
}

struct Ramp {
    phase: Phase,
    /// Delay (samples) this ramp grows by: the sink's ts-offset starts that far below 0.
    full: usize,
    pace: Pace,
    /// Samples inserted so far (the delay grown).
    inserted: usize,
    /// The last `HIST` samples delivered.
    hist: Vec<i16>,
}

impl Ramp {
    fn remember(&mut self, delivered: &[i16]) {
        let n = self.make_room(delivered.len());
        self.hist[HIST - n..].copy_from_slice(&delivered[delivered.len() - n..]);
    }

    /// `remember` for S16LE bytes, the steady state's every buffer: no sample vector built.
    fn remember_bytes(&mut self, bytes: &[u8]) {
        let len = bytes.len() / 2;
        let n = self.make_room(len);
        super::pcm::read_samples(&mut self.hist[HIST - n..], &bytes[2 * (len - n)..]);
    }

    /// Shifts the history left to make room for the newest of `len` samples delivered;
    /// returns how many of them it keeps (at most `HIST`).
    fn make_room(&mut self, len: usize) -> usize {
        let n = len.min(HIST);
        self.hist.copy_within(n.., 0);
        n
    }
}

enum Phase {
    /// No sample yet.
    Waiting,
    /// Growing since the sample with this PTS.
    Running(gst::ClockTime),
    Done,
}

fn samples_to_ns(n: usize) -> u64 {
    super::pcm::duration_of(n as u64)
}

fn ns_to_samples(ns: u64) -> usize {
    super::pcm::samples_in(ns) as usize
}

impl PlayoutRamp {
    /// Start `sink` playing `latency` earlier than the pipeline's playout delay; None if
    /// there is nothing to ramp (a zero latency).
    pub fn start(sink: &gst::Element, latency: gst::ClockTime) -> Option<Self> {
        if latency.is_zero() {
            return None;
        }
        let ramp = Self::idle();
        ramp.grow(sink, latency, Pace::NEW_STREAM);
        Some(ramp)
    }

    /// A ramp with nothing to grow yet (see `grow`).
    pub fn idle() -> Self {
        Self { state: Mutex::new(Ramp { phase: Phase::Done, full: 0, pace: Pace::NEW_STREAM, inserted: 0, hist: vec![0; HIST] }) }
    }

    /// The pipeline's playout delay is about to rise by `by`: move the sink's ts-offset down
    /// by as much, so that nothing plays later yet, and grow the delay from here by
    /// inserting periods at `pace` of stream time again (what is still owed from an earlier
    /// growth is kept). Any thread; takes no lock a streaming thread holds while it pushes.
    pub fn grow(&self, sink: &gst::Element, by: gst::ClockTime, pace: Pace) {
        let Ok(mut st) = self.state.lock() else { return };
        st.full = st.full - st.inserted + ns_to_samples(by.nseconds());
        st.inserted = 0;
        st.pace = pace;
        st.phase = Phase::Waiting;
        sink.set_property("ts-offset", -(samples_to_ns(st.full) as i64));
    }

    /// Called for each sample the sink renders (48 kHz mono S16, the sink's caps): returns
    /// the pitch period to deliver before it when the delay grows now (and then moves
    /// ts-offset up by that period), which plays in the time the sample was due.
    pub fn process(&self, sink: &gst::Element, sample: &gst::Sample) -> Option<gst::Sample> {
        let buffer = sample.buffer()?;
        let pts = buffer.pts()?;
        let mut st = self.state.lock().ok()?;
        // Done, the audio still passes through the history: a later `grow` inserts periods
        // that must continue what was delivered last.
        let first = match st.phase {
            Phase::Done => None,
            Phase::Waiting => {
                st.phase = Phase::Running(pts);
                Some(pts)
            }
            Phase::Running(first) => Some(first),
        };
        let map = buffer.map_readable().ok()?;
        let Some(first) = first else {
            st.remember_bytes(map.as_slice());
            return None;
        };
        let x = super::pcm::samples(map.as_slice());
        drop(map);
        let full = st.full;
        let remaining = full.saturating_sub(st.inserted);
        let mut period = None;
        let owed = ns_to_samples(pts.saturating_sub(first).nseconds() / st.pace.0).min(full);
        if remaining < MIN_LAG {
            st.phase = Phase::Done;
        } else if owed >= st.inserted + MIN_LAG && x.len() >= WIN.max(MIN_LAG) {
            let mut s = st.hist.clone();
            s.extend_from_slice(&x[..WIN]);
            let m = tsm::find_lag(&s, HIST, -1, MIN_LAG, MAX_LAG.min(x.len()), WIN, remaining);
            if m.usable() {
                period = Some(tsm::period_before(&x, &st.hist, m.lag));
                st.inserted += m.lag;
                sink.set_property("ts-offset", -(samples_to_ns(full - st.inserted) as i64));
                gst::debug!(tsm::CAT, "playout delay +{} samples: {} ms grown", m.lag, st.inserted / 48);
            }
        }
        if let Some(period) = &period {
            st.remember(period);
        }
        st.remember(&x);
        let period = period?;
        let mut alone = gst::Buffer::from_mut_slice(super::pcm::to_bytes(&period));
        {
            let b = alone.get_mut().expect("new buffer");
            b.set_pts(buffer.pts());
            b.set_dts(buffer.dts());
            b.set_duration(gst::ClockTime::from_nseconds(samples_to_ns(period.len())));
            b.set_flags(buffer.flags());
        }
        // Consumers that pair this audio with what was sent (the echo canceller) learn that
        // what follows the period came that many samples later.
        let info = gst::Structure::builder(INSERTED).field("samples", period.len() as u32).build();
        Some(gst::Sample::builder().buffer(&alone).caps_if_some(sample.caps_owned().as_ref()).segment_if_some(sample.segment()).info(info).build())
    }

    #[cfg(test)]
    fn is_done(&self) -> bool {
        self.state.lock().map(|s| matches!(s.phase, Phase::Done)).unwrap_or(true)
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
///
/// A hole in the timestamps normally starts the timeline over at the later PTS (less audio
/// than time is no harm). But rtpjitterbuffer makes holes of its own: a packet later than its
/// timestamp plus the latency is taken for a sender's pause and restamped at its arrival, the
/// burst behind it from there, and the skew estimate then pulls the timestamps back over the
/// next second or two while the audio, contiguous all along, runs ahead of them by up to the
/// stall. The RTP packets on their way to the depayloader show both: a restamp (the next
/// sequence number, the timestamp one packet on, the PTS much further) and the pull-back
/// (PTS steps shorter than the timestamp steps). What of a restamp is not pulled back yet
/// (`credit`, at most `MAX_CREDIT`) is taken off the decoder's output timestamps here: the
/// audio is measured against the time its RTP timestamps give, which the jitter buffer does
/// not move.
#[derive(Default)]
pub struct RealTimeClamp {
    state: Mutex<ClampState>,
    /// Audio cut, ns.
    pub trimmed: std::sync::atomic::AtomicU64,
}

#[derive(Default)]
struct ClampState {
    /// End of the audio let through so far.
    end: Option<gst::ClockTime>,
    /// How much later than their RTP timestamps say the jitter buffer stamps the packets now:
    /// its restamps less what its skew estimate has pulled back since.
    credit: gst::ClockTime,
    /// The last RTP packet: sequence number, timestamp, PTS.
    last: Option<(u16, u32, gst::ClockTime)>,
}

/// A restamp smaller than this is the skew estimate's usual step, not a resync.
const RESTAMP: gst::ClockTime = gst::ClockTime::from_mseconds(10);
/// The most credit held: the state stays bounded whatever a sender's timing; audio behind a
/// longer stall may still be cut.
const MAX_CREDIT: gst::ClockTime = gst::ClockTime::from_seconds(1);

impl RealTimeClamp {
    /// Clamp the raw audio leaving `pad` (a decoder's src pad), crediting the restamps of the
    /// RTP packets entering `rtp` (its depayloader's sink pad).
    pub fn install(pad: &gst::Pad, rtp: &gst::Pad) -> std::sync::Arc<Self> {
        let clamp = std::sync::Arc::new(Self::default());
        let c = clamp.clone();
        let clock_rate = Mutex::new(CapsCache::default());
        rtp.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let Some(gst::PadProbeData::Buffer(buffer)) = &info.data else { return gst::PadProbeReturn::Ok };
            let rate = from_pad(pad, &clock_rate, |c| c.structure(0).and_then(|s| s.get::<i32>("clock-rate").ok()));
            let header = buffer.map_readable().ok().and_then(|m| super::rtp_header::RtpHeader::parse(&m));
            if let (Some(pts), Some(rate), Some(header)) = (buffer.pts(), rate, header) {
                c.rtp(header.sequence, header.timestamp, pts, rate.max(1) as u32);
            }
            gst::PadProbeReturn::Ok
        });
        let c = clamp.clone();
        let format = Mutex::new(CapsCache::default());
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let Some(gst::PadProbeData::Buffer(buffer)) = &mut info.data else { return gst::PadProbeReturn::Ok };
            let (Some(pts), Some((rate, bpf))) = (buffer.pts(), from_pad(pad, &format, rate_and_bpf)) else { return gst::PadProbeReturn::Ok };
            let frames = buffer.size() / bpf.max(1);
            match c.keep(pts, frames, rate) {
                Some(keep) if keep == frames => gst::PadProbeReturn::Ok,
                Some(keep) => {
                    let rate = u64::from(rate);
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

    /// An RTP packet (`seq`, `ts` at `clock_rate`) stamped `pts` is on its way to the decoder.
    fn rtp(&self, seq: u16, ts: u32, pts: gst::ClockTime, clock_rate: u32) {
        let Ok(mut s) = self.state.lock() else { return };
        if let Some((last_seq, last_ts, last_pts)) = s.last {
            let step = ts.wrapping_sub(last_ts) as i32;
            if seq == last_seq.wrapping_add(1) && step >= 0 {
                let rtp = (step as u64).mul_div_floor(1_000_000_000, u64::from(clock_rate)).unwrap_or(0) as i64;
                let restamp = pts.nseconds() as i64 - last_pts.nseconds() as i64 - rtp;
                if restamp > RESTAMP.nseconds() as i64 {
                    s.credit = (s.credit + gst::ClockTime::from_nseconds(restamp as u64)).min(MAX_CREDIT);
                } else if restamp < 0 {
                    // The skew estimate pulling the timestamps back.
                    s.credit = s.credit.saturating_sub(gst::ClockTime::from_nseconds(restamp.unsigned_abs()));
                }
            }
        }
        s.last = Some((seq, ts, pts));
    }

    /// How many of `frames` frames at `rate` stamped `pts` to let through (None: none).
    fn keep(&self, pts: gst::ClockTime, frames: usize, rate: u32) -> Option<usize> {
        let rate_u = u64::from(rate.max(1));
        let duration = gst::ClockTime::SECOND.mul_div_floor(frames as u64, rate_u)?;
        let mut s = self.state.lock().ok()?;
        // The time the packet's RTP timestamp gives, where the jitter buffer restamped it later.
        let pts = pts.saturating_sub(s.credit);
        let start = s.end.map_or(pts, |e| e.max(pts));
        let end = &mut s.end;
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

    /// The history keeps the newest `HIST` samples delivered, whether they come as samples or
    /// as the steady state's bytes, for buffers shorter than, as long as and longer than it.
    #[test]
    fn the_history_is_the_same_from_samples_and_from_bytes() {
        let ramp = || Ramp { phase: Phase::Done, full: 0, pace: Pace::NEW_STREAM, inserted: 0, hist: vec![0; HIST] };
        let (mut a, mut b) = (ramp(), ramp());
        let mut next = 0i16;
        for len in [10, 960, HIST, 3, HIST + 17, 480] {
            let chunk: Vec<i16> = (0..len).map(|_| {
                next = next.wrapping_add(1);
                next
            }).collect();
            a.remember(&chunk);
            b.remember_bytes(&super::super::pcm::to_bytes(&chunk));
            assert_eq!(a.hist, b.hist, "after {len} samples");
            assert_eq!(a.hist[HIST - 1], next, "newest last");
        }
    }

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

    /// A 200 ms stall: rtpjitterbuffer restamps the late packet at its arrival, 184 ms later than
    /// its RTP timestamp says, then pulls the timestamps back by 7 ms a packet. The audio,
    /// contiguous all along, is all kept; without the RTP packets' credit the tail of the pull
    /// was cut. A sender's real pause (its RTP timestamps jump with the PTS) earns nothing: a
    /// lying payload after one is still cut at 120 ms ahead.
    #[test]
    fn a_restamp_by_the_jitter_buffer_is_no_hole() {
        use std::sync::atomic::Ordering::Relaxed;
        let ms = gst::ClockTime::from_mseconds;
        let stall = |credited: bool| {
            let c = RealTimeClamp::default();
            let (mut pts, mut kept) = (ms(0), 0);
            for k in 0..100u32 {
                pts += match k {
                    0 => ms(0),
                    25 => ms(204),
                    26..=51 => ms(13),
                    _ => ms(20),
                };
                if credited {
                    c.rtp(k as u16, k * 160, pts, 8000);
                }
                kept += c.keep(pts, 960, 48_000).unwrap_or(0);
            }
            (kept, c.trimmed.load(Relaxed) / 1_000_000)
        };
        assert_eq!(stall(true), (100 * 960, 0));
        let (kept, trimmed) = stall(false);
        assert!(trimmed >= 50 && kept < 100 * 960, "uncredited: {trimmed} ms cut");

        let c = RealTimeClamp::default();
        let (mut pts, mut ts, mut kept) = (ms(0), 0u32, 0);
        for k in 0..80u32 {
            let step = if k == 25 { 204 } else { 20 };
            if k > 0 {
                pts += ms(step);
                ts += step as u32 * 8;
            }
            c.rtp(k as u16, ts, pts, 8000);
            // From just after the pause, 60 ms of audio per 20 ms packet.
            let frames = if k > 25 { 2880 } else { 960 };
            kept += c.keep(pts, frames, 48_000).unwrap_or(0);
        }
        // The timestamps span 80 packets of 20 ms and the pause, which has no audio.
        let lead_ms = (kept as u64 / 48) as i64 - 80 * 20;
        assert!((lead_ms - 100).abs() <= 20, "ran {lead_ms} ms ahead after a real pause");
    }

    fn offset(sink: &gst::Element) -> i64 {
        sink.property::<i64>("ts-offset")
    }

    fn tone_sample(n0: usize, len: usize, freq: f64, amp: f64, pts: gst::ClockTime) -> gst::Sample {
        let pcm = crate::media::tsm::tests::sine(n0, len, freq, amp);
        let mut buffer = gst::Buffer::from_mut_slice(crate::media::pcm::to_bytes(&pcm));
        buffer.get_mut().unwrap().set_pts(pts);
        gst::Sample::builder().buffer(&buffer).caps(&crate::media::raw_caps(crate::media::RATE, 1)).build()
    }

    fn pcm(s: &gst::Sample) -> Vec<i16> {
        let m = s.buffer().unwrap().map_readable().unwrap();
        crate::media::pcm::samples(m.as_slice())
    }

    /// 20 ms buffers of a tone: the delay grows by 1 % of stream time in whole periods, the
    /// delivered audio keeps its pitch in every 20 ms window and has no step, and ts-offset
    /// moves by exactly what was inserted.
    #[test]
    fn grows_the_delay_at_one_percent_by_inserting_pitch_periods() {
        gst::init().unwrap();
        let sink = gst::ElementFactory::make("appsink").build().unwrap();
        let ms = gst::ClockTime::from_mseconds;
        let latency = ms(50);
        let ramp = PlayoutRamp::start(&sink, latency).unwrap();
        assert_eq!(offset(&sink), -50_000_000);
        let (freq, amp) = (700.0, 12_000.0);
        let mut heard = Vec::new();
        let mut done_at = None;
        for i in 0..400usize {
            let sample = tone_sample(i * 960, 960, freq, amp, ms(1000 + 20 * i as u64));
            if let Some(period) = ramp.process(&sink, &sample) {
                let got = pcm(&period);
                assert_eq!(inserted_samples(&period) as usize, got.len(), "the period says it is one");
                assert_eq!(period.buffer().unwrap().duration(), Some(gst::ClockTime::from_nseconds(samples_to_ns(got.len()))));
                heard.extend_from_slice(&got);
            }
            assert_eq!(inserted_samples(&sample), 0);
            heard.extend_from_slice(&pcm(&sample));
            // What was delivered beyond real time is exactly how far ts-offset moved.
            let extra = samples_to_ns(heard.len() - (i + 1) * 960) as i64;
            assert_eq!(offset(&sink), -50_000_000 + extra);
            // 1 % of the stream time, paid in periods of ≤ 15 ms, never more than the latency.
            let owed = (20 * i as i64 * 1_000_000 / 100).min(50_000_000);
            assert!(extra <= owed + 15_000_000 && extra >= owed - 15_000_000 - 20_000_000, "{i}: {extra} vs {owed}");
            if done_at.is_none() && ramp.is_done() {
                done_at = Some(i);
            }
        }
        let grown = 50_000_000 + offset(&sink);
        assert!(grown <= 50_000_000 && grown > 50_000_000 - 2_500_000, "grown {grown}");
        let done_at = done_at.expect("done");
        // 1 % of 5 s is the full 50 ms; a period may run up to 15 ms ahead of that schedule.
        assert!((175..=260).contains(&done_at), "done after {done_at} buffers");
        let (worst, jump) = crate::media::tsm::tests::check_tone(&heard, freq, 0.001);
        let slope = crate::media::tsm::tests::max_slope(freq, amp);
        eprintln!("ramp: done after {} s, worst window {:.4} %, step {jump} (sine {slope})", done_at as f64 / 50.0, worst * 100.0);
        assert!(jump <= slope, "step {jump}");
    }

    /// An idle ramp told mid-stream that the delay rises by 20 ms: ts-offset drops by 20 ms
    /// at once, then climbs back to 0 by whole periods at 5 % of stream time, continuing the
    /// audio delivered before (no step, no pitch change across the growth).
    #[test]
    fn grows_again_mid_stream_from_where_the_audio_is() {
        gst::init().unwrap();
        let sink = gst::ElementFactory::make("appsink").build().unwrap();
        let ms = gst::ClockTime::from_mseconds;
        let ramp = PlayoutRamp::idle();
        let (freq, amp) = (440.0, 12_000.0);
        let mut heard = Vec::new();
        for i in 0..300usize {
            if i == 50 {
                ramp.grow(&sink, ms(20), Pace::CATCH_UP);
                assert_eq!(offset(&sink), -20_000_000);
            }
            let sample = tone_sample(i * 960, 960, freq, amp, ms(1000 + 20 * i as u64));
            if let Some(period) = ramp.process(&sink, &sample) {
                heard.extend_from_slice(&pcm(&period));
            }
            heard.extend_from_slice(&pcm(&sample));
            let extra = samples_to_ns(heard.len() - (i + 1) * 960) as i64;
            // (±1 ns: ts-offset is computed from samples still owed, `extra` from samples added.)
            assert!((offset(&sink) - if i < 50 { 0 } else { -20_000_000 + extra }).abs() <= 1, "{i}: {}", offset(&sink));
            // 5 % of 400 ms is the 20 ms, plus one period's lag.
            if i == 80 {
                assert!(offset(&sink) >= -4_600_000, "after 600 ms: offset {}", offset(&sink));
            }
        }
        // Within one usable period of the full growth (440 Hz: periods are taken in pairs,
        // 4.5 ms, since one is shorter than the 2.5 ms minimum).
        assert!(offset(&sink) >= -4_600_000, "offset {}", offset(&sink));
        let (worst, jump) = crate::media::tsm::tests::check_tone(&heard, freq, 0.001);
        let slope = crate::media::tsm::tests::max_slope(freq, amp);
        assert!(worst <= 0.001, "window {:.4} % off", worst * 100.0);
        assert!(jump <= slope, "step {jump}");
    }

    #[test]
    fn nothing_to_ramp_at_zero_latency() {
        gst::init().unwrap();
        let sink = gst::ElementFactory::make("appsink").build().unwrap();
        assert!(PlayoutRamp::start(&sink, gst::ClockTime::ZERO).is_none());
        assert_eq!(offset(&sink), 0);
    }
}
