//! A track sent as plain RTP over UDP (e.g. to an SFU):
//! track → appsrc → convert/resample → encoder → payloader → udpsink (transcoding), or,
//! for a remote Opus track forwarded as Opus, its received packets relayed with a new
//! header (passthrough: no decode/encode, no generation loss, almost no CPU).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;
use napi_derive::napi;

use super::bus::{set_state_or_error, BusWatch};
use super::codec::{caps_codec, Codec, OPUS};
use super::rtp_header::RtpHeader;
use super::track::{NativeTrack, TrackCore};
use super::track_io::{feed_appsrc, live_appsrc};
use super::udp_rtp_source::codec_named;
use crate::runtime::{self, make};

pub const DEFAULT_PTIME_MS: u32 = 20;

#[napi(object)]
pub struct NativeRtpForwarderOptions {
    pub address: String,
    pub port: u32,
    /// 'opus' (default), 'pcmu', 'pcma', 'g722'
    pub codec: Option<String>,
    pub payload_type: Option<u32>,
    pub ssrc: Option<u32>,
    /// ms of audio per packet
    pub ptime: Option<u32>,
    /// false forces decode/encode even when the packets could be relayed as they are.
    pub passthrough: Option<bool>,
}

#[napi(object)]
pub struct NativeRtpForwarderStats {
    pub packets_sent: f64,
    /// Bytes of the RTP packets (headers included) handed to the socket.
    pub bytes_sent: f64,
}

#[derive(Default)]
struct Counters {
    packets: AtomicU64,
    bytes: AtomicU64,
}

enum Attachment {
    Pcm(u64),
    Rtp(u64),
}

#[napi]
pub struct NativeRtpForwarder {
    track: Arc<TrackCore>,
    pipeline: gst::Pipeline,
    attachment: Mutex<Option<Attachment>>,
    counters: Arc<Counters>,
    passthrough: bool,
    ssrc: u32,
    payload_type: u32,
}

fn random_u32() -> u32 {
    let mut b = [0u8; 4];
    let _ = getrandom::fill(&mut b);
    u32::from_ne_bytes(b)
}

/// The destination is an IP literal of one host: udpsink would otherwise resolve a name on
/// its streaming thread, and the unspecified or broadcast address reaches no SFU (or every
/// host on the link). Multicast groups are allowed: RTP to a group is a real deployment.
fn check_destination(address: &str) -> Result<(), String> {
    let ip: std::net::IpAddr = address.parse().map_err(|_| format!("address '{address}' is not an IP address"))?;
    let broadcast = matches!(ip, std::net::IpAddr::V4(v4) if v4.is_broadcast());
    if ip.is_unspecified() || broadcast {
        return Err(format!("address '{address}' is not a unicast or multicast destination"));
    }
    Ok(())
}

fn invalid(msg: &str) -> napi::Error {
    napi::Error::new(napi::Status::InvalidArg, msg.to_owned())
}

#[napi]
impl NativeRtpForwarder {
    #[napi(constructor)]
    pub fn new(track: &NativeTrack, options: NativeRtpForwarderOptions) -> napi::Result<Self> {
        runtime::init_or_throw()?;
        let codec = codec_named(options.codec.as_deref().unwrap_or("opus"))?;
        if options.port == 0 || options.port > 65535 {
            return Err(invalid("port must be 1..65535"));
        }
        let pt = options.payload_type.unwrap_or(codec.default_pt);
        if pt > 127 {
            return Err(invalid("payloadType must be 0..127"));
        }
        check_destination(&options.address).map_err(|e| invalid(&e))?;
        let ptime = options.ptime.unwrap_or(DEFAULT_PTIME_MS);
        if !(10..=120).contains(&ptime) {
            return Err(invalid("ptime must be 10..120 ms"));
        }
        if track.core.is_ended() {
            return Err(napi::Error::from_reason("the track has ended"));
        }
        // RFC 3550 §8.1: a random SSRC unless the SFU assigned one.
        let ssrc = options.ssrc.unwrap_or_else(random_u32);
        let passthrough = options.passthrough != Some(false) && codec == &OPUS && can_relay(&track.core);
        let target = Target { address: options.address, port: options.port, codec, pt, ssrc, ptime };
        start(track.core.clone(), target, passthrough).map_err(napi::Error::from_reason)
    }

