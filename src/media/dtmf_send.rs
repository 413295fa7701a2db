//! Sending DTMF as RFC 4733 telephone-events inside a sender's RTP stream.
//!
//! Why not `rtpdtmfsrc` + `rtpdtmfmux`: rtpdtmfsrc stretches every event to at least
//! 250 ms (`MIN_PULSE_DURATION`), while webrtc-pc §7 lets applications ask for 40 ms; and
//! rtpmux would flip the caps entering webrtcbin to TELEPHONE-EVENT, which webrtcbin 1.22
//! then intersects with its codec preferences in the next offer.
//!
//! Instead, while an event plays, each outgoing audio packet is replaced by an event
//! packet carrying its sequence number (so the sequence stays gap-free), the event's
//! start timestamp (RFC 4733 §2.5.1.2) and the duration so far; the last one has the E
//! bit and is sent three times (§2.5.1.4), taking the place of the next two audio packets.
//! Audio is not sent during the event, as §2.5.1.2 recommends for the same SSRC.
//! The timing follows the audio clock, so events are as long as asked to within one
//! packet time (20 ms), and the SSRC and clock rate are the audio's by construction.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use gst::prelude::*;

/// How often the final (E bit) packet is sent (RFC 4733 §2.5.1.4).
const END_PACKETS: u8 = 3;
/// RFC 4733 §2.5.1.3: a duration longer than the 16-bit field continues as a new segment.
const MAX_SEGMENT: u32 = 0xFFFF;
/// Volume field for generated events: -10 dBm0 (§2.3.2 leaves it to the sender).
const VOLUME: u8 = 10;
const DEFAULT_PACKET: gst::ClockTime = gst::ClockTime::from_mseconds(20);

#[derive(Debug, Clone, Copy)]
struct Tone {
    event: u8,
    duration_ms: u32,
}

#[derive(Debug)]
struct Playing {
    event: u8,
    /// Total length asked for, in RTP clock units.
    target: u64,
    /// Played so far, in RTP clock units.
    elapsed: u64,
    /// RTP timestamp and elapsed units at the start of the current segment.
    segment_ts: u32,
    segment_start: u64,
    first: bool,
    end_sent: u8,
}

#[derive(Default)]
struct State {
    /// Negotiated telephone-event payload type and the audio clock rate; None: no DTMF.
    config: Option<(u32, u32)>,
    queue: VecDeque<Tone>,
    playing: Option<Playing>,
}

#[derive(Clone, Default)]
pub struct DtmfInjector {
    state: Arc<Mutex<State>>,
}

/// RFC 4733 §3.2 event code of a DTMF tone character.
pub fn event_of(tone: char) -> Option<u8> {
    match tone.to_ascii_uppercase() {
        c @ '0'..='9' => Some(c as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        c @ 'A'..='D' => Some(c as u8 - b'A' + 12),
        _ => None,
    }
}

/// The tone character of an RFC 4733 §3.2 DTMF event code.
pub fn tone_of(event: u8) -> Option<char> {
    match event {
        0..=9 => Some((b'0' + event) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + event - 12) as char),
        _ => None,
    }
}

impl DtmfInjector {
    /// Follow the last answer: its telephone-event pt at the audio codec's clock rate.
    pub fn configure(&self, config: Option<(u32, u32)>) {
        if let Ok(mut st) = self.state.lock() {
            st.config = config;
            if config.is_none() {
                st.queue.clear();
            }
        }
    }

    pub fn can_send(&self) -> bool {
        self.state.lock().map(|st| st.config.is_some()).unwrap_or(false)
    }

    /// Queue one event; events play strictly in order.
    pub fn queue(&self, event: u8, duration_ms: u32) -> bool {
        let Ok(mut st) = self.state.lock() else { return false };
        if st.config.is_none() {
            return false;
        }
        st.queue.push_back(Tone { event, duration_ms });
        true
    }

    /// Rewrite the audio packets leaving through `pad` while an event plays.
    pub fn attach(&self, pad: &gst::Pad) {
        let state = self.state.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_ref() else {
                return gst::PadProbeReturn::Ok;
            };
            let replacement = state.lock().ok().and_then(|mut st| st.next_packet(buffer));
            if let Some(packet) = replacement {
                info.data = Some(gst::PadProbeData::Buffer(packet));
            }
            gst::PadProbeReturn::Ok
        });
    }
}

impl State {
    fn next_packet(&mut self, audio: &gst::BufferRef) -> Option<gst::Buffer> {
        let (pt, clock_rate) = self.config?;
        if self.playing.is_none() {
            let tone = self.queue.pop_front()?;
            self.playing = Some(Playing {
                event: tone.event,
                target: (tone.duration_ms as u64 * clock_rate as u64 / 1000).max(1),
                elapsed: 0,
                segment_ts: 0,
                segment_start: 0,
                first: true,
                end_sent: 0,
            });
        }
        let map = audio.map_readable().ok()?;
        let header = RtpHeader::parse(&map)?;
        drop(map);
        let p = self.playing.as_mut()?;
        if p.first {
            p.segment_ts = header.timestamp;
        }
        let marker = p.first;
        p.first = false;
        if p.end_sent == 0 {
            let packet_time = audio.duration().filter(|d| !d.is_zero()).unwrap_or(DEFAULT_PACKET);
            let units = packet_time.nseconds() * clock_rate as u64 / gst::ClockTime::SECOND.nseconds();
            if p.elapsed - p.segment_start + units > MAX_SEGMENT as u64 {
                // §2.5.1.3: a new segment starts at this packet's timestamp.
                p.segment_ts = header.timestamp;
                p.segment_start = p.elapsed;
            }
            p.elapsed = (p.elapsed + units).min(p.target);
        }
        let end = p.elapsed >= p.target;
        if end {
            p.end_sent += 1;
        }
        let duration = (p.elapsed - p.segment_start).min(MAX_SEGMENT as u64) as u16;
        let bytes = event_packet(&header, pt as u8, marker, p.segment_ts, p.event, end, duration);
        if p.end_sent >= END_PACKETS {
            self.playing = None;
        }
        let mut out = gst::Buffer::from_mut_slice(bytes);
        {
            let out = out.get_mut()?;
            out.set_pts(audio.pts());
            out.set_dts(audio.dts());
            out.set_duration(audio.duration());
        }
        Some(out)
    }
}

