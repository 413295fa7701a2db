//! A track is a hub: one producer pushes raw audio samples, any number of consumers
//! (senders of any connection, sinks, recorders) receive the same refcounted buffers.
//! Crossing pipelines this way never copies sample data.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use napi_derive::napi;

pub type Consumer = Arc<dyn Fn(&gst::Sample) + Send + Sync>;

/// Receives the encoded RTP packets behind a track (see `TrackCore::push_rtp`).
pub type RtpConsumer = Arc<dyn Fn(&gst::Buffer, &gst::Caps) + Send + Sync>;

static NEXT_TRACK: AtomicU64 = AtomicU64::new(1);

/// A list of consumers by id, delivered to from a snapshot so that a consumer may add or
/// remove consumers (of this track or another) without deadlocking.
struct Consumers<C: Clone> {
    list: Mutex<Vec<(u64, C)>>,
}

impl<C: Clone> Consumers<C> {
    fn new() -> Self {
        Self { list: Mutex::new(Vec::new()) }
    }

    fn add(&self, id: u64, consumer: C) {
        if let Ok(mut list) = self.list.lock() {
            list.push((id, consumer));
        }
    }

    fn remove(&self, id: u64) {
        if let Ok(mut list) = self.list.lock() {
            list.retain(|(cid, _)| *cid != id);
        }
    }

    /// The consumers now, or None when there are none.
    fn snapshot(&self) -> Option<Vec<C>> {
        let list = self.list.lock().ok()?;
        (!list.is_empty()).then(|| list.iter().map(|(_, c)| c.clone()).collect())
    }

    fn is_empty(&self) -> bool {
        self.list.lock().map_or(true, |list| list.is_empty())
    }

    fn clear(&self) {
        if let Ok(mut list) = self.list.lock() {
            list.clear();
        }
    }
}

pub struct TrackCore {
    pub id: String,
    pub kind: &'static str,
    enabled: AtomicBool,
    ended: AtomicBool,
    next_consumer: AtomicU64,
    consumers: Consumers<Consumer>,
    on_stop: Mutex<Vec<Box<dyn FnOnce() + Send>>>,
    /// The encoded tap: set on tracks that are decoded from RTP (remote tracks), so that
    /// an RtpForwarder of the same codec can relay the packets without decode/encode.
    rtp_tap: AtomicBool,
    rtp_caps: Mutex<Option<gst::Caps>>,
    rtp_consumers: Consumers<RtpConsumer>,
}

/// A track nobody holds any more (no JS object, no mixer input, no sender) releases its
/// producer (a pipeline kept by an `on_stop` hook), which would otherwise go on running with
/// its threads and sockets. The producer object itself (UdpRtpSource, FileSource, ToneSource)
/// being garbage-collected does not stop the track: a mixer or a connection may still use it.
///
/// The hooks run on a thread of their own: the last reference may be dropped on one of the
/// producer pipeline's own streaming threads (a weak upgrade in an appsink callback), where
/// setting that pipeline to NULL would deadlock.
impl Drop for TrackCore {
    fn drop(&mut self) {
        let Some(hooks) = self.end().filter(|h| !h.is_empty()) else { return };
        let spawned = std::thread::Builder::new().name("gstpc-release".into()).spawn(move || {
            for hook in hooks {
                hook();
            }
        });
        if spawned.is_err() {
            gst::warning!(crate::log::CAT, "cannot start a thread to release an unused track's producer");
        }
    }
}

impl TrackCore {
    pub fn new(kind: &'static str) -> Arc<Self> {
        let n = NEXT_TRACK.fetch_add(1, Ordering::Relaxed);
        Arc::new(Self {
            id: format!("gst-{kind}-{n:08x}-{:08x}", std::process::id()),
            kind,
            enabled: AtomicBool::new(true),
            ended: AtomicBool::new(false),
            next_consumer: AtomicU64::new(1),
            consumers: Consumers::new(),
            on_stop: Mutex::new(Vec::new()),
            rtp_tap: AtomicBool::new(false),
            rtp_caps: Mutex::new(None),
            rtp_consumers: Consumers::new(),
        })
    }

    /// Deliver one buffer to every consumer.
    pub fn push(&self, sample: &gst::Sample) {
        if self.ended.load(Ordering::Acquire) {
            return;
        }
        let Some(consumers) = self.consumers.snapshot() else { return };
        if self.enabled.load(Ordering::Acquire) {
            for c in &consumers {
                c(sample);
            }
        } else if let Some(silence) = silence_like(sample) {
            // W3C mediacapture-main §4.3.1: a disabled audio track renders silence.
            for c in &consumers {
                c(&silence);
            }
        }
    }

    pub fn add_consumer(&self, consumer: Consumer) -> u64 {
        let id = self.next_consumer.fetch_add(1, Ordering::Relaxed);
        self.consumers.add(id, consumer);
        id
    }

    pub fn remove_consumer(&self, id: u64) {
        self.consumers.remove(id);
    }

    pub fn set_enabled(&self, enabled: bool) {
        self.enabled.store(enabled, Ordering::Release);
    }

    pub fn is_ended(&self) -> bool {
        self.ended.load(Ordering::Acquire)
    }

