//! Keeps datagrams that cannot be DTLS from a legitimate peer away from the DTLS state machine,
//! and RTCP headers that srtpdec cannot read safely away from srtpdec (at the end); and makes
//! sure srtpdec never has to name a stream itself (`srtpdec_has_a_stream`).
//!
//! webrtcbin demultiplexes what arrives on an ICE transport by its first byte (RFC 7983 §7:
//! 20–63 is DTLS) and hands everything in that range to `dtlsdec`, i.e. to OpenSSL. libnice
//! delivers data from any address that sent it an authenticated STUN check (a peer-reflexive
//! candidate, RFC 8445 §7.3.1.3), and `nicesrc` keeps no source address on its buffers, so we
//! cannot tell the selected pair's datagrams from a third party's here; what we can do is
//! refuse what no DTLS peer ever sends.
//!
//! The one that killed calls (fuzz finding media-lost-f6be42db5c): a record of epoch ≥ 1 (so
//! "protected", RFC 6347 §4.1) shorter than the AEAD expansion. OpenSSL 3 is meant to drop a
//! record that fails to decrypt (RFC 6347 §4.1.2.7), but for AES-GCM a record below 8 bytes
//! of explicit nonce + 16 of tag fails in the cipher's AAD setup and becomes a fatal
//! `internal_error`: the connection goes to its error state and sends the alert to the real
//! peer, whose `dtlsdec` then returns a flow error that stops its `nicesrc` — the peer's
//! whole receive path (SRTP shares the bundled transport) halts. Measured: 1–23-byte epoch-1
//! records kill, 0, 24 and 30 bytes of garbage are dropped harmlessly.
//!
//! Dropped here, per datagram (a DTLS record never spans datagrams, RFC 6347 §4.1.1):
//! - anything that is not a sequence of whole records that fill the datagram exactly
//!   (13-byte header: content type, version, epoch, sequence number, length);
//! - a content type other than change_cipher_spec (20), alert (21), handshake (22) and
//!   application_data (23) (heartbeat, RFC 6520, is never negotiated by gstdtls);
//! - a version whose major byte is not 0xFE (DTLS 1.0 = 0xFEFF, 1.2 = 0xFEFD);
//! - a protected record (epoch ≥ 1) shorter than the record expansion of the cipher suite.
//!   The expansion is learned from the first protected record, the peer's Finished, whose
//!   plaintext is always 24 bytes (12-byte DTLS handshake header, RFC 6347 §4.2.2, + 12 bytes
//!   of verify_data, RFC 5246 §7.4.9); it is kept within [16, 24]: 16 is the smallest any
//!   suite adds (ChaCha20-Poly1305's tag, RFC 7905; AES-CCM-8's nonce + tag, RFC 6655), 24 is
//!   AES-GCM's (RFC 5288 §3) and what is assumed until a Finished was seen. A CBC suite
//!   expands a 2-byte alert by more than 24 (IV + MAC + padding), so nothing legitimate is
//!   lost.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use gst::prelude::*;

use super::consume;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("gstpc-transport-guard", gst::DebugColorFlags::empty(), Some("Drops datagrams dtlsdec or srtpdec cannot take safely"))
});

const HEADER: usize = 13;
/// Smallest record expansion of any (D)TLS 1.2 AEAD suite (ChaCha20-Poly1305, AES-CCM-8).
const MIN_EXPANSION: u32 = 16;
/// AES-GCM's explicit nonce (8) + tag (16): the largest AEAD expansion, assumed until learned.
const GCM_EXPANSION: u32 = 24;
/// Plaintext length of a DTLS Finished message: 12-byte handshake header + 12 verify_data.
const FINISHED_PLAINTEXT: u32 = 24;
const UNKNOWN: u32 = 0;

/// Why a datagram was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Truncated,
    ContentType(u8),
    Version(u16),
    ShortProtected { len: u16, expansion: u32 },
}

/// Per-`dtlsdec` state: the record expansion learned from the first protected record.
#[derive(Debug, Default)]
pub struct DtlsGuard {
    expansion: AtomicU32,
    pub dropped: AtomicU64,
}

impl DtlsGuard {
    pub fn expansion(&self) -> u32 {
        match self.expansion.load(Ordering::Relaxed) {
            UNKNOWN => GCM_EXPANSION,
            e => e,
        }
    }

