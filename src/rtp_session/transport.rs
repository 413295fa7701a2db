//! One m-line's UDP transport for plain RTP: an RTP socket on an even port and RTCP on the
//! next one (RFC 3550 §11), each shared by its source (`socket/`, read on the shared reader
//! threads) and `udpsink` (symmetric RTP, RFC 4961: we send from the port we receive on,
//! which is what NATs and SBCs expect), wired to session `n` of the connection's `rtpbin`.
//!
//! Latching: a phone behind NAT advertises its private address, so what we send goes to where
//! its packets come from. The rule, against a stranger who sprays packets at our port to take
//! the call over: the first RTP packet that arrives after the remote description latches the
//! RTP destination (and RTCP to its port + 1 until the first RTCP packet latches that); from
//! then on, RTP from any other address is dropped and counted, whatever it claims to be.
//! A new description that moves the peer's media (RFC 3264 §8.3.1: another address than the
//! last description's and than the one latched; a transfer, an SBC re-anchoring media) starts
//! latching over, except that the address latched before cannot latch again: that endpoint is
//! the one being replaced, and its packets may still be in flight, or it may still be sending.
//!
//! rtcp-mux (RFC 5761): when the answer has `a=rtcp-mux`, RTCP shares the RTP port both ways.
//! Which it is can change with each answer, so the plumbing is always there and two switches
//! choose: an `output-selector` sends rtpbin's RTCP to the RTCP socket or, through a `funnel`,
//! out of the RTP socket. In, for plain RTP a `tee` gives each datagram of the RTP socket to
//! rtpbin's RTP input and, as `application/x-rtcp` (`capssetter`), to its RTCP input through a
//! `funnel`, and a probe on each branch keeps only its kind (RFC 5761 §4: the second byte
//! 192-223 is RTCP); for SRTP, rtpbin's srtpdec does that split itself. RTCP on the RTP port
//! is taken only while muxing and only from the latched address.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use crate::runtime::make;

/// Tries for an even port whose successor is free too.
const BIND_ATTEMPTS: usize = 64;

/// Milliseconds since the first call, on the monotonic clock.
pub fn now_ms() -> u64 {
    static EPOCH: std::sync::LazyLock<std::time::Instant> = std::sync::LazyLock::new(std::time::Instant::now);
    EPOCH.elapsed().as_millis() as u64
}

#[derive(Default)]
pub struct Counters {
    /// RTP packets taken from the latched address.
    pub packets: AtomicU64,
    pub bytes: AtomicU64,
    /// RTP packets from another address than the latched one, and datagrams that are not RTP.
    pub dropped: AtomicU64,
    /// `now_ms()` of the last RTP packet taken (0: none yet).
    pub last_ms: AtomicU64,
}

/// RFC 5761 §4: a datagram on a muxed port whose second byte is 192-223 is RTCP (SR 200,
/// RR 201, SDES, BYE, APP, the feedback types); RTP payload types 64-95 are kept out of the
/// way for this.
fn is_rtcp(data: &[u8]) -> bool {
    data.len() >= 8 && data[0] >> 6 == 2 && (192..=223).contains(&data[1])
}

fn is_rtp(data: &[u8]) -> bool {
    data.len() >= 12 && data[0] >> 6 == 2 && !is_rtcp(data)
}

pub struct Transport {
    pub port: u16,
    rtp_src: gst::Element,
    rtp_sink: gst::Element,
    rtcp_src: gst::Element,
    rtcp_sink: gst::Element,
    /// Our RTCP: to the RTCP socket, or to the RTP socket's funnel when muxing.
    rtcp_out: gst::Element,
    rtcp_out_separate: gst::Pad,
    rtcp_out_muxed: gst::Pad,
    /// What the RTP socket sends: our RTP, and our RTCP when muxing.
    rtp_out: gst::Element,
    /// Whether RTCP is muxed on the RTP port (the current answer's `a=rtcp-mux`).
    muxed: Arc<AtomicBool>,
    /// Where we send RTP and RTCP, once known (the SDP's, then the latched ones).
    destination: Arc<Mutex<Destination>>,
    pub counters: Arc<Counters>,
    /// Whether the first packet was reported.
    first_seen: Arc<AtomicBool>,
}

