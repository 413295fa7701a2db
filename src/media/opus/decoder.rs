//! `gstpc-opusdec`: Opus packets (`audio/x-opus`, e.g. from rtpopusdepay) → raw mono
//! 48 kHz S16, whatever the stream's channel count (libopus mixes stereo down).
//!
//! Loss handling like opusdec's:
//! - with the base class' `plc` property, a gap event (a packet rtpjitterbuffer gave up on)
//!   reaches `handle_frame` as an empty buffer with a duration, which libopus conceals
//!   (`opus_decode` without data, RFC 6716 §4.4);
//! - with `use-inband-fec`, that concealment waits for the next packet: if it carries LBRR
//!   data for the lost one (RFC 6716 §2.1.7), that is decoded instead (libopus falls back to
//!   concealment when it does not). Unlike opusdec, packets that arrive in order are not
//!   held back a packet for this: only a gap's audio waits for the packet after it — which
//!   makes that audio late for a live sink, so `codec::decode_chain` leaves this off;
//! - a packet libopus cannot decode is concealed like a lost one instead of failing the
//!   stream.

use std::sync::Mutex;

use gst::glib;
use gst::prelude::*;
use gst::subclass::prelude::*;
use gst_audio::prelude::*;
use gst_audio::subclass::prelude::*;

use super::libopus;

glib::wrapper! {
    pub struct OpusDecoder(ObjectSubclass<imp::OpusDecoder>)
        @extends gst_audio::AudioDecoder, gst::Element, gst::Object;
}

const RATE: u32 = 48_000;
/// Concealment is done in multiples of 2.5 ms (libopus' PLC/FEC granularity).
const PLC_ALIGN_NS: u64 = 2_500_000;
/// Samples concealed when nothing says how long a lost packet was (20 ms).
const DEFAULT_FRAME_SAMPLES: usize = 960;

mod imp {
    use super::*;

    static CAT: std::sync::LazyLock<gst::DebugCategory> = std::sync::LazyLock::new(|| {
        gst::DebugCategory::new(super::super::DECODER, gst::DebugColorFlags::empty(), Some("Opus decoder (single-stream libopus)"))
    });

    struct State {
        dec: libopus::Decoder,
        /// Samples of the last packet decoded: how long a gap without a duration, or a
        /// packet we could not decode, is taken to be.
        last_samples: usize,
        /// The part of gap durations below PLC_ALIGN_NS, carried to the next gap.
        leftover_ns: u64,
        /// With in-band FEC: samples of a gap whose frame the base class still holds,
        /// to be filled from the next packet's FEC data.
        pending_gap: usize,
        /// Decoded samples of the buffer being built.
        pcm: Vec<i16>,
    }

    pub struct OpusDecoder {
        use_inband_fec: Mutex<bool>,
        state: Mutex<Option<State>>,
    }

    impl Default for OpusDecoder {
        fn default() -> Self {
            OpusDecoder { use_inband_fec: Mutex::new(false), state: Mutex::new(None) }
        }
    }

    #[glib::object_subclass]
    impl ObjectSubclass for OpusDecoder {
        const NAME: &'static str = "GstPcOpusDec";
        type Type = super::OpusDecoder;
        type ParentType = gst_audio::AudioDecoder;
    }

    impl ObjectImpl for OpusDecoder {
        fn properties() -> &'static [glib::ParamSpec] {
            static PROPS: std::sync::LazyLock<Vec<glib::ParamSpec>> = std::sync::LazyLock::new(|| {
                vec![glib::ParamSpecBoolean::builder("use-inband-fec")
                    .nick("Use in-band FEC")
                    .blurb("Recover a lost packet from the forward error correction data of the next one")
                    .default_value(false)
                    .mutable_playing()
                    .build()]
            });
            PROPS.as_ref()
        }

        fn set_property(&self, _id: usize, value: &glib::Value, pspec: &glib::ParamSpec) {
            if pspec.name() == "use-inband-fec" {
                *self.use_inband_fec.lock().unwrap_or_else(|e| e.into_inner()) = value.get().unwrap_or(false);
            }
        }

