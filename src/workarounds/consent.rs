//! Liveness of the remote peer, in the spirit of ICE consent freshness (RFC 7675).
//!
//! webrtcbin 1.22 builds its libnice agent without consent freshness (a construct-only
//! option), so a peer that closes or vanishes is never noticed: the ICE state stays
//! `connected` forever. We watch inbound packets instead: every `nicesrc` in webrtcbin gets
//! a probe that stamps the time of the last packet. A live peer always sends something —
//! RTP, or RTCP reports (RFC 3550 §6.2, at least every few seconds) even on hold.
//! Silence beyond `DISCONNECTED_AFTER` reports `disconnected` (as browsers do after a few
//! missed consent checks); beyond `FAILED_AFTER` (RFC 7675 §5.1: consent expires after
//! 30 s) reports `failed`. Traffic that resumes before that restores `connected`.
//!
//! How long silence must last depends on what the peer was sending. RTCP alone comes at
//! randomised intervals of up to 1.5 × 5 s / 1.22 ≈ 6.2 s (RFC 3550 §6.3.1 with the 5 s
//! minimum), so a peer that only reports is `disconnected` after `DISCONNECTED_AFTER` (8 s).
//! A peer that was streaming — at least `STREAMING_PACKETS` packets in the last second
//! before the silence, i.e. RTP — and then goes completely quiet has lost its path, or
//! stopped sending without renegotiating: `disconnected` after `STREAMING_DISCONNECTED_AFTER`
//! (2.5 s, Chrome's receive timeout for a weak connection), so an outage of a few seconds
//! shows as `disconnected` → `connected`, as in browsers. A new description resets the
//! measure (the peer may stop sending because of it: hold, `inactive`).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

pub const DISCONNECTED_AFTER: Duration = Duration::from_secs(8);
pub const STREAMING_DISCONNECTED_AFTER: Duration = Duration::from_millis(2500);
/// Packets in a second that mean RTP is flowing (audio sends 50; RTCP alone, under 1).
const STREAMING_PACKETS: u64 = 10;
pub const FAILED_AFTER: Duration = Duration::from_secs(30);
const POLL: gst::ClockTime = gst::ClockTime::from_seconds(1);

/// What the silence so far means for the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Alive,
    Disconnected,
    Failed,
}

/// `streaming`: the peer was sending RTP when it went quiet (see the module comment).
pub fn verdict(silence: Duration, streaming: bool) -> Verdict {
    let disconnected_after = if streaming { STREAMING_DISCONNECTED_AFTER } else { DISCONNECTED_AFTER };
    if silence >= FAILED_AFTER {
        Verdict::Failed
    } else if silence >= disconnected_after {
        Verdict::Disconnected
    } else {
        Verdict::Alive
    }
}

pub struct Consent {
    start: Instant,
    last_rx_us: Arc<AtomicU64>,
    packets: Arc<AtomicU64>,
    /// `packets` at the previous `sample()`.
    sampled: AtomicU64,
    streaming: AtomicBool,
    ticks: AtomicU64,
    probed: Mutex<Vec<gst::glib::WeakRef<gst::Pad>>>,
    running: AtomicBool,
}

impl Default for Consent {
    fn default() -> Self {
        Self {
            start: Instant::now(),
            last_rx_us: Arc::new(AtomicU64::new(0)),
            packets: Arc::new(AtomicU64::new(0)),
            sampled: AtomicU64::new(0),
            streaming: AtomicBool::new(false),
            ticks: AtomicU64::new(0),
            probed: Mutex::new(Vec::new()), running: AtomicBool::new(false) }
    }
}

impl Consent {
    /// Mark "heard from the peer now" (also when ICE connects, so the clock starts there).
    pub fn touch(&self) {
        self.last_rx_us.store(self.start.elapsed().as_micros() as u64, Ordering::Relaxed);
    }

    /// In µs, not ms: whole milliseconds, each truncated, made a silence up to 1 ms short
    /// count as `FAILED_AFTER`.
    pub fn silence(&self) -> Duration {
        let now = self.start.elapsed().as_micros() as u64;
        Duration::from_micros(now.saturating_sub(self.last_rx_us.load(Ordering::Relaxed)))
    }

