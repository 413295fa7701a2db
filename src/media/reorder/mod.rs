//! `gstpc-rtpreorder`: the plain-RTP backend's receive streams' jitter buffer, without a
//! thread (registered with GStreamer at runtime, like `media::opus`).
//!
//! rtpjitterbuffer runs two threads per stream: its output task, woken by the socket's thread
//! for every packet, and a timer thread. Its playout delay only takes effect at a sink synced to
//! the clock, which is another sleep and wake-up per packet on the output task. For a G.711
//! call those hand-offs cost more than the codec: as an experiment, letting packets through
//! on the socket's thread to an unsynced sink took a fifth off a plain call's CPU.
//!
//! This element keeps what a receive chain needs of a jitter buffer (order, duplicates and
//! late packets dropped, a bounded wait for a missing packet, timestamps contiguous with the
//! audio: `order.rs`) and pushes on the thread that brought the packet, so the stream is
//! decoded and delivered on the socket's thread as it arrives. The playout delay goes: the
//! consumers of a server-side stream absorb jitter themselves (a mixer input's FIFO, the far
//! end's jitter buffer for a forwarded track, a recorder's retiming), and an application taking
//! PCM gets it as soon as it is in order.
//!
//! rtpbin takes it through its `request-jitterbuffer` signal (`rtp_session`), sets its
//! `latency` (the wait for a missing packet: `jitterBufferLatency`), and answers its
//! `request-pt-map` for the clock rates. WebRTC connections keep webrtcbin's rtpjitterbuffer.

mod element;
mod order;

use std::sync::OnceLock;

use gst::prelude::*;

pub const NAME: &str = "gstpc-rtpreorder";

/// Register the element (once per process; gst must be initialised).
pub fn register() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    crate::runtime::register_element(&REGISTERED, NAME, element::RtpReorder::static_type())
}

#[cfg(test)]
mod tests;
