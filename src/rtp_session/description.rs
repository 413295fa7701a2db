//! The SDP of a plain-RTP or SDES-SRTP session (RFC 3264 offer/answer, RFC 3551 profile):
//! what we write, and what we read from the peer's.

use std::net::{IpAddr, SocketAddr};

use gst_sdp::{SDPMedia, SDPMediaRef, SDPMessage, SDPMessageRef};

use crate::error::{PcError, PcResult};
use crate::media::codec::{self, Codec, SUPPORTED};
use crate::sdp::crypto::{self, Crypto};
use crate::sdp::direction::DIRECTIONS;
use crate::sdp::telephone_event;

/// RFC 3551 §4.5: 20 ms is what every telephony peer expects; our encoders use it.
pub const PTIME_MS: u32 = 20;

/// The session part: `o=`, `c=` with our address (every m-line has the same one).
/// Parsed from text: gstreamer-sdp 0.25's `add_time` with no repeat times hands C an
/// unterminated array (measured: `as_text` then crashes).
pub fn session(address: IpAddr, session_id: u64, version: u64) -> SDPMessage {
    let family = if address.is_ipv4() { "IP4" } else { "IP6" };
    let text = format!("v=0\r\no=- {session_id} {version} IN {family} {address}\r\ns=-\r\nc=IN {family} {address}\r\nt=0 0\r\n");
    SDPMessage::parse_buffer(text.as_bytes()).unwrap_or_else(|_| SDPMessage::new())
}

fn proto(crypto: Option<&[Crypto]>) -> &'static str {
    if crypto.is_some() { "RTP/SAVP" } else { "RTP/AVP" }
}

fn add_codec(media: &mut SDPMediaRef, c: &Codec, pt: u32) {
    media.add_format(&pt.to_string());
    let params = c.channels.map(|ch| format!("/{ch}")).unwrap_or_default();
    // Opus in lower case as RFC 7587 §7 registers it; the RFC 3551 names as they are.
    let name = if *c == codec::OPUS { "opus" } else { c.encoding_name };
    media.add_attribute("rtpmap", Some(&format!("{pt} {name}/{}{params}", c.clock_rate)));
    if let Some(fmtp) = c.sdp_fmtp_line() {
        media.add_attribute("fmtp", Some(&format!("{pt} {fmtp}")));
    }
}

fn finish(media: &mut SDPMediaRef, mid: Option<&str>, direction: &str, crypto: Option<&[Crypto]>) {
    media.add_attribute("ptime", Some(&PTIME_MS.to_string()));
    if let Some(mid) = mid {
        media.add_attribute("mid", Some(mid));
    }
    for c in crypto.unwrap_or_default() {
        media.add_attribute("crypto", Some(&crypto::format(c)));
    }
    crate::sdp::add_flag(media, direction);
}

