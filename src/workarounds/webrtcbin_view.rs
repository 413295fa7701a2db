//! The copy of a description that webrtcbin gets (the application's `remoteDescription` keeps
//! every line).
//!
//! Every active m-line is `sendrecv` there (`all_sendrecv`); every section of a BUNDLE group
//! carries the tagged section's ICE credentials (`bundle_credentials`). And a remote
//! description loses what webrtcbin never reads but GStreamer would intern for good: webrtcbin
//! turns remote media into caps with `gst_sdp_media_attributes_to_caps` and
//! `gst_sdp_media_get_caps_from_media` (gst-plugins-base, gstsdpmessage.c), which make a caps
//! field — a GQuark, never freed — of every attribute name (`a-<key>`), every rtcp-fb value
//! (`rtcp-fb-<value>`), every fmtp parameter name and every `ssrc-<id>-<attribute>`. A peer
//! re-offering descriptions with new names each time grew the process without bound. Here the
//! names are a fixed list, and at most `MAX_SSRCS` SSRCs per m-section reach webrtcbin, as
//! `cname` lines only (all `transport_stream_add_ssrc_map_item` reads).

use gst_sdp::{SDPMediaRef, SDPMessage};

use crate::negotiation::Side;

/// Media-level attributes webrtcbin 1.22, rtpbin or the SDP-to-caps conversion read.
const MEDIA_KEYS: &[&str] = &[
    "mid", "ice-ufrag", "ice-pwd", "ice-options", "ice-lite", "fingerprint", "setup", "candidate",
    "end-of-candidates", "rtcp-mux", "rtcp-mux-only", "rtcp-rsize", "rtcp", "bundle-only", "sendrecv",
    "sendonly", "recvonly", "inactive", "rtpmap", "fmtp", "rtcp-fb", "extmap", "ssrc", "ssrc-group",
    "msid", "sctp-port", "max-message-size", "sctpmap", "ptime", "maxptime",
];
const SESSION_KEYS: &[&str] = &["group", "ice-ufrag", "ice-pwd", "ice-options", "ice-lite", "fingerprint", "setup", "msid-semantic"];
/// RTCP feedback webrtcbin and rtpbin know (RFC 4585, RFC 5104, transport-cc).
const RTCP_FB: &[&str] = &["nack", "nack pli", "ccm fir", "transport-cc", "goog-remb"];
/// fmtp parameters of the codecs we negotiate and of RTX (RFC 7587 §6, RFC 4588 §8).
const FMTP_PARAMS: &[&str] = &[
    "minptime", "useinbandfec", "stereo", "sprop-stereo", "maxplaybackrate", "sprop-maxcapturerate",
    "maxaveragebitrate", "cbr", "usedtx", "ptime", "maxptime", "apt", "rtx-time",
];
/// A sender with RTX and FEC has three SSRCs; a few more leave room for simulcast-like peers.
const MAX_SSRCS: usize = 8;

/// webrtcbin 1.22 fails any renegotiation whose negotiated direction differs from the
/// previous one, except a change to inactive ("transceiver direction changes are not
/// implemented", gstwebrtcbin.c `_update_transceiver_from_sdp_media`), and it cannot come
/// back from inactive either. So webrtcbin only ever sees `sendrecv` on active m-lines; the
/// application and the remote peer see the real directions, and the send chains are gated
/// on them (`media::sender`).
fn all_sendrecv(msg: &SDPMessage) -> SDPMessage {
    let mut copy = msg.clone();
    for idx in 0..copy.medias_len() {
        let Some(media) = copy.media_mut(idx) else { continue };
        if media.port() != 0 || crate::sdp::has_attr(media, "bundle-only") {
            crate::sdp::direction::set(media, "sendrecv");
        }
    }
    copy
}

pub fn for_webrtcbin(msg: &SDPMessage, side: Side) -> SDPMessage {
    let mut copy = all_sendrecv(msg);
    if side == Side::Remote {
        retain(&mut copy);
        bundle_credentials(&mut copy);
    }
    copy
}

/// The first mid of `msg`'s BUNDLE group: the section whose transport the group uses.
pub fn bundle_tag(msg: &gst_sdp::SDPMessageRef) -> Option<String> {
    msg.attributes()
        .find_map(|a| a.value().filter(|_| a.key() == "group").and_then(|v| v.strip_prefix("BUNDLE ")).map(str::to_owned))
        .and_then(|g| g.split_whitespace().next().map(str::to_owned))
}

