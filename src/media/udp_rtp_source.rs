//! Plain RTP over UDP in (e.g. from an SFU) as a track:
//! udpsrc → RTP filter → rtpjitterbuffer → depayloader → decoder (PLC) → 48 kHz mono → track.
//!
//! No SRTP, no RTCP (RFC 3550 §6 reports are optional for a receive-only relay leg).

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;

use gst::prelude::*;
use napi_derive::napi;

use super::bus::{set_state_or_error, BusWatch};
use super::codec::{by_encoding_name, Codec};
use super::rtp_header::RtpHeader;
use super::track::{NativeTrack, TrackCore};
use super::track_io::appsink_into;
use crate::runtime::{self, make};

/// The bridge's target for its added latency is 40 ms end to end (SFU in → SIP out), and
/// in a bridge this stream feeds an AudioMixer, whose input FIFO is itself an adaptive
/// jitter buffer (its headroom grows with every underrun, `mixer/fifo.rs`). A playout delay
/// here only stacks on top of that FIFO, so the jitter buffer is left with little more than
/// reordering to absorb: 5 ms. Measured with bench/latency.js (medians, 4–6 runs of 8 s):
/// 5 ms → 31.5 ms to a plain RTP leg and 34.5–36.9 ms through a WebRTC leg; 0 ms → 30.6 /
/// 33.0 ms, but a packet reordered by any amount is then lost; 20 ms (the earlier default)
/// → 40.6 / 43.3 ms. Raise it for a consumer without a buffer of its own or a lossy path
/// (with a longer wait a missing packet can still arrive before it is concealed).
pub const DEFAULT_LATENCY_MS: u32 = 5;

#[derive(Default)]
struct Counters {
    packets: AtomicU64,
    bytes: AtomicU64,
    discarded: AtomicU64,
    ssrc: AtomicU32,
    ssrc_changes: AtomicU64,
}

#[napi(object)]
pub struct NativeUdpRtpSourceOptions {
    pub address: String,
    pub port: u32,
    pub codec: String,
    pub payload_type: Option<u32>,
    /// ms
    pub latency: Option<u32>,
}

#[napi(object)]
pub struct NativeUdpRtpSourceStats {
    /// RTP packets of our payload type accepted from the socket.
    pub packets_received: f64,
    pub bytes_received: f64,
    /// Packets the jitter buffer declared lost (RFC 3550 sequence gaps not filled in time).
    pub packets_lost: f64,
    /// Datagrams that were not RTP of our payload type (garbage, RTCP, other streams).
    pub packets_discarded: f64,
    /// Times the sender's SSRC changed (a new sender on the same port).
    pub ssrc_changes: f64,
}

#[napi]
pub struct NativeUdpRtpSource {
    track: Arc<TrackCore>,
    port: u32,
    counters: Arc<Counters>,
    jitterbuffer: gst::Element,
}

/// The codec a JS option names ('opus', 'pcmu', 'pcma', 'g722'; case-insensitive).
pub(crate) fn codec_named(name: &str) -> napi::Result<&'static Codec> {
    by_encoding_name(name).ok_or_else(|| napi::Error::new(napi::Status::InvalidArg, format!("unsupported codec '{name}' (opus, pcmu, pcma, g722)")))
}

#[napi]
impl NativeUdpRtpSource {
    #[napi(constructor)]
    pub fn new(options: NativeUdpRtpSourceOptions) -> napi::Result<Self> {
        runtime::init_or_throw()?;
        let codec = codec_named(&options.codec)?;
        if options.port > 65535 {
            return Err(napi::Error::new(napi::Status::InvalidArg, "port must be 0..65535"));
        }
        let pt = options.payload_type.unwrap_or(codec.default_pt);
        if pt > 127 {
            return Err(napi::Error::new(napi::Status::InvalidArg, "payloadType must be 0..127"));
        }
        let latency = options.latency.unwrap_or(DEFAULT_LATENCY_MS);
        build(&options.address, options.port, codec, pt, latency).map_err(napi::Error::from_reason)
    }

    #[napi]
    pub fn track(&self) -> NativeTrack {
        NativeTrack::from_core(self.track.clone())
    }

    /// The bound UDP port (the one the system picked when asked for port 0).
    #[napi(getter)]
    pub fn port(&self) -> u32 {
        self.port
    }

    #[napi]
    pub fn stats(&self) -> NativeUdpRtpSourceStats {
        let lost = self
            .jitterbuffer
            .property::<Option<gst::Structure>>("stats")
            .and_then(|s| s.get::<u64>("num-lost").ok())
            .unwrap_or(0);
        NativeUdpRtpSourceStats {
            packets_received: self.counters.packets.load(Ordering::Relaxed) as f64,
            bytes_received: self.counters.bytes.load(Ordering::Relaxed) as f64,
            packets_lost: lost as f64,
            packets_discarded: self.counters.discarded.load(Ordering::Relaxed) as f64,
            ssrc_changes: self.counters.ssrc_changes.load(Ordering::Relaxed) as f64,
        }
    }

