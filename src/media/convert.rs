//! Conversion of any raw audio format to the internal 48 kHz mono S16 (mixer inputs, player
//! input).
//!
//! Native tracks already carry that format and are taken as is. Anything else (an
//! `RTCAudioSource` fed 16 kHz or stereo PCM) goes through GStreamer's own `GstAudioConverter`
//! — the engine behind `audioconvert` and `audioresample` (channel mixing, windowed-sinc
//! resampling with its filter history kept across buffers) — called directly in the caller's
//! thread: no pipeline, no extra thread, no queue. gstreamer-rs 0.25 has no safe binding for
//! it, hence the small FFI surface below.

use std::ptr::NonNull;

use gst::glib::translate::ToGlibPtr;
use gst_audio::{ffi, AudioFormat, AudioInfo};

use crate::media::RATE;

pub struct Converter {
    raw: NonNull<ffi::GstAudioConverter>,
    in_bpf: usize,
}

// SAFETY: a GstAudioConverter is plain memory with no thread affinity; each owner uses it
// under its own mutex.
unsafe impl Send for Converter {}

/// True when samples in this format go to the FIFO unconverted.
pub fn is_native(info: &AudioInfo) -> bool {
    info.format() == AudioFormat::S16le && info.rate() == RATE && info.channels() == 1
}

impl Converter {
    pub fn new(input: &AudioInfo) -> Result<Self, String> {
        let output = AudioInfo::builder(AudioFormat::S16le, RATE, 1).build().map_err(|e| e.to_string())?;
        // SAFETY: gst_audio_converter_new copies both infos and takes ownership of the (null)
        // config; it returns NULL for unsupported conversions.
        let raw = unsafe {
            ffi::gst_audio_converter_new(
                ffi::GST_AUDIO_CONVERTER_FLAG_NONE,
                ToGlibPtr::<*const ffi::GstAudioInfo>::to_glib_none(input).0 as *mut _,
                ToGlibPtr::<*const ffi::GstAudioInfo>::to_glib_none(&output).0 as *mut _,
                std::ptr::null_mut(),
            )
        };
        let raw = NonNull::new(raw).ok_or_else(|| format!("cannot convert {input:?} to 48 kHz mono"))?;
        Ok(Self { raw, in_bpf: input.bpf() as usize })
    }

    /// Convert one buffer of interleaved input (in the format given to `new`).
    pub fn convert(&mut self, input: &[u8], out: &mut Vec<i16>) -> bool {
        let in_frames = input.len() / self.in_bpf.max(1);
        // SAFETY: `raw` is valid until drop; the pointers cover `in_frames` input frames and
        // `out_frames` output frames of the formats the converter was built for.
        unsafe {
            let out_frames = ffi::gst_audio_converter_get_out_frames(self.raw.as_ptr(), in_frames);
            out.clear();
            out.resize(out_frames, 0);
            if out_frames == 0 {
                return true;
            }
            let mut inp = [input.as_ptr() as gst::glib::ffi::gpointer];
            let mut outp = [out.as_mut_ptr() as gst::glib::ffi::gpointer];
            ffi::gst_audio_converter_samples(
                self.raw.as_ptr(),
                ffi::GST_AUDIO_CONVERTER_FLAG_NONE,
                inp.as_mut_ptr(),
                in_frames,
                outp.as_mut_ptr(),
                out_frames,
            ) != 0
        }
    }
}

/// Why `ToNative::append_bytes` took nothing.
#[derive(Debug, PartialEq, Eq)]
pub enum ConvertError {
    /// No converter exists from that format.
    Unsupported,
    /// The converter refused a chunk.
    Failed,
}

/// Audio of any raw format as 48 kHz mono S16, chunk after chunk of one stream: the converter
/// is made when the format changes and keeps its filter history across chunks.
#[derive(Default)]
pub struct ToNative {
    /// Caps of the last sample seen by `convert`: unchanged caps are not parsed again.
    caps: Option<gst::Caps>,
    /// The input format and how to take it: None = native format, as is.
    format: Option<(AudioInfo, Option<Converter>)>,
}

impl ToNative {
    /// The sample's audio into `out` (cleared first); false when it has none or its format
    /// cannot be converted.
    pub fn convert(&mut self, sample: &gst::Sample, out: &mut Vec<i16>) -> bool {
        let (Some(buffer), Some(caps)) = (sample.buffer(), sample.caps()) else { return false };
        // gst_caps_is_equal answers at once for the same object, the usual case (the stream's
        // caps, shared): only new caps are compared field by field.
        let same = self.caps.as_ref().is_some_and(|c| c.as_ref() == caps);
        if !same {
            let Ok(info) = AudioInfo::from_caps(caps) else { return false };
            if !self.take(&info) {
                self.caps = None;
                return false;
            }
            self.caps = sample.caps_owned();
        }
        let Ok(map) = buffer.map_readable() else { return false };
        self.run(map.as_slice(), out)
    }

