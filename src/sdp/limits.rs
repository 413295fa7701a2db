//! Size limits on what a remote peer may hand us: a description's bytes, its m-sections,
//! the attributes and formats of each section, and the remote candidates of a connection.
//!
//! webrtcbin 1.22 does per-m-section work that is not bounded by anything: each m-line of a
//! non-bundled offer gets its own ICE stream, transport and three threads, and answering walks
//! every attribute once per payload type (`gst_sdp_media_get_caps_from_media`), so an offer
//! of 1,000 m-lines made 3,000 threads and a 272 KB one with many formats × attributes took
//! 30 s. These checks run on the text before anything is parsed, in one pass, so a flood is
//! refused in time linear in its size. The defaults are far above what real peers send
//! (Chromium's and SIP phones' offers are a few KB with one to a few m-sections).

use napi_derive::napi;

use crate::error::{PcError, PcResult};

/// `RTCConfiguration.limits` (our extension); every field optional, defaults below.
#[napi(object)]
#[derive(Debug, Clone, Default)]
pub struct NativeLimits {
    pub max_sdp_bytes: Option<u32>,
    pub max_media_sections: Option<u32>,
    pub max_attributes_per_section: Option<u32>,
    pub max_formats_per_section: Option<u32>,
    pub max_remote_candidates: Option<u32>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_sdp_bytes: usize,
    pub max_media_sections: usize,
    /// Per m-section, and for the session level.
    pub max_attributes_per_section: usize,
    pub max_formats_per_section: usize,
    /// Remote candidates of a connection: those in the remote description and those added
    /// with addIceCandidate together (each one becomes a libnice candidate pair per local
    /// candidate, checked every Ta).
    pub max_remote_candidates: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_sdp_bytes: 128 * 1024,
            max_media_sections: 32,
            max_attributes_per_section: 256,
            max_formats_per_section: 64,
            max_remote_candidates: 256,
        }
    }
}

impl Limits {
    pub fn from_native(n: Option<&NativeLimits>) -> Self {
        let d = Limits::default();
        let Some(n) = n else { return d };
        let pick = |v: Option<u32>, default: usize| v.map_or(default, |v| v as usize);
        Limits {
            max_sdp_bytes: pick(n.max_sdp_bytes, d.max_sdp_bytes),
            max_media_sections: pick(n.max_media_sections, d.max_media_sections),
            max_attributes_per_section: pick(n.max_attributes_per_section, d.max_attributes_per_section),
            max_formats_per_section: pick(n.max_formats_per_section, d.max_formats_per_section),
            max_remote_candidates: pick(n.max_remote_candidates, d.max_remote_candidates),
        }
    }

    /// One pass over the SDP text. Exceeding a limit is an OperationError: the description
    /// may be valid, but we refuse the work (webrtc-pc §4.4.1.6 lets the operation fail).
    pub fn check_text(&self, sdp: &str) -> PcResult<()> {
        if sdp.len() > self.max_sdp_bytes {
            return Err(exceeded(format!("the description is {} bytes", sdp.len()), "maxSdpBytes", self.max_sdp_bytes));
        }
        let (mut sections, mut attributes, mut candidates) = (0usize, 0usize, 0usize);
        for line in sdp.split('\n') {
            let line = line.trim_end_matches('\r');
            if let Some(m) = line.strip_prefix("m=") {
                sections += 1;
                attributes = 0;
                if sections > self.max_media_sections {
                    return Err(exceeded(format!("more than {} m-sections", self.max_media_sections), "maxMediaSections", self.max_media_sections));
                }
                // m=<media> <port> <proto> <fmt> ...
                let formats = m.split_ascii_whitespace().count().saturating_sub(3);
                if formats > self.max_formats_per_section {
                    return Err(exceeded(format!("m-section {} has {formats} formats", sections - 1), "maxFormatsPerSection", self.max_formats_per_section));
                }
            } else if let Some(a) = line.strip_prefix("a=") {
                attributes += 1;
                if attributes > self.max_attributes_per_section {
                    return Err(exceeded(format!("more than {} attributes in one section", self.max_attributes_per_section), "maxAttributesPerSection", self.max_attributes_per_section));
                }
                if a.starts_with("candidate:") {
                    candidates += 1;
                    self.check_candidates(candidates)?;
                }
            }
        }
        Ok(())
    }

    /// `count` remote candidates would be known after adding one more.
    pub fn check_candidates(&self, count: usize) -> PcResult<()> {
        if count > self.max_remote_candidates {
            return Err(exceeded(format!("more than {} remote candidates", self.max_remote_candidates), "maxRemoteCandidates", self.max_remote_candidates));
        }
        Ok(())
    }
}

fn exceeded(what: String, key: &str, limit: usize) -> PcError {
    PcError::operation(format!("{what}: over the limit of {limit} (RTCConfiguration.limits.{key})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn sdp(sections: usize, formats: usize, attributes: usize) -> String {
        let mut s = String::from("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n");
        let fmts: Vec<String> = (0..formats).map(|i| (96 + i % 32).to_string()).collect();
        for _ in 0..sections {
            s += &format!("m=audio 9 UDP/TLS/RTP/SAVPF {}\r\n", fmts.join(" "));
            for i in 0..attributes {
                s += &format!("a=x-{i}\r\n");
            }
        }
        s
    }

    #[test]
    fn defaults_accept_real_descriptions_and_refuse_floods() {
        let l = Limits::default();
        l.check_text(&sdp(4, 12, 40)).unwrap();
        for (flood, key) in [
            (sdp(33, 1, 1), "maxMediaSections"),
            (sdp(1, 65, 1), "maxFormatsPerSection"),
            (sdp(1, 1, 257), "maxAttributesPerSection"),
            ("v=0\r\n".to_owned() + &"a=x\r\n".repeat(30_000), "maxSdpBytes"),
        ] {
            let err = l.check_text(&flood).unwrap_err();
            assert_eq!(err.code, ErrorCode::Operation);
            assert!(err.message.contains(key), "{key}: {}", err.message);
        }
    }

    #[test]
    fn candidates_count_across_sections() {
        let l = Limits { max_remote_candidates: 2, ..Limits::default() };
        let one = "m=audio 9 RTP/AVP 0\r\na=candidate:1 1 udp 1 127.0.0.1 1 typ host\r\n";
        l.check_text(&one.repeat(2)).unwrap();
        assert!(l.check_text(&one.repeat(3)).unwrap_err().message.contains("maxRemoteCandidates"));
    }

    #[test]
    fn configured_values_override_defaults() {
        let l = Limits::from_native(Some(&NativeLimits { max_media_sections: Some(2), ..Default::default() }));
        assert_eq!(l.max_media_sections, 2);
        assert_eq!(l.max_sdp_bytes, Limits::default().max_sdp_bytes);
    }
}