    #[napi(getter)]
    pub fn passthrough(&self) -> bool {
        self.passthrough
    }

    #[napi(getter)]
    pub fn ssrc(&self) -> u32 {
        self.ssrc
    }

    #[napi(getter)]
    pub fn payload_type(&self) -> u32 {
        self.payload_type
    }

    #[napi]
    pub fn stats(&self) -> NativeRtpForwarderStats {
        NativeRtpForwarderStats {
            packets_sent: self.counters.packets.load(Ordering::Relaxed) as f64,
            bytes_sent: self.counters.bytes.load(Ordering::Relaxed) as f64,
        }
    }

    /// Factory names of the pipeline's elements (diagnostics: shows whether it encodes).
    #[napi]
    pub fn element_factories(&self) -> Vec<String> {
        self.pipeline
            .iterate_recurse()
            .into_iter()
            .filter_map(|e| e.ok()?.factory().map(|f| f.name().to_string()))
            .collect()
    }

    /// Detach from the track and close the socket. The track keeps running.
    #[napi]
    pub fn stop(&self) {
        if let Some(attachment) = self.attachment.lock().ok().and_then(|mut a| a.take()) {
            match attachment {
                Attachment::Pcm(id) => self.track.remove_consumer(id),
                Attachment::Rtp(id) => self.track.remove_rtp_consumer(id),
            }
            let _ = self.pipeline.set_state(gst::State::Null);
        }
    }
}