    /// Checks one datagram; `Ok` lets it through to dtlsdec.
    pub fn check(&self, data: &[u8]) -> Result<(), Refusal> {
        let mut rest = data;
        // First pass: well-formedness of every record, without learning anything yet.
        let mut first_protected = None;
        while !rest.is_empty() {
            if rest.len() < HEADER {
                return Err(Refusal::Truncated);
            }
            let ty = rest[0];
            if !(20..=23).contains(&ty) {
                return Err(Refusal::ContentType(ty));
            }
            let version = u16::from_be_bytes([rest[1], rest[2]]);
            if version >> 8 != 0xFE {
                return Err(Refusal::Version(version));
            }
            let epoch = u16::from_be_bytes([rest[3], rest[4]]);
            let len = u16::from_be_bytes([rest[11], rest[12]]);
            if rest.len() < HEADER + len as usize {
                return Err(Refusal::Truncated);
            }
            if epoch != 0 {
                let expansion = self.expansion();
                // An empty record is dropped by OpenSSL without harm (measured), and is not
                // what a peer sends either; refuse every protected record below the expansion.
                if (len as u32) < expansion {
                    return Err(Refusal::ShortProtected { len, expansion });
                }
                if first_protected.is_none() {
                    first_protected = Some((ty, len));
                }
            }
            rest = &rest[HEADER + len as usize..];
        }
        if let Some((22, len)) = first_protected {
            // The first protected handshake record is the peer's Finished (RFC 6347 §4.2.6).
            let learned = (len as u32).saturating_sub(FINISHED_PLAINTEXT).clamp(MIN_EXPANSION, GCM_EXPANSION);
            let _ = self.expansion.compare_exchange(UNKNOWN, learned, Ordering::Relaxed, Ordering::Relaxed);
        }
        Ok(())
    }
}

/// Whether srtpdec would hit `gst_rtcp_packet_bye_get_nth_ssrc: assertion 'nth < count'`
/// (a GLib CRITICAL per datagram; fuzz finding e4f5eedcd6) on this datagram.
///
/// srtpdec looks up the key by SSRC before it authenticates anything (`validate_buffer`,
/// gstsrtpdec.c): a datagram that is not RTP with a payload type outside 64–80 (RFC 5761
/// §4: those are RTCP's packet types) is walked as compound RTCP by `rtcp_buffer_get_ssrc`
/// (gstsrtp.c) until a packet that names a sender, and a BYE there is asked for its first
/// SSRC without checking that it lists one (RFC 3550 §6.6 allows a count of 0). The header
/// words it reads are in clear in SRTCP (RFC 3711 §3.4), so anyone who reaches the port can
/// send them. The walk below is `read_packet_header`'s (gstrtcpbuffer.c).
pub fn srtcp_ssrc_lookup_asserts(data: &[u8]) -> bool {
    let is_rtp = crate::media::rtp_header::RtpHeader::payload_range(data).is_some();
    if is_rtp && !(64..=80).contains(&(data[1] & 0x7f)) {
        return false; // srtpdec takes it as RTP
    }
    let mut offset = 0usize;
    while offset + 4 <= data.len() && data[offset] >> 6 == 2 {
        let count = data[offset] & 0x1f;
        let ty = data[offset + 1];
        let words = u16::from_be_bytes([data[offset + 2], data[offset + 3]]) as usize;
        if offset + 4 + 4 * words > data.len() {
            return false;
        }
        match ty {
            203 => return count == 0,                // BYE
            200 | 201 | 204 | 205 | 206 => return false, // SR, RR, APP, RTPFB, PSFB: a sender SSRC
            0 => return false,                       // GST_RTCP_TYPE_INVALID ends the walk
            _ => offset += 4 + 4 * words,
        }
    }
    false
}

/// Makes sure one of `srtpdec`'s source pads has a stream-start before a buffer from `sink`
/// goes through; false when none can be stored (the pads are flushing: the buffer could not
/// be pushed anyway).
///
/// Before its first buffer on a source pad, srtpdec (`gst_srtp_dec_push_early_events`) copies
/// the stream-start of its other source pad, and when neither has one it names the stream
/// with `gst_pad_create_stream_id`, which refuses an element of two sink pads: a CRITICAL,
/// then a NULL event pushed. That happens when the upstream stream-start reached the sink pad
/// while the source pads were still flushing (webrtcbin 1.22 runs `nicesrc` in PLAYING
/// before the rest of its receive bin is activated). The id stored is the upstream one with
/// srtpdec's own suffix.
fn srtpdec_has_a_stream(sink: &gst::Pad) -> bool {
    let Some(dec) = sink.parent_element() else { return true };
    let sources: Vec<gst::Pad> = ["rtp_src", "rtcp_src"].into_iter().filter_map(|n| dec.static_pad(n)).collect();
    if sources.iter().any(|p| p.sticky_event::<gst::event::StreamStart>(0).is_some()) {
        return true;
    }
    let upstream = sink.sticky_event::<gst::event::StreamStart>(0).map_or_else(|| "gstpc-srtp".to_owned(), |e| e.stream_id().to_owned());
    let mut stored = false;
    for pad in &sources {
        let kind = if pad.name() == "rtp_src" { "rtp" } else { "rtcp" };
        stored |= pad.store_sticky_event(&gst::event::StreamStart::new(&format!("{upstream}/{kind}"))).is_ok();
    }
    gst::debug!(CAT, obj = sink, "srtpdec had no stream-start downstream; stored one: {stored}");
    stored
}

