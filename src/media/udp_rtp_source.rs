//! Plain RTP over UDP in (e.g. from an SFU) as a track:
//! udpsrc → RTP filter → rtpjitterbuffer → depayloader → decoder (PLC) → 48 kHz mono → track.
//!
//! No SRTP, no RTCP (RFC 3550 §6 reports are optional for a receive-only relay leg).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use gst::prelude::*;
use napi_derive::napi;

use super::bus::{set_state_or_error, BusWatch};
use super::codec::{by_encoding_name, Codec, OPUS};
use super::playout::RealTimeClamp;
use super::rtp_header::RtpHeader;
use super::rtp_ingress::{Counts, Ingress, Verdict};
use super::track::{NativeTrack, TrackCore};
use super::reorder_wait::ReorderWait;
use super::track_io::appsink_into_through;
use crate::runtime::{self, make};

/// The bridge's target for its added latency is 40 ms end to end (SFU in → SIP out), and
/// in a bridge this stream feeds an AudioMixer, whose input FIFO is itself an adaptive
/// jitter buffer (its headroom grows with every underrun, `mixer/fifo.rs`). A playout delay
/// here only stacks on top of that FIFO, so the jitter buffer is left with little more than
/// reordering to absorb: 5 ms. Measured with bench/latency.js (medians, 4–6 runs of 8 s):
/// 5 ms → 31.5 ms to a plain RTP leg and 34.5–36.9 ms through a WebRTC leg; 0 ms → 30.6 /
/// 33.0 ms, but a packet reordered by any amount is then lost; 20 ms (the earlier default)
/// → 40.6 / 43.3 ms. Raise it for a consumer without a buffer of its own or a lossy path
/// (with a longer wait a missing packet can still arrive before it is concealed). On a path
/// that reorders packets the wait grows by itself (`reorder_wait.rs`), up to
/// `DEFAULT_MAX_LATENCY_MS` unless told otherwise.
pub const DEFAULT_LATENCY_MS: u32 = 5;
/// Reordering beyond 100 ms is rarer than loss on any usable path; waiting longer for it
/// would cost every packet that much delay.
pub const DEFAULT_MAX_LATENCY_MS: u32 = 100;

/// Everything `stats()` reports is an atomic that streaming threads store to: `stats()` runs
/// on Node's thread and takes no lock a streaming thread holds. (It read the jitter buffer's
/// `stats` property, which takes the element's lock that its timer thread and chain function
/// hold while they work, and took the `Ingress` lock the udpsrc thread holds per packet: a
/// holder preempted on a loaded machine made Node wait for it.)
struct Counters {
    packets: AtomicU64,
    bytes: AtomicU64,
    discarded: AtomicU64,
    /// RFC 3550 §A.1 sequence and timestamp validation of the one stream we play. Locked by
    /// the udpsrc streaming thread only.
    ingress: Mutex<Ingress>,
    /// `Ingress::counts`, copied after every check.
    duplicates: AtomicU64,
    probation_drops: AtomicU64,
    sequence_resyncs: AtomicU64,
    timestamp_resyncs: AtomicU64,
    ssrc_changes: AtomicU64,
    reordered: AtomicU64,
    /// The jitter buffer's `num-lost`, read on its source pad's thread (which holds none of
    /// its locks there) whenever a lost-packet event or a discontinuity leaves it.
    lost: AtomicU64,
    /// Arrival times are measured from here.
    epoch: Instant,
}

impl Counters {
    fn publish(&self, c: &Counts) {
        self.duplicates.store(c.duplicates, Ordering::Relaxed);
        self.probation_drops.store(c.probation_drops, Ordering::Relaxed);
        self.sequence_resyncs.store(c.sequence_resyncs, Ordering::Relaxed);
        self.timestamp_resyncs.store(c.timestamp_resyncs, Ordering::Relaxed);
        self.ssrc_changes.store(c.ssrc_changes, Ordering::Relaxed);
        self.reordered.store(c.reordered, Ordering::Relaxed);
    }
}