#[derive(Default)]
struct Destination {
    rtp: Option<SocketAddr>,
    rtcp: Option<SocketAddr>,
    rtp_latched: bool,
    rtcp_latched: bool,
    /// The RTP address the last description named.
    described: Option<SocketAddr>,
    /// The address latched before the peer's media moved: it does not latch again.
    replaced: Option<SocketAddr>,
}

impl Destination {
    /// A description naming `rtp` and `rtcp`: when it moves the peer's media, latching starts
    /// over without the address latched so far. What is not latched goes where it says.
    fn describe(&mut self, rtp: SocketAddr, rtcp: SocketAddr) {
        let moved = self.described.is_some_and(|d| d != rtp) && !(self.rtp_latched && self.rtp == Some(rtp));
        self.described = Some(rtp);
        if moved {
            if self.rtp_latched {
                self.replaced = self.rtp;
            }
            self.rtp_latched = false;
            self.rtcp_latched = false;
        }
        if !self.rtp_latched {
            self.rtp = Some(rtp);
        }
        if !self.rtcp_latched {
            self.rtcp = Some(rtcp);
        }
    }

    /// An RTP packet from `from`. When nothing is latched (and it is not the replaced
    /// endpoint) it latches RTP there, and RTCP to its port + 1 until RTCP latches itself.
    fn rtp_from(&mut self, from: SocketAddr) -> Sender {
        if !self.rtp_latched && self.replaced != Some(from) {
            self.rtp_latched = true;
            self.rtp = Some(from);
            if !self.rtcp_latched {
                self.rtcp = Some(SocketAddr::new(from.ip(), from.port().wrapping_add(1)));
            }
            return Sender::Latched;
        }
        if self.rtp_latched && self.rtp == Some(from) {
            Sender::Peer
        } else {
            Sender::Stranger
        }
    }
}

/// Who sent an RTP packet, to `Destination`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Sender {
    /// The peer, whose address was just latched: send there from now on.
    Latched,
    /// The peer, at the address latched before.
    Peer,
    Stranger,
}

/// A UDP socket bound to `address`:`port` (0: any free port), as the GSocket that our source
/// reads and `udpsink` sends from. Without SO_REUSEADDR (std sets none), which on Linux would
/// let another socket share the port and take our packets.
fn bind_socket(address: IpAddr, port: u16) -> Result<(u16, gst_net::gio::Socket), String> {
    let socket = std::net::UdpSocket::bind(SocketAddr::new(address, port)).map_err(|e| format!("cannot bind port {port} on {address}: {e}"))?;
    let port = socket.local_addr().map_err(|e| e.to_string())?.port();
    let socket = gst_net::gio::Socket::from_fd(socket.into()).map_err(|e| e.to_string())?;
    Ok((port, socket))
}

/// The source of what `socket` receives (`socket/`: read on the shared reader threads).
fn socket_src(socket: &gst_net::gio::Socket) -> Result<gst::Element, String> {
    let src = make(super::socket::NAME)?;
    src.set_property("socket", socket);
    Ok(src)
}

fn udpsink(socket: &gst_net::gio::Socket) -> Result<gst::Element, String> {
    let sink = make("udpsink")?;
    sink.set_property("socket", socket);
    sink.set_property("close-socket", false);
    // Nothing to send to until a description names the peer.
    sink.set_property("host", "127.0.0.1");
    sink.set_property("port", 9i32);
    sink.set_property("sync", false);
    sink.set_property("async", false);
    Ok(sink)
}

fn link(src: &gst::Element, src_pad: Option<&str>, sink: &gst::Element, sink_pad: Option<&str>) -> Result<(), String> {
    src.link_pads(src_pad, sink, sink_pad).map_err(|e| format!("cannot link {} to {}: {e}", src.name(), sink.name()))
}

