//! RFC 4733 telephone-event in the SDP (§7.1.1: `a=rtpmap:<pt> telephone-event/<rate>`,
//! `a=fmtp:<pt> 0-15` for the DTMF events).
//!
//! webrtcbin 1.22 knows nothing of DTMF and intersects codec preferences with the caps
//! flowing into its sink pads, so telephone-event cannot go through its codec
//! preferences. We add the formats to the offers and answers it creates instead; once
//! the description is applied, webrtcbin's payload map contains them like any other
//! format, so received events come out of rtpbin on their own pad.

use gst_sdp::{SDPMediaRef, SDPMessage, SDPMessageRef};

use crate::media::codec::SUPPORTED;

/// What we offer: one telephone-event per audio clock rate we support, at the payload
/// types browsers use for them (RFC 4733 §2.1: the event clock must be the audio's).
pub const OFFERED: &[(u32, u32)] = &[(48_000, 101), (8_000, 126)];

/// DTMF digits 0-9, *, #, A-D (RFC 4733 §3.2).
const EVENTS: &str = "0-15";

/// `(pt, clock rate)` of each telephone-event format of an m-section.
pub fn formats(media: &SDPMediaRef) -> Vec<(u32, u32)> {
    media
        .attributes()
        .filter(|a| a.key() == "rtpmap")
        .filter_map(|a| {
            let (pt, enc) = a.value()?.split_once(' ')?;
            let mut parts = enc.split('/');
            let name = parts.next()?;
            if !name.eq_ignore_ascii_case("telephone-event") {
                return None;
            }
            let pt = pt.trim().parse().ok()?;
            let offered = media.formats().any(|f| f.parse::<u32>().ok() == Some(pt));
            offered.then_some((pt, parts.next()?.trim().parse().ok()?))
        })
        .collect()
}

/// The telephone-event payload type of m-line `idx` whose clock matches the audio codec's.
pub fn negotiated(msg: &SDPMessageRef, idx: u32, clock_rate: u32) -> Option<u32> {
    formats(msg.media(idx)?).into_iter().find(|(_, rate)| *rate == clock_rate).map(|(pt, _)| pt)
}

fn add_format(media: &mut SDPMediaRef, pt: u32, rate: u32, fmtp: &str) {
    media.add_format(&pt.to_string());
    media.add_attribute("rtpmap", Some(&format!("{pt} telephone-event/{rate}")));
    media.add_attribute("fmtp", Some(&format!("{pt} {fmtp}")));
}

fn audio_lines(msg: &SDPMessage) -> Vec<u32> {
    (0..msg.medias_len())
        .filter(|i| msg.media(*i).is_some_and(|m| m.media() == Some("audio") && (m.port() != 0 || crate::sdp::has_attr(m, "bundle-only"))))
        .collect()
}

/// Add our telephone-event formats to each audio m-line of an offer webrtcbin created,
/// at payload types it left free.
pub fn add_to_offer(msg: &mut SDPMessage) {
    for idx in audio_lines(msg) {
        let Some(media) = msg.media_mut(idx) else { continue };
        if !formats(media).is_empty() {
            continue;
        }
        let mut used: Vec<u32> = media.formats().filter_map(|f| f.parse().ok()).collect();
        for (rate, preferred) in OFFERED {
            let pt = std::iter::once(*preferred).chain(96..128).find(|pt| !used.contains(pt));
            if let Some(pt) = pt {
                used.push(pt);
                add_format(media, pt, *rate, EVENTS);
            }
        }
    }
}

/// Add to an answer webrtcbin created the offered telephone-event formats whose clock
/// rate one of the answer's audio codecs has (RFC 4733 §2.1), with the offerer's payload
/// types and events (RFC 3264 §6.1).
pub fn add_to_answer(answer: &mut SDPMessage, offer: &SDPMessageRef) {
    for idx in audio_lines(answer) {
        let (Some(offered), Some(media)) = (offer.media(idx), answer.media_mut(idx)) else { continue };
        if !formats(media).is_empty() {
            continue;
        }
        let rates: Vec<u32> = media
            .formats()
            .filter_map(|f| f.parse::<u32>().ok())
            .filter_map(|pt| crate::media::codec::format_codec(media, pt).map(|c| c.clock_rate))
            .collect();
        for (pt, rate) in formats(offered) {
            if !rates.contains(&rate) || !SUPPORTED.iter().any(|c| c.clock_rate == rate) {
                continue;
            }
            let fmtp = offered
                .attributes()
                .filter(|a| a.key() == "fmtp")
                .filter_map(|a| a.value()?.split_once(' '))
                .find(|(p, _)| p.trim().parse::<u32>().ok() == Some(pt))
                .map(|(_, v)| v.trim().to_owned())
                .unwrap_or_else(|| EVENTS.to_owned());
            add_format(media, pt, rate, &fmtp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(sdp: &str) -> SDPMessage {
        SDPMessage::parse_buffer(sdp.as_bytes()).unwrap()
    }

    #[test]
    fn offer_gets_both_clock_rates_at_free_payload_types() {
        gst::init().unwrap();
        let mut msg = parse("v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 101\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:101 foo/48000\r\n");
        add_to_offer(&mut msg);
        let f = formats(msg.media(0).unwrap());
        assert_eq!(f, [(96, 48000), (126, 8000)]);
        assert!(msg.as_text().unwrap().contains("a=fmtp:126 0-15"));
        assert_eq!(negotiated(&msg, 0, 8000), Some(126));
    }

    #[test]
    fn answer_keeps_offered_events_matching_its_codec_clock() {
        gst::init().unwrap();
        let offer = parse("v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0 111 110 126\r\na=rtpmap:111 opus/48000/2\r\na=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\na=fmtp:126 0-16\r\n");
        let mut answer = parse("v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000\r\n");
        add_to_answer(&mut answer, &offer);
        assert_eq!(formats(answer.media(0).unwrap()), [(126, 8000)]);
        assert!(answer.as_text().unwrap().contains("a=fmtp:126 0-16"));
    }
}