#[napi(object)]
pub struct NativeUdpRtpSourceOptions {
    pub address: String,
    pub port: u32,
    pub codec: String,
    pub payload_type: Option<u32>,
    /// ms
    pub latency: Option<u32>,
    /// ms: how far reordering may raise `latency` (equal to it: fixed).
    pub max_latency: Option<u32>,
}

#[napi(object)]
pub struct NativeUdpRtpSourceStats {
    /// Valid RTP packets of our payload type from the socket (duplicates included, RFC 3550 §6.4.1).
    pub packets_received: f64,
    pub bytes_received: f64,
    /// Packets the jitter buffer declared lost: sequence gaps not filled in time, which the
    /// timestamps and arrival times confirm (a renumbering is no loss: `sequenceResyncs`).
    pub packets_lost: f64,
    /// Datagrams not played: not RTP of our payload type (garbage, RTCP, other streams), an
    /// invalid header (CSRC count or extension length past the end), an empty or undecodable
    /// payload, or a packet held in probation (RFC 3550 §A.1) and not confirmed.
    pub packets_discarded: f64,
    /// Copies of packets already received, dropped.
    pub packets_duplicated: f64,
    /// Times the sender's SSRC changed (a new sender on the same port, after probation).
    pub ssrc_changes: f64,
    /// New sequences on the same SSRC (sequence number jumps that are no loss).
    pub sequence_resyncs: f64,
    /// RTP timestamp jumps (backwards, or ahead of real time) rebased.
    pub timestamp_resyncs: f64,
    /// Decoded audio cut because it ran ahead of its timestamps, ms.
    pub trimmed_ms: f64,
    /// Packets that arrived after a later one.
    pub packets_reordered: f64,
    /// How long the jitter buffer waits for a missing packet (= the playout delay), ms: the
    /// configured latency, raised to cover the reordering seen.
    pub latency_ms: f64,
}

#[napi]
pub struct NativeUdpRtpSource {
    track: Arc<TrackCore>,
    port: u32,
    counters: Arc<Counters>,
    clamp: Arc<RealTimeClamp>,
    wait: Arc<ReorderWait>,
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
        let max_latency = options.max_latency.unwrap_or(DEFAULT_MAX_LATENCY_MS.max(latency));
        if max_latency < latency {
            return Err(napi::Error::new(napi::Status::InvalidArg, "maxLatency must not be below latency"));
        }
        build(&options.address, options.port, codec, pt, latency, max_latency).map_err(napi::Error::from_reason)
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

    /// Atomics only (see `Counters`): never waits for a streaming thread.
    #[napi]
    pub fn stats(&self) -> NativeUdpRtpSourceStats {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed) as f64;
        NativeUdpRtpSourceStats {
            packets_received: load(&c.packets),
            bytes_received: load(&c.bytes),
            packets_lost: load(&c.lost),
            packets_discarded: load(&c.discarded) + load(&c.probation_drops),
            packets_duplicated: load(&c.duplicates),
            ssrc_changes: load(&c.ssrc_changes),
            sequence_resyncs: load(&c.sequence_resyncs),
            timestamp_resyncs: load(&c.timestamp_resyncs),
            trimmed_ms: (self.clamp.trimmed.load(Ordering::Relaxed) / 1_000_000) as f64,
            packets_reordered: load(&c.reordered),
            latency_ms: f64::from(self.wait.ms()),
        }
    }

    /// Ends the track and closes the socket.
    #[napi]
    pub fn stop(&self) {
        self.track.stop();
    }
}

