//! A source pad with no thread of its own, fed by a track: the head of a connection's
//! send chain.
//!
//! appsrc would give every sender a streaming thread, woken for each 10 ms buffer. Here
//! the producer's thread only stamps the buffer (in this pipeline's running time, on
//! arrival) and queues it; a shared media worker (`workers`) pushes the queue downstream
//! through the encoder into webrtcbin. A source is drained by one worker at a time, so its
//! buffers stay in order. The pad has no parent element, as GstHarness's pads: linking and
//! pushing work the same, and it answers the queries a live source must (latency).
//!
//! Buffers go to the worker in batches (`Batches`), cut where the encoder chain completes a
//! packet, so that a batch holds back nothing a packet is waiting for: the chain crosses
//! convert, resample, encoder and payloader, and a worker wakes, once per packet instead of
//! once per 10 ms buffer, and the packets leave when they did unbatched.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use super::track::TrackCore;
use super::track_io::Retimer;
use super::workers;

/// Audio waiting beyond this (a stalled worker) drops the oldest batches, as a leaky appsrc
/// did: live audio wants the newest.
const MAX_QUEUED: gst::ClockTime = gst::ClockTime::from_mseconds(200);

static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

struct Inner {
    pad: gst::Pad,
    pipeline: gst::glib::WeakRef<gst::Pipeline>,
    queue: Mutex<Batches>,
    scheduled: AtomicBool,
    /// Caps sent downstream; None until the stream has started.
    caps: Mutex<Option<gst::Caps>>,
}

pub struct PushSource {
    inner: Arc<Inner>,
}

impl PushSource {
    pub fn new(pipeline: &gst::Pipeline, name: &str) -> Result<Self, String> {
        let pad = gst::Pad::builder(gst::PadDirection::Src)
            .name(name)
            .query_function(|pad, _parent, query| answer(pad, query))
            // Upstream events (reconfigure, QoS, latency) need no action from a live source.
            .event_function(|_, _, _| true)
            .build();
        pad.set_active(true).map_err(|e| format!("cannot activate the send pad: {e}"))?;
        Ok(Self {
            inner: Arc::new(Inner {
                pad,
                pipeline: pipeline.downgrade(),
                queue: Mutex::new(Batches::default()),
                scheduled: AtomicBool::new(false),
                caps: Mutex::new(None),
            }),
        })
    }

    pub fn pad(&self) -> &gst::Pad {
        &self.inner.pad
    }

    /// Batch for an encoder at `rate` Hz whose packets carry `packet` of audio; until this is
    /// called each buffer goes on alone.
    pub fn set_packet(&self, packet: gst::ClockTime, rate: u32) {
        if let Ok(mut queue) = self.inner.queue.lock() {
            queue.set_packet(packet, rate);
        }
    }

    /// Become a consumer of `track` (samples pass only while `gate` is true); returns the
    /// consumer id.
    pub fn feed(&self, track: &TrackCore, gate: Arc<AtomicBool>) -> u64 {
        let inner = self.inner.clone();
        let retimer = Retimer::default();
        track.add_consumer(Arc::new(move |sample: &gst::Sample| {
            if !gate.load(Ordering::Acquire) {
                return;
            }
            let Some(now) = inner.pipeline.upgrade().and_then(|p| p.current_running_time()) else { return };
            let Some((buffer, caps)) = retimer.retime(sample, now) else { return };
            let ready = inner.queue.lock().map(|mut q| q.add(buffer, caps)).unwrap_or(false);
            if ready && !inner.scheduled.swap(true, Ordering::AcqRel) {
                let inner = inner.clone();
                workers::spawn(Box::new(move || inner.drain()));
            }
        }))
    }
}

/// Where the packets of the encoder chain end, in the audio handed to it.
///
/// The payloader cuts a packet every `packet` of audio counted from the start of the stream
/// or from its last discontinuity, which the chain marks where our timestamps jump (the
/// `Retimer` resyncing after a pause, beyond audioresample's tolerance of 1/32 s), the caps
/// change or a buffer is flagged DISCONT. When the chain resamples, audioresample's output
/// lags its input by half its filter (under a millisecond), so packet k is complete only once
/// the input reaches a little past k × packet: the cut is the first buffer end beyond it.
/// Without resampling (Opus at 48 kHz, frames of exactly `packet`) the cut is at k × packet
/// itself. A batch cut anywhere else holds a complete packet's audio back until the next cut:
/// up to a buffer (10 ms) of added delay for the rest of the stream.
#[derive(Default)]
struct Batches {
    ready: VecDeque<(gst::Buffer, gst::Caps)>,
    open: Option<(gst::Buffer, gst::Caps)>,
    /// ns per packet (0: no batching) and the encoder's rate.
    packet: u64,
    rate: u32,
    /// Audio added since the chain's last discontinuity, in ns.
    phase: u64,
    /// 1 ns when the chain resamples these caps (its packets complete just past k × packet),
    /// else 0: set with the first buffer after a restart, as the caps only change at one.
    lag: u64,
    /// Where the last buffer ended, and its caps: a next buffer elsewhere is a discontinuity.
    last: Option<(gst::ClockTime, gst::Caps)>,
}

