//! Our `a=msid` lines (RFC 8830 §2; JSEP RFC 9429 §5.2.1): the application's MediaStream ids
//! and a track id for each m-section that sends, so the far end builds the streams the
//! application chose (webrtc-pc §4.4.1.5 "set the associated remote streams").
//!
//! webrtcbin 1.22 knows no streams: `_media_add_ssrcs` writes `a=ssrc:<ssrc> msid:<cname>
//! <transceiver name>`, which a browser reads as a stream named after our CNAME. Those
//! attributes go; the `a=ssrc … cname` lines stay (RFC 5576).

use gst_sdp::SDPMediaRef;

/// What one sender announces: its [[AssociatedMediaStreamIds]] and the id of its track.
pub struct Msid<'a> {
    pub streams: &'a [String],
    pub track: &'a str,
}

/// Replace the msid lines of an m-section we created. `sender` is None for a section that
/// does not send (JSEP §5.2.1: a=msid only with a send direction); no streams is `-`.
pub fn write(media: &mut SDPMediaRef, sender: Option<Msid<'_>>) {
    let mut i = 0;
    while i < media.attributes_len() {
        let drop = media.attribute(i).is_some_and(|a| match a.key() {
            "msid" => true,
            "ssrc" => a.value().unwrap_or_default().split_once(' ').is_some_and(|(_, rest)| rest.starts_with("msid:")),
            _ => false,
        });
        if drop {
            let _ = media.remove_attribute(i);
        } else {
            i += 1;
        }
    }
    let Some(sender) = sender else { return };
    if sender.streams.is_empty() {
        media.add_attribute("msid", Some(&format!("- {}", sender.track)));
    }
    for stream in sender.streams {
        media.add_attribute("msid", Some(&format!("{stream} {}", sender.track)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section() -> gst_sdp::SDPMessage {
        let text = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ssrc:5 msid:user@host webrtctransceiver0\r\na=ssrc:5 cname:user@host\r\na=sendrecv\r\n";
        gst_sdp::SDPMessage::parse_buffer(text.as_bytes()).unwrap()
    }

    fn lines(msg: &gst_sdp::SDPMessage) -> Vec<String> {
        msg.media(0).unwrap().attributes().map(|a| format!("{}:{}", a.key(), a.value().unwrap_or_default())).collect()
    }

    #[test]
    fn one_line_per_stream_and_webrtcbins_ssrc_msid_gone() {
        gst::init().unwrap();
        let mut msg = section();
        let streams = ["s1".to_owned(), "s2".to_owned()];
        write(msg.media_mut(0).unwrap(), Some(Msid { streams: &streams, track: "t" }));
        assert_eq!(lines(&msg), ["ssrc:5 cname:user@host", "sendrecv:", "msid:s1 t", "msid:s2 t"]);
    }

    #[test]
    fn no_stream_is_a_dash_and_no_sender_is_no_line() {
        gst::init().unwrap();
        let mut msg = section();
        write(msg.media_mut(0).unwrap(), Some(Msid { streams: &[], track: "t" }));
        assert!(lines(&msg).contains(&"msid:- t".to_owned()));
        write(msg.media_mut(0).unwrap(), None);
        assert!(!lines(&msg).iter().any(|l| l.contains("msid")));
    }
}