    /// Interleaved `bytes` of `info`'s format appended to `out`, at 48 kHz mono: native audio
    /// straight in, anything else through the converter and `scratch`.
    pub fn append_bytes(&mut self, info: &AudioInfo, bytes: &[u8], scratch: &mut Vec<i16>, out: &mut impl Extend<i16>) -> Result<(), ConvertError> {
        self.caps = None;
        if !self.take(info) {
            return Err(ConvertError::Unsupported);
        }
        match self.format.as_mut() {
            Some((_, Some(c))) => {
                if !c.convert(bytes, scratch) {
                    return Err(ConvertError::Failed);
                }
                out.extend(scratch.iter().copied());
            }
            _ => super::pcm::extend_samples(out, bytes),
        }
        Ok(())
    }

    /// Makes `info` the input format (a converter for it unless native).
    fn take(&mut self, info: &AudioInfo) -> bool {
        if self.format.as_ref().is_some_and(|(current, _)| current == info) {
            return true;
        }
        let converter = if is_native(info) {
            None
        } else {
            match Converter::new(info) {
                Ok(c) => Some(c),
                Err(_) => {
                    self.format = None;
                    return false;
                }
            }
        };
        self.format = Some((info.clone(), converter));
        true
    }

    fn run(&mut self, bytes: &[u8], out: &mut Vec<i16>) -> bool {
        match self.format.as_mut() {
            None => false,
            Some((_, None)) => {
                out.clear();
                super::pcm::extend_samples(out, bytes);
                true
            }
            Some((_, Some(c))) => c.convert(bytes, out),
        }
    }
}

impl Drop for Converter {
    fn drop(&mut self) {
        // SAFETY: created by gst_audio_converter_new, freed once.
        unsafe { ffi::gst_audio_converter_free(self.raw.as_ptr()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upsamples_16k_to_48k() {
        gst::init().unwrap();
        let info = AudioInfo::builder(AudioFormat::S16le, 16_000, 1).build().unwrap();
        assert!(!is_native(&info));
        let mut c = Converter::new(&info).unwrap();
        let mut total = 0;
        let mut out = Vec::new();
        let input: Vec<u8> = (0..160).flat_map(|i| ((1000.0 * (i as f64 * 0.1).sin()) as i16).to_le_bytes()).collect();
        for _ in 0..100 {
            assert!(c.convert(&input, &mut out));
            total += out.len();
        }
        // 1 s of input → 1 s of output, minus the resampler's filter delay.
        assert!((47_900..=48_000).contains(&total), "{total}");
    }

    #[test]
    fn downmixes_stereo() {
        gst::init().unwrap();
        let info = AudioInfo::builder(AudioFormat::S16le, RATE, 2).build().unwrap();
        let mut c = Converter::new(&info).unwrap();
        let input: Vec<u8> = (0..480).flat_map(|_| [1000i16.to_le_bytes(), 1000i16.to_le_bytes()]).flatten().collect();
        let mut out = Vec::new();
        assert!(c.convert(&input, &mut out));
        assert_eq!(out.len(), 480);
        assert!(out.iter().all(|&s| (s - 1000).abs() <= 2), "{:?}", &out[..4]);
    }

    #[test]
    fn to_native_follows_the_format_of_each_chunk() {
        gst::init().unwrap();
        let native = AudioInfo::builder(AudioFormat::S16le, RATE, 1).build().unwrap();
        let stereo = AudioInfo::builder(AudioFormat::S16le, RATE, 2).build().unwrap();
        let mut t = ToNative::default();
        let (mut out, mut scratch) = (Vec::new(), Vec::new());
        let mono: Vec<u8> = (0..480i16).flat_map(|i| i.to_le_bytes()).collect();
        assert_eq!(t.append_bytes(&native, &mono, &mut scratch, &mut out), Ok(()));
        assert_eq!(out, (0..480).collect::<Vec<i16>>(), "native audio is taken as is");
        assert!(scratch.is_empty(), "native audio is not copied through the scratch buffer");
        let pairs: Vec<u8> = (0..480).flat_map(|_| [(-500i16).to_le_bytes(), (-500i16).to_le_bytes()]).flatten().collect();
        out.clear();
        assert_eq!(t.append_bytes(&stereo, &pairs, &mut scratch, &mut out), Ok(()));
        assert_eq!(out.len(), 480);
        assert!(out.iter().all(|&s| (s + 500).abs() <= 2), "{:?}", &out[..4]);
        assert_eq!(t.append_bytes(&native, &mono, &mut scratch, &mut out), Ok(()));
        assert_eq!(out[959], 479);
        let float = AudioInfo::builder(AudioFormat::F32le, 16000, 1).build().unwrap();
        assert_eq!(t.append_bytes(&float, &[0; 64], &mut scratch, &mut out), Ok(()), "a converter exists for float audio");
    }
}