impl Drop for NativeRtpForwarder {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The track is decoded from Opus RTP (or will be: a remote track whose packets have
/// not arrived yet is assumed to carry what was negotiated first, Opus for WebRTC peers).
fn can_relay(track: &TrackCore) -> bool {
    track.has_rtp_tap() && track.rtp_caps().map_or(true, |caps| caps_codec(&caps) == Some(&OPUS))
}

struct Target {
    address: String,
    port: u32,
    codec: &'static Codec,
    pt: u32,
    ssrc: u32,
    ptime: u32,
}

fn udpsink(target: &Target) -> Result<gst::Element, String> {
    let sink = make("udpsink")?;
    sink.set_property("host", &target.address);
    sink.set_property("port", target.port as i32);
    // Live pacing happens upstream; a sink that waited for preroll or the clock would only
    // add delay. An ICMP port-unreachable from a closed port is not an error for an
    // unconnected UDP socket (Linux reports it only on connected ones): sending goes on.
    sink.set_property("sync", false);
    sink.set_property("async", false);
    if is_loopback(&target.address) {
        // Keep loopback traffic on loopback: the socket is not bound to every interface.
        sink.set_property("bind-address", "127.0.0.1");
    }
    Ok(sink)
}

fn is_loopback(address: &str) -> bool {
    address.parse::<std::net::IpAddr>().map(|ip| ip.is_loopback()).unwrap_or(false)
}

fn start(track: Arc<TrackCore>, target: Target, passthrough: bool) -> Result<NativeRtpForwarder, String> {
    let pipeline = gst::Pipeline::new();
    let sink = udpsink(&target)?;
    let counters = Arc::new(Counters::default());
    let appsrc;
    if passthrough {
        appsrc = gst_app::AppSrc::builder()
            .is_live(true)
            .format(gst::Format::Time)
            .do_timestamp(true)
            .caps(&OPUS.rtp_caps(target.pt))
            .max_bytes(64 * 1024)
            .leaky_type(gst_app::AppLeakyType::Downstream)
            .build();
        let elements = [appsrc.upcast_ref::<gst::Element>().clone(), sink.clone()];
        pipeline.add_many(&elements).map_err(|e| e.to_string())?;
        gst::Element::link_many(&elements).map_err(|e| e.to_string())?;
    } else {
        appsrc = live_appsrc(gst::ClockTime::from_mseconds(200));
        let convert = make("audioconvert")?;
        let resample = make("audioresample")?;
        let mut elements = vec![appsrc.upcast_ref::<gst::Element>().clone(), convert, resample];
        elements.extend(target.codec.encode_chain(target.pt, target.ssrc, target.ptime)?);
        elements.push(sink.clone());
        pipeline.add_many(&elements).map_err(|e| e.to_string())?;
        gst::Element::link_many(&elements).map_err(|e| e.to_string())?;
    }
    let sinkpad = sink.static_pad("sink").ok_or("udpsink without sink pad")?;
    let c = counters.clone();
    sinkpad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, move |_, info| {
        match &info.data {
            Some(gst::PadProbeData::Buffer(b)) => {
                c.packets.fetch_add(1, Ordering::Relaxed);
                c.bytes.fetch_add(b.size() as u64, Ordering::Relaxed);
            }
            Some(gst::PadProbeData::BufferList(list)) => {
                c.packets.fetch_add(list.len() as u64, Ordering::Relaxed);
                c.bytes.fetch_add(list.calculate_size() as u64, Ordering::Relaxed);
            }
            _ => {}
        }
        gst::PadProbeReturn::Ok
    });
    let watch = BusWatch::install(&pipeline);
    set_state_or_error(&pipeline, &watch, gst::State::Playing).map_err(|e| format!("cannot send RTP to {}:{}: {e}", target.address, target.port))?;

    let attachment = if passthrough {
        Attachment::Rtp(track.add_rtp_consumer(relay(appsrc, target.pt as u8, target.ssrc)))
    } else {
        Attachment::Pcm(feed_appsrc(&track, &appsrc))
    };
    // The track ending stops the forwarder's pipeline (its socket closes at once).
    let weak = pipeline.downgrade();
    track.on_stop(move || {
        if let Some(p) = weak.upgrade() {
            let _ = p.set_state(gst::State::Null);
        }
    });
    Ok(NativeRtpForwarder {
        track,
        pipeline,
        attachment: Mutex::new(Some(attachment)),
        counters,
        passthrough,
        ssrc: target.ssrc,
        payload_type: target.pt,
    })
}

/// Where the relayed stream stands: the input stream it follows and the offsets that map
/// its sequence numbers and timestamps onto ours.
struct Relay {
    in_ssrc: u32,
    seq_offset: u16,
    ts_offset: u32,
    last_out: Option<(u16, u32)>,
}

/// Rewrite each received packet to our payload type and SSRC. Sequence numbers and
/// timestamps keep their spacing (gaps still show loss to the receiver, RFC 3550 §6.4.1)
/// but start at random values (RFC 3550 §5.1), and continue across a change of the
/// input's SSRC (a renegotiated or restarted remote sender) so our stream never jumps.
fn relay(appsrc: gst_app::AppSrc, pt: u8, ssrc: u32) -> super::track::RtpConsumer {
    let state: Mutex<Option<Relay>> = Mutex::new(None);
    Arc::new(move |buffer: &gst::Buffer, caps: &gst::Caps| {
        if caps_codec(caps) != Some(&OPUS) {
            return; // not Opus after all: nothing we can relay (see can_relay)
        }
        let Ok(map) = buffer.map_readable() else { return };
        let Some(header) = RtpHeader::parse(map.as_slice()) else { return };
        let mut bytes = map.as_slice().to_vec();
        drop(map);
        let Ok(mut guard) = state.lock() else { return };
        let relay = match guard.as_mut() {
            Some(r) if r.in_ssrc == header.ssrc => r,
            _ => {
                // Continue after our last packet (20 ms later, the usual Opus frame), or
                // start at random values.
                let (next_seq, next_ts) = match guard.as_ref().and_then(|r| r.last_out) {
                    Some((seq, ts)) => (seq.wrapping_add(1), ts.wrapping_add(960)),
                    None => (random_u32() as u16, random_u32()),
                };
                guard.insert(Relay {
                    in_ssrc: header.ssrc,
                    seq_offset: next_seq.wrapping_sub(header.sequence),
                    ts_offset: next_ts.wrapping_sub(header.timestamp),
                    last_out: None,
                })
            }
        };
        let out = RtpHeader {
            payload_type: pt,
            sequence: header.sequence.wrapping_add(relay.seq_offset),
            timestamp: header.timestamp.wrapping_add(relay.ts_offset),
            ssrc,
        };
        relay.last_out = Some((out.sequence, out.timestamp));
        drop(guard);
        out.write(&mut bytes);
        let _ = appsrc.push_buffer(gst::Buffer::from_mut_slice(bytes));
    })
}