    /// Register producer teardown to run when the track stops (at once, on this thread, if it
    /// has already stopped). The test and the push happen under the hooks' lock, which `end`
    /// sets `ended` under: a hook is never pushed after the hooks were handed out.
    pub fn on_stop(&self, f: impl FnOnce() + Send + 'static) {
        let Ok(mut hooks) = self.on_stop.lock() else { return };
        if self.is_ended() {
            drop(hooks);
            f();
        } else {
            hooks.push(Box::new(f));
        }
    }

    /// Marks the track ended and hands out its stop hooks: the first time only.
    fn end(&self) -> Option<Vec<Box<dyn FnOnce() + Send>>> {
        let mut hooks = self.on_stop.lock().ok()?;
        if self.ended.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(std::mem::take(&mut *hooks))
    }

    pub fn stop(&self) {
        let Some(hooks) = self.end() else { return };
        for hook in hooks {
            hook();
        }
        self.consumers.clear();
        self.rtp_consumers.clear();
    }

    /// Declare that this track is decoded from RTP and will publish its packets.
    pub fn enable_rtp_tap(&self) {
        self.rtp_tap.store(true, Ordering::Release);
    }

    pub fn has_rtp_tap(&self) -> bool {
        self.rtp_tap.load(Ordering::Acquire)
    }

    /// The RTP caps of the stream behind the tap, once it is known (webrtcbin pad-added).
    pub fn rtp_caps(&self) -> Option<gst::Caps> {
        self.rtp_caps.lock().ok()?.clone()
    }

    pub fn set_rtp_caps(&self, caps: gst::Caps) {
        if let Ok(mut c) = self.rtp_caps.lock() {
            *c = Some(caps);
        }
    }

    /// Whether anyone consumes this track's RTP packets (RtpForwarder passthrough).
    pub fn has_rtp_consumers(&self) -> bool {
        !self.rtp_consumers.is_empty()
    }

    /// Deliver one received RTP packet (decrypted, in arrival order: see receiver::tap_rtp)
    /// to the encoded consumers. A disabled track cannot render silence without re-encoding, so
    /// its packets are withheld instead.
    pub fn push_rtp(&self, buffer: &gst::Buffer) {
        if self.ended.load(Ordering::Acquire) || !self.enabled.load(Ordering::Acquire) {
            return;
        }
        let Some(consumers) = self.rtp_consumers.snapshot() else { return };
        let Some(caps) = self.rtp_caps() else { return };
        for c in &consumers {
            c(buffer, &caps);
        }
    }

    pub fn add_rtp_consumer(&self, consumer: RtpConsumer) -> u64 {
        let id = self.next_consumer.fetch_add(1, Ordering::Relaxed);
        self.rtp_consumers.add(id, consumer);
        id
    }

    pub fn remove_rtp_consumer(&self, id: u64) {
        self.rtp_consumers.remove(id);
    }
}

fn silence_like(sample: &gst::Sample) -> Option<gst::Sample> {
    let size = sample.buffer()?.size();
    let mut buffer = gst::Buffer::with_size(size).ok()?;
    {
        let b = buffer.get_mut()?;
        let mut map = b.map_writable().ok()?;
        map.as_mut_slice().fill(0);
    }
    let caps = sample.caps_owned();
    let mut builder = gst::Sample::builder().buffer(&buffer);
    if let Some(caps) = &caps {
        builder = builder.caps(caps);
    }
    Some(builder.build())
}

/// JS handle of a track (wrapped by `js/w3c/MediaStreamTrack.ts`).
#[napi]
pub struct NativeTrack {
    pub(crate) core: Arc<TrackCore>,
}

impl NativeTrack {
    pub fn from_core(core: Arc<TrackCore>) -> Self {
        Self { core }
    }
}

#[napi]
impl NativeTrack {
    #[napi(getter)]
    pub fn id(&self) -> String {
        self.core.id.clone()
    }
    #[napi(getter)]
    pub fn kind(&self) -> String {
        self.core.kind.to_owned()
    }
    #[napi(getter)]
    pub fn ended(&self) -> bool {
        self.core.is_ended()
    }
    #[napi]
    pub fn set_enabled(&self, enabled: bool) {
        self.core.set_enabled(enabled);
    }
    #[napi]
    pub fn stop(&self) {
        self.core.stop();
    }

    /// mediacapture-main §4.3.1 clone(): a new track with its own enabled/ended state, fed
    /// by this one (the same refcounted buffers, no copy). Stopping the clone leaves this
    /// track running; this track ending ends the clone.
    #[napi(js_name = "clone")]
    pub fn clone_track(&self) -> NativeTrack {
        let copy = TrackCore::new(self.core.kind);
        let weak_copy = Arc::downgrade(&copy);
        let id = self.core.add_consumer(Arc::new(move |sample: &gst::Sample| {
            if let Some(copy) = weak_copy.upgrade() {
                copy.push(sample);
            }
        }));
        let original = Arc::downgrade(&self.core);
        copy.on_stop(move || {
            if let Some(original) = original.upgrade() {
                original.remove_consumer(id);
            }
        });
        let weak_copy = Arc::downgrade(&copy);
        self.core.on_stop(move || {
            if let Some(copy) = weak_copy.upgrade() {
                copy.stop();
            }
        });
        NativeTrack::from_core(copy)
    }
}