/// The `dtlsdec` and `srtpdec` sink pads probed so far (of every connection; dead ones are pruned).
static PROBED: Mutex<Vec<gst::glib::WeakRef<gst::Pad>>> = Mutex::new(Vec::new());

/// Probe the sink pad of every `dtlsdec` in `bin` not probed yet (webrtcbin adds transports
/// lazily; called whenever the connection's `nicesrc`s are probed for consent, from ICE
/// connected on: before the peer's Finished, which needs a connected ICE pair).
pub fn guard_dtls(bin: &gst::Bin) {
    let Ok(mut probed) = PROBED.lock() else { return };
    probed.retain(|w| w.upgrade().is_some());
    for element in bin.iterate_recurse().into_iter().flatten() {
        if element.factory().is_some_and(|f| f.name() == "srtpdec") {
            for pad in ["rtp_sink", "rtcp_sink"].into_iter().filter_map(|n| element.static_pad(n)) {
                if probed.iter().any(|w| w.upgrade().as_ref() == Some(&pad)) {
                    continue;
                }
                pad.add_probe(gst::PadProbeType::BUFFER, |pad, info| {
                    if !srtpdec_has_a_stream(pad) {
                        gst::debug!(CAT, obj = pad, "dropped a datagram srtpdec could not push: its source pads are flushing");
                        return consume(info);
                    }
                    let asserts = info.buffer().and_then(|b| b.map_readable().ok()).is_some_and(|m| srtcp_ssrc_lookup_asserts(m.as_slice()));
                    if !asserts {
                        return gst::PadProbeReturn::Ok;
                    }
                    gst::debug!(CAT, obj = pad, "dropped an RTCP BYE without SSRCs before srtpdec");
                    consume(info)
                });
                probed.push(pad.downgrade());
            }
            continue;
        }
        if element.factory().is_none_or(|f| f.name() != "dtlsdec") {
            continue;
        }
        let Some(pad) = element.static_pad("sink") else { continue };
        if probed.iter().any(|w| w.upgrade().as_ref() == Some(&pad)) {
            continue;
        }
        let guard = Arc::new(DtlsGuard::default());
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let verdict = match info.buffer().map(|b| b.map_readable().map(|m| (m.len(), guard.check(m.as_slice())))) {
                None => return gst::PadProbeReturn::Ok,
                Some(Ok((_, Ok(())))) => return gst::PadProbeReturn::Ok,
                Some(Ok((len, Err(why)))) => (len, Some(why)),
                Some(Err(_)) => (0, None),
            };
            let n = guard.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            gst::debug!(CAT, obj = pad, "dropped a {}-byte datagram before dtlsdec ({:?}; {n} so far)", verdict.0, verdict.1);
            consume(info)
        });
        probed.push(pad.downgrade());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(ty: u8, version: u16, epoch: u16, len: usize) -> Vec<u8> {
        let mut r = vec![ty];
        r.extend_from_slice(&version.to_be_bytes());
        r.extend_from_slice(&epoch.to_be_bytes());
        r.extend_from_slice(&[0, 0, 0, 0, 0, 7]);
        r.extend_from_slice(&(len as u16).to_be_bytes());
        r.extend((0..len).map(|i| i as u8));
        r
    }

    #[test]
    fn the_finding_datagrams_are_refused() {
        let g = DtlsGuard::default();
        // media-lost-f6be42db5c: CCS and alert in epoch 1 with 1 and 2 bytes of "ciphertext".
        assert_eq!(g.check(&record(20, 0xFEFD, 1, 1)), Err(Refusal::ShortProtected { len: 1, expansion: 24 }));
        assert_eq!(g.check(&record(21, 0xFEFD, 1, 2)), Err(Refusal::ShortProtected { len: 2, expansion: 24 }));
        // The whole 70-byte datagram: its first record claims more bytes than there are.
        let d = hex("17feff000000000000004a53c9ca15d90613848c67def9ca9e1d15fefd00010000000000230002015015fefd247a00000000004b0002017314fefd0001000000000016000101");
        assert_eq!(g.check(&d), Err(Refusal::Truncated));
        for len in 1..24 {
            assert!(g.check(&record(23, 0xFEFD, 1, len)).is_err(), "{len}");
        }
        assert!(g.check(&record(23, 0xFEFD, 1, 0)).is_err());
        assert_eq!(g.check(&record(23, 0xFEFD, 1, 24)), Ok(()));
    }

    #[test]
    fn malformed_records_are_refused() {
        let g = DtlsGuard::default();
        assert_eq!(g.check(&record(24, 0xFEFD, 0, 3)), Err(Refusal::ContentType(24)));
        assert_eq!(g.check(&record(46, 0xFEFD, 0, 3)), Err(Refusal::ContentType(46)));
        assert_eq!(g.check(&record(21, 0x0303, 0, 2)), Err(Refusal::Version(0x0303)));
        let mut two = record(22, 0xFEFD, 0, 40);
        two.extend(record(20, 0xFEFD, 0, 1));
        assert_eq!(g.check(&two), Ok(()));
        two.push(0);
        assert_eq!(g.check(&two), Err(Refusal::Truncated));
        assert_eq!(g.check(&record(22, 0xFEFF, 0, 10)[..20]), Err(Refusal::Truncated));
    }

    #[test]
    fn a_real_flight_passes_and_teaches_the_expansion() {
        // Client's last flight: epoch-0 handshake + CCS, then an epoch-1 Finished under
        // ChaCha20-Poly1305 (24 + 16 = 40 bytes).
        let g = DtlsGuard::default();
        let mut flight = record(22, 0xFEFD, 0, 300);
        flight.extend(record(20, 0xFEFD, 0, 1));
        flight.extend(record(22, 0xFEFD, 1, 40));
        assert_eq!(g.check(&flight), Ok(()));
        assert_eq!(g.expansion(), 16);
        // Its close_notify: 2 bytes + 16.
        assert_eq!(g.check(&record(21, 0xFEFD, 1, 18)), Ok(()));
        assert!(g.check(&record(21, 0xFEFD, 1, 15)).is_err());
        // AES-GCM's Finished (48 bytes) and a learned value outside [16, 24] is clamped.
        let g = DtlsGuard::default();
        assert_eq!(g.check(&record(22, 0xFEFD, 1, 48)), Ok(()));
        assert_eq!(g.expansion(), 24);
        let g = DtlsGuard::default();
        assert_eq!(g.check(&record(22, 0xFEFD, 1, 88)), Ok(())); // a CBC suite
        assert_eq!(g.expansion(), 24);
    }

    /// One RTP or RTCP packet through `srtpenc` with `key` (AES-CM-128, HMAC-SHA1-80).
    fn protect(key: &gst::Buffer, kind: &str, packet: &[u8]) -> gst::Buffer {
        let enc = gst::ElementFactory::make("srtpenc").property("key", key).build().unwrap();
        let sink = enc.request_pad_simple(&format!("{kind}_sink_0")).unwrap();
        let src = enc.static_pad(&format!("{kind}_src_0")).unwrap();
        let out = Arc::new(Mutex::new(None));
        let o = out.clone();
        let catcher = gst::Pad::builder(gst::PadDirection::Sink)
            .chain_function(move |_, _, buffer| {
                *o.lock().unwrap() = Some(buffer);
                Ok(gst::FlowSuccess::Ok)
            })
            .build();
        src.link(&catcher).unwrap();
        catcher.set_active(true).unwrap();
        let feeder = gst::Pad::builder(gst::PadDirection::Src).build();
        feeder.link(&sink).unwrap();
        feeder.set_active(true).unwrap();
        enc.set_state(gst::State::Playing).unwrap();
        feeder.push_event(gst::event::StreamStart::new("plain"));
        feeder.push_event(gst::event::Caps::new(&gst::Caps::builder(&format!("application/x-{kind}")).field("ssrc", 1u32).build()));
        feeder.push_event(gst::event::Segment::new(&gst::FormattedSegment::<gst::ClockTime>::new()));
        feeder.push(gst::Buffer::from_slice(packet.to_vec())).unwrap();
        enc.set_state(gst::State::Null).unwrap();
        let protected = out.lock().unwrap().take().unwrap();
        protected
    }

    /// A muxed RTCP packet reaches srtpdec when neither of its source pads holds a
    /// stream-start. In webrtcbin that is a rare race (seen once, as a CRITICAL in a CI run);
    /// here the state is made directly by reactivating the source pads, which drops their
    /// sticky events. Without the guard srtpdec names the stream itself: a CRITICAL.
    #[test]
    fn srtpdec_always_finds_a_stream_start_to_copy() {
        use std::sync::atomic::AtomicUsize;
        gst::init().unwrap();
        let criticals = Arc::new(AtomicUsize::new(0));
        let c = criticals.clone();
        let handler = gst::glib::log_set_handler(Some("GStreamer"), gst::glib::LogLevels::LEVEL_CRITICAL, false, false, move |_, _, _| {
            c.fetch_add(1, Ordering::SeqCst);
        });
        let bin = gst::Bin::new();
        let dec = gst::ElementFactory::make("srtpdec").build().unwrap();
        bin.add(&dec).unwrap();
        let key = gst::Buffer::from_slice([7u8; 30]);
        let k = key.clone();
        dec.connect("request-key", false, move |_| {
            let caps = gst::Caps::builder("application/x-srtp")
                .field("srtp-key", &k)
                .field("srtp-cipher", "aes-128-icm")
                .field("srtcp-cipher", "aes-128-icm")
                .field("srtp-auth", "hmac-sha1-80")
                .field("srtcp-auth", "hmac-sha1-80")
                .build();
            Some(caps.to_value())
        });
        guard_dtls(&bin);
        let upstream = gst::Pad::builder(gst::PadDirection::Src).name("nice").build();
        upstream.link(&dec.static_pad("rtp_sink").unwrap()).unwrap();
        upstream.set_active(true).unwrap();
        dec.set_state(gst::State::Paused).unwrap();
        upstream.push_event(gst::event::StreamStart::new("nice"));
        upstream.push_event(gst::event::Caps::new(&gst::Caps::builder("application/x-srtp").build()));
        upstream.push_event(gst::event::Segment::new(&gst::FormattedSegment::<gst::ClockTime>::new()));
        let rtp = protect(&key, "rtp", &[0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xff, 0xff]);
        assert_eq!(upstream.push(rtp), Err(gst::FlowError::NotLinked));
        let sources = ["rtp_src", "rtcp_src"].map(|n| dec.static_pad(n).unwrap());
        assert!(sources[0].sticky_event::<gst::event::StreamStart>(0).is_some());
        for pad in &sources {
            pad.set_active(false).unwrap();
            pad.set_active(true).unwrap();
        }
        assert!(sources[0].sticky_event::<gst::event::StreamStart>(0).is_none());
        // A receiver report from SSRC 1, on the RTP pad as with rtcp-mux.
        let rtcp = protect(&key, "rtcp", &[0x80, 201, 0, 1, 0, 0, 0, 1]);
        assert_eq!(upstream.push(rtcp), Err(gst::FlowError::NotLinked));
        let start = sources[1].sticky_event::<gst::event::StreamStart>(0).map(|e| e.stream_id().to_owned());
        dec.set_state(gst::State::Null).unwrap();
        gst::glib::log_remove_handler(Some("GStreamer"), handler);
        assert_eq!(criticals.load(Ordering::SeqCst), 0, "GStreamer criticals");
        assert_eq!(start.as_deref(), Some("nice/rtcp"));
    }

    #[test]
    fn an_rtcp_bye_without_ssrcs_is_what_srtpdec_cannot_read() {
        let bye0 = [0x80, 203, 0, 0];
        assert!(srtcp_ssrc_lookup_asserts(&bye0));
        // The finding's datagram: RC 0, BYE, 7 words, then 28 bytes.
        let mut finding = vec![0x80, 0xcb, 0, 7];
        finding.extend([0u8; 28]);
        assert!(srtcp_ssrc_lookup_asserts(&finding));
        // Behind an SDES it is still reached; behind an RR it is not.
        let mut sdes_then_bye = vec![0x81, 202, 0, 1, 1, 2, 3, 4];
        sdes_then_bye.extend(bye0);
        assert!(srtcp_ssrc_lookup_asserts(&sdes_then_bye));
        let mut rr_then_bye = vec![0x80, 201, 0, 1, 1, 2, 3, 4];
        rr_then_bye.extend(bye0);
        assert!(!srtcp_ssrc_lookup_asserts(&rr_then_bye));
        // A BYE that lists its SSRC, a length past the end, a wrong version, and RTP.
        assert!(!srtcp_ssrc_lookup_asserts(&[0x81, 203, 0, 1, 1, 2, 3, 4]));
        assert!(!srtcp_ssrc_lookup_asserts(&[0x80, 203, 0, 9]));
        assert!(!srtcp_ssrc_lookup_asserts(&[0x40, 203, 0, 0]));
        let mut rtp = vec![0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2];
        rtp.extend([0x80, 203, 0, 0]);
        assert!(!srtcp_ssrc_lookup_asserts(&rtp));
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }
}
