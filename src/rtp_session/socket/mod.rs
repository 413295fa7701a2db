//! `gstpc-socketsrc`: a plain-RTP call's UDP sockets read by a few shared threads, one per core
//! (`readers.rs`), instead of a `udpsrc` streaming thread per socket (registered with GStreamer
//! at runtime, like `media::reorder`).
//!
//! A G.711 packet is 20 ms of audio and little work; what a `udpsrc` spends on it is mostly
//! the machinery around it: its thread wakes from `poll` on the socket and its cancellable,
//! then `recvmsg` through GSocket, then base-source bookkeeping, for every packet of every
//! call. The readers wait on one epoll set each and take one datagram per readiness event,
//! so a wake-up serves every socket that is ready, and the receive chain (rtpbin, the
//! reordering, the decoder and the track's consumers) runs on the reader as it ran on the
//! `udpsrc` thread. The datagram's sender, which rtpsession and the latching read from its
//! `GstNetAddressMeta`, is one address object shared by the datagrams of a sender in a row
//! rather than two GObjects built for each.
//!
//! Measured with the bench's 10 plain pairs (`bench/stacks/gst-plain.js`): side by side with
//! the `udpsrc` build, schedstat over 5 s, the reading threads took 0.30–0.35 % of a core per
//! connection against 0.37–0.42 (four runs), and sharing the sender's address took a further
//! 0.35 → 0.31 (two runs); in two bench runs of five rounds each, one after the other, a plain
//! connection cost 0.77 % of a core (median) against 2.07 for WebRTC with `udpsrc`, 0.66
//! against 2.15 with the readers.
//!
//! The price: a call's receive chain waits for the others' on its reader, so what a track's
//! consumer does on the receiving thread must stay short (the voice processor hands its
//! echo-delay correlation to the media workers). A flood at one socket is read one datagram
//! per turn like the others, and a stranger's datagrams are dropped at the latching check
//! before any decoding. WebRTC connections and `UdpRtpSource` keep their own streaming threads.

mod element;
mod readers;
#[cfg(test)]
mod tests;

use std::sync::OnceLock;

use gst::prelude::*;

pub const NAME: &str = "gstpc-socketsrc";

/// Register the element (once per process; gst must be initialised).
pub fn register() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    crate::runtime::register_element(&REGISTERED, NAME, element::SocketSrc::static_type())
}
