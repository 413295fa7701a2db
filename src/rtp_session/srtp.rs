//! SDES-SRTP on one rtpbin session: the `srtpenc` and `srtpdec` rtpbin asks for through its
//! `request-rtp(c)-encoder/decoder` signals, keyed from the `a=crypto` lines (`sdp::crypto`).
//!
//! Until the answer gives the keys, `srtpenc` protects with a random key (what leaves before
//! that, RTCP, cannot be read by anyone, as it should not be) and `srtpdec` has no key (what
//! arrives is dropped). One key covers every SSRC of the peer (RFC 4568 §6.4: the master key
//! is for the whole media stream). A new key (a re-offer re-keys) replaces the old at once.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use gst::prelude::*;

use crate::runtime::make;
use crate::sdp::crypto::Crypto;

pub struct SessionSrtp {
    pub enc: gst::Element,
    pub dec: gst::Element,
    theirs: Arc<Mutex<Option<Crypto>>>,
    /// Keys asked for by srtpdec while it had none to give (nothing decrypts until the answer).
    pub unkeyed: Arc<AtomicU64>,
    /// The suite of the key we send with (RTCTransportStats.srtpCipher).
    suite: Mutex<Option<&'static str>>,
}

impl SessionSrtp {
    /// For rtpbin session `session`: rtpbin 1.22 links the encoder's `rtp(c)_sink_<n>` and
    /// `rtp(c)_src_<n>` as static pads, which srtpenc makes when the sink pads are requested.
    pub fn new(session: u32) -> Result<Self, String> {
        let enc = make("srtpenc")?;
        enc.set_property("random-key", true);
        for kind in ["rtp", "rtcp"] {
            enc.request_pad_simple(&format!("{kind}_sink_{session}")).ok_or_else(|| format!("srtpenc refused {kind}_sink_{session}"))?;
        }
        let dec = make("srtpdec")?;
        let theirs: Arc<Mutex<Option<Crypto>>> = Arc::default();
        let unkeyed = Arc::new(AtomicU64::new(0));
        let (t, u) = (theirs.clone(), unkeyed.clone());
        dec.connect("request-key", false, move |_| {
            let Some(c) = t.lock().ok().and_then(|g| g.clone()) else {
                u.fetch_add(1, Ordering::Relaxed);
                return Some(None::<gst::Caps>.to_value());
            };
            let (cipher, auth, rtcp_auth) = c.suite.gst_names();
            let caps = gst::Caps::builder("application/x-srtp")
                .field("srtp-key", gst::Buffer::from_slice(c.key_salt))
                .field("srtp-cipher", cipher)
                .field("srtp-auth", auth)
                .field("srtcp-cipher", cipher)
                .field("srtcp-auth", rtcp_auth)
                .build();
            Some(caps.to_value())
        });
        Ok(Self { enc, dec, theirs, unkeyed, suite: Mutex::new(None) })
    }

    /// What we send is protected with our key from now on.
    pub fn set_ours(&self, c: &Crypto) {
        let (cipher, auth, rtcp_auth) = c.suite.gst_names();
        // The suite first: srtpenc rebuilds its session when the key changes, with the
        // ciphers it has then.
        self.enc.set_property_from_str("rtp-cipher", cipher);
        self.enc.set_property_from_str("rtcp-cipher", cipher);
        self.enc.set_property_from_str("rtp-auth", auth);
        self.enc.set_property_from_str("rtcp-auth", rtcp_auth);
        self.enc.set_property("random-key", false);
        self.enc.set_property("key", gst::Buffer::from_slice(c.key_salt));
        if let Ok(mut s) = self.suite.lock() {
            *s = Some(c.suite.name());
        }
    }

    pub fn suite(&self) -> Option<&'static str> {
        self.suite.lock().ok().and_then(|s| *s)
    }

    /// What the peer sends is decrypted with its key from now on.
    pub fn set_theirs(&self, c: Crypto) {
        if let Ok(mut t) = self.theirs.lock() {
            if t.as_ref() == Some(&c) {
                return;
            }
            *t = Some(c);
        }
        // srtpdec asks again (`request-key`) for each SSRC it sees next.
        self.dec.emit_by_name::<()>("clear-keys", &[]);
    }

    /// Packets srtpdec dropped (authentication or replay failures, or no key), from its stats.
    pub fn dropped(&self) -> u64 {
        let Some(stats) = self.dec.property::<Option<gst::Structure>>("stats") else { return 0 };
        stats.get::<u32>("recv-drop-count").map(u64::from).unwrap_or(0)
    }
}