/// When the tagged m-section of a BUNDLE group is rejected, the next one becomes the tag
/// (RFC 8843 §7.3.3) but the transport stays the same (browsers keep it). webrtcbin 1.22
/// instead takes the transport of whichever section is first in the group, so it would build
/// a new one for the new tag on one side while the other keeps sending on the old one, and
/// after every section was rejected a new one was never heard. So webrtcbin keeps seeing the
/// rejected section it bundled on (`tag`, the first mid of the group it last got) at the
/// head of the group, with the group's ICE credentials.
pub fn keep_bundle_tag(copy: &mut SDPMessage, tag: Option<&str>) {
    let Some(tag) = tag else { return };
    let Some(at) = (0..copy.attributes_len()).find(|i| copy.attribute(*i).is_some_and(|a| a.key() == "group" && a.value().is_some_and(|v| v.starts_with("BUNDLE")))) else {
        return;
    };
    let group = copy.attribute(at).and_then(|a| a.value()).unwrap_or_default().to_owned();
    let mids: Vec<&str> = group.split_whitespace().skip(1).collect();
    if mids.contains(&tag) {
        return;
    }
    let Some(tagged) = copy.medias().position(|m| m.attribute_val("mid") == Some(tag)) else { return };
    if copy.media(tagged as u32).is_none_or(|m| m.port() != 0) {
        return;
    }
    let credentials: Vec<(&str, String)> = mids
        .first()
        .and_then(|first| copy.medias().find(|m| m.attribute_val("mid") == Some(first)))
        .map(|m| ["ice-ufrag", "ice-pwd"].into_iter().filter_map(|k| m.attribute_val(k).map(|v| (k, v.to_owned()))).collect())
        .unwrap_or_default();
    let value = format!("BUNDLE {tag} {}", mids.join(" "));
    let _ = copy.replace_attribute(at, gst_sdp::SDPAttribute::new("group", Some(value.trim_end())));
    if let Some(media) = copy.media_mut(tagged as u32) {
        for (key, value) in credentials {
            crate::sdp::set_attr(media, key, &value);
        }
    }
}

/// webrtcbin 1.22 refuses a BUNDLE group whose sections carry different ICE credentials
/// (webrtcsdp.c `validate_sdp`: "has different ice-ufrag values in bundle"). RFC 8843 §7.1.3
/// and §7.3.1: a bundled section uses the transport of the offerer-tagged one, the first mid
/// of the group, and its own ICE attributes are not used. So webrtcbin sees the tagged
/// section's credentials in every section of the group.
fn bundle_credentials(msg: &mut SDPMessage) {
    let Some(group) = msg.attributes().find_map(|a| a.value().filter(|_| a.key() == "group").and_then(|v| v.strip_prefix("BUNDLE ")).map(str::to_owned)) else {
        return;
    };
    let mids: Vec<&str> = group.split_whitespace().collect();
    let index_of = |mid: &str| msg.medias().position(|m| m.attribute_val("mid") == Some(mid));
    let Some(tagged) = mids.first().and_then(|m| index_of(m)) else { return };
    let members: Vec<u32> = mids.iter().filter_map(|m| index_of(m)).map(|i| i as u32).collect();
    let Some(media) = msg.media(tagged as u32) else { return };
    let credentials: Vec<(&str, String)> = ["ice-ufrag", "ice-pwd"]
        .into_iter()
        .filter_map(|key| media.attribute_val(key).map(|v| (key, v.to_owned())))
        .collect();
    for idx in members {
        let Some(media) = msg.media_mut(idx) else { continue };
        for (key, value) in &credentials {
            crate::sdp::set_attr(media, key, value);
        }
    }
}

fn retain(msg: &mut SDPMessage) {
    for i in (0..msg.attributes_len()).rev() {
        if msg.attribute(i).is_some_and(|a| !SESSION_KEYS.contains(&a.key())) {
            let _ = msg.remove_attribute(i);
        }
    }
    for idx in 0..msg.medias_len() {
        if let Some(media) = msg.media_mut(idx) {
            retain_media(media);
        }
    }
}

