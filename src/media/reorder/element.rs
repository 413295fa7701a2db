//! The `gstpc-rtpreorder` element: `order.rs`'s rule on a pad, with no thread of its own.
//!
//! Threads: a packet is ordered and pushed on, through the whole receive chain, on the thread
//! that brought it (the socket reader's, `rtp_session/socket/`). Only while a gap is open is a deadline scheduled on the
//! pipeline's clock; when it fires, GStreamer's clock thread hands it to a media worker
//! (`media/workers.rs`), which gives up on the gap and pushes the held packets on. `push`
//! serialises the two (one stream, pushed by one thread at a time, in order), and is always
//! taken before `state`; neither is held while the `request-pt-map` signal runs (rtpbin's
//! handler takes the session's locks).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::order::{Order, Release};
use crate::media::rtp_header::RtpHeader;
use crate::runtime::lock;

glib::wrapper! {
    pub struct RtpReorder(ObjectSubclass<imp::RtpReorder>) @extends gst::Element, gst::Object;
}

mod imp {
    use super::*;

    static CAT: LazyLock<gst::DebugCategory> =
        LazyLock::new(|| gst::DebugCategory::new(super::super::NAME, gst::DebugColorFlags::empty(), Some("RTP reordering without a thread")));

    #[derive(Default)]
    struct State {
        order: Order<gst::Buffer>,
        /// Clock rate by payload type, None for telephone-events (off the timeline): from the
        /// caps, else asked of rtpbin (`request-pt-map`).
        rates: HashMap<u8, Option<u32>>,
        /// The deadline scheduled (running time, ns) and its clock entry.
        armed: Option<(u64, gst::SingleShotClockId)>,
    }

    impl State {
        fn disarm(&mut self) {
            if let Some((_, id)) = self.armed.take() {
                id.unschedule();
            }
        }

        /// Forget the stream (a flush, leaving PAUSED): nothing held, no deadline.
        fn forget(&mut self) {
            self.disarm();
            self.order.reset();
        }
    }

    pub struct RtpReorder {
        sinkpad: gst::Pad,
        srcpad: gst::Pad,
        /// How long a gap is waited for (ms): rtpbin sets its `latency` here.
        latency_ms: AtomicU32,
        push: Mutex<()>,
        state: Mutex<State>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for RtpReorder {
        const NAME: &'static str = "GstPcRtpReorder";
        type Type = super::RtpReorder;
        type ParentType = gst::Element;

        fn with_class(klass: &Self::Class) -> Self {
            let sinkpad = gst::Pad::builder_from_template(&klass.pad_template("sink").expect("sink template"))
                .chain_function(|_, parent, buffer| RtpReorder::catch_panic_pad_function(parent, || Err(gst::FlowError::Error), |this| this.chain(buffer)))
                .event_function(|pad, parent, event| RtpReorder::catch_panic_pad_function(parent, || false, |this| this.sink_event(pad, event)))
                .flags(gst::PadFlags::PROXY_CAPS | gst::PadFlags::PROXY_ALLOCATION)
                .build();
            let srcpad = gst::Pad::builder_from_template(&klass.pad_template("src").expect("src template"))
                .flags(gst::PadFlags::PROXY_CAPS | gst::PadFlags::PROXY_ALLOCATION)
                .build();
            Self { sinkpad, srcpad, latency_ms: AtomicU32::new(0), push: Mutex::new(()), state: Mutex::default() }
        }
    }

    impl ObjectImpl for RtpReorder {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            obj.add_pad(&self.sinkpad).expect("adding the sink pad");
            obj.add_pad(&self.srcpad).expect("adding the src pad");
        }