impl Batches {
    fn set_packet(&mut self, packet: gst::ClockTime, rate: u32) {
        self.packet = packet.nseconds();
        self.rate = rate;
        // A new encoder starts counting from its first buffer.
        self.restart();
    }

    /// Closes the open batch and counts from zero again.
    fn restart(&mut self) {
        if let Some((open, caps)) = self.open.take() {
            self.close(open, caps);
        }
        self.phase = 0;
    }

    /// Adds a buffer; returns whether a batch is ready for the worker.
    fn add(&mut self, buffer: gst::Buffer, caps: gst::Caps) -> bool {
        let (Some(pts), Some(duration)) = (buffer.pts(), buffer.duration()) else {
            self.restart();
            self.last = None;
            self.close(buffer, caps);
            return true;
        };
        // A producer's DISCONT passes the Retimer: audioresample restarts at it too.
        let continues = self.last.as_ref().is_some_and(|(end, last)| *end == pts && *last == caps);
        if buffer.flags().contains(gst::BufferFlags::DISCONT) || !continues {
            self.restart();
        }
        self.last = Some((pts + duration, caps.clone()));
        let start = self.phase;
        if start == 0 {
            let rate = caps.structure(0).and_then(|s| s.get::<i32>("rate").ok());
            self.lag = u64::from(rate != i32::try_from(self.rate).ok());
        }
        self.phase += duration.nseconds();
        let batch = match self.open.take() {
            Some((mut open, _)) => {
                let total = open.duration().map(|d| d + duration);
                open.append(buffer);
                open.make_mut().set_duration(total);
                open
            }
            None => buffer,
        };
        if self.cut_within(start, self.phase) {
            self.close(batch, caps);
        } else {
            self.open = Some((batch, caps));
        }
        !self.ready.is_empty()
    }

    /// Whether a packet of the chain completes with the audio between `start` and `end`.
    fn cut_within(&self, start: u64, end: u64) -> bool {
        if self.packet == 0 {
            return true;
        }
        let lag = self.lag;
        // The first cut past `start`: k × packet + lag, with k ≥ 1 when there is no lag.
        let k = if start + 1 > lag { (start + 1 - lag).div_ceil(self.packet) } else { 0 };
        let cut = (k * self.packet + lag).max(1);
        cut <= end
    }

    /// A batch dropped here leaves the chain a gap that restarts its packets where our count
    /// does not: until our next restart, a packet may wait up to a buffer longer.
    fn close(&mut self, buffer: gst::Buffer, caps: gst::Caps) {
        self.ready.push_back((buffer, caps));
        let queued = |r: &VecDeque<(gst::Buffer, gst::Caps)>| r.iter().filter_map(|(b, _)| b.duration()).sum::<gst::ClockTime>();
        while self.ready.len() > 1 && queued(&self.ready) > MAX_QUEUED {
            self.ready.pop_front();
        }
    }
}

impl Inner {
    fn drain(&self) {
        loop {
            let next = self.queue.lock().ok().and_then(|mut q| q.ready.pop_front());
            match next {
                Some((buffer, caps)) => self.push(buffer, caps),
                None => {
                    self.scheduled.store(false, Ordering::Release);
                    // A buffer queued between the empty pop and the store saw `scheduled`
                    // still true and spawned no job: take it on here.
                    let empty = self.queue.lock().map(|q| q.ready.is_empty()).unwrap_or(true);
                    if empty || self.scheduled.swap(true, Ordering::AcqRel) {
                        return;
                    }
                }
            }
        }
    }

    /// Sticky events first (stream-start, caps, a TIME segment from 0 — buffers carry
    /// running time), then the buffer. A flushing or unlinked downstream (closing, no
    /// answer yet) just drops it.
    fn push(&self, buffer: gst::Buffer, caps: gst::Caps) {
        let Ok(mut current) = self.caps.lock() else { return };
        if current.is_none() {
            let stream_id = format!("gstpc-send-{}", NEXT_STREAM.fetch_add(1, Ordering::Relaxed));
            self.pad.push_event(gst::event::StreamStart::builder(&stream_id).group_id(gst::GroupId::next()).build());
        }
        if current.as_ref() != Some(&caps) {
            self.pad.push_event(gst::event::Caps::new(&caps));
            if current.is_none() {
                self.pad.push_event(gst::event::Segment::new(&gst::FormattedSegment::<gst::ClockTime>::new()));
            }
            *current = Some(caps);
        }
        drop(current);
        let _ = self.pad.push(buffer);
    }
}

