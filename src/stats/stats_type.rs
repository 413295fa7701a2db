//! The stats types reported, parsed once from the webrtcbin structure's name so that the
//! fix-ups match on a type instead of comparing strings.

/// A webrtc-stats `RTCStatsType` that webrtcbin produces and we map. webrtcbin names each
/// object's structure after its GstWebRTCStatsType nick, which is the W3C string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatsType {
    PeerConnection,
    Codec,
    InboundRtp,
    OutboundRtp,
    RemoteInboundRtp,
    RemoteOutboundRtp,
    Transport,
    CandidatePair,
    LocalCandidate,
    RemoteCandidate,
    Certificate,
}

impl StatsType {
    const ALL: [StatsType; 11] = [
        StatsType::PeerConnection,
        StatsType::Codec,
        StatsType::InboundRtp,
        StatsType::OutboundRtp,
        StatsType::RemoteInboundRtp,
        StatsType::RemoteOutboundRtp,
        StatsType::Transport,
        StatsType::CandidatePair,
        StatsType::LocalCandidate,
        StatsType::RemoteCandidate,
        StatsType::Certificate,
    ];

    /// The type a webrtcbin structure name stands for; None for those not reported
    /// (`csrc`, `data-channel`, `stream`), so that the object is left out.
    pub fn parse(name: &str) -> Option<Self> {
        // Through as_str() so that each string is written once.
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The JSON `type` member.
    pub fn as_str(self) -> &'static str {
        match self {
            StatsType::PeerConnection => "peer-connection",
            StatsType::Codec => "codec",
            StatsType::InboundRtp => "inbound-rtp",
            StatsType::OutboundRtp => "outbound-rtp",
            StatsType::RemoteInboundRtp => "remote-inbound-rtp",
            StatsType::RemoteOutboundRtp => "remote-outbound-rtp",
            StatsType::Transport => "transport",
            StatsType::CandidatePair => "candidate-pair",
            StatsType::LocalCandidate => "local-candidate",
            StatsType::RemoteCandidate => "remote-candidate",
            StatsType::Certificate => "certificate",
        }
    }

    /// An RTCRtpStreamStats type: the ones that name a codec and a transport.
    pub fn is_rtp_stream(self) -> bool {
        matches!(self, StatsType::InboundRtp | StatsType::OutboundRtp | StatsType::RemoteInboundRtp | StatsType::RemoteOutboundRtp)
    }

    /// The remote end's view of one of our streams, linked to it by `localId`.
    pub fn is_remote_rtp(self) -> bool {
        matches!(self, StatsType::RemoteInboundRtp | StatsType::RemoteOutboundRtp)
    }

    /// One of our own RTP streams, linked to the remote end's view by `remoteId`.
    pub fn is_local_rtp(self) -> bool {
        matches!(self, StatsType::InboundRtp | StatsType::OutboundRtp)
    }

    pub fn is_candidate(self) -> bool {
        matches!(self, StatsType::LocalCandidate | StatsType::RemoteCandidate)
    }
}

#[cfg(test)]
mod tests {
    use super::StatsType;

    #[test]
    fn parse_and_as_str_round_trip() {
        for t in StatsType::ALL {
            assert_eq!(StatsType::parse(t.as_str()), Some(t), "{t:?}");
        }
        let names: std::collections::HashSet<&str> = StatsType::ALL.iter().map(|t| t.as_str()).collect();
        assert_eq!(names.len(), StatsType::ALL.len());
    }

    #[test]
    fn every_string_is_a_webrtcbin_type_nick() {
        let class = gst::glib::EnumClass::new::<gst_webrtc::WebRTCStatsType>();
        for t in StatsType::ALL {
            assert!(class.value_by_nick(t.as_str()).is_some(), "{}", t.as_str());
        }
    }

    #[test]
    fn types_not_reported_and_other_spellings_do_not_parse() {
        for name in ["csrc", "data-channel", "stream", "", "Codec", "inbound_rtp", "application/x-webrtc-stats"] {
            assert_eq!(StatsType::parse(name), None, "{name}");
        }
    }
}
