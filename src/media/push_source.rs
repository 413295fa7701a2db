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
//! Buffers go to the worker in batches of one packet's audio (`set_batch`, from the codec and
//! `a=ptime`): the encoder and the payloader gather a packet's worth before anything leaves
//! anyway, so a batch delays nothing, and it crosses the chain (convert, resample, encoder,
//! payloader) and wakes a worker once per packet instead of once per 10 ms buffer. A batch
//! is only contiguous audio of one format: a gap in the timestamps or new caps closes it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use super::track::TrackCore;
use super::track_io::Retimer;
use super::workers;

/// Audio waiting beyond this (a stalled worker) drops the oldest, as a leaky appsrc did: live
/// audio wants the newest.
const MAX_QUEUED: gst::ClockTime = gst::ClockTime::from_mseconds(200);

static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

struct Inner {
    pad: gst::Pad,
    pipeline: gst::glib::WeakRef<gst::Pipeline>,
    queue: Mutex<Queue>,
    /// Audio per batch in ns; 0 until a codec is known.
    batch: AtomicU64,
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
                queue: Mutex::new(Queue::default()),
                batch: AtomicU64::new(0),
                scheduled: AtomicBool::new(false),
                caps: Mutex::new(None),
            }),
        })
    }

    pub fn pad(&self) -> &gst::Pad {
        &self.inner.pad
    }

    /// Hand buffers on in batches of `packet` (the audio one packet of the encoder carries).
    pub fn set_batch(&self, packet: gst::ClockTime) {
        self.inner.batch.store(packet.nseconds(), Ordering::Relaxed);
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
            let batch = gst::ClockTime::from_nseconds(inner.batch.load(Ordering::Relaxed));
            let ready = inner.queue.lock().map(|mut q| q.add(buffer, caps, batch)).unwrap_or(false);
            if ready && !inner.scheduled.swap(true, Ordering::AcqRel) {
                let inner = inner.clone();
                workers::spawn(Box::new(move || inner.drain()));
            }
        }))
    }
}

/// Batches ready for the worker, and the one being gathered.
#[derive(Default)]
struct Queue {
    ready: VecDeque<(gst::Buffer, gst::Caps)>,
    open: Option<(gst::Buffer, gst::Caps)>,
}

impl Queue {
    /// Adds a buffer to the open batch; returns whether a batch is ready.
    fn add(&mut self, mut buffer: gst::Buffer, caps: gst::Caps, batch: gst::ClockTime) -> bool {
        if let Some((mut open, open_caps)) = self.open.take() {
            let end = open.pts().zip(open.duration()).map(|(p, d)| p + d);
            if open_caps == caps && end.is_some() && end == buffer.pts() {
                let duration = open.duration().zip(buffer.duration()).map(|(a, b)| a + b);
                open.append(buffer);
                open.make_mut().set_duration(duration);
                buffer = open;
            } else {
                self.close(open, open_caps);
            }
        }
        if buffer.duration().is_some_and(|d| d >= batch) {
            self.close(buffer, caps);
        } else {
            self.open = Some((buffer, caps));
        }
        !self.ready.is_empty()
    }

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

    const MS10: gst::ClockTime = gst::ClockTime::from_mseconds(10);
    const MS20: gst::ClockTime = gst::ClockTime::from_mseconds(20);

    fn buffer(pts_ms: u64) -> gst::Buffer {
        let mut b = gst::Buffer::from_mut_slice(vec![pts_ms as u8; 960]);
        let m = b.get_mut().unwrap();
        m.set_pts(gst::ClockTime::from_mseconds(pts_ms));
        m.set_duration(MS10);
        b
    }

    fn caps(rate: u32) -> gst::Caps {
        crate::media::raw_caps(rate, 1)
    }

    #[test]
    fn ten_ms_buffers_leave_in_packets_of_contiguous_audio() {
        gst::init().unwrap();
        let mut q = Queue::default();
        assert!(!q.add(buffer(0), caps(48_000), MS20));
        assert!(q.add(buffer(10), caps(48_000), MS20));
        let (b, _) = q.ready.pop_front().unwrap();
        assert_eq!((b.pts(), b.duration(), b.size()), (Some(gst::ClockTime::ZERO), Some(MS20), 1920));
        assert_eq!(b.map_readable().unwrap()[960], 10, "the second buffer's audio follows the first's");
        // A gap (the producer paused) closes the open batch: it leaves short, not merged.
        assert!(!q.add(buffer(20), caps(48_000), MS20));
        assert!(q.add(buffer(50), caps(48_000), MS20));
        assert_eq!(q.ready.pop_front().unwrap().0.duration(), Some(MS10));
        // So do new caps.
        assert!(q.add(buffer(60), caps(16_000), MS20));
        assert_eq!(q.ready.pop_front().unwrap().0.pts(), Some(gst::ClockTime::from_mseconds(50)));
        // Without a codec (batch 0) a buffer is ready at once, the open batch with it.
        assert!(q.add(buffer(70), caps(16_000), gst::ClockTime::ZERO));
        assert_eq!(q.ready.pop_front().unwrap().0.duration(), Some(MS20));
        assert!(q.add(buffer(80), caps(16_000), gst::ClockTime::ZERO));
        assert_eq!(q.ready.pop_front().unwrap().0.duration(), Some(MS10));
    }

    #[test]
    fn a_stalled_worker_keeps_the_newest_200_ms() {
        gst::init().unwrap();
        let mut q = Queue::default();
        for i in 0..50 {
            q.add(buffer(i * 10), caps(48_000), MS20);
        }
        let queued: gst::ClockTime = q.ready.iter().filter_map(|(b, _)| b.duration()).sum();
        assert_eq!(queued, MAX_QUEUED);
        assert_eq!(q.ready.back().unwrap().0.pts(), Some(gst::ClockTime::from_mseconds(480)));
    }
}
