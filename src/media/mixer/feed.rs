//! One input of a tick-driven consumer (a mixer input, a recorder channel): a track's buffers,
//! converted to 48 kHz mono S16 if needed (`media/convert.rs`), into a drift-controlled FIFO
//! (`fifo.rs`) that the tick reads one frame at a time.

use super::fifo::InputFifo;
use crate::media::convert::ToNative;

/// Producer side of one input: conversion state and the FIFO. Locked by the producer's thread
/// for each buffer and by the tick for each read — never while holding another lock but its owner's
/// state (order: ticker → state → feed).
#[derive(Default)]
pub struct Feed {
    pub fifo: InputFifo,
    format: ToNative,
    scratch: Vec<i16>,
}

impl Feed {
    /// An unconvertible format contributes silence.
    pub fn accept(&mut self, sample: &gst::Sample) {
        if self.format.convert(sample, &mut self.scratch) {
            self.fifo.push(&self.scratch);
        }
    }
}
