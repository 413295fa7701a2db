//! Process-wide GStreamer initialisation and the plugin check.

use std::sync::{Mutex, MutexGuard, OnceLock};

/// Elements the addon cannot work without, with the Debian package that ships each.
const REQUIRED_ELEMENTS: &[(&str, &str)] = &[
    ("webrtcbin", "gstreamer1.0-plugins-bad"),
    ("nicesrc", "gstreamer1.0-nice"),
    ("dtlssrtpenc", "gstreamer1.0-plugins-bad"),
    ("rtpopuspay", "gstreamer1.0-plugins-good"),
    ("opusenc", "gstreamer1.0-plugins-base"),
    ("audiotestsrc", "gstreamer1.0-plugins-base"),
    ("appsrc", "gstreamer1.0-plugins-base"),
    ("audioresample", "gstreamer1.0-plugins-base"),
];

static INIT: OnceLock<Result<(), String>> = OnceLock::new();

/// Initialise GStreamer once and check that every element we build pipelines from exists,
/// so a missing package is reported with an install hint instead of a failed link later.
pub fn ensure_init() -> Result<(), String> {
    INIT.get_or_init(|| {
        gst::init().map_err(|e| format!("GStreamer failed to initialise: {e}"))?;
        let missing: Vec<String> = REQUIRED_ELEMENTS
            .iter()
            .filter(|(name, _)| gst::ElementFactory::find(name).is_none())
            .map(|(name, pkg)| format!("{name} (apt-get install {pkg})"))
            .collect();
        if missing.is_empty() {
            // Our own elements (the Opus decoder, media::opus; the plain-RTP receive streams'
            // reordering, media::reorder; the plain-RTP sockets' source, rtp_session::socket).
            crate::media::opus::register().and_then(|()| crate::media::reorder::register()).and_then(|()| crate::rtp_session::register_socket_source())
        } else {
            Err(format!("missing GStreamer elements: {}", missing.join(", ")))
        }
    })
    .clone()
}

/// Register one of our own elements with GStreamer under `name`, once per process (`cell`
/// keeps the outcome; gst must be initialised).
pub fn register_element(cell: &std::sync::OnceLock<Result<(), String>>, name: &str, element: gst::glib::Type) -> Result<(), String> {
    cell.get_or_init(|| gst::Element::register(None, name, gst::Rank::NONE, element).map_err(|e| format!("registering {name} failed: {e}"))).clone()
}

/// Converts an init failure into the napi error thrown by constructors.
pub fn init_or_throw() -> napi::Result<()> {
    ensure_init().map_err(napi::Error::from_reason)
}

/// Make an element or explain which plugin is missing.
pub fn make(factory: &str) -> Result<gst::Element, String> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| format!("GStreamer element '{factory}' is not available"))
}

/// The mutex's guard, also when a thread panicked holding it: the elements' state stays
/// usable (a panic in one pad function must not wedge every later buffer).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}