/// A live source's answers: latency (live, none of its own), and the caps it is pushing.
fn answer(pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
    match query.view_mut() {
        gst::QueryViewMut::Latency(q) => {
            q.set(true, gst::ClockTime::ZERO, gst::ClockTime::NONE);
            true
        }
        gst::QueryViewMut::Caps(q) => {
            let caps = pad.current_caps().unwrap_or_else(|| gst::Caps::new_empty_simple("audio/x-raw"));
            let caps = match q.filter() {
                Some(f) => f.intersect_with_mode(&caps, gst::CapsIntersectMode::First),
                None => caps,
            };
            q.set_result(&caps);
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    fn buffer(pts_ms: u64) -> gst::Buffer {
        let mut b = gst::Buffer::from_mut_slice(vec![pts_ms as u8; 960]);
        let m = b.get_mut().unwrap();
        m.set_pts(gst::ClockTime::from_mseconds(pts_ms));
        m.set_duration(gst::ClockTime::from_mseconds(10));
        b
    }

    fn caps(rate: u32) -> gst::Caps {
        crate::media::raw_caps(rate, 1)
    }

    /// Feeds 10 ms buffers at `pts_ms`; the batches that became ready, as (pts, duration) in ms.
    fn feed(q: &mut Batches, pts_ms: &[u64], rate: u32) -> Vec<(u64, u64)> {
        for &p in pts_ms {
            q.add(buffer(p), caps(rate));
        }
        q.ready.drain(..).map(|(b, _)| (b.pts().unwrap().nseconds() / MS, b.duration().unwrap().nseconds() / MS)).collect()
    }

    #[test]
    fn a_resampling_chain_gets_each_packet_as_soon_as_its_audio_is_there() {
        gst::init().unwrap();
        let mut q = Batches::default();
        // PCMU: 20 ms packets at 8 kHz from 48 kHz audio. Packet k needs a little past
        // 20k ms of input (the resampler's lag): the first buffer goes alone, then pairs.
        q.set_packet(gst::ClockTime::from_mseconds(20), 8_000);
        assert_eq!(feed(&mut q, &[0, 10, 20, 30], 48_000), [(0, 10), (10, 20)]);
        let (b, _) = q.open.as_ref().unwrap();
        assert_eq!(b.pts(), Some(gst::ClockTime::from_mseconds(30)), "30 waits for 40");
        // The pair's audio follows in order.
        q.add(buffer(40), caps(48_000));
        let (b, _) = q.ready.pop_front().unwrap();
        assert_eq!((b.pts(), b.duration()), (Some(gst::ClockTime::from_mseconds(30)), Some(gst::ClockTime::from_mseconds(20))));
        assert_eq!(b.map_readable().unwrap()[960], 40);
    }

    #[test]
    fn an_encoder_at_the_tracks_rate_gets_whole_frames() {
        gst::init().unwrap();
        let mut q = Batches::default();
        q.set_packet(gst::ClockTime::from_mseconds(20), 48_000);
        assert_eq!(feed(&mut q, &[0, 10, 20, 30, 40], 48_000), [(0, 20), (20, 20)]);
        q.set_packet(gst::ClockTime::from_mseconds(60), 48_000);
        assert_eq!(feed(&mut q, &[50, 60, 70, 80, 90, 100, 110, 120, 130, 140, 150, 160], 48_000), [(40, 10), (50, 60), (110, 60)]);
    }

    #[test]
    fn a_discontinuity_starts_the_count_again() {
        gst::init().unwrap();
        let mut q = Batches::default();
        q.set_packet(gst::ClockTime::from_mseconds(20), 48_000);
        // A jump (the producer paused): the open batch leaves short, the count restarts.
        assert_eq!(feed(&mut q, &[0, 10, 20, 200, 210, 220], 48_000), [(0, 20), (20, 10), (200, 20)]);
        // New caps: the chain resamples now, so the first buffer goes alone.
        assert_eq!(feed(&mut q, &[230, 240, 250], 16_000), [(220, 10), (230, 10), (240, 20)]);
        // A buffer flagged DISCONT restarts the count as a jump does.
        let mut flagged = buffer(260);
        flagged.make_mut().set_flags(gst::BufferFlags::DISCONT);
        q.add(flagged, caps(16_000));
        assert_eq!(feed(&mut q, &[270, 280], 16_000), [(260, 10), (270, 20)]);
        // Without a codec each buffer goes on alone.
        let mut q = Batches::default();
        assert_eq!(feed(&mut q, &[0, 10, 20], 48_000), [(0, 10), (10, 10), (20, 10)]);
    }

    #[test]
    fn a_stalled_worker_keeps_the_newest_200_ms() {
        gst::init().unwrap();
        let mut q = Batches::default();
        q.set_packet(gst::ClockTime::from_mseconds(20), 48_000);
        for i in 0..50 {
            q.add(buffer(i * 10), caps(48_000));
        }
        let queued: gst::ClockTime = q.ready.iter().filter_map(|(b, _)| b.duration()).sum();
        assert_eq!(queued, MAX_QUEUED);
        assert_eq!(q.ready.back().unwrap().0.pts(), Some(gst::ClockTime::from_mseconds(480)));
    }
}
