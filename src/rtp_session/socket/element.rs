//! The `gstpc-socketsrc` element: a live source of the datagrams of one bound UDP socket (its
//! `socket` property, a GSocket, which `udpsink` shares for sending), with no thread of its
//! own: the readers (`readers.rs`) push on its pad while it is PLAYING, stamped with their
//! arrival and carrying their sender (`GstNetAddressMeta`), as `udpsrc` would.
//!
//! Threads: state changes on the thread that changes the pipeline's state; pushes on a
//! reader. Leaving PLAYING stops the reading without waiting for a push in progress (it may
//! wait downstream for the state to change further); leaving PAUSED, when everything
//! downstream is flushing, waits for it, so nothing is pushed on a stopped element.

use std::os::fd::{AsFd, OwnedFd};
use std::sync::{LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;

use super::readers::{self, Registration, Target};
use crate::runtime::lock;

glib::wrapper! {
    pub struct SocketSrc(ObjectSubclass<imp::SocketSrc>) @extends gst::Element, gst::Object;
}

mod imp {
    use super::*;

    static CAT: LazyLock<gst::DebugCategory> =
        LazyLock::new(|| gst::DebugCategory::new(super::super::NAME, gst::DebugColorFlags::empty(), Some("UDP socket read on shared threads")));

    #[derive(Default)]
    struct Settings {
        /// Our duplicate of the given GSocket's descriptor (GSocket is not Send; the property
        /// is write-only).
        socket: Option<OwnedFd>,
        caps: Option<gst::Caps>,
    }

    pub struct SocketSrc {
        srcpad: gst::Pad,
        settings: Mutex<Settings>,
        reading: Mutex<Option<Registration>>,
    }

    #[glib::object_subclass]
    impl ObjectSubclass for SocketSrc {
        const NAME: &'static str = "GstPcSocketSrc";
        type Type = super::SocketSrc;
        type ParentType = gst::Element;

        fn with_class(klass: &Self::Class) -> Self {
            let srcpad = gst::Pad::builder_from_template(&klass.pad_template("src").expect("src template"))
                .query_function(|pad, parent, query| SocketSrc::catch_panic_pad_function(parent, || false, |this| this.src_query(pad, query)))
                .build();
            Self { srcpad, settings: Mutex::default(), reading: Mutex::default() }
        }
    }

    impl ObjectImpl for SocketSrc {
        fn constructed(&self) {
            self.parent_constructed();
            let obj = self.obj();
            obj.add_pad(&self.srcpad).expect("adding the src pad");
            obj.set_element_flags(gst::ElementFlags::SOURCE);
        }

        fn properties() -> &'static [glib::ParamSpec] {
            static PROPS: LazyLock<Vec<glib::ParamSpec>> = LazyLock::new(|| {
                vec![
                    glib::ParamSpecObject::builder::<gst_net::gio::Socket>("socket").nick("Socket").blurb("The bound UDP socket to read").write_only().build(),
                    glib::ParamSpecBoxed::builder::<gst::Caps>("caps").nick("Caps").blurb("The caps of what the socket receives").build(),
                ]
            });
            PROPS.as_ref()
        }

        fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
            let mut settings = lock(&self.settings);
            match pspec.name() {
                "socket" => {
                    settings.socket = value.get::<Option<gst_net::gio::Socket>>().ok().flatten().and_then(|s| match s.as_fd().try_clone_to_owned() {
                        Ok(fd) => Some(fd),
                        Err(e) => {
                            gst::error!(CAT, imp = self, "cannot duplicate the socket: {e}");
                            None
                        }
                    });
                }
                "caps" => settings.caps = value.get().ok().flatten(),
                _ => {}
            }
        }

        fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
            let settings = lock(&self.settings);
            match pspec.name() {
                "caps" => settings.caps.to_value(),
                _ => glib::Value::from_type(pspec.value_type()),
            }
        }
    }

    impl GstObjectImpl for SocketSrc {}

    impl ElementImpl for SocketSrc {
        fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
            static META: LazyLock<gst::subclass::ElementMetadata> = LazyLock::new(|| {
                gst::subclass::ElementMetadata::new(
                    "UDP socket source on shared threads",
                    "Source/Network",
                    "Pushes the datagrams of a bound UDP socket, read by threads shared by all such sockets",
                    "gst-peerconnection",
                )
            });
            Some(&META)
        }

        fn pad_templates() -> &'static [gst::PadTemplate] {
            static TEMPLATES: LazyLock<Vec<gst::PadTemplate>> =
                LazyLock::new(|| vec![gst::PadTemplate::new("src", gst::PadDirection::Src, gst::PadPresence::Always, &gst::Caps::new_any()).expect("valid src template")]);
            TEMPLATES.as_ref()
        }

        fn change_state(&self, transition: gst::StateChange) -> Result<gst::StateChangeSuccess, gst::StateChangeError> {
            if transition == gst::StateChange::PlayingToPaused {
                if let Some(reading) = lock(&self.reading).as_ref() {
                    reading.pause();
                }
            }
            let ret = self.parent_change_state(transition)?;
            match transition {
                gst::StateChange::ReadyToPaused => {
                    self.start_stream();
                    // A live source: nothing to preroll (GStreamer's live-source rule).
                    return Ok(gst::StateChangeSuccess::NoPreroll);
                }
                gst::StateChange::PausedToPlaying => self.start_reading()?,
                gst::StateChange::PlayingToPaused => return Ok(gst::StateChangeSuccess::NoPreroll),
                gst::StateChange::PausedToReady => drop(lock(&self.reading).take()),
                _ => {}
            }
            Ok(ret)
        }
    }

    impl SocketSrc {
        /// The sticky events before the first datagram, stored on the pad for when it is linked.
        fn start_stream(&self) {
            let caps = lock(&self.settings).caps.clone();
            self.srcpad.push_event(gst::event::StreamStart::builder(&self.obj().name()).group_id(gst::GroupId::next()).build());
            if let Some(caps) = caps {
                self.srcpad.push_event(gst::event::Caps::new(&caps));
            }
            self.srcpad.push_event(gst::event::Segment::new(&gst::FormattedSegment::<gst::ClockTime>::new()));
        }

        fn start_reading(&self) -> Result<(), gst::StateChangeError> {
            // A registration paused when leaving PLAYING goes first, without any lock held: its
            // push in progress, if any, ends before the new registration's first.
            drop(lock(&self.reading).take());
            let obj = self.obj();
            let (Some(clock), Some(base_time)) = (obj.clock(), obj.base_time()) else {
                gst::error!(CAT, imp = self, "PLAYING without a clock");
                return Err(gst::StateChangeError);
            };
            let fd = lock(&self.settings).socket.as_ref().map(OwnedFd::try_clone);
            let Some(Ok(fd)) = fd else {
                gst::error!(CAT, imp = self, "no socket to read");
                return Err(gst::StateChangeError);
            };
            let registration = readers::register(fd, Target::new(self.srcpad.clone(), clock, base_time)).map_err(|e| {
                gst::error!(CAT, imp = self, "{e}");
                gst::StateChangeError
            })?;
            *lock(&self.reading) = Some(registration);
            Ok(())
        }

        fn src_query(&self, pad: &gst::Pad, query: &mut gst::QueryRef) -> bool {
            match query.view_mut() {
                // Live, stamped at arrival: no latency of its own (udpsrc answers the same).
                gst::QueryViewMut::Latency(q) => {
                    q.set(true, gst::ClockTime::ZERO, gst::ClockTime::NONE);
                    true
                }
                gst::QueryViewMut::Caps(q) => {
                    let caps = lock(&self.settings).caps.clone().unwrap_or_else(gst::Caps::new_any);
                    let caps = q.filter().map_or(caps.clone(), |f| f.intersect_with_mode(&caps, gst::CapsIntersectMode::First));
                    q.set_result(&caps);
                    true
                }
                _ => gst::Pad::query_default(pad, Some(&*self.obj()), query),
            }
        }
    }
}
