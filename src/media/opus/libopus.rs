//! An owned libopus single-stream decoder state (`opus_decode`); the encoder is for tests.
//!
//! Deliberately not the multistream API GStreamer's opusenc/opusdec use: Debian's libopus
//! 1.3.1 (built with custom modes) calls `opus_{en,de}coder_get_size()` inside every
//! `opus_multistream_{en,de}code()`, which goes through `opus_custom_mode_create` and CPU
//! feature detection — a CPUID instruction per packet, a VM exit on virtual machines.

use std::ffi::CStr;
use std::os::raw::c_int;
use std::ptr::NonNull;

use audiopus_sys as sys;

/// 120 ms at 48 kHz: the longest Opus packet (RFC 6716 §3.2.5).
pub const MAX_PACKET_SAMPLES_48K: usize = 5760;

/// libopus' description of an error code.
pub fn error_text(code: c_int) -> String {
    // SAFETY: opus_strerror returns a pointer to a static NUL-terminated string.
    let text = unsafe { CStr::from_ptr(sys::opus_strerror(code)) };
    format!("{} ({code})", text.to_string_lossy())
}

fn check(code: c_int) -> Result<c_int, String> {
    if code < 0 { Err(error_text(code)) } else { Ok(code) }
}

/// Samples per channel in an Opus packet at `rate` (validates the TOC and frame count).
pub fn packet_samples(packet: &[u8], rate: u32) -> Result<usize, String> {
    // SAFETY: pointer and length describe `packet`.
    let n = unsafe { sys::opus_packet_get_nb_samples(packet.as_ptr(), packet.len() as i32, rate as i32) };
    check(n).map(|n| n as usize)
}

/// Test-only: packets (with in-band FEC data) to feed the decoder.
#[cfg(test)]
pub struct Encoder {
    st: NonNull<sys::OpusEncoder>,
    channels: usize,
}

// SAFETY: an OpusEncoder is plain memory owned by this value; libopus keeps no
// thread-local state, and all access goes through &mut self.
#[cfg(test)]
unsafe impl Send for Encoder {}

#[cfg(test)]
impl Encoder {
    /// `opus_encoder_create` with OPUS_APPLICATION_AUDIO (opusenc's `audio-type=generic`).
    pub fn new(rate: u32, channels: u32) -> Result<Self, String> {
        let mut err: c_int = 0;
        // SAFETY: plain constructor; the result is checked for NULL and `err`.
        let st = unsafe { sys::opus_encoder_create(rate as i32, channels as c_int, sys::OPUS_APPLICATION_AUDIO, &mut err) };
        check(err)?;
        let st = NonNull::new(st).ok_or("opus_encoder_create returned NULL")?;
        Ok(Encoder { st, channels: channels as usize })
    }

    /// An `OPUS_SET_*` request with one int argument.
    pub fn set(&mut self, request: i32, value: i32) -> Result<(), String> {
        // SAFETY: every OPUS_SET_* request with an int value takes exactly one opus_int32.
        check(unsafe { sys::opus_encoder_ctl(self.st.as_ptr(), request, value as c_int) }).map(|_| ())
    }

    /// Encodes one frame of interleaved samples (`pcm.len() / channels` per channel, a
    /// valid Opus frame duration) into `out`; returns the packet length.
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> Result<usize, String> {
        let frame = pcm.len() / self.channels;
        // SAFETY: `pcm` holds `frame * channels` samples, `out` is writable for its length.
        let n = unsafe {
            sys::opus_encode(self.st.as_ptr(), pcm.as_ptr(), frame as c_int, out.as_mut_ptr(), out.len() as i32)
        };
        check(n).map(|n| n as usize)
    }
}

#[cfg(test)]
impl Drop for Encoder {
    fn drop(&mut self) {
        // SAFETY: created by opus_encoder_create, destroyed once.
        unsafe { sys::opus_encoder_destroy(self.st.as_ptr()) }
    }
}

pub struct Decoder {
    st: NonNull<sys::OpusDecoder>,
    channels: usize,
}

// SAFETY: as for Encoder.
unsafe impl Send for Decoder {}

impl Decoder {
    /// A decoder that outputs `channels` at `rate` whatever the stream's own channel count
    /// (libopus mixes a stereo stream down when asked for one channel).
    pub fn new(rate: u32, channels: u32) -> Result<Self, String> {
        let mut err: c_int = 0;
        // SAFETY: plain constructor; the result is checked for NULL and `err`.
        let st = unsafe { sys::opus_decoder_create(rate as i32, channels as c_int, &mut err) };
        check(err)?;
        let st = NonNull::new(st).ok_or("opus_decoder_create returned NULL")?;
        Ok(Decoder { st, channels: channels as usize })
    }

    /// Decodes `packet` into `out` (interleaved); `None` conceals a lost packet (PLC),
    /// `fec` decodes the in-band FEC (LBRR) data `packet` carries for the packet before it.
    /// For PLC and FEC, `out` must be exactly the missing duration, a multiple of 2.5 ms.
    /// Returns samples per channel written.
    pub fn decode(&mut self, packet: Option<&[u8]>, out: &mut [i16], fec: bool) -> Result<usize, String> {
        let frame = out.len() / self.channels;
        let (data, len) = match packet {
            Some(p) => (p.as_ptr(), p.len() as i32),
            None => (std::ptr::null(), 0),
        };
        // SAFETY: `data`/`len` describe the packet (or NULL for PLC); `out` holds `frame *
        // channels` samples.
        let n = unsafe { sys::opus_decode(self.st.as_ptr(), data, len, out.as_mut_ptr(), frame as c_int, c_int::from(fec)) };
        check(n).map(|n| n as usize)
    }

    /// OPUS_RESET_STATE: forget the signal history (after a flush).
    pub fn reset(&mut self) {
        // SAFETY: OPUS_RESET_STATE takes no argument.
        unsafe { sys::opus_decoder_ctl(self.st.as_ptr(), sys::OPUS_RESET_STATE) };
    }
}

impl Drop for Decoder {
    fn drop(&mut self) {
        // SAFETY: created by opus_decoder_create, destroyed once.
        unsafe { sys::opus_decoder_destroy(self.st.as_ptr()) }
    }
}
