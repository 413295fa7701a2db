//! Process-wide GStreamer initialisation and the plugin check.

use std::sync::OnceLock;

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
            // Our own element (the Opus decoder, media::opus).
            crate::media::opus::register()
        } else {
            Err(format!("missing GStreamer elements: {}", missing.join(", ")))
        }
    })
    .clone()
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

/// How long after a close the heap is trimmed: closes in between share one trim.
const TRIM_DELAY: gst::ClockTime = gst::ClockTime::from_seconds(2);

/// Hands the memory a closed connection freed back to the system, a little later.
///
/// Not a leak fix: a connection's pipeline runs on a dozen short-lived threads (streaming,
/// ICE, DTLS), and glibc serves threads from up to 8 × cores malloc arenas. What those
/// threads free stays in the arenas, and glibc only returns an arena's free top: 400
/// create → connect → close cycles grew the arenas by 12 MB while the bytes in use grew by
/// 1.6 MB. `malloc_trim(0)` also releases the free pages inside them (MADV_DONTNEED): RSS
/// then grew 21–22 instead of 30–33 KB per pair (V8's young generation capped to keep it
/// out of the figure). One trim, ~2 ms, at most every `TRIM_DELAY`, on the system clock's
/// thread, never on a streaming thread or Node's. `GST_PC_MALLOC_TRIM=0` turns it off.
pub fn trim_heap_soon() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use gst::prelude::*;
        use std::sync::atomic::{AtomicBool, Ordering};
        static PENDING: AtomicBool = AtomicBool::new(false);
        static ENABLED: OnceLock<bool> = OnceLock::new();
        if !*ENABLED.get_or_init(|| std::env::var_os("GST_PC_MALLOC_TRIM").is_none_or(|v| v != "0")) {
            return;
        }
        if PENDING.swap(true, Ordering::AcqRel) {
            return;
        }
        let clock = gst::SystemClock::obtain();
        let id = clock.new_single_shot_id(clock.time() + TRIM_DELAY);
        let scheduled = id.wait_async(|_, _, _| {
            PENDING.store(false, Ordering::Release);
            // SAFETY: malloc_trim only walks glibc's own arenas under their locks.
            unsafe {
                libc::malloc_trim(0);
            }
        });
        if scheduled.is_err() {
            PENDING.store(false, Ordering::Release);
        }
    }
}
