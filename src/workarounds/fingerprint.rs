//! The DTLS certificate check webrtcbin 1.22 leaves out: the peer's certificate must match an
//! `a=fingerprint` of the remote description (RFC 5763 §5, RFC 8122 §5; webrtc-pc §5.5.1
//! "fingerprint-failure").
//!
//! gstdtls's OpenSSL verify callback accepts whatever `dtlsdec` answers to
//! `on-peer-certificate`, and `dtlsdec` always answers yes; webrtcbin never compares the
//! certificate with the SDP. Measured before this module: a peer whose answer carried a wrong
//! fingerprint got `connected` and two-way SRTP — a man in the middle of the signalling path
//! could terminate DTLS with any certificate.
//!
//! The handshake itself cannot be refused from outside gstdtls, so the check gates the media:
//! a `Gate` probe on every `nicesrc` (what arrives) and `nicesink` (what leaves) lets DTLS
//! through (RFC 7983 §7: first byte 20–63; the handshake needs it) and drops every RTP/RTCP
//! datagram (first byte 128–191) until the connection's decision is `Verified`. The decision
//! is taken lazily, at the first media datagram, from `dtlsdec`'s `peer-pem` (set inside the
//! verify callback, before any SRTP key exists) and the remote description; a new certificate
//! (`notify::peer-pem`) or a new remote description asks again. `Mismatch` is final: media
//! stays dropped both ways and the connection owner is told once, to fail the connection.
//! Media also waits while no remote description is known (an offerer whose answer has not
//! arrived although the answerer's DTLS already reached it), or while it names no fingerprint
//! (every m-section rejected): there is nothing to verify against.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use gst::glib;
use gst::prelude::*;

static CAT: LazyLock<gst::DebugCategory> = LazyLock::new(|| {
    gst::DebugCategory::new("gstpc-fingerprint", gst::DebugColorFlags::empty(), Some("Checks the peer's DTLS certificate against the SDP fingerprint"))
});

/// One `a=fingerprint:<hash-func> <AB:CD:…>` (RFC 8122 §5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    hash: glib::ChecksumType,
    value: Vec<u8>,
}

/// The hash functions RFC 8122 §5 lists that GLib computes; MD5 and SHA-224 fingerprints are
/// not usable for this check (RFC 8122 says a fingerprint must use the certificate's
/// signature hash or a stronger one; browsers send sha-256).
fn hash_named(name: &str) -> Option<glib::ChecksumType> {
    match name.to_ascii_lowercase().as_str() {
        "sha-1" => Some(glib::ChecksumType::Sha1),
        "sha-256" => Some(glib::ChecksumType::Sha256),
        "sha-384" => Some(glib::ChecksumType::Sha384),
        "sha-512" => Some(glib::ChecksumType::Sha512),
        _ => None,
    }
}

pub fn parse(value: &str) -> Option<Fingerprint> {
    let (name, hex) = value.trim().split_once(char::is_whitespace)?;
    let hash = hash_named(name)?;
    let value = hex.trim().split(':').map(|byte| if byte.len() == 2 { u8::from_str_radix(byte, 16).ok() } else { None }).collect::<Option<Vec<u8>>>()?;
    Some(Fingerprint { hash, value })
}

/// Every fingerprint the description offers: session level and each used m-section (a
/// bundled transport's certificate may be named in any of them).
pub fn of_description(sdp: &gst_sdp::SDPMessageRef) -> Vec<Fingerprint> {
    let session = sdp.attributes().filter(|a| a.key() == "fingerprint").filter_map(|a| a.value());
    let media = sdp.medias().filter(|m| m.port() != 0).flat_map(|m| m.attributes().filter(|a| a.key() == "fingerprint").filter_map(|a| a.value()).collect::<Vec<_>>());
    session.chain(media).filter_map(parse).collect()
}

/// The certificate's DER bytes from gstdtls's PEM text.
fn der_of_pem(pem: &str) -> Option<Vec<u8>> {
    let body = pem.split("-----BEGIN CERTIFICATE-----").nth(1)?.split("-----END CERTIFICATE-----").next()?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = glib::base64_decode(&b64);
    (!der.is_empty()).then_some(der)
}