fn pad(e: &gst::Element, name: &str) -> Result<gst::Pad, String> {
    e.static_pad(name).ok_or_else(|| format!("{} has no pad {name}", e.name()))
}

/// Plain RTP: the RTP socket's datagrams to rtpbin's RTP input and, as `application/x-rtcp`,
/// to its RTCP input beside the RTCP socket's; each branch keeps its own kind (what reaches
/// them passed `Transport::watch`, which lets RTCP through only while muxing). Returns the
/// elements it added.
fn split_rtp_socket(pipeline: &gst::Pipeline, rtp_src: &gst::Element, rtcp_src: &gst::Element, rtpbin: &gst::Element, recv_rtp: &str, recv_rtcp: &str) -> Result<Vec<gst::Element>, String> {
    let split = make("tee")?;
    let as_rtcp = make("capssetter")?;
    as_rtcp.set_property("caps", gst::Caps::new_empty_simple("application/x-rtcp"));
    as_rtcp.set_property("replace", true);
    as_rtcp.set_property("join", false);
    let rtcp_in = make("funnel")?;
    let added = vec![split.clone(), as_rtcp.clone(), rtcp_in.clone()];
    pipeline.add_many(&added).map_err(|e| e.to_string())?;
    link(rtp_src, Some("src"), &split, None)?;
    link(&split, Some("src_0"), rtpbin, Some(recv_rtp))?;
    link(&split, Some("src_1"), &as_rtcp, Some("sink"))?;
    link(&as_rtcp, Some("src"), &rtcp_in, Some("sink_0"))?;
    link(rtcp_src, Some("src"), &rtcp_in, Some("sink_1"))?;
    link(&rtcp_in, Some("src"), rtpbin, Some(recv_rtcp))?;
    for (branch, want_rtcp) in [("src_0", false), ("src_1", true)] {
        pad(&split, branch)?.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            if info.buffer().is_some_and(|b| b.map_readable().is_ok_and(|m| is_rtcp(&m)) == want_rtcp) {
                return gst::PadProbeReturn::Ok;
            }
            drop(info.take_buffer());
            gst::PadProbeReturn::Handled
        });
    }
    Ok(added)
}

