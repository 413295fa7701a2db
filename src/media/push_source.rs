//! A source pad with no thread of its own, fed by a track: the head of a connection's
//! send chain.
//!
//! appsrc would give every sender a streaming thread, woken for each 10 ms buffer. Here
//! the producer's thread only stamps the buffer (in this pipeline's running time, on
//! arrival) and queues it; a shared media worker (`workers`) pushes the queue downstream
//! through the encoder into webrtcbin. A source is drained by one worker at a time, so its
//! buffers stay in order. The pad has no parent element, as GstHarness's pads: linking and
//! pushing work the same, and it answers the queries a live source must (latency).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use super::track::TrackCore;
use super::track_io::Retimer;
use super::workers;

/// Buffers waiting beyond this (200 ms of 10 ms buffers: a stalled worker) drop the oldest,
/// as a leaky appsrc did: live audio wants the newest.
const MAX_QUEUED: usize = 20;

static NEXT_STREAM: AtomicU64 = AtomicU64::new(1);

struct Inner {
    pad: gst::Pad,
    pipeline: gst::glib::WeakRef<gst::Pipeline>,
    queue: Mutex<VecDeque<(gst::Buffer, gst::Caps)>>,
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
                queue: Mutex::new(VecDeque::new()),
                scheduled: AtomicBool::new(false),
                caps: Mutex::new(None),
            }),
        })
    }

    pub fn pad(&self) -> &gst::Pad {
        &self.inner.pad
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
            let Some(item) = retimer.retime(sample, now) else { return };
            if let Ok(mut queue) = inner.queue.lock() {
                queue.push_back(item);
                while queue.len() > MAX_QUEUED {
                    queue.pop_front();
                }
            }
            if !inner.scheduled.swap(true, Ordering::AcqRel) {
                let inner = inner.clone();
                workers::spawn(Box::new(move || inner.drain()));
            }
        }))
    }
}

impl Inner {
    fn drain(&self) {
        loop {
            let next = self.queue.lock().ok().and_then(|mut q| q.pop_front());
            match next {
                Some((buffer, caps)) => self.push(buffer, caps),
                None => {
                    self.scheduled.store(false, Ordering::Release);
                    // A buffer queued between the empty pop and the store saw `scheduled`
                    // still true and spawned no job: take it on here.
                    let empty = self.queue.lock().map(|q| q.is_empty()).unwrap_or(true);
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