fn build(address: &str, port: u32, codec: &'static Codec, pt: u32, latency: u32, max_latency: u32) -> Result<NativeUdpRtpSource, String> {
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
    // Synchronised: the jitter buffer's latency becomes the playout delay. The sink's audio
    // passes the ramp that grows that delay when the wait is raised.
    let ramp = std::sync::Arc::new(super::playout::PlayoutRamp::idle());
    let sink = appsink_into_through(&track, true, Some(ramp.clone()));
    let mut elements = vec![udpsrc.clone(), jitterbuffer.clone()];
    elements.extend(codec.decode_chain()?);
    elements.push(sink.clone().upcast());
    pipeline.add_many(&elements).map_err(|e| e.to_string())?;
    gst::Element::link_many(&elements).map_err(|e| e.to_string())?;

    let counters = Arc::new(Counters {
        packets: AtomicU64::new(0),
        bytes: AtomicU64::new(0),
        discarded: AtomicU64::new(0),
        ingress: Mutex::new(Ingress::new(codec.clock_rate)),
        duplicates: AtomicU64::new(0),
        probation_drops: AtomicU64::new(0),
        sequence_resyncs: AtomicU64::new(0),
        timestamp_resyncs: AtomicU64::new(0),
        ssrc_changes: AtomicU64::new(0),
        reordered: AtomicU64::new(0),
        lost: AtomicU64::new(0),
        epoch: Instant::now(),
    });
    let srcpad = udpsrc.static_pad("src").ok_or("udpsrc without src pad")?;
    let c = counters.clone();
    let opus = codec == &OPUS;
    let wait = ReorderWait::new(&pipeline, &jitterbuffer, sink.upcast_ref(), ramp, latency, max_latency);
    let w = wait.clone();
    srcpad.add_probe(gst::PadProbeType::BUFFER, move |_, info| filter_packet(info, pt, opus, &c, &w));
    publish_lost(&jitterbuffer, &counters)?;
    // elements: udpsrc, jitter buffer, depayloader, decoder, …
    let depay_sink = elements[2].static_pad("sink").ok_or("depayloader without sink pad")?;
    let clamp = RealTimeClamp::install(&elements[3].static_pad("src").ok_or("decoder without src pad")?, &depay_sink);

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
    Ok(NativeUdpRtpSource { track, port: bound, counters, clamp, wait })
}

