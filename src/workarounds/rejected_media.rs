//! The m-sections webrtcbin 1.22 rejects in an answer (port 0: a kind it has no transceiver
//! for, such as video) are copies of the offer's sections (`_create_answer_task`): the
//! offerer's ICE credentials, fingerprint, `setup:actpass`, connection address and candidates
//! came back as ours. Applying that answer then failed webrtcbin's own check that every
//! section has one fingerprint (webrtcsdp.c `_check_fingerprint`), and the far end read our
//! answer as claiming its transport.
//!
//! Such a section is rejected again as `sdp::reject` does, with our transport attributes,
//! copied from a section we accept.

use gst_sdp::SDPMessage;

use crate::sdp::reject;

pub fn tidy(answer: &mut SDPMessage) {
    let ours: Vec<(String, String)> = match answer.medias().find(|m| m.port() != 0) {
        Some(accepted) => reject::TRANSPORT
            .iter()
            .filter_map(|k| accepted.attribute_val(k).map(|v| ((*k).to_owned(), v.to_owned())))
            .collect(),
        None => return,
    };
    for idx in 0..answer.medias_len() {
        if answer.media(idx).is_some_and(|m| m.port() == 0) {
            reject::section(answer, idx, Some(&ours));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejected_section_carries_our_transport_not_the_offerers() {
        gst::init().unwrap();
        let sdp = "v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:mine\r\na=ice-pwd:minepasswordminepassword\r\na=fingerprint:sha-256 AA\r\na=setup:active\r\na=sendrecv\r\n\
            m=video 0 UDP/TLS/RTP/SAVPF 100\r\nc=IN IP4 203.0.113.100\r\na=mid:1\r\na=rtpmap:100 VP8/90000\r\na=ice-ufrag:theirs\r\na=ice-pwd:theirpasswordtheirpassword\r\na=fingerprint:sha-256 BB\r\na=setup:actpass\r\na=candidate:1 1 udp 1 203.0.113.100 9 typ host\r\na=rtcp:10103 IN IP4 203.0.113.100\r\na=sendrecv\r\n";
        let mut msg = SDPMessage::parse_buffer(sdp.as_bytes()).unwrap();
        tidy(&mut msg);
        let video = msg.media(1).unwrap();
        let attrs: Vec<String> = video.attributes().map(|a| format!("{}:{}", a.key(), a.value().unwrap_or_default())).collect();
        assert_eq!(
            attrs,
            ["mid:1", "rtpmap:100 VP8/90000", "ice-ufrag:mine", "ice-pwd:minepasswordminepassword", "fingerprint:sha-256 AA", "setup:active", "inactive:"]
        );
        assert_eq!(video.connection(0).and_then(|c| c.address()), Some("0.0.0.0"));
        assert_eq!(msg.media(0).unwrap().attribute_val("ice-ufrag"), Some("mine"));
    }
}