fn retain_media(media: &mut SDPMediaRef) {
    let mut ssrcs: Vec<String> = Vec::new();
    let mut i = 0;
    while i < media.attributes_len() {
        let Some(attr) = media.attribute(i) else { break };
        let value = attr.value().unwrap_or_default();
        let kept = match attr.key() {
            key if !MEDIA_KEYS.contains(&key) => None,
            "rtcp-fb" => value.split_once(' ').filter(|(_, fb)| RTCP_FB.contains(fb)).map(|_| value.to_owned()),
            "fmtp" => fmtp(value),
            // RTCP is multiplexed (RFC 8843 §9): an RTCP candidate only makes libnice warn.
            "candidate" => crate::sdp::candidate::Candidate::parse(&format!("candidate:{value}")).ok().filter(|c| c.component == 1).map(|_| value.to_owned()),
            "ssrc" => {
                let (id, rest) = value.split_once(' ').unwrap_or((value, ""));
                let known = ssrcs.iter().any(|s| s == id);
                let room = known || ssrcs.len() < MAX_SSRCS;
                if rest.starts_with("cname:") && room {
                    if !known {
                        ssrcs.push(id.to_owned());
                    }
                    Some(value.to_owned())
                } else {
                    None
                }
            }
            _ => Some(value.to_owned()),
        };
        match kept {
            Some(v) if v == value => i += 1,
            Some(v) => {
                let key = attr.key().to_owned();
                let _ = media.replace_attribute(i, gst_sdp::SDPAttribute::new(&key, Some(&v)));
                i += 1;
            }
            None => {
                let _ = media.remove_attribute(i);
            }
        }
    }
}