/// Keeps `counters.lost` at the jitter buffer's `num-lost`. The count only grows where the
/// jitter buffer declares a loss (`insert_lost_event`), which queues a `GstRTPPacketLost`
/// event (or, duplicate, marks the next buffer DISCONT); both leave by its source pad, pushed
/// by its output thread with no lock of the element held (`pop_and_push_next`, 1.22), so the
/// property (which takes that lock) is read there, off Node's thread.
fn publish_lost(jitterbuffer: &gst::Element, counters: &Arc<Counters>) -> Result<(), String> {
    let src = jitterbuffer.static_pad("src").ok_or("rtpjitterbuffer without src pad")?;
    let weak = jitterbuffer.downgrade();
    let c = counters.clone();
    src.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        let loss = match &info.data {
            Some(gst::PadProbeData::Event(e)) => e.type_() == gst::EventType::CustomDownstream && e.structure().is_some_and(|s| s.has_name("GstRTPPacketLost")),
            Some(gst::PadProbeData::Buffer(b)) => b.flags().contains(gst::BufferFlags::DISCONT),
            _ => false,
        };
        if loss {
            if let Some(lost) = weak.upgrade().and_then(|jb| jb.property::<Option<gst::Structure>>("stats")).and_then(|s| s.get::<u64>("num-lost").ok()) {
                c.lost.fetch_max(lost, Ordering::Relaxed);
            }
        }
        gst::PadProbeReturn::Ok
    });
    Ok(())
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
/// dropped here rather than confusing the jitter buffer or the depayloader. So are packets
/// whose header points past their end (CSRC count, extension length, padding: RFC 3550 §A.1
/// validity checks) and packets without media (an empty payload, an Opus packet libopus
/// cannot frame, RFC 6716 §3.1): dropped before the jitter buffer, they become a lost
/// packet, concealed for the time it stood for, not a hole in the audio.
///
/// Then `Ingress` (RFC 3550 §A.1 with timestamps and arrival times) drops duplicates, holds
/// a new sequence or a new SSRC (another sender on the same port, §8.2) in probation, and
/// renumbers the stream so that the jitter buffer only sees real gaps: a sequence number or
/// timestamp jump becomes a resync, not a run of lost packets to conceal.
fn filter_packet(info: &mut gst::PadProbeInfo, pt: u32, opus: bool, counters: &Counters, wait: &Arc<ReorderWait>) -> gst::PadProbeReturn {
    let Some(gst::PadProbeData::Buffer(buffer)) = &mut info.data else { return gst::PadProbeReturn::Ok };
    let parsed = buffer.map_readable().ok().and_then(|map| {
        let header = RtpHeader::parse(map.as_slice()).filter(|h| h.payload_type as u32 == pt)?;
        let payload = RtpHeader::payload_range(map.as_slice())?;
        let media = &map.as_slice()[payload];
        let playable = !media.is_empty() && (!opus || crate::media::opus::valid_packet(media));
        Some((header, playable))
    });
    let Some((header, playable)) = parsed else {
        counters.discarded.fetch_add(1, Ordering::Relaxed);
        return gst::PadProbeReturn::Drop;
    };
    counters.packets.fetch_add(1, Ordering::Relaxed);
    counters.bytes.fetch_add(buffer.size() as u64, Ordering::Relaxed);
    if !playable {
        counters.discarded.fetch_add(1, Ordering::Relaxed);
        return gst::PadProbeReturn::Drop;
    }
    let arrival = counters.epoch.elapsed().as_nanos() as u64;
    let (verdict, reorder_lateness, jitter) = match counters.ingress.lock() {
        Ok(mut ingress) => {
            let verdict = ingress.check(header.ssrc, header.sequence, header.timestamp, arrival, true);
            counters.publish(&ingress.counts);
            (verdict, ingress.take_reorder_lateness(), ingress.jitter_ns())
        }
        Err(_) => return gst::PadProbeReturn::Drop,
    };
    if let Some(lateness) = reorder_lateness {
        wait.observe(lateness);
    }
    wait.observe_jitter(jitter);
    match verdict {
        Verdict::Forward { seq, ts } if seq == header.sequence && ts == header.timestamp => gst::PadProbeReturn::Ok,
        Verdict::Forward { seq, ts } => {
            let buffer = buffer.make_mut();
            if let Ok(mut map) = buffer.map_writable() {
                RtpHeader { sequence: seq, timestamp: ts, ..header }.write(map.as_mut_slice());
            }
            gst::PadProbeReturn::Ok
        }
        Verdict::Duplicate | Verdict::Probation => gst::PadProbeReturn::Drop,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// The udpsrc thread holds the `Ingress` lock while it checks each packet; a holder that
    /// the kernel preempts keeps it longer. stats() (on Node's thread) must not wait for it:
    /// with the lock held for `HOLD`, a stats() that took it would return after the release.
    #[test]
    fn stats_does_not_wait_for_a_lock_a_streaming_thread_holds() {
        const HOLD: Duration = Duration::from_millis(300);
        runtime::ensure_init().unwrap();
        let src = build("127.0.0.1", 0, by_encoding_name("pcmu").unwrap(), 0, DEFAULT_LATENCY_MS, DEFAULT_MAX_LATENCY_MS).unwrap();
        let counters = src.counters.clone();
        let (locked, wait_locked) = mpsc::channel();
        let holder = std::thread::spawn(move || {
            let _guard = counters.ingress.lock().unwrap();
            locked.send(()).unwrap();
            std::thread::sleep(HOLD);
        });
        wait_locked.recv().unwrap();
        let t0 = Instant::now();
        let stats = src.stats();
        let took = t0.elapsed();
        holder.join().unwrap();
        src.stop();
        assert_eq!(stats.packets_received, 0.0);
        assert!(took < HOLD, "stats() took {took:?}: it waited for the streaming thread's lock");
    }
}