        fn property(&self, _id: usize, pspec: &glib::ParamSpec) -> glib::Value {
            match pspec.name() {
                "use-inband-fec" => self.use_inband_fec.lock().unwrap_or_else(|e| e.into_inner()).to_value(),
                _ => glib::Value::from_type(pspec.value_type()),
            }
        }
    }

    impl GstObjectImpl for OpusDecoder {}

    impl ElementImpl for OpusDecoder {
        fn metadata() -> Option<&'static gst::subclass::ElementMetadata> {
            static META: std::sync::LazyLock<gst::subclass::ElementMetadata> = std::sync::LazyLock::new(|| {
                gst::subclass::ElementMetadata::new(
                    "Opus decoder (single-stream)",
                    "Codec/Decoder/Audio",
                    "Decodes Opus to mono 48 kHz audio with libopus' single-stream API",
                    "gst-peerconnection",
                )
            });
            Some(&META)
        }

        fn pad_templates() -> &'static [gst::PadTemplate] {
            static TEMPLATES: std::sync::LazyLock<Vec<gst::PadTemplate>> = std::sync::LazyLock::new(|| {
                let sink_caps = gst::Caps::builder("audio/x-opus").build();
                let src_caps = gst_audio::AudioCapsBuilder::new_interleaved()
                    .format(gst_audio::AUDIO_FORMAT_S16)
                    .rate(RATE as i32)
                    .channels(1)
                    .build();
                vec![
                    gst::PadTemplate::new("sink", gst::PadDirection::Sink, gst::PadPresence::Always, &sink_caps)
                        .expect("valid sink template"),
                    gst::PadTemplate::new("src", gst::PadDirection::Src, gst::PadPresence::Always, &src_caps)
                        .expect("valid src template"),
                ]
            });
            TEMPLATES.as_ref()
        }
    }

    impl OpusDecoder {
        /// Conceal `samples` (a multiple of 2.5 ms) into `state.pcm`; silence if even that fails.
        fn conceal(&self, state: &mut State, samples: usize) {
            let start = state.pcm.len();
            state.pcm.resize(start + samples, 0);
            if let Err(e) = state.dec.decode(None, &mut state.pcm[start..], false) {
                gst::warning!(CAT, imp = self, "concealment failed: {e}");
                state.pcm[start..].fill(0);
            }
        }

        /// Samples a gap of `duration` stands for, in 2.5 ms steps (the remainder is carried).
        ///
        /// Concealment fills missing *time* (RFC 6716 §4.4), never a count of missing
        /// sequence numbers: a gap lasts what its duration says, and a gap of duration 0
        /// stands for no audio at all. rtpjitterbuffer (1.22, `handle_missing_packets`) clips
        /// each lost packet's estimated duration to the time its neighbours' timestamps leave
        /// for it, so a sequence number jump over continuous timestamps (a sender renumbering,
        /// RFC 3550 §A.1) arrives as a train of zero-length gaps, one per skipped number.
        /// Concealing each of those as "one packet" (as this did, like opusdec) turned a +1000
        /// jump into 20 s of concealment delivered at once (2,098 10-ms frames in one second).
        /// Only a gap without any duration is taken to be one packet long.
        fn gap_samples(state: &mut State, duration: Option<gst::ClockTime>) -> usize {
            let ns = match duration {
                Some(d) => d.nseconds(),
                None => state.last_samples as u64 * 1_000_000_000 / u64::from(RATE),
            } + state.leftover_ns;
            let aligned = ns / PLC_ALIGN_NS * PLC_ALIGN_NS;
            state.leftover_ns = ns - aligned;
            // At most 120 ms at a time, what libopus conceals in one call.
            ((aligned * u64::from(RATE) / 1_000_000_000) as usize).min(libopus::MAX_PACKET_SAMPLES_48K)
        }

        fn take_output(state: &mut State) -> Option<gst::Buffer> {
            if state.pcm.is_empty() {
                return None;
            }
            let bytes: Vec<u8> = state.pcm.iter().flat_map(|s| s.to_ne_bytes()).collect();
            state.pcm.clear();
            Some(gst::Buffer::from_mut_slice(bytes))
        }

        /// Decode one buffer; returns the output and how many input frames it finishes.
        fn decode(&self, state: &mut State, buffer: &gst::Buffer, fec: bool) -> (Option<gst::Buffer>, i32) {
            let map = match buffer.map_readable() {
                Ok(map) => map,
                Err(_) => return (None, 1),
            };
            let data = map.as_slice();

            if data.is_empty() {
                // A gap: conceal it now, or wait for the next packet's FEC data.
                let samples = Self::gap_samples(state, buffer.duration());
                if fec {
                    let mut frames = 0;
                    if state.pending_gap > 0 {
                        // Two gaps in a row: FEC only covers the one just before a packet.
                        let older = std::mem::take(&mut state.pending_gap);
                        self.conceal(state, older);
                        frames += 1;
                    }
                    if samples > 0 {
                        state.pending_gap = samples;
                    } else {
                        frames += 1;
                    }
                    return (Self::take_output(state), frames);
                }
                if samples > 0 {
                    self.conceal(state, samples);
                }
                return (Self::take_output(state), 1);
            }

            // Ogg-style headers (not from RTP, but harmless to skip).
            if data.starts_with(b"OpusHead") || data.starts_with(b"OpusTags") {
                return (None, 1);
            }

            let mut frames = 1;
            if state.pending_gap > 0 {
                let missing = std::mem::take(&mut state.pending_gap);
                let start = state.pcm.len();
                state.pcm.resize(start + missing, 0);
                if let Err(e) = state.dec.decode(Some(data), &mut state.pcm[start..], true) {
                    gst::debug!(CAT, imp = self, "FEC decode failed ({e}), concealing");
                    state.pcm.truncate(start);
                    self.conceal(state, missing);
                }
                frames = 2;
            }

            let start = state.pcm.len();
            state.pcm.resize(start + libopus::MAX_PACKET_SAMPLES_48K, 0);
            match state.dec.decode(Some(data), &mut state.pcm[start..], false) {
                Ok(n) => {
                    state.pcm.truncate(start + n);
                    state.last_samples = n.max(1);
                }
                Err(e) => {
                    // opusdec's choice: a packet we cannot decode is a lost packet.
                    gst::warning!(CAT, imp = self, "cannot decode a {}-byte packet: {e}; concealing it", data.len());
                    state.pcm.truncate(start);
                    let samples = libopus::packet_samples(data, RATE).unwrap_or(state.last_samples);
                    let samples = samples.clamp(120, libopus::MAX_PACKET_SAMPLES_48K) / 120 * 120;
                    self.conceal(state, samples);
                }
            }
            (Self::take_output(state), frames)
        }
    }

    impl AudioDecoderImpl for OpusDecoder {
        fn start(&self) -> Result<(), gst::ErrorMessage> {
            // Gap events become concealment when the `plc` property is set too. Here, not in
            // constructed(): the base class resets this on every start.
            self.obj().set_plc_aware(true);
            Ok(())
        }

        fn stop(&self) -> Result<(), gst::ErrorMessage> {
            *self.state.lock().unwrap_or_else(|e| e.into_inner()) = None;
            Ok(())
        }

        fn set_format(&self, caps: &gst::Caps) -> Result<(), gst::LoggableError> {
            if let Some(s) = caps.structure(0) {
                if let Ok(family) = s.get::<i32>("channel-mapping-family") {
                    // Family 0 is one stream; others are multistream (surround), which the
                    // single-stream API cannot decode.
                    let streams = s.get::<i32>("stream-count").unwrap_or(1);
                    if family != 0 && streams != 1 {
                        return Err(gst::loggable_error!(*CAT, "multistream Opus (mapping family {family}) is not supported"));
                    }
                }
            }
            let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if guard.is_none() {
                let dec = libopus::Decoder::new(RATE, 1).map_err(|e| gst::loggable_error!(*CAT, "opus_decoder_create: {e}"))?;
                *guard = Some(State { dec, last_samples: DEFAULT_FRAME_SAMPLES, leftover_ns: 0, pending_gap: 0, pcm: Vec::new() });
            }
            drop(guard);
            let info = gst_audio::AudioInfo::builder(gst_audio::AUDIO_FORMAT_S16, RATE, 1)
                .build()
                .map_err(|e| gst::loggable_error!(*CAT, "output format: {e}"))?;
            self.obj().set_output_format(&info).map_err(|e| gst::loggable_error!(*CAT, "set_output_format: {e:?}"))?;
            Ok(())
        }

        /// Any Opus stream: unlike the base class' default, do not offer upstream only the
        /// channels and rate of our output (mono), since a stereo stream decodes to mono.
        fn caps(&self, filter: Option<&gst::Caps>) -> gst::Caps {
            let templ = self.obj().sink_pad().pad_template_caps();
            match filter {
                Some(filter) => filter.intersect_with_mode(&templ, gst::CapsIntersectMode::First),
                None => templ,
            }
        }

        fn handle_frame(&self, buffer: Option<&gst::Buffer>) -> Result<gst::FlowSuccess, gst::FlowError> {
            let fec = *self.use_inband_fec.lock().unwrap_or_else(|e| e.into_inner());
            let (out, frames) = {
                let mut guard = self.state.lock().unwrap_or_else(|e| e.into_inner());
                match (guard.as_mut(), buffer) {
                    // Before caps: nothing to decode with (e.g. a gap before the first packet).
                    (None, Some(_)) => (None, 1),
                    (None, None) => return Ok(gst::FlowSuccess::Ok),
                    // Drain: a gap still waiting for FEC is concealed now.
                    (Some(state), None) => {
                        if state.pending_gap == 0 {
                            return Ok(gst::FlowSuccess::Ok);
                        }
                        let missing = std::mem::take(&mut state.pending_gap);
                        self.conceal(state, missing);
                        (Self::take_output(state), 1)
                    }
                    (Some(state), Some(buffer)) => self.decode(state, buffer, fec),
                }
            };
            if frames == 0 {
                return Ok(gst::FlowSuccess::Ok);
            }
            self.obj().finish_frame(out, frames)
        }

        fn flush(&self, hard: bool) {
            if let Some(state) = self.state.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
                // A soft flush (a DISCONT buffer) keeps the signal history concealment uses.
                if hard {
                    state.dec.reset();
                }
                state.pending_gap = 0;
                state.leftover_ns = 0;
                state.pcm.clear();
            }
        }
    }
}