/// The fields of an RTP fixed header (RFC 3550 §5.1) we reuse.
#[derive(Debug, Clone, Copy)]
pub struct RtpHeader {
    pub seq: u16,
    pub timestamp: u32,
    pub ssrc: u32,
    /// Offset of the payload (after CSRCs and a header extension).
    pub payload_offset: usize,
}

impl RtpHeader {
    pub fn parse(b: &[u8]) -> Option<Self> {
        if b.len() < 12 || b[0] >> 6 != 2 {
            return None;
        }
        let mut offset = 12 + 4 * (b[0] & 0x0F) as usize;
        if b[0] & 0x10 != 0 {
            let ext = b.get(offset + 2..offset + 4)?;
            offset += 4 + 4 * u16::from_be_bytes([ext[0], ext[1]]) as usize;
        }
        (b.len() >= offset).then(|| Self {
            seq: u16::from_be_bytes([b[2], b[3]]),
            timestamp: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
            ssrc: u32::from_be_bytes([b[8], b[9], b[10], b[11]]),
            payload_offset: offset,
        })
    }
}

/// An RTP packet with an RFC 4733 §2.3 event payload.
fn event_packet(h: &RtpHeader, pt: u8, marker: bool, timestamp: u32, event: u8, end: bool, duration: u16) -> Vec<u8> {
    let mut b = Vec::with_capacity(16);
    b.push(0x80);
    b.push(if marker { 0x80 } else { 0 } | (pt & 0x7F));
    b.extend_from_slice(&h.seq.to_be_bytes());
    b.extend_from_slice(&timestamp.to_be_bytes());
    b.extend_from_slice(&h.ssrc.to_be_bytes());
    b.push(event);
    b.push(if end { 0x80 } else { 0 } | (VOLUME & 0x3F));
    b.extend_from_slice(&duration.to_be_bytes());
    b
}

#[cfg(test)]
mod tests {
    use super::*;

    fn audio(seq: u16, ts: u32) -> gst::Buffer {
        let mut b = vec![0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7];
        b[2..4].copy_from_slice(&seq.to_be_bytes());
        b[4..8].copy_from_slice(&ts.to_be_bytes());
        b.extend_from_slice(&[0u8; 160]);
        let mut buf = gst::Buffer::from_mut_slice(b);
        buf.get_mut().unwrap().set_duration(gst::ClockTime::from_mseconds(20));
        buf
    }

    #[test]
    fn an_event_replaces_audio_packets_and_ends_three_times() {
        gst::init().unwrap();
        let mut st = State { config: Some((101, 8000)), ..Default::default() };
        st.queue.push_back(Tone { event: 11, duration_ms: 100 });
        let mut out = Vec::new();
        for i in 0..10u16 {
            let a = audio(100 + i, 1000 + 160 * i as u32);
            out.push(st.next_packet(&a).map(|b| b.map_readable().unwrap().to_vec()));
        }
        // 100 ms at 20 ms packets: 4 progress packets, then 3 end packets, then audio again.
        let events: Vec<Vec<u8>> = out.iter().take_while(|p| p.is_some()).map(|p| p.clone().unwrap()).collect();
        assert_eq!(events.len(), 7);
        assert!(out[7].is_none());
        assert_eq!(events[0][1], 0x80 | 101, "marker on the first packet");
        for (i, p) in events.iter().enumerate() {
            assert_eq!(u16::from_be_bytes([p[2], p[3]]), 100 + i as u16, "audio sequence numbers are reused");
            assert_eq!(u32::from_be_bytes([p[4], p[5], p[6], p[7]]), 1000, "event timestamp");
            assert_eq!(u32::from_be_bytes([p[8], p[9], p[10], p[11]]), 7, "audio SSRC");
            assert_eq!(p[12], 11);
        }
        let dur = |p: &Vec<u8>| u16::from_be_bytes([p[14], p[15]]);
        assert_eq!(dur(&events[0]), 160);
        for p in &events[4..] {
            assert_eq!(p[13] & 0x80, 0x80, "E bit");
            assert_eq!(dur(p), 800);
        }
        assert_eq!(events[3][13] & 0x80, 0);
    }

    #[test]
    fn tones_map_to_rfc4733_events() {
        for (t, e) in [('0', 0), ('9', 9), ('*', 10), ('#', 11), ('a', 12), ('D', 15)] {
            assert_eq!(event_of(t), Some(e));
        }
        assert_eq!(event_of('E'), None);
        assert_eq!(tone_of(11), Some('#'));
        assert_eq!(tone_of(16), None);
    }
}
