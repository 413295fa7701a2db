//! The addon's GStreamer debug category. Everything the native side has to say goes through it
//! (never to stderr): `GST_DEBUG=gstpc:4` shows warnings (a failure with nowhere else to go: a
//! job that panicked, a thread that could not start, a stream that cannot be decoded), `:5`
//! adds what was decided and why (webrtcbin's raw statistics, pipeline errors). Narrower
//! categories sit beside it: `gstpc-tsm` (pitch-period edits and concealment),
//! `gstpc-transport-guard`, the Opus decoder's.

use std::sync::LazyLock;

pub static CAT: LazyLock<gst::DebugCategory> =
    LazyLock::new(|| gst::DebugCategory::new("gstpc", gst::DebugColorFlags::empty(), Some("gst-peerconnection")));