/// An offered audio m-line: our codecs in our order (or the application's), telephone-event
/// at each clock rate (RFC 4733 §2.1), 20 ms packets.
pub fn offer_media(codecs: &[&'static Codec], port: u16, mid: &str, direction: &str, crypto: Option<&[Crypto]>) -> SDPMedia {
    let mut media = SDPMedia::new();
    media.set_media("audio");
    media.set_port_info(u32::from(port), 1);
    media.set_proto(proto(crypto));
    for c in codecs {
        add_codec(&mut media, c, c.default_pt);
    }
    for (rate, pt) in telephone_event::OFFERED {
        if codecs.iter().any(|c| c.clock_rate == *rate) {
            media.add_format(&pt.to_string());
            media.add_attribute("rtpmap", Some(&format!("{pt} telephone-event/{rate}")));
            media.add_attribute("fmtp", Some(&format!("{pt} 0-16")));
        }
    }
    finish(&mut media, Some(mid), direction, crypto);
    // RFC 5761 §5.1.1: offered, RTCP stays on port + 1 unless the answer takes it.
    crate::sdp::add_flag(&mut media, "rtcp-mux");
    media
}

/// The answer to an offered audio m-line (RFC 3264 §6.1): the offered formats we support,
/// in the offer's order and with its payload types, and its telephone-events at their clock
/// rates. No codec in common fails the operation, which SIP.js turns into a 488.
pub fn answer_media(offered: &SDPMediaRef, port: u16, direction: &str, crypto: Option<&Crypto>, allowed: Option<&[&'static Codec]>) -> PcResult<SDPMedia> {
    let mut media = SDPMedia::new();
    media.set_media("audio");
    media.set_port_info(u32::from(port), 1);
    media.set_proto(offered.proto().unwrap_or("RTP/AVP"));
    let mut rates = Vec::new();
    for fmt in offered.formats() {
        let Ok(pt) = fmt.parse::<u32>() else { continue };
        let Some(c) = codec::format_codec(offered, pt) else { continue };
        if allowed.is_some_and(|a| !a.contains(&c)) {
            continue;
        }
        add_codec(&mut media, c, pt);
        rates.push(c.clock_rate);
    }
    if rates.is_empty() {
        let names: Vec<String> = SUPPORTED.iter().map(|c| c.encoding_name.to_owned()).collect();
        return Err(PcError::operation(format!("no audio codec in common: the offer has none of {}", names.join(", "))));
    }
    for (pt, rate) in telephone_event::formats(offered) {
        if rates.contains(&rate) {
            media.add_format(&pt.to_string());
            media.add_attribute("rtpmap", Some(&format!("{pt} telephone-event/{rate}")));
            media.add_attribute("fmtp", Some(&format!("{pt} 0-16")));
        }
    }
    let mid = offered.attribute_val("mid");
    finish(&mut media, mid, direction, crypto.map(std::slice::from_ref));
    if crate::sdp::has_attr(offered, "rtcp-mux") {
        crate::sdp::add_flag(&mut media, "rtcp-mux");
    }
    Ok(media)
}

/// An m-line we do not take (another media type, a second stream we have no transceiver
/// for): port 0, the offer's protocol and formats (RFC 3264 §6).
pub fn rejected(offered: &SDPMediaRef) -> SDPMedia {
    let mut media = SDPMedia::new();
    media.set_media(offered.media().unwrap_or("audio"));
    media.set_port_info(0, 1);
    media.set_proto(offered.proto().unwrap_or("RTP/AVP"));
    for f in offered.formats() {
        media.add_format(f);
    }
    if let Some(mid) = offered.attribute_val("mid") {
        media.add_attribute("mid", Some(mid));
    }
    media
}

/// The direction a description gives m-line `idx`, with RFC 3264 §8.4's old hold form
/// (`c=0.0.0.0`, RFC 2543) read as the sender not wanting to receive.
pub fn direction(msg: &SDPMessageRef, idx: u32) -> &'static str {
    let Some(media) = msg.media(idx) else { return "inactive" };
    let stated = media
        .attributes()
        .find_map(|a| DIRECTIONS.iter().find(|d| **d == a.key()).copied())
        .or_else(|| msg.attributes().find_map(|a| DIRECTIONS.iter().find(|d| **d == a.key()).copied()))
        .unwrap_or("sendrecv");
    if connection_address(msg, media).is_some_and(|a| a.is_unspecified()) {
        return match stated {
            "sendrecv" | "sendonly" => "sendonly",
            _ => "inactive",
        };
    }
    stated
}

fn connection_address(msg: &SDPMessageRef, media: &SDPMediaRef) -> Option<IpAddr> {
    let from_media = media.connections().next().and_then(|c| c.address().map(str::to_owned));
    let addr = from_media.or_else(|| msg.connection().and_then(|c| c.address().map(str::to_owned)))?;
    addr.split('/').next()?.parse().ok()
}

/// Whether the answer muxes RTCP on m-line `idx`'s RTP port (RFC 5761 §5.1.1: the answer
/// decides, and only what was offered can be in it).
pub fn rtcp_muxed(answer: &SDPMessageRef, idx: u32) -> bool {
    answer.media(idx).is_some_and(|m| crate::sdp::has_attr(m, "rtcp-mux"))
}

/// Where m-line `idx` of the peer's description receives RTP and RTCP: media-level `c=`
/// before session-level (RFC 8866 §5.7), RTCP at `a=rtcp` (RFC 3605) or the next port.
/// None when it receives nothing (port 0, `c=0.0.0.0`).
pub fn remote_addresses(msg: &SDPMessageRef, idx: u32) -> PcResult<Option<(SocketAddr, SocketAddr)>> {
    let media = msg.media(idx).ok_or_else(|| PcError::operation(format!("no m-line {idx}")))?;
    let ip = connection_address(msg, media).ok_or_else(|| PcError::invalid_access(format!("m-line {idx} has no usable c= address (RFC 8866 §5.7)")))?;
    let port = media.port();
    if port == 0 || ip.is_unspecified() {
        return Ok(None);
    }
    let port = u16::try_from(port).map_err(|_| PcError::invalid_access(format!("m-line {idx}: port {port} is out of range")))?;
    let rtp = SocketAddr::new(ip, port);
    let rtcp = match media.attribute_val("rtcp") {
        Some(v) => {
            let mut parts = v.split_ascii_whitespace();
            let rport = parts.next().and_then(|p| p.parse::<u16>().ok()).ok_or_else(|| PcError::invalid_access(format!("m-line {idx}: a=rtcp:{v} has no port (RFC 3605)")))?;
            let raddr = parts.nth(2).and_then(|a| a.parse::<IpAddr>().ok()).unwrap_or(ip);
            SocketAddr::new(raddr, rport)
        }
        None => SocketAddr::new(ip, port.wrapping_add(1)),
    };
    Ok(Some((rtp, rtcp)))
}

/// The payload type → caps map for what the peer sends on m-line `idx` (rtpbin's
/// `request-pt-map`): the negotiated codecs and telephone-event.
pub fn pt_caps(msg: &SDPMessageRef, idx: u32, pt: u32) -> Option<gst::Caps> {
    let media = msg.media(idx)?;
    if !media.formats().any(|f| f.parse::<u32>().ok() == Some(pt)) {
        return None;
    }
    if let Some(c) = codec::format_codec(media, pt) {
        return Some(c.rtp_caps(pt));
    }
    let (_, rate) = telephone_event::formats(media).into_iter().find(|(p, _)| *p == pt)?;
    Some(
        gst::Caps::builder("application/x-rtp")
            .field("media", "audio")
            .field("encoding-name", "TELEPHONE-EVENT")
            .field("clock-rate", rate as i32)
            .field("payload", pt as i32)
            .build(),
    )
}

/// How many ms of audio each packet we send on m-line `idx` carries: the peer's `a=ptime`
/// (what it wants to receive, RFC 8866 §6.4), at most its `a=maxptime`, in 10 ms steps from
/// 10 to 60 ms (what our encoders and payloaders make); 20 ms without either.
pub fn sending_ptime(msg: &SDPMessageRef, idx: u32) -> u32 {
    let Some(media) = msg.media(idx) else { return PTIME_MS };
    let read = |key: &str| media.attribute_val(key).and_then(|v| v.trim().parse::<f64>().ok()).filter(|v| v.is_finite() && *v > 0.0);
    let mut ptime = read("ptime").unwrap_or(f64::from(PTIME_MS));
    if let Some(max) = read("maxptime") {
        ptime = ptime.min(max);
    }
    ((ptime as u32) / 10 * 10).clamp(10, 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> SDPMessage {
        gst::init().unwrap();
        SDPMessage::parse_buffer(s.replace('\n', "\r\n").as_bytes()).unwrap()
    }

    const TWILIO: &str = "v=0\no=root 1 1 IN IP4 10.0.0.1\ns=Twilio\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 33340 RTP/AVP 0 101\na=rtpmap:0 PCMU/8000\na=rtpmap:101 telephone-event/8000\na=fmtp:101 0-16\na=ptime:20\na=sendrecv\n";

    #[test]
    fn a_trunk_offer_is_answered_with_its_payload_types() {
        let offer = parse(TWILIO);
        let answer = answer_media(offer.media(0).unwrap(), 20000, "sendrecv", None, None).unwrap();
        assert_eq!(answer.proto(), Some("RTP/AVP"));
        assert_eq!(answer.formats().collect::<Vec<_>>(), vec!["0", "101"]);
        assert_eq!(answer.port(), 20000);
        assert_eq!(remote_addresses(&offer, 0).unwrap(), Some(("10.0.0.1:33340".parse().unwrap(), "10.0.0.1:33341".parse().unwrap())));
        assert_eq!(direction(&offer, 0), "sendrecv");
        assert_eq!(pt_caps(&offer, 0, 101).unwrap().structure(0).unwrap().get::<i32>("clock-rate").unwrap(), 8000);
        assert!(pt_caps(&offer, 0, 8).is_none(), "only what the m-line lists");
    }

    #[test]
    fn static_payload_types_without_rtpmap_media_level_c_and_a_rtcp() {
        let offer = parse("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 18 8 9\nc=IN IP4 192.0.2.7\na=rtcp:4005\n");
        let answer = answer_media(offer.media(0).unwrap(), 20000, "sendrecv", None, None).unwrap();
        assert_eq!(answer.formats().collect::<Vec<_>>(), vec!["8", "9"], "G.729 is not ours");
        assert_eq!(remote_addresses(&offer, 0).unwrap(), Some(("192.0.2.7:4000".parse().unwrap(), "192.0.2.7:4005".parse().unwrap())));
    }

    #[test]
    fn no_codec_in_common_fails_the_operation() {
        let offer = parse("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 18 3\n");
        let e = answer_media(offer.media(0).unwrap(), 20000, "sendrecv", None, None).unwrap_err();
        assert_eq!(e.code, crate::error::ErrorCode::Operation);
    }

    #[test]
    fn hold_forms() {
        let held = parse("v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nc=IN IP4 0.0.0.0\nt=0 0\nm=audio 4000 RTP/AVP 0\n");
        assert_eq!(direction(&held, 0), "sendonly");
        assert_eq!(remote_addresses(&held, 0).unwrap(), None);
        let inactive = parse("v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\na=inactive\n");
        assert_eq!(direction(&inactive, 0), "inactive");
        let session_level = parse("v=0\no=- 1 2 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\na=sendonly\nm=audio 4000 RTP/AVP 0\n");
        assert_eq!(direction(&session_level, 0), "sendonly");
    }

    #[test]
    fn ptime_follows_the_peer_within_what_we_can_make() {
        let with = |attrs: &str| {
            let m = parse(&format!("v=0\no=- 1 1 IN IP4 10.0.0.1\ns=-\nc=IN IP4 10.0.0.1\nt=0 0\nm=audio 4000 RTP/AVP 0\n{attrs}"));
            sending_ptime(&m, 0)
        };
        assert_eq!(with(""), 20);
        assert_eq!(with("a=ptime:30\n"), 30);
        assert_eq!(with("a=ptime:40\na=maxptime:30\n"), 30);
        assert_eq!(with("a=ptime:25\n"), 20);
        assert_eq!(with("a=ptime:5\n"), 10);
        assert_eq!(with("a=ptime:200\n"), 60);
        assert_eq!(with("a=ptime:x\n"), 20);
    }

    #[test]
    fn our_offer_lists_every_codec_and_both_event_clocks() {
        gst::init().unwrap();
        let mut msg = session("127.0.0.1".parse().unwrap(), 7, 1);
        let all: Vec<&Codec> = SUPPORTED.iter().collect();
        msg.add_media(offer_media(&all, 30000, "0", "sendrecv", None));
        let text = crate::sdp::to_text(&msg);
        assert!(text.contains("m=audio 30000 RTP/AVP 111 9 0 8 101 126\r\n"), "{text}");
        assert!(text.contains("a=rtpmap:126 telephone-event/8000"), "{text}");
        assert!(text.contains("c=IN IP4 127.0.0.1"), "{text}");
        let back = parse(&text.replace("\r\n", "\n"));
        let answer = answer_media(back.media(0).unwrap(), 1, "sendrecv", None, None).unwrap();
        assert_eq!(answer.formats().collect::<Vec<_>>(), vec!["111", "9", "0", "8", "101", "126"]);
    }
}