impl Transport {
    /// Bind an RTP/RTCP port pair on `address` (in `range`, or any) and add its elements to
    /// `pipeline`, linked to rtpbin session `session` (`secure`: its SRTP decoder). Their
    /// state follows the pipeline's.
    pub fn bind(pipeline: &gst::Pipeline, rtpbin: &gst::Element, session: u32, address: IpAddr, range: Option<(u16, u16)>, secure: bool) -> Result<Self, String> {
        let (port, rtp_socket, rtcp_socket) = Self::bind_pair(address, range)?;
        let rtp_src = socket_src(&rtp_socket)?;
        let rtcp_src = socket_src(&rtcp_socket)?;
        // SRTP goes to rtpbin's srtpdec first (src/rtp_session/srtp.rs), which takes the x-srtp kinds.
        let (rtp_caps, rtcp_caps) = if secure { ("application/x-srtp", "application/x-srtcp") } else { ("application/x-rtp", "application/x-rtcp") };
        rtp_src.set_property("caps", gst::Caps::new_empty_simple(rtp_caps));
        rtcp_src.set_property("caps", gst::Caps::new_empty_simple(rtcp_caps));
        let rtp_sink = udpsink(&rtp_socket)?;
        let rtcp_sink = udpsink(&rtcp_socket)?;
        let rtcp_out = make("output-selector")?;
        let rtp_out = make("funnel")?;
        let mut elements = vec![rtp_src.clone(), rtp_sink.clone(), rtcp_src.clone(), rtcp_sink.clone(), rtcp_out.clone(), rtp_out.clone()];
        pipeline.add_many(&elements).map_err(|e| e.to_string())?;
        let recv_rtp = format!("recv_rtp_sink_{session}");
        let recv_rtcp = format!("recv_rtcp_sink_{session}");
        if secure {
            // srtpdec takes SRTCP on its RTP input too and gives it to rtpbin as RTCP; it
            // decrypts in place and needs buffers nobody else holds (GStreamer 1.22's srtpdec
            // pushes the original of a buffer it had to copy), so no tee here.
            link(&rtp_src, Some("src"), rtpbin, Some(&recv_rtp))?;
            link(&rtcp_src, Some("src"), rtpbin, Some(&recv_rtcp))?;
        } else {
            elements.extend(split_rtp_socket(pipeline, &rtp_src, &rtcp_src, rtpbin, &recv_rtp, &recv_rtcp)?);
        }
        // Out: RTCP to the RTCP socket or into the RTP socket's funnel, beside RTP (linked by `link_rtp`).
        link(rtpbin, Some(&format!("send_rtcp_src_{session}")), &rtcp_out, Some("sink"))?;
        link(&rtcp_out, Some("src_0"), &rtcp_sink, Some("sink"))?;
        link(&rtcp_out, Some("src_1"), &rtp_out, Some("sink_1"))?;
        link(&rtp_out, Some("src"), &rtp_sink, Some("sink"))?;
        let rtcp_out_separate = pad(&rtcp_out, "src_0")?;
        let rtcp_out_muxed = pad(&rtcp_out, "src_1")?;
        rtcp_out.set_property("active-pad", &rtcp_out_separate);
        let muxed = Arc::new(AtomicBool::new(false));
        let t = Self {
            port,
            rtp_src,
            rtp_sink,
            rtcp_src,
            rtcp_sink,
            rtcp_out,
            rtcp_out_separate,
            rtcp_out_muxed,
            rtp_out,
            muxed,
            destination: Arc::default(),
            counters: Arc::default(),
            first_seen: Arc::default(),
        };
        // The RTCP socket stays bound, without a streaming thread, until an answer does not mux.
        t.rtcp_src.set_locked_state(true);
        for e in elements.iter().filter(|e| **e != t.rtcp_src) {
            e.sync_state_with_parent().map_err(|e| e.to_string())?;
        }
        Ok(t)
    }

    fn bind_pair(address: IpAddr, range: Option<(u16, u16)>) -> Result<(u16, gst_net::gio::Socket, gst_net::gio::Socket), String> {
        let mut last = String::from("no port tried");
        for attempt in 0..BIND_ATTEMPTS {
            let want = match range {
                // Walk the range's even ports from a random start.
                Some((min, max)) => {
                    let evens = (u32::from(max.saturating_sub(1)).saturating_sub(u32::from(min)) / 2 + 1).max(1);
                    let mut b = [0u8; 4];
                    let _ = getrandom::fill(&mut b);
                    let start = u32::from_ne_bytes(b) % evens;
                    let slot = (start + attempt as u32) % evens;
                    let first_even = u32::from(min) + u32::from(min) % 2;
                    (first_even + 2 * slot) as u16
                }
                None => 0,
            };
            let (port, rtp_socket) = match bind_socket(address, want) {
                Ok(b) => b,
                Err(e) => {
                    last = e;
                    continue;
                }
            };
            if port % 2 != 0 || port == u16::MAX || range.is_some_and(|(_, max)| port + 1 > max) {
                last = format!("port {port} is odd or has no successor");
                continue;
            }
            match bind_socket(address, port + 1) {
                Ok((_, rtcp_socket)) => return Ok((port, rtp_socket, rtcp_socket)),
                Err(e) => last = e,
            }
        }
        Err(format!("no RTP/RTCP port pair on {address}: {last}"))
    }

    /// Send what `src`'s pad `pad` gives (rtpbin's `send_rtp_src_<session>`) out of the RTP socket.
    pub fn link_rtp(&self, src: &gst::Element, pad: &str) -> Result<(), String> {
        src.link_pads(Some(pad), &self.rtp_out, Some("sink_0")).map_err(|e| format!("cannot link {pad} to the RTP socket: {e}"))
    }