/// `<pt> <name>=<value>;…` with only the known names. A bare token is an RFC 4733 event
/// list (each distinct one would be a field name too); webrtcbin keeps a telephone-event
/// format's fmtp as it was offered, and our own DTMF code reads the real list from the full
/// description, so webrtcbin always gets `0-15`.
fn fmtp(value: &str) -> Option<String> {
    let (pt, params) = value.split_once(' ')?;
    let mut kept: Vec<&str> = Vec::new();
    for p in params.split(';').map(str::trim) {
        match p.split_once('=') {
            Some((name, _)) if FMTP_PARAMS.contains(&name.trim().to_ascii_lowercase().as_str()) => kept.push(p),
            None if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit() || b == b'-' || b == b',') => kept.push("0-15"),
            _ => {}
        }
    }
    kept.dedup();
    (!kept.is_empty()).then(|| format!("{pt} {}", kept.join(";")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(attrs: &str) -> SDPMessage {
        let s = format!("v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=x-session-junk:1\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 101\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n{attrs}");
        SDPMessage::parse_buffer(s.as_bytes()).unwrap()
    }

    fn interned(name: &str) -> bool {
        gst::glib::Quark::try_from_str(name).is_some()
    }

    #[test]
    fn hostile_names_never_reach_the_caps_conversion() {
        gst::init().unwrap();
        let names = ["x-zq7hostile-attr", "zq7hostile-attr", "rtcp-fb-zq7hostile-fb", "zq7hostile-param", "ssrc-424242-zq7label"];
        let msg = remote(
            "a=x-zq7hostile-attr:1\r\na=zq7hostile-attr:2\r\na=rtcp-fb:111 zq7hostile-fb\r\na=rtcp-fb:111 transport-cc\r\na=fmtp:111 minptime=10;zq7hostile-param=1\r\na=fmtp:101 0-9,zq7\r\na=fmtp:101 0-16\r\na=ssrc:424242 cname:c\r\na=ssrc:424242 zq7label:l\r\n",
        );
        let view = for_webrtcbin(&msg, Side::Remote);
        // What webrtcbin does with a remote m-line (gstwebrtcbin.c `_rtp_caps_from_media`).
        let media = view.media(0).unwrap();
        let mut caps = media.caps_from_media(111).unwrap();
        media.attributes_to_caps(caps.get_mut().unwrap()).unwrap();
        for name in names {
            assert!(!interned(name) && !interned(&format!("a-{name}")), "{name} was interned");
        }
        let s = caps.structure(0).unwrap();
        assert_eq!(s.get::<&str>("minptime").unwrap(), "10");
        assert!(s.has_field("rtcp-fb-transport-cc") && s.has_field("ssrc-424242-cname"));
        let events = view.media(0).unwrap().attributes().find(|a| a.key() == "fmtp" && a.value().is_some_and(|v| v.starts_with("101 "))).map(|a| a.value().unwrap().to_owned());
        assert_eq!(events.as_deref(), Some("101 0-15"));
        // The application's copy keeps everything.
        assert!(msg.media(0).unwrap().attributes().any(|a| a.key() == "zq7hostile-attr"));
        assert!(view.attribute_val("x-session-junk").is_none());
    }

    #[test]
    fn bundled_sections_take_the_tagged_sections_credentials() {
        gst::init().unwrap();
        let sdp = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE a b\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=ice-ufrag:first\r\na=ice-pwd:firstpasswordfirstpassword\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:b\r\na=ice-ufrag:second\r\na=ice-pwd:secondpasswordsecondpass\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:c\r\na=ice-ufrag:third\r\na=ice-pwd:thirdpasswordthirdpassword\r\n";
        let msg = SDPMessage::parse_buffer(sdp.as_bytes()).unwrap();
        let view = for_webrtcbin(&msg, Side::Remote);
        let ufrags: Vec<_> = view.medias().map(|m| m.attribute_val("ice-ufrag").unwrap().to_owned()).collect();
        assert_eq!(ufrags, ["first", "first", "third"]);
        assert_eq!(view.media(1).unwrap().attribute_val("ice-pwd"), Some("firstpasswordfirstpassword"));
        assert_eq!(msg.media(1).unwrap().attribute_val("ice-ufrag"), Some("second"), "the application's copy is untouched");
    }

    #[test]
    fn at_most_eight_ssrcs_reach_webrtcbin() {
        gst::init().unwrap();
        let lines: String = (1..=20).map(|i| format!("a=ssrc:{i} cname:c\r\na=ssrc:{i} msid:s t\r\n")).collect();
        let view = for_webrtcbin(&remote(&lines), Side::Remote);
        let kept: Vec<String> = view.media(0).unwrap().attributes().filter(|a| a.key() == "ssrc").map(|a| a.value().unwrap().to_owned()).collect();
        assert_eq!(kept, (1..=8).map(|i| format!("{i} cname:c")).collect::<Vec<_>>());
    }

    #[test]
    fn local_descriptions_are_only_made_sendrecv() {
        gst::init().unwrap();
        let msg = remote("a=zq7local:1\r\na=sendonly\r\n");
        let view = for_webrtcbin(&msg, Side::Local);
        assert!(view.media(0).unwrap().attributes().any(|a| a.key() == "zq7local"));
        assert_eq!(crate::sdp::direction::of(&view, 0), Some("sendrecv"));
    }

    #[test]
    fn webrtcbin_copy_is_sendrecv_and_original_untouched() {
        gst::init().unwrap();
        let sdp = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=sendonly\r\nm=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=inactive\r\n";
        let msg = SDPMessage::parse_buffer(sdp.as_bytes()).unwrap();
        let copy = all_sendrecv(&msg);
        assert_eq!(crate::sdp::direction::of(&copy, 0), Some("sendrecv"));
        assert_eq!(crate::sdp::direction::of(&copy, 1), Some("inactive"), "rejected m-lines stay as they are");
        assert_eq!(crate::sdp::direction::of(&msg, 0), Some("sendonly"));
        let mut m = msg.clone();
        crate::sdp::direction::set(m.media_mut(0).unwrap(), "recvonly");
        let text = m.as_text().unwrap();
        assert_eq!(text.matches("a=recvonly").count(), 1);
        assert!(!text.contains("a=sendonly"));
    }

    #[test]
    fn webrtcbin_keeps_the_rejected_tag_it_bundled_on() {
        gst::init().unwrap();
        let text = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE b\r\n\
            m=audio 0 UDP/TLS/RTP/SAVPF 111\r\na=mid:a\r\na=ice-ufrag:old\r\na=ice-pwd:oldpasswordoldpassword\r\na=inactive\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:b\r\na=ice-ufrag:live\r\na=ice-pwd:livepasswordlivepassword\r\na=sendrecv\r\n";
        let mut msg = SDPMessage::parse_buffer(text.as_bytes()).unwrap();
        keep_bundle_tag(&mut msg, Some("a"));
        assert_eq!(msg.attribute_val("group"), Some("BUNDLE a b"));
        assert_eq!(msg.media(0).unwrap().attribute_val("ice-ufrag"), Some("live"));
        assert_eq!(bundle_tag(&msg).as_deref(), Some("a"));
        // An active tag, a tag already in the group, or no tag yet: nothing changes.
        let mut msg = SDPMessage::parse_buffer(text.as_bytes()).unwrap();
        keep_bundle_tag(&mut msg, Some("b"));
        keep_bundle_tag(&mut msg, None);
        assert_eq!(msg.attribute_val("group"), Some("BUNDLE b"));
    }

}
