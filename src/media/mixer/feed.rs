//! One input of a tick-driven consumer (a mixer input, a recorder channel): a track's buffers,
//! converted to 48 kHz mono S16 if needed (`media/convert.rs`), into a drift-controlled FIFO
//! (`fifo.rs`) that the tick reads one frame at a time.

use gst_audio::AudioInfo;

use super::fifo::InputFifo;
use crate::media::convert::{self, Converter};

/// Producer side of one input: conversion state and the FIFO. Locked by the producer's thread
/// for each buffer and by the tick for each read — never while holding another lock but its owner's
/// state (order: ticker → state → feed).
#[derive(Default)]
pub struct Feed {
    pub fifo: InputFifo,
    /// Caps of the last buffer seen and how to take it: None = native format, as is.
    caps: Option<(gst::Caps, Option<Converter>)>,
    scratch: Vec<i16>,
}

impl Feed {
    pub fn accept(&mut self, sample: &gst::Sample) {
        let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps()) else { return };
        let same = self.caps.as_ref().is_some_and(|(c, _)| c.as_ptr() == caps.as_ptr() || c.as_ref() == caps);
        if !same {
            let Ok(info) = AudioInfo::from_caps(caps) else { return };
            let converter = if convert::is_native(&info) {
                None
            } else {
                match Converter::new(&info) {
                    Ok(c) => Some(c),
                    Err(_) => return, // an unconvertible format contributes silence
                }
            };
            self.caps = Some((caps.to_owned(), converter));
        }
        let Ok(map) = buffer.map_readable() else { return };
        let Some((_, converter)) = self.caps.as_mut() else { return };
        match converter {
            None => {
                self.scratch.clear();
                self.scratch.extend(map.as_slice().chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])));
            }
            Some(c) => {
                if !c.convert(map.as_slice(), &mut self.scratch) {
                    return;
                }
            }
        }
        self.fifo.push(&self.scratch);
    }
}