        fn properties() -> &'static [glib::ParamSpec] {
            static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
                vec![glib::ParamSpecUInt::builder("latency")
                    .nick("Reorder wait (ms)")
                    .blurb("How long a missing packet is waited for")
                    .mutable_playing()
                    .build()]
            });
            PROPS.as_ref()
        }

        fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
            if pspec.name() == "latency" {
                self.latency_ms.store(value.get().unwrap_or(0), Ordering::Relaxed);
            }
        }

        fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
            match pspec.name() {
                "latency" => self.latency_ms.load(Ordering::Relaxed).to_value(),
                _ => glib::Value::from_type(pspec.value_type()),
            }
        }

        fn signals() -> &'static [glib::subclass::Signal] {
            // rtpjitterbuffer's: rtpbin answers it from its own `request-pt-map`.
            static SIGNALS: LazyLock<Vec<glib::subclass::Signal>> = LazyLock::new(|| {
                vec![glib::subclass::Signal::builder("request-pt-map").param_types([u32::static_type()]).return_type::<gst::Caps>().build()]
            });
            SIGNALS.as_ref()
        }
    }

    impl GstObjectImpl for RtpReorder {}

    impl ElementImpl for RtpReorder {
        fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
            static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
                gst::subclass::ElementMetadata::new(
                    "RTP reorder",
                    "Filter/Network/RTP",
                    "Puts an RTP stream's packets in order on the receiving thread, waiting for a missing one only while it is missing",
                    "gst-peerconnection",
                )
            });
            Some(&META)
        }

        fn pad_templates() -> &'static [gst::PadTemplate] {
            static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> = LazyLock::new(|| {
                let caps = gst::Caps::builder("application/x-rtp").build();
                vec![
                    gst::PadTemplate::new("sink", gst::PadDirection::Sink, gst::PadPresence::Always, &caps).expect("valid sink template"),
                    gst::PadTemplate::new("src", gst::PadDirection::Src, gst::PadPresence::Always, &caps).expect("valid src template"),
                ]
            });
            TEMPLATES.as_ref()
        }

        fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
            let ret = self.parent_change_state(transition)?;
            if transition == gst::StateChange::PausedToReady {
                lock(&self.state).forget();
            }
            Ok(ret)
        }
    }

    impl RtpReorder {
        fn wait_ns(&self) -> u64 {
            u64::from(self.latency_ms.load(Ordering::Relaxed)) * 1_000_000
        }

        fn now(&self) -> u64 {
            self.obj().current_running_time().map_or(0, gst::ClockTime::nseconds)
        }

        /// The clock rate of payload type `pt` (None inside: a telephone-event); None when
        /// nobody knows it (the packet cannot be timed, and no decoder downstream would take
        /// it either).
        fn clock_rate(&self, pt: u8) -> Option<Option<u32>> {
            if let Some(&rate) = lock(&self.state).rates.get(&pt) {
                return Some(rate);
            }
            let caps = self.obj().emit_by_name::<Option<gst::Caps>>("request-pt-map", &[&u32::from(pt)])?;
            let rate = timeline_rate(caps.structure(0)?)?;
            lock(&self.state).rates.insert(pt, rate);
            Some(rate)
        }

        fn chain(&self, buffer: gst::Buffer) -> Result<gst::FlowSuccess, gst::FlowError> {
            let header = buffer.map_readable().ok().and_then(|m| RtpHeader::parse(&m));
            let Some(h) = header else {
                gst::debug!(CAT, imp = self, "dropping a buffer that is not RTP");
                return Ok(gst::FlowSuccess::Ok);
            };
            let Some(rate) = self.clock_rate(h.payload_type) else {
                gst::debug!(CAT, imp = self, "dropping a packet of payload type {} without a clock rate", h.payload_type);
                return Ok(gst::FlowSuccess::Ok);
            };
            // The socket's source stamps each datagram with its arrival (running time).
            let arrival = buffer.dts_or_pts().map_or_else(|| self.now(), gst::ClockTime::nseconds);
            let wait = self.wait_ns();
            let _push = lock(&self.push);
            let out = lock(&self.state).order.packet(h.sequence, h.timestamp, rate, arrival, wait, buffer);
            let released = self.arm(out.released, out.deadline, wait);
            self.push_released(released)
        }

        /// Schedule the deadline of the oldest open gap (or none). Without a clock (not
        /// playing) nothing can be waited for: the gaps are given up on at once.
        fn arm(&self, mut released: Vec<Release<gst::Buffer>>, deadline: Option<u64>, wait: u64) -> Vec<Release<gst::Buffer>> {
            let mut st = lock(&self.state);
            if st.armed.as_ref().map(|(t, _)| *t) == deadline {
                return released;
            }
            st.disarm();
            let Some(at) = deadline else { return released };
            match self.schedule(at) {
                Some(id) => st.armed = Some((at, id)),
                None => released.extend(st.order.expire(u64::MAX, wait).released),
            }
            released
        }

        /// A clock entry for running time `at` that gives up on the gap then; None without a
        /// clock or when the clock refuses it.
        fn schedule(&self, at: u64) -> Option<gst::SingleShotClockId> {
            let obj = self.obj();
            let id = obj.clock()?.new_single_shot_id(obj.base_time()? + gst::ClockTime::from_nseconds(at));
            let weak = obj.downgrade();
            // The clock's thread only hands the release to a media worker: it is shared by every
            // tick in the process, and the release pushes through the whole receive chain
            // (possibly building one, for a payload type's first packet) and may wait for the
            // socket's thread to finish a push.
            id.wait_async(move |_, _, _| {
                crate::media::workers::spawn(Box::new(move || {
                    if let Some(obj) = weak.upgrade() {
                        obj.imp().deadline(at);
                    }
                }));
            })
            .ok()?;
            Some(id)
        }

        /// A media worker, once the clock reached `at`: the gap whose deadline that was is given
        /// up on.
        fn deadline(&self, at: u64) {
            let wait = self.wait_ns();
            let _push = lock(&self.push);
            let out = {
                let mut st = lock(&self.state);
                if st.armed.as_ref().map(|(t, _)| *t) != Some(at) {
                    return;
                }
                st.armed = None;
                st.order.expire(self.now().max(at), wait)
            };
            let released = self.arm(out.released, out.deadline, wait);
            let _ = self.push_released(released);
        }

        fn push_released(&self, released: Vec<Release<gst::Buffer>>) -> Result<gst::FlowSuccess, gst::FlowError> {
            let mut result = Ok(gst::FlowSuccess::Ok);
            for r in released {
                let mut buffer = r.item;
                {
                    let b = buffer.make_mut();
                    b.set_pts(gst::ClockTime::from_nseconds(r.pts));
                    b.set_dts(gst::ClockTime::NONE);
                    if r.discont {
                        b.set_flags(gst::BufferFlags::DISCONT);
                    } else {
                        b.unset_flags(gst::BufferFlags::DISCONT);
                    }
                }
                result = self.srcpad.push(buffer);
                if matches!(result, Err(gst::FlowError::Flushing) | Err(gst::FlowError::Eos)) {
                    break;
                }
            }
            result
        }

        fn sink_event(&self, pad: &gst::Pad, event: gst::Event) -> bool {
            use gst::EventView;
            match event.view() {
                EventView::FlushStart(_) => {
                    lock(&self.state).forget();
                    gst::Pad::event_default(pad, Some(&*self.obj()), event)
                }
                EventView::Caps(c) => {
                    if let Some(s) = c.caps().structure(0) {
                        let pt = s.get::<i32>("payload").ok().and_then(|p| u8::try_from(p).ok());
                        if let (Some(pt), Some(rate)) = (pt, timeline_rate(s)) {
                            lock(&self.state).rates.insert(pt, rate);
                        }
                    }
                    self.forward_in_order(pad, event)
                }
                // FLUSH_STOP follows FLUSH_START's reset: nothing is held.
                _ if event.is_serialized() => self.forward_in_order(pad, event),
                _ => gst::Pad::event_default(pad, Some(&*self.obj()), event),
            }
        }

        /// A serialized event (caps, segment, EOS, …) goes on after the packets that came
        /// before it: what is held leaves first, its gaps given up on.
        fn forward_in_order(&self, pad: &gst::Pad, event: gst::Event) -> bool {
            let _push = lock(&self.push);
            let held = {
                let mut st = lock(&self.state);
                st.disarm();
                st.order.drain()
            };
            let _ = self.push_released(held);
            gst::Pad::event_default(pad, Some(&*self.obj()), event)
        }
    }

    /// The clock rate a payload type's packets are timed at: None (off the timeline) for a
    /// telephone-event, whose packets all carry their event's start (RFC 4733 §2.5.1.2).
    fn timeline_rate(s: &gst::StructureRef) -> Option<Option<u32>> {
        let rate = s.get::<i32>("clock-rate").ok().and_then(|r| u32::try_from(r).ok()).filter(|&r| r > 0)?;
        let event = s.get::<&str>("encoding-name").is_ok_and(|n| n.eq_ignore_ascii_case("TELEPHONE-EVENT"));
        Some((!event).then_some(rate))
    }
}