pub fn matches(pem: &str, expected: &[Fingerprint]) -> bool {
    let Some(der) = der_of_pem(pem) else { return false };
    expected.iter().any(|f| {
        let mut sum = glib::Checksum::new(f.hash).expect("GLib computes every ChecksumType it names");
        sum.update(&der);
        sum.digest() == f.value
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// No certificate or no remote description yet: media waits.
    Pending,
    Verified,
    Mismatch,
}

const PENDING: u8 = 0;
const VERIFIED: u8 = 1;
const MISMATCH: u8 = 2;

/// One connection's media gate. `decide` (the connection's, see the module comment) runs on a
/// streaming thread, only while the decision is pending.
pub struct Gate {
    decision: AtomicU8,
    probed: Mutex<Probed>,
}

impl Default for Gate {
    fn default() -> Self {
        Self { decision: AtomicU8::new(PENDING), probed: Mutex::new(Probed::default()) }
    }
}

/// The pads gated and the `dtlsdec`s watched so far (dead ones are pruned).
#[derive(Default)]
struct Probed {
    pads: Vec<glib::WeakRef<gst::Pad>>,
    decoders: Vec<glib::WeakRef<gst::Element>>,
}

pub type Decide = Arc<dyn Fn() -> Decision + Send + Sync>;
pub type OnMismatch = Arc<dyn Fn() + Send + Sync>;

fn is_media(first: u8) -> bool {
    (128..=191).contains(&first)
}

impl Gate {
    /// Ask again at the next media datagram (a new certificate or remote description), unless
    /// the connection already failed.
    pub fn reconsider(&self) {
        let _ = self.decision.compare_exchange(VERIFIED, PENDING, Ordering::AcqRel, Ordering::Acquire);
    }

    pub fn failed(&self) -> bool {
        self.decision.load(Ordering::Acquire) == MISMATCH
    }

    fn allows_media(&self, decide: &Decide, on_mismatch: &OnMismatch) -> bool {
        match self.decision.load(Ordering::Acquire) {
            VERIFIED => return true,
            MISMATCH => return false,
            _ => {}
        }
        match decide() {
            Decision::Verified => {
                let _ = self.decision.compare_exchange(PENDING, VERIFIED, Ordering::AcqRel, Ordering::Acquire);
                self.decision.load(Ordering::Acquire) == VERIFIED
            }
            Decision::Pending => false,
            Decision::Mismatch => {
                // The thread that moves the decision to MISMATCH reports it, once.
                if self.decision.swap(MISMATCH, Ordering::AcqRel) != MISMATCH {
                    gst::warning!(CAT, "the peer's DTLS certificate matches no fingerprint of the remote description: media blocked, connection failed");
                    on_mismatch();
                }
                false
            }
        }
    }

    /// Whether a datagram (or list) may pass: DTLS and anything not RTP/RTCP always, media only
    /// once verified.
    fn pass(&self, info: &gst::PadProbeInfo, decide: &Decide, on_mismatch: &OnMismatch) -> bool {
        if self.decision.load(Ordering::Acquire) == VERIFIED {
            return true;
        }
        // No allocation per packet: this runs for every datagram until DTLS is verified.
        let media = match &info.data {
            Some(gst::PadProbeData::Buffer(b)) => first_byte(b).is_some_and(is_media),
            Some(gst::PadProbeData::BufferList(l)) => l.iter().any(|b| first_byte(b).is_some_and(is_media)),
            _ => return true,
        };
        if !media {
            return !self.failed();
        }
        self.allows_media(decide, on_mismatch)
    }

    /// Gate every `nicesrc` and `nicesink` of `bin`, and watch every `dtlsdec`'s certificate;
    /// each element once (webrtcbin adds transports lazily).
    pub fn install(self: &Arc<Self>, bin: &gst::Bin, decide: &Decide, on_mismatch: &OnMismatch) {
        let Ok(mut probed) = self.probed.lock() else { return };
        probed.pads.retain(|w| w.upgrade().is_some());
        probed.decoders.retain(|w| w.upgrade().is_some());
        for element in bin.iterate_recurse().into_iter().flatten() {
            let Some(factory) = element.factory() else { continue };
            let pad = match factory.name().as_str() {
                "nicesrc" => element.static_pad("src"),
                "nicesink" => element.static_pad("sink"),
                "dtlsdec" => {
                    if !probed.decoders.iter().any(|w| w.upgrade().as_ref() == Some(&element)) {
                        let gate = Arc::downgrade(self);
                        element.connect_notify(Some("peer-pem"), move |_, _| {
                            if let Some(gate) = gate.upgrade() {
                                gate.reconsider();
                            }
                        });
                        probed.decoders.push(element.downgrade());
                    }
                    continue;
                }
                _ => continue,
            };
            let Some(pad) = pad else { continue };
            if probed.pads.iter().any(|w| w.upgrade().as_ref() == Some(&pad)) {
                continue;
            }
            let (gate, decide, on_mismatch) = (self.clone(), decide.clone(), on_mismatch.clone());
            pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, move |pad, info| {
                if gate.pass(info, &decide, &on_mismatch) {
                    return gst::PadProbeReturn::Ok;
                }
                gst::log!(CAT, obj = pad, "media dropped: the peer's certificate is not verified");
                super::consume(info)
            });
            probed.pads.push(pad.downgrade());
        }
    }
}

fn first_byte(buffer: &gst::BufferRef) -> Option<u8> {
    let mut byte = [0u8; 1];
    (buffer.copy_to_slice(0, &mut byte).is_ok()).then_some(byte[0])
}

/// The certificates `bin`'s `dtlsdec`s have received so far.
pub fn peer_certificates(bin: &gst::Bin) -> Vec<String> {
    bin.iterate_recurse()
        .into_iter()
        .flatten()
        .filter(|e| e.factory().is_some_and(|f| f.name() == "dtlsdec"))
        .filter_map(|e| e.property::<Option<String>>("peer-pem"))
        .collect()
}

/// The decision for a connection: every certificate received matches the remote description.
pub fn decide(certificates: &[String], expected: Option<&[Fingerprint]>) -> Decision {
    // No fingerprint at all: a description that rejects every m-section (the last transceiver
    // stopped) leaves no transport to verify, not a mismatch. Media that still arrives on the
    // transport going away waits; a later description that uses a section decides again.
    let Some(expected) = expected.filter(|e| !e.is_empty()) else { return Decision::Pending };
    if certificates.is_empty() {
        return Decision::Pending;
    }
    if certificates.iter().all(|pem| matches(pem, expected)) {
        Decision::Verified
    } else {
        Decision::Mismatch
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_8122_syntax() {
        let f = parse("sha-256 0A:1b:FF").unwrap();
        assert_eq!(f.hash, glib::ChecksumType::Sha256);
        assert_eq!(f.value, vec![0x0a, 0x1b, 0xff]);
        assert!(parse("md5 0A:1B").is_none());
        assert!(parse("sha-256 0A:1").is_none());
        assert!(parse("sha-256").is_none());
    }

    #[test]
    fn a_certificate_matches_its_own_digest_only() {
        let der = b"not really a certificate, but DER is only hashed here";
        let pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", glib::base64_encode(der));
        let mut sum = glib::Checksum::new(glib::ChecksumType::Sha256).unwrap();
        sum.update(der);
        let hex: Vec<String> = sum.digest().iter().map(|b| format!("{b:02X}")).collect();
        let good = parse(&format!("sha-256 {}", hex.join(":"))).unwrap();
        let mut bad = good.clone();
        bad.value[0] ^= 1;
        assert!(matches(&pem, std::slice::from_ref(&good)));
        assert!(!matches(&pem, std::slice::from_ref(&bad)));
        assert!(matches(&pem, &[bad.clone(), good.clone()]), "any of several fingerprints (RFC 8122 §5)");
        assert_eq!(decide(std::slice::from_ref(&pem), Some(std::slice::from_ref(&good))), Decision::Verified);
        assert_eq!(decide(std::slice::from_ref(&pem), Some(&[bad])), Decision::Mismatch);
        assert_eq!(decide(&[], Some(&[good.clone()])), Decision::Pending);
        assert_eq!(decide(std::slice::from_ref(&pem), Some(&[])), Decision::Pending, "every m-section rejected");
        assert_eq!(decide(&[pem], None), Decision::Pending);
        assert!(!matches("garbage", &[good]));
    }
}