    /// The peer's addresses from its description (ignored once latched), and whether the
    /// answer muxes RTCP on the RTP port.
    pub fn set_remote(&self, rtp: SocketAddr, rtcp: SocketAddr, muxed: bool) {
        self.muxed.store(muxed, Ordering::Release);
        let out = if muxed { &self.rtcp_out_muxed } else { &self.rtcp_out_separate };
        if self.rtcp_out.property::<Option<gst::Pad>>("active-pad").as_ref() != Some(out) {
            self.rtcp_out.set_property("active-pad", out);
        }
        // A thread reads the RTCP socket only while RTCP is not muxed.
        if muxed != self.rtcp_src.is_locked_state() {
            if muxed {
                self.rtcp_src.set_locked_state(true);
                let _ = self.rtcp_src.set_state(gst::State::Ready);
            } else {
                self.rtcp_src.set_locked_state(false);
                let _ = self.rtcp_src.sync_state_with_parent();
            }
        }
        let Ok(mut d) = self.destination.lock() else { return };
        d.describe(rtp, rtcp);
        if !d.rtp_latched {
            set_client(&self.rtp_sink, rtp);
        }
        if !d.rtcp_latched {
            set_client(&self.rtcp_sink, rtcp);
        }
    }

    /// Watch what arrives: latch, drop strangers, count, and call `on_first` (once, on the
    /// socket reader's thread) for the first RTP packet taken.
    pub fn watch(&self, on_first: impl Fn() + Send + Sync + 'static) {
        let dest = self.destination.clone();
        let counters = self.counters.clone();
        let first = self.first_seen.clone();
        let sink = self.rtp_sink.clone();
        let rtcp_sink = self.rtcp_sink.clone();
        let muxed = self.muxed.clone();
        if let Some(pad) = self.rtp_src.static_pad("src") {
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                let Some(buffer) = info.buffer() else { return gst::PadProbeReturn::Ok };
                let from = source_of(buffer);
                let (rtp, rtcp) = buffer.map_readable().map_or((false, false), |m| (is_rtp(&m), is_rtcp(&m)));
                if rtcp {
                    // Muxed RTCP: only from where the RTP comes from, never latching.
                    let take = muxed.load(Ordering::Acquire) && from.is_some() && dest.lock().is_ok_and(|d| d.rtp_latched && d.rtp == from);
                    if take {
                        return gst::PadProbeReturn::Ok;
                    }
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    drop(info.take_buffer());
                    return gst::PadProbeReturn::Handled;
                }
                let take = match (rtp, from, dest.lock()) {
                    (true, Some(from), Ok(mut d)) => match d.rtp_from(from) {
                        Sender::Latched => {
                            set_client(&sink, from);
                            if let Some(rtcp) = d.rtcp.filter(|_| !d.rtcp_latched) {
                                set_client(&rtcp_sink, rtcp);
                            }
                            true
                        }
                        Sender::Peer => true,
                        Sender::Stranger => false,
                    },
                    _ => false,
                };
                if !take {
                    counters.dropped.fetch_add(1, Ordering::Relaxed);
                    drop(info.take_buffer());
                    return gst::PadProbeReturn::Handled;
                }
                counters.packets.fetch_add(1, Ordering::Relaxed);
                counters.last_ms.store(now_ms().max(1), Ordering::Relaxed);
                counters.bytes.fetch_add(buffer.size() as u64, Ordering::Relaxed);
                if !first.swap(true, Ordering::AcqRel) {
                    on_first();
                }
                gst::PadProbeReturn::Ok
            });
        }
        let dest = self.destination.clone();
        let sink = self.rtcp_sink.clone();
        if let Some(pad) = self.rtcp_src.static_pad("src") {
            pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                let from = info.buffer().and_then(|b| source_of(b));
                let take = match (from, dest.lock()) {
                    (Some(from), Ok(mut d)) => {
                        // RTCP latches only to the host RTP latched to.
                        if !d.rtcp_latched && d.rtp.is_some_and(|rtp| rtp.ip() == from.ip()) && d.rtp_latched {
                            d.rtcp_latched = true;
                            d.rtcp = Some(from);
                            set_client(&sink, from);
                        }
                        d.rtcp == Some(from)
                    }
                    _ => false,
                };
                if take {
                    return gst::PadProbeReturn::Ok;
                }
                drop(info.take_buffer());
                gst::PadProbeReturn::Handled
            });
        }
    }

    /// The next RTP packet taken is reported again (a receiver unmuting after renegotiation).
    pub fn report_next(&self) {
        self.first_seen.store(false, Ordering::Release);
    }
}