    /// Ends the track and closes the socket.
    #[napi]
    pub fn stop(&self) {
        self.track.stop();
    }
}

fn build(address: &str, port: u32, codec: &'static Codec, pt: u32, latency: u32) -> Result<NativeUdpRtpSource, String> {
    let track = TrackCore::new("audio");
    let pipeline = gst::Pipeline::new();
    let caps = gst::Caps::builder("application/x-rtp")
        .field("media", "audio")
        .field("clock-rate", codec.clock_rate as i32)
        .field("encoding-name", codec.encoding_name)
        .field("payload", pt as i32)
        .build();
    let udpsrc = gst::ElementFactory::make("udpsrc")
        .property("address", address)
        .property("port", port as i32)
        // SO_REUSEADDR would let a second socket share the port on Linux and silently
        // steal its packets: a port in use must be an error instead.
        .property("reuse", false)
        .property("caps", &caps)
        .build()
        .map_err(|_| "GStreamer element 'udpsrc' is not available".to_owned())?;
    let jitterbuffer = make("rtpjitterbuffer")?;
    jitterbuffer.set_property("latency", latency);
    // Lost packets become gap events, which the decoders conceal instead of stalling.
    jitterbuffer.set_property("do-lost", true);
    // Synchronised: the jitter buffer's latency becomes the playout delay.
    let sink = appsink_into(&track, true);
    let mut elements = vec![udpsrc.clone(), jitterbuffer.clone()];
    elements.extend(codec.decode_chain()?);
    elements.push(sink.upcast());
    pipeline.add_many(&elements).map_err(|e| e.to_string())?;
    gst::Element::link_many(&elements).map_err(|e| e.to_string())?;

    let counters = Arc::new(Counters::default());
    let srcpad = udpsrc.static_pad("src").ok_or("udpsrc without src pad")?;
    let c = counters.clone();
    srcpad.add_probe(gst::PadProbeType::BUFFER, move |_, info| filter_packet(info, pt, &c));

    let watch = BusWatch::install(&pipeline);
    // READY opens the socket: a port in use fails here, synchronously.
    set_state_or_error(&pipeline, &watch, gst::State::Ready).map_err(|e| bind_error(&e, address, port))?;
    let bound = udpsrc.property::<i32>("port") as u32;
    // The playout delay is exactly the jitter buffer's latency. Left to itself the pipeline
    // would add every element's reported latency (180 ms for a 40 ms jitter buffer with
    // opusdec on 1.22), all of it added to the bridge's mouth-to-ear delay.
    pipeline.set_latency(gst::ClockTime::from_mseconds(u64::from(latency)));
    set_state_or_error(&pipeline, &watch, gst::State::Playing).map_err(|e| bind_error(&e, address, port))?;
    track.on_stop(move || {
        let _ = pipeline.set_state(gst::State::Null);
    });
    Ok(NativeUdpRtpSource { track, port: bound, counters, jitterbuffer })
}

fn bind_error(text: &str, address: &str, port: u32) -> String {
    if text.to_ascii_lowercase().contains("address already in use") {
        format!("address already in use: cannot bind {address}:{port}")
    } else {
        format!("cannot receive RTP on {address}:{port}: {text}")
    }
}

/// Pass only RTP (RFC 3550 §5.1, version 2) of our payload type: garbage, RTCP sharing
/// the port (RFC 5761 §4 tells them apart by payload type) and other streams are
/// dropped here rather than confusing the jitter buffer or the depayloader.
///
/// A new SSRC (another sender on the same port, RFC 3550 §8.2) is only counted: its
/// unrelated sequence numbers and timestamps look like a large jump to rtpjitterbuffer,
/// which (1.22, verified by __test__/rtp-io.test.js) resyncs and plays the new stream
/// within a few packets, so no rtpssrcdemux or reset is needed.
fn filter_packet(info: &mut gst::PadProbeInfo, pt: u32, counters: &Counters) -> gst::PadProbeReturn {
    let Some(gst::PadProbeData::Buffer(buffer)) = &info.data else { return gst::PadProbeReturn::Ok };
    let header = buffer.map_readable().ok().and_then(|map| RtpHeader::parse(map.as_slice()));
    let Some(header) = header.filter(|h| h.payload_type as u32 == pt) else {
        counters.discarded.fetch_add(1, Ordering::Relaxed);
        return gst::PadProbeReturn::Drop;
    };
    counters.packets.fetch_add(1, Ordering::Relaxed);
    counters.bytes.fetch_add(buffer.size() as u64, Ordering::Relaxed);
    let previous = counters.ssrc.swap(header.ssrc, Ordering::Relaxed);
    if counters.packets.load(Ordering::Relaxed) > 1 && previous != header.ssrc {
        counters.ssrc_changes.fetch_add(1, Ordering::Relaxed);
    }
    gst::PadProbeReturn::Ok
}
