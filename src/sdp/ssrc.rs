//! Source-specific attributes (`a=ssrc`, `a=ssrc-group`, RFC 5576 §4).
//!
//! webrtcbin 1.22 reads a remote `a=ssrc:<id> cname:…` with `sscanf ("%u")` and maps the id
//! with `transport_stream_add_ssrc_map_item`, which asserts `ssrc != 0` (a GLib CRITICAL, and
//! a stream that is never mapped). SSRC 0 is a legal value (RFC 3550 §8.1 only asks for
//! randomness), so such a line is dropped rather than refused: it only describes the stream.
//! An id that is not a 32-bit decimal number is a syntax error (RFC 5576 §4.1, ssrc-id).
//!
//! For our own descriptions: webrtcbin writes the `a=ssrc` lines of a sender once per
//! structure of its codec preferences, so an offer listing four codecs carried each line
//! four times; `dedupe` keeps the first of each.

use gst_sdp::SDPMessage;

use crate::error::{PcError, PcResult};

fn ssrc_id(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Drop the remote `a=ssrc`/`a=ssrc-group` lines that name SSRC 0; refuse malformed ids.
pub fn normalize_remote(msg: &mut SDPMessage) -> PcResult<()> {
    for idx in 0..msg.medias_len() {
        let Some(media) = msg.media_mut(idx) else { continue };
        let mut i = 0;
        while i < media.attributes_len() {
            let Some(attr) = media.attribute(i) else { break };
            let ids: Vec<Option<u32>> = match attr.key() {
                "ssrc" => vec![ssrc_id(attr.value().unwrap_or_default().split(' ').next().unwrap_or_default())],
                // ssrc-group:<semantics> *(SP ssrc-id)
                "ssrc-group" => attr.value().unwrap_or_default().split(' ').skip(1).map(ssrc_id).collect(),
                _ => {
                    i += 1;
                    continue;
                }
            };
            if ids.iter().any(Option::is_none) {
                return Err(PcError::operation(format!(
                    "m-line {idx}: a={}:{} has an SSRC that is not a 32-bit number (RFC 5576 §4.1)",
                    attr.key(),
                    attr.value().unwrap_or_default()
                )));
            }
            if ids.contains(&Some(0)) {
                let _ = media.remove_attribute(i);
            } else {
                i += 1;
            }
        }
    }
    Ok(())
}

/// Keep one of each identical `a=ssrc` line in a description webrtcbin created.
pub fn dedupe(msg: &mut SDPMessage) {
    for idx in 0..msg.medias_len() {
        let Some(media) = msg.media_mut(idx) else { continue };
        let mut seen: Vec<String> = Vec::new();
        let mut i = 0;
        while i < media.attributes_len() {
            let line = media.attribute(i).filter(|a| a.key() == "ssrc").map(|a| a.value().unwrap_or_default().to_owned());
            match line {
                Some(v) if seen.contains(&v) => {
                    let _ = media.remove_attribute(i);
                }
                Some(v) => {
                    seen.push(v);
                    i += 1;
                }
                None => i += 1,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorCode;

    fn parse(attrs: &str) -> SDPMessage {
        let s = format!("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n{attrs}");
        SDPMessage::parse_buffer(s.as_bytes()).unwrap()
    }

    fn ssrc_lines(msg: &SDPMessage) -> Vec<String> {
        msg.media(0).unwrap().attributes().filter(|a| a.key().starts_with("ssrc")).map(|a| a.value().unwrap_or_default().to_owned()).collect()
    }

    #[test]
    fn ssrc_zero_lines_are_dropped() {
        gst::init().unwrap();
        let mut msg = parse("a=ssrc:0 cname:x\r\na=ssrc:5 cname:y\r\na=ssrc-group:FID 5 0\r\na=ssrc-group:FID 5 6\r\n");
        normalize_remote(&mut msg).unwrap();
        assert_eq!(ssrc_lines(&msg), ["5 cname:y", "FID 5 6"]);
    }

    #[test]
    fn malformed_ssrc_ids_are_syntax_errors() {
        gst::init().unwrap();
        for bad in ["a=ssrc:abc cname:x\r\n", "a=ssrc:-1 cname:x\r\n", "a=ssrc:4294967296 cname:x\r\n", "a=ssrc:\r\n", "a=ssrc-group:FID 1 x\r\n"] {
            assert_eq!(normalize_remote(&mut parse(bad)).unwrap_err().code, ErrorCode::Operation, "{bad}");
        }
    }

    #[test]
    fn repeated_lines_are_kept_once() {
        gst::init().unwrap();
        let mut msg = parse(&"a=ssrc:7 msid:s t\r\na=ssrc:7 cname:c\r\n".repeat(4));
        dedupe(&mut msg);
        assert_eq!(ssrc_lines(&msg), ["7 msid:s t", "7 cname:c"]);
    }
}