impl Drop for Transport {
    /// A locked RTCP source would stay READY when the pipeline goes to NULL.
    fn drop(&mut self) {
        self.rtcp_src.set_locked_state(false);
    }
}

fn set_client(sink: &gst::Element, to: SocketAddr) {
    sink.set_property("host", to.ip().to_string());
    sink.set_property("port", i32::from(to.port()));
}

/// The address a datagram came from (its `GstNetAddressMeta`), for every packet: from the address's
/// bytes, not its text (formatting and parsing an address for every packet showed in the
/// socket thread's profile).
pub(super) fn source_of(buffer: &gst::BufferRef) -> Option<SocketAddr> {
    use gst_net::gio::prelude::*;
    use gst_net::gio::InetAddressBytes;
    let meta = buffer.meta::<gst_net::NetAddressMeta>()?;
    let addr = meta.addr().downcast::<gst_net::gio::InetSocketAddress>().ok()?;
    let ip = match addr.address().to_bytes()? {
        InetAddressBytes::V4(b) => IpAddr::from(*b),
        InetAddressBytes::V6(b) => IpAddr::from(*b),
    };
    Some(SocketAddr::new(ip, addr.port()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn the_first_packet_latches_and_strangers_are_refused() {
        let mut d = Destination::default();
        d.describe(at(4000), at(4001));
        assert_eq!(d.rtp_from(at(5000)), Sender::Latched, "the NATed peer, wherever its packets come from");
        assert_eq!(d.rtcp, Some(at(5001)), "RTCP to the latched port + 1 until RTCP latches itself");
        assert_eq!(d.rtp_from(at(6000)), Sender::Stranger);
        assert_eq!(d.rtp_from(at(5000)), Sender::Peer);
    }

    #[test]
    fn a_description_that_keeps_the_address_or_names_the_latched_one_keeps_the_latch() {
        let mut d = Destination::default();
        d.describe(at(4000), at(4001));
        assert_eq!(d.rtp_from(at(5000)), Sender::Latched);
        // A re-INVITE for hold or resume: the same address.
        d.describe(at(4000), at(4001));
        assert_eq!(d.rtp_from(at(6000)), Sender::Stranger);
        assert_eq!(d.rtp_from(at(5000)), Sender::Peer);
        // A phone that learnt its public address (STUN) and re-INVITEs with it.
        d.describe(at(5000), at(5001));
        assert_eq!(d.rtp_from(at(6000)), Sender::Stranger);
        assert_eq!(d.rtp_from(at(5000)), Sender::Peer);
    }

    #[test]
    fn moved_media_latches_anew_but_never_to_the_endpoint_it_replaces() {
        let mut d = Destination::default();
        d.describe(at(4000), at(4001));
        assert_eq!(d.rtp_from(at(5000)), Sender::Latched);
        d.describe(at(7000), at(7001));
        assert_eq!(d.rtp, Some(at(7000)), "we send where the new description says until a packet latches");
        assert_eq!(d.rtp_from(at(5000)), Sender::Stranger, "the replaced endpoint, still sending");
        assert_eq!(d.rtp, Some(at(7000)));
        assert_eq!(d.rtp_from(at(7002)), Sender::Latched, "the new endpoint, behind NAT");
        assert_eq!(d.rtp_from(at(5000)), Sender::Stranger);
        assert_eq!(d.rtp_from(at(7000)), Sender::Stranger);
    }
}
