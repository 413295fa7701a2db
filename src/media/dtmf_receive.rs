//! Receiving RFC 4733 telephone-events.
//!
//! rtpbin demultiplexes by payload type after the jitter buffer, so a remote sender's
//! telephone-event packets (same SSRC as its audio) come out of webrtcbin on a pad of
//! their own with `encoding-name=TELEPHONE-EVENT` caps. We parse the payload ourselves
//! rather than use `rtpdtmfdepay`: it synthesises tones and reports events when they
//! start, while we want each digit once, with its final duration.

use std::sync::{Arc, Mutex};

use gst::prelude::*;

use super::dtmf_send::RtpHeader;

/// One received digit: the RFC 4733 event code and its duration in ms.
pub type OnEvent = Arc<dyn Fn(u8, u32) + Send + Sync>;

/// Tracks events by timestamp so that each is reported once, at its end (RFC 4733
/// §2.5.2.2: packets with the same timestamp belong to one event; the E-bit packet is
/// sent three times).
#[derive(Default)]
pub struct EventParser {
    reported: Option<u32>,
}

impl EventParser {
    /// `(event, duration in clock units)` when `packet` completes a new event.
    pub fn push(&mut self, packet: &[u8]) -> Option<(u8, u32)> {
        let h = RtpHeader::parse(packet)?;
        let p = packet.get(h.payload_offset..h.payload_offset + 4)?;
        let end = p[1] & 0x80 != 0;
        if !end || self.reported == Some(h.timestamp) {
            return None;
        }
        self.reported = Some(h.timestamp);
        Some((p[0], u16::from_be_bytes([p[2], p[3]]) as u32))
    }
}

/// Consume a TELEPHONE-EVENT pad of webrtcbin, calling `on_event` once per digit.
pub fn link(pad: &gst::Pad, on_event: OnEvent) -> Result<(), String> {
    let caps = pad.current_caps().or_else(|| Some(pad.query_caps(None))).ok_or("pad without caps")?;
    let clock_rate = caps
        .structure(0)
        .and_then(|s| s.get::<i32>("clock-rate").ok())
        .filter(|r| *r > 0)
        .ok_or("telephone-event caps without clock-rate")? as u64;
    let parser = Mutex::new(EventParser::default());
    super::receiver::drain(pad, move |buffer| {
        let done = buffer.map_readable().ok().and_then(|m| parser.lock().ok()?.push(&m));
        if let Some((event, units)) = done {
            on_event(event, (units as u64 * 1000 / clock_rate) as u32);
        }
    });
    Ok(())
}

/// Whether a webrtcbin src pad carries telephone-events.
pub fn is_telephone_event(pad: &gst::Pad) -> bool {
    let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    caps.structure(0)
        .and_then(|s| s.get::<&str>("encoding-name").ok())
        .is_some_and(|n| n.eq_ignore_ascii_case("TELEPHONE-EVENT"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(seq: u16, ts: u32, event: u8, end: bool, duration: u16) -> Vec<u8> {
        let mut b = vec![0x80, 101];
        b.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(&ts.to_be_bytes());
        b.extend_from_slice(&1u32.to_be_bytes());
        b.extend_from_slice(&[event, if end { 0x8A } else { 0x0A }]);
        b.extend_from_slice(&duration.to_be_bytes());
        b
    }

    #[test]
    fn each_event_is_reported_once_at_its_end() {
        let mut p = EventParser::default();
        assert_eq!(p.push(&packet(1, 100, 1, false, 160)), None);
        assert_eq!(p.push(&packet(2, 100, 1, true, 800)), Some((1, 800)));
        assert_eq!(p.push(&packet(3, 100, 1, true, 800)), None);
        assert_eq!(p.push(&packet(4, 100, 1, true, 800)), None);
        assert_eq!(p.push(&packet(5, 2000, 1, true, 800)), Some((1, 800)), "same digit again, new event");
    }
}
