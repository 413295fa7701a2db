//! The fixed RTP header (RFC 3550 §5.1), read and rewritten in place. Small enough that
//! it needs no gstreamer-rtp dependency.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// The fixed header is 12 bytes (RFC 3550 §5.1).
pub const FIXED_LEN: usize = 12;

impl RtpHeader {
    /// None unless the packet is RTP version 2 with a whole fixed header.
    pub fn parse(packet: &[u8]) -> Option<Self> {
        if packet.len() < FIXED_LEN || packet[0] >> 6 != 2 {
            return None;
        }
        let csrc_len = 4 * (packet[0] & 0x0f) as usize;
        if packet.len() < FIXED_LEN + csrc_len {
            return None;
        }
        Some(Self {
            payload_type: packet[1] & 0x7f,
            sequence: u16::from_be_bytes([packet[2], packet[3]]),
            timestamp: u32::from_be_bytes([packet[4], packet[5], packet[6], packet[7]]),
            ssrc: u32::from_be_bytes([packet[8], packet[9], packet[10], packet[11]]),
        })
    }

    /// Overwrite payload type, sequence number, timestamp and SSRC, keeping the version,
    /// padding, extension, CSRC count and marker bits. `packet` must have parsed.
    pub fn write(&self, packet: &mut [u8]) {
        if packet.len() < FIXED_LEN {
            return;
        }
        packet[1] = (packet[1] & 0x80) | (self.payload_type & 0x7f);
        packet[2..4].copy_from_slice(&self.sequence.to_be_bytes());
        packet[4..8].copy_from_slice(&self.timestamp.to_be_bytes());
        packet[8..12].copy_from_slice(&self.ssrc.to_be_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_rewrite_keep_the_flags() {
        let mut p = [0x80u8, 0xef, 0x12, 0x34, 0, 0, 0x03, 0xc0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3];
        let h = RtpHeader::parse(&p).unwrap();
        assert_eq!(h, RtpHeader { payload_type: 111, sequence: 0x1234, timestamp: 960, ssrc: 0xdeadbeef });
        RtpHeader { payload_type: 96, sequence: 1, timestamp: 2, ssrc: 3 }.write(&mut p);
        assert_eq!(p[1], 0x80 | 96, "marker bit kept");
        assert_eq!(RtpHeader::parse(&p).unwrap(), RtpHeader { payload_type: 96, sequence: 1, timestamp: 2, ssrc: 3 });
        assert_eq!(&p[12..], &[1, 2, 3]);
    }

    #[test]
    fn garbage_is_not_rtp() {
        assert_eq!(RtpHeader::parse(b"hello world!"), None);
        assert_eq!(RtpHeader::parse(&[0x80, 0]), None);
        assert_eq!(RtpHeader::parse(&[0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None, "CSRCs missing");
    }
}
