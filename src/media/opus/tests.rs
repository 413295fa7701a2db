//! The decoder in real pipelines: a tone from GStreamer's opusenc survives decoding with
//! its timestamps, gaps are concealed (with and without in-band FEC) and a corrupt packet
//! does not stop the stream.

use gst::prelude::*;

use super::libopus;
use crate::media::raw_caps;

const RATE: usize = 48_000;

fn init() {
    gst::init().unwrap();
    super::register().unwrap();
}

/// Power of `freq` in `pcm` (Goertzel), normalised by length.
fn goertzel(pcm: &[i16], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / RATE as f64;
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in pcm {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    (s1 * s1 + s2 * s2 - coeff * s1 * s2) / (pcm.len() as f64).powi(2)
}

fn rms(pcm: &[i16]) -> f64 {
    (pcm.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / pcm.len().max(1) as f64).sqrt()
}

fn samples_of(buffer: &gst::BufferRef) -> Vec<i16> {
    let map = buffer.map_readable().unwrap();
    map.as_slice().chunks_exact(2).map(|b| i16::from_ne_bytes([b[0], b[1]])).collect()
}

fn sine(n0: usize, len: usize, freq: f64) -> Vec<i16> {
    (n0..n0 + len).map(|n| (10000.0 * (2.0 * std::f64::consts::PI * freq * n as f64 / RATE as f64).sin()) as i16).collect()
}

/// Output buffers of `desc` (ending in `appsink name=out`) until EOS.
fn run(desc: &str) -> Vec<gst::Buffer> {
    let pipeline = gst::parse::launch(desc).unwrap().downcast::<gst::Pipeline>().unwrap();
    let sink = pipeline.by_name("out").unwrap().downcast::<gst_app::AppSink>().unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    let mut out = Vec::new();
    while let Some(sample) = sink.pull_sample().ok() {
        out.push(sample.buffer_owned().unwrap());
    }
    let bus = pipeline.bus().unwrap();
    let err = bus.pop_filtered(&[gst::MessageType::Error]);
    pipeline.set_state(gst::State::Null).unwrap();
    assert!(err.is_none(), "pipeline error: {err:?}");
    out
}

fn assert_contiguous(buffers: &[gst::Buffer]) {
    let mut expect = buffers[0].pts().unwrap();
    for b in buffers {
        let pts = b.pts().unwrap();
        let diff = pts.nseconds().abs_diff(expect.nseconds());
        assert!(diff <= 1000, "pts {pts} where {expect} was expected");
        expect = pts + b.duration().unwrap_or_else(|| panic!("no duration on the buffer at {pts} of {}", buffers.len()));
    }
}

/// A 440 Hz tone dominates `pcm` (Goertzel against other frequencies, zero crossings).
fn assert_tone(pcm: &[i16]) {
    let tone = goertzel(pcm, 440.0);
    for other in [220.0, 660.0, 1000.0, 3000.0] {
        assert!(tone > 1000.0 * goertzel(pcm, other), "440 Hz {tone} vs {other} Hz {}", goertzel(pcm, other));
    }
    // ~880 zero crossings per second of a 440 Hz tone.
    let crossings = pcm.windows(2).filter(|w| (w[0] < 0) != (w[1] < 0)).count() as f64 / (pcm.len() as f64 / RATE as f64);
    assert!((crossings - 880.0).abs() < 20.0, "{crossings} zero crossings/s");
}

#[test]
fn a_tone_from_opusenc_survives_decoding() {
    init();
    let caps = raw_caps(48_000, 1).to_string();
    // 1 s of 440 Hz in 20 ms buffers. (No timestamp checks here: opusenc clips its first
    // buffer by the encoder's lookahead, which RTP does not carry; the harness tests below
    // check timestamps the way the depayloader stamps them.)
    let out = run(&format!(
        "audiotestsrc wave=sine freq=440 volume=0.5 num-buffers=50 samplesperbuffer=960 ! {caps} \
         ! opusenc ! {} ! appsink name=out sync=false",
        super::DECODER
    ));
    let pcm: Vec<i16> = out.iter().flat_map(|b| samples_of(b)).collect();
    // Plus one packet: opusenc pads the end to flush its lookahead.
    assert!((RATE..=RATE + 960).contains(&pcm.len()), "{} samples for one second", pcm.len());
    assert_tone(&pcm[RATE / 4..RATE]);
}

#[test]
fn packets_decode_with_their_timestamps() {
    init();
    let packets = packets(50, 32_000, false);
    let pcm = decode_with_losses(false, &packets, &[], &[]);
    assert_eq!(pcm.len(), RATE, "one second in, one second out");
    assert_tone(&pcm[RATE / 4..]);
}

/// A decoder driven by hand: test pads on both sides, no pipeline (and so no preroll).
struct Harness {
    dec: gst::Element,
    src: gst::Pad,
    _sink: gst::Pad,
    out: std::sync::Arc<std::sync::Mutex<Vec<gst::Buffer>>>,
}

impl Harness {
    fn new(fec: bool) -> Self {
        let dec = gst::ElementFactory::make(super::DECODER).property("plc", true).property("use-inband-fec", fec).build().unwrap();
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let collected = out.clone();
        let sink = gst::Pad::builder(gst::PadDirection::Sink)
            .name("collect")
            .chain_function(move |_pad, _parent, buffer| {
                collected.lock().unwrap().push(buffer);
                Ok(gst::FlowSuccess::Ok)
            })
            .build();
        dec.static_pad("src").unwrap().link(&sink).unwrap();
        sink.set_active(true).unwrap();
        let src = gst::Pad::builder(gst::PadDirection::Src).name("test").build();
        src.link(&dec.static_pad("sink").unwrap()).unwrap();
        src.set_active(true).unwrap();
        dec.set_state(gst::State::Playing).unwrap();
        src.push_event(gst::event::StreamStart::new("opus-test"));
        // What rtpopusdepay sends for opus/48000/2.
        src.push_event(gst::event::Caps::new(
            &gst::Caps::builder("audio/x-opus").field("channel-mapping-family", 0i32).field("channels", 2i32).field("rate", 48000i32).build(),
        ));
        src.push_event(gst::event::Segment::new(&gst::FormattedSegment::<gst::ClockTime>::new()));
        Harness { dec, src, _sink: sink, out }
    }

    fn packet(&self, n: u64, data: &[u8]) -> Result<gst::FlowSuccess, gst::FlowError> {
        let mut buf = gst::Buffer::from_slice(data.to_vec());
        {
            let buf = buf.get_mut().unwrap();
            buf.set_pts(gst::ClockTime::from_mseconds(20 * n));
            buf.set_duration(gst::ClockTime::from_mseconds(20));
        }
        self.src.push(buf)
    }

    fn gap(&self, n: u64) {
        let ev = gst::event::Gap::builder(gst::ClockTime::from_mseconds(20 * n)).duration(gst::ClockTime::from_mseconds(20)).build();
        assert!(self.src.push_event(ev));
    }

    /// A gap event as rtpbasedepayload makes it from a jitter buffer's lost event.
    fn gap_of(&self, pts: gst::ClockTime, duration: gst::ClockTime) {
        assert!(self.src.push_event(gst::event::Gap::builder(pts).duration(duration).build()));
    }

    fn finish(self) -> Vec<gst::Buffer> {
        assert!(self.src.push_event(gst::event::Eos::new()));
        self.dec.set_state(gst::State::Null).unwrap();
        std::mem::take(&mut *self.out.lock().unwrap())
    }
}

/// 20 ms packets of a 440 Hz tone from libopus (`bitrate` low enough for SILK/hybrid
/// modes, which is where in-band FEC lives).
fn packets(count: usize, bitrate: i32, fec: bool) -> Vec<Vec<u8>> {
    let mut enc = libopus::Encoder::new(48_000, 1).unwrap();
    enc.set(audiopus_sys::OPUS_SET_BITRATE_REQUEST, bitrate).unwrap();
    if fec {
        enc.set(audiopus_sys::OPUS_SET_INBAND_FEC_REQUEST, 1).unwrap();
        enc.set(audiopus_sys::OPUS_SET_PACKET_LOSS_PERC_REQUEST, 20).unwrap();
    }
    let mut out = vec![0u8; 4000];
    (0..count)
        .map(|i| {
            let n = enc.encode(&sine(i * 960, 960, 440.0), &mut out).unwrap();
            out[..n].to_vec()
        })
        .collect()
}

/// Decode `packets` with packets `lost` replaced by gap events and `corrupt` by garbage.
fn decode_with_losses(fec: bool, packets: &[Vec<u8>], lost: &[usize], corrupt: &[usize]) -> Vec<i16> {
    let h = Harness::new(fec);
    for (i, p) in packets.iter().enumerate() {
        if lost.contains(&i) {
            h.gap(i as u64);
        } else if corrupt.contains(&i) {
            // Code 3 (signalled frame count) without its count byte: OPUS_INVALID_PACKET.
            assert_eq!(h.packet(i as u64, &[0xfb]), Ok(gst::FlowSuccess::Ok));
        } else {
            assert_eq!(h.packet(i as u64, p), Ok(gst::FlowSuccess::Ok), "packet {i}");
        }
    }
    let out = h.finish();
    assert_eq!(out[0].pts(), Some(gst::ClockTime::ZERO));
    assert_contiguous(&out);
    out.iter().flat_map(|b| samples_of(b)).collect()
}

#[test]
fn gaps_are_concealed() {
    init();
    let packets = packets(50, 128_000, false);
    let clean = decode_with_losses(false, &packets, &[], &[]);
    assert_eq!(clean.len(), 50 * 960);
    let lossy = decode_with_losses(false, &packets, &[20, 30, 31], &[]);
    assert_eq!(lossy.len(), 50 * 960, "every gap is filled");
    // Concealment continues the tone rather than leaving silence.
    let gap = &lossy[20 * 960..21 * 960];
    assert!(rms(gap) > 0.2 * rms(&clean[20 * 960..21 * 960]), "concealed rms {}", rms(gap));
    assert!(goertzel(gap, 440.0) > 10.0 * goertzel(gap, 1000.0));
}

#[test]
fn gaps_are_recovered_from_inband_fec() {
    init();
    let packets = packets(50, 24_000, true);
    let clean = decode_with_losses(true, &packets, &[], &[]);
    let lossy = decode_with_losses(true, &packets, &[20, 30, 31, 49], &[]);
    assert_eq!(lossy.len(), 50 * 960, "every gap is filled, the trailing one at EOS");
    let plc = decode_with_losses(false, &packets, &[20, 30, 31, 49], &[]);
    // FEC data (a lower-rate copy of the lost frame) is closer to the real audio than
    // concealment that only extrapolates.
    let err = |x: &[i16]| rms(&x.iter().zip(&clean[20 * 960..21 * 960]).map(|(a, b)| a.saturating_sub(*b)).collect::<Vec<_>>());
    let (fec_err, plc_err) = (err(&lossy[20 * 960..21 * 960]), err(&plc[20 * 960..21 * 960]));
    assert!(fec_err < plc_err, "FEC error {fec_err} vs PLC error {plc_err}");
}

#[test]
fn a_corrupt_packet_does_not_stop_the_stream() {
    init();
    let packets = packets(50, 128_000, false);
    let pcm = decode_with_losses(false, &packets, &[], &[10, 11, 25]);
    assert_eq!(pcm.len(), 50 * 960, "corrupt packets are concealed, the stream goes on");
    let tail = &pcm[30 * 960..];
    assert!(goertzel(tail, 440.0) > 1000.0 * goertzel(tail, 1000.0));
}

/// RFC 3550 §A.1 / RFC 6716 §4.4: a sequence number jump of +1000 over continuous timestamps
/// reaches the decoder as 1000 lost events of duration 0 (rtpjitterbuffer clips each lost
/// packet's duration to the time left between its neighbours). They stand for no time: the
/// output is exactly the audio of the packets, not 1000 × 20 ms of concealment (before the fix:
/// 20 s more, all stamped at the same instant).
#[test]
fn zero_length_gaps_conceal_nothing() {
    init();
    let packets = packets(50, 128_000, false);
    let h = Harness::new(false);
    for (i, p) in packets.iter().enumerate() {
        if i == 25 {
            for _ in 0..1000 {
                h.gap_of(gst::ClockTime::from_mseconds(20 * 25), gst::ClockTime::ZERO);
            }
        }
        assert_eq!(h.packet(i as u64, p), Ok(gst::FlowSuccess::Ok), "packet {i}");
    }
    let out = h.finish();
    assert_contiguous(&out);
    let pcm: Vec<i16> = out.iter().flat_map(|b| samples_of(b)).collect();
    assert_eq!(pcm.len(), 50 * 960, "one second in, one second out");
    assert_tone(&pcm[30 * 960..]);
}
