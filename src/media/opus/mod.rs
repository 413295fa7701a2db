//! An Opus decoder element on libopus' single-stream API, registered with GStreamer at
//! runtime (no plugin file): `gstpc-opusdec`.
//!
//! It replaces GStreamer's opusdec in every receive chain (`codec::OPUS`) for one reason:
//! opusdec always uses the multistream API, and Debian's libopus 1.3.1 (built with custom
//! modes) runs CPU feature detection inside every multistream decode call (see `libopus`):
//! two CPUID instructions per packet, each a VM exit on a virtual machine. With 50 pairs on
//! 2 cores that was ~10 % of the process CPU (174 → 157 % with this decoder, bench A/B).
//! Encoding still uses opusenc (a GStreamer element is the better-kept code; the encoder's
//! share of the CPUID cost is smaller).

mod decoder;
mod libopus;

use std::sync::OnceLock;

use gst::prelude::*;

pub const DECODER: &str = "gstpc-opusdec";

/// Whether `payload` is an Opus packet libopus can frame (RFC 6716 §3.1 TOC byte, §3.2 frame
/// count and lengths) of at most 120 ms (§3.2.5): what the receive paths check before a packet
/// reaches the jitter buffer, so a bad one becomes a (time-bounded) lost packet.
pub fn valid_packet(payload: &[u8]) -> bool {
    !payload.is_empty() && libopus::packet_samples(payload, 48_000).is_ok_and(|n| n > 0 && n <= libopus::MAX_PACKET_SAMPLES_48K)
}

/// Register the element (once per process; gst must be initialised).
pub fn register() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    crate::runtime::register_element(&REGISTERED, DECODER, decoder::OpusDecoder::static_type())
}

#[cfg(test)]
mod tests;
