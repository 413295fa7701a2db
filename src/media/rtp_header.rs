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

    /// Where the payload is in `packet`, after the CSRC list and the header extension and
    /// before the padding (RFC 3550 §5.1, §5.3.1); None when a count or length in the header
    /// points past the end of the packet (A.1's validity checks).
    pub fn payload_range(packet: &[u8]) -> Option<std::ops::Range<usize>> {
        Self::parse(packet)?;
        let mut start = FIXED_LEN + 4 * (packet[0] & 0x0f) as usize;
        if packet[0] & 0x10 != 0 {
            let words = packet.get(start + 2..start + 4)?;
            start += 4 + 4 * u16::from_be_bytes([words[0], words[1]]) as usize;
        }
        let mut end = packet.len();
        if packet[0] & 0x20 != 0 {
            // The last octet counts the padding, itself included.
            let padding = *packet.last()? as usize;
            if padding == 0 {
                return None;
            }
            end = end.checked_sub(padding)?;
        }
        (start <= end).then_some(start..end)
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
    fn payload_range_checks_csrcs_extension_and_padding() {
        let mut p = vec![0x80u8, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 9, 9, 9];
        assert_eq!(RtpHeader::payload_range(&p), Some(12..15));
        assert_eq!(RtpHeader::payload_range(&p[..12]), Some(12..12), "header only: empty payload");
        p[0] = 0x81; // one CSRC: 12 + 4 > 15
        assert_eq!(RtpHeader::payload_range(&p), None);
        let mut x = vec![0x90u8, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xbe, 0xde, 0, 1, 1, 2, 3, 4, 7];
        assert_eq!(RtpHeader::payload_range(&x), Some(20..21));
        x[15] = 0xff; // extension length past the end
        assert_eq!(RtpHeader::payload_range(&x), None);
        let mut pad = vec![0xa0u8, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 5, 0, 2];
        assert_eq!(RtpHeader::payload_range(&pad), Some(12..13));
        pad[14] = 9; // padding longer than the packet
        assert_eq!(RtpHeader::payload_range(&pad), None);
    }

    #[test]
    fn garbage_is_not_rtp() {
        assert_eq!(RtpHeader::parse(b"hello world!"), None);
        assert_eq!(RtpHeader::parse(&[0x80, 0]), None);
        assert_eq!(RtpHeader::parse(&[0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), None, "CSRCs missing");
    }
}