    /// Probe every `nicesrc` of `bin` not probed yet (webrtcbin adds transports lazily).
    pub fn probe_sources(&self, bin: &gst::Bin) {
        crate::workarounds::transport_guard::guard_dtls(bin);
        let Ok(mut probed) = self.probed.lock() else { return };
        probed.retain(|w| w.upgrade().is_some());
        for element in bin.iterate_recurse().into_iter().flatten() {
            if element.factory().is_none_or(|f| f.name() != "nicesrc") {
                continue;
            }
            let Some(pad) = element.static_pad("src") else { continue };
            if probed.iter().any(|w| w.upgrade().as_ref() == Some(&pad)) {
                continue;
            }
            let start = self.start;
            let last = self.last_rx_us.clone();
            let packets = self.packets.clone();
            pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, move |_, _| {
                last.store(start.elapsed().as_micros() as u64, Ordering::Relaxed);
                packets.fetch_add(1, Ordering::Relaxed);
                gst::PadProbeReturn::Ok
            });
            probed.push(pad.downgrade());
        }
    }

    /// Once a second (the consent tick): whether the peer was streaming over the last second.
    /// Only updated while packets are arriving (the last 200 ms had one): a second that ends in
    /// silence says nothing about the peer's rate, so the verdict uses what it did before.
    /// Returns how many samples came before this one (the consent tick's count).
    pub fn sample(&self) -> u64 {
        let tick = self.ticks.fetch_add(1, Ordering::Relaxed);
        let now = self.packets.load(Ordering::Relaxed);
        let before = self.sampled.swap(now, Ordering::Relaxed);
        if self.silence() < Duration::from_millis(200) {
            self.streaming.store(now.wrapping_sub(before) >= STREAMING_PACKETS, Ordering::Relaxed);
        }
        tick
    }

    pub fn streaming(&self) -> bool {
        self.streaming.load(Ordering::Relaxed)
    }

    /// A description was applied: what the peer sends may change with it.
    pub fn renegotiated(&self) {
        self.streaming.store(false, Ordering::Relaxed);
        self.sampled.store(self.packets.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// Returns true if the caller should start the periodic check (only once).
    pub fn start_once(&self) -> bool {
        !self.running.swap(true, Ordering::AcqRel)
    }

    pub fn stop(&self) {
        self.running.store(false, Ordering::Release);
    }

    pub fn is_running(&self) -> bool {
        self.running.load(Ordering::Acquire)
    }
}

/// Run `tick` every second on GStreamer's clock thread until it returns false.
pub fn every_second(tick: impl Fn() -> bool + Send + Sync + 'static) {
    let tick = Arc::new(tick);
    schedule(tick);
}

fn schedule(tick: Arc<dyn Fn() -> bool + Send + Sync>) {
    let clock = gst::SystemClock::obtain();
    let id = clock.new_single_shot_id(clock.time() + POLL);
    let _ = id.wait_async(move |_, _, _| {
        if tick() {
            schedule(tick.clone());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts() {
        assert_eq!(verdict(Duration::from_secs(1), false), Verdict::Alive);
        assert_eq!(verdict(Duration::from_secs(3), false), Verdict::Alive);
        assert_eq!(verdict(Duration::from_secs(3), true), Verdict::Disconnected);
        assert_eq!(verdict(Duration::from_secs(9), false), Verdict::Disconnected);
        assert_eq!(verdict(Duration::from_secs(31), false), Verdict::Failed);
        assert_eq!(verdict(Duration::from_secs(31), true), Verdict::Failed);
    }

    #[test]
    fn touch_resets_silence() {
        let c = Consent::default();
        std::thread::sleep(Duration::from_millis(30));
        assert!(c.silence() >= Duration::from_millis(30));
        c.touch();
        assert!(c.silence() < Duration::from_millis(30));
        assert!(c.start_once());
        assert!(!c.start_once());
    }
}
