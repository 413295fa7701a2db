//! The connection-level states of webrtc-pc §4.3.2–4.3.3 as enums: what a connection stores
//! and compares. Their W3C names appear only where an event or a getter hands them to JS.
//! Backend-free: webrtcbin's enums convert into them (`From`), another backend's would too.

use gst_webrtc::{WebRTCICEConnectionState, WebRTCICEGatheringState, WebRTCPeerConnectionState};

/// RTCIceGatheringState (webrtc-pc §4.3.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceGatheringState {
    New,
    Gathering,
    Complete,
}

impl IceGatheringState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Gathering => "gathering",
            Self::Complete => "complete",
        }
    }
}

/// RTCIceConnectionState (webrtc-pc §4.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IceConnectionState {
    New,
    Checking,
    Connected,
    Completed,
    Failed,
    Disconnected,
    Closed,
}

impl IceConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Checking => "checking",
            Self::Connected => "connected",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Disconnected => "disconnected",
            Self::Closed => "closed",
        }
    }

    /// A usable pair has been selected.
    pub fn is_up(self) -> bool {
        matches!(self, Self::Connected | Self::Completed)
    }
}

impl From<WebRTCICEConnectionState> for IceConnectionState {
    fn from(s: WebRTCICEConnectionState) -> Self {
        match s {
            WebRTCICEConnectionState::New => Self::New,
            WebRTCICEConnectionState::Checking => Self::Checking,
            WebRTCICEConnectionState::Connected => Self::Connected,
            WebRTCICEConnectionState::Completed => Self::Completed,
            WebRTCICEConnectionState::Failed => Self::Failed,
            WebRTCICEConnectionState::Disconnected => Self::Disconnected,
            _ => Self::Closed,
        }
    }
}

/// RTCPeerConnectionState (webrtc-pc §4.3.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerConnectionState {
    New,
    Connecting,
    Connected,
    Disconnected,
    Failed,
    Closed,
}

impl PeerConnectionState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Disconnected => "disconnected",
            Self::Failed => "failed",
            Self::Closed => "closed",
        }
    }
}

impl From<WebRTCPeerConnectionState> for PeerConnectionState {
    fn from(s: WebRTCPeerConnectionState) -> Self {
        match s {
            WebRTCPeerConnectionState::New => Self::New,
            WebRTCPeerConnectionState::Connecting => Self::Connecting,
            WebRTCPeerConnectionState::Connected => Self::Connected,
            WebRTCPeerConnectionState::Disconnected => Self::Disconnected,
            WebRTCPeerConnectionState::Failed => Self::Failed,
            _ => Self::Closed,
        }
    }
}

/// webrtcbin's gathering state, where it has one of ours (`New` is where we start).
pub fn gathering_from(s: WebRTCICEGatheringState) -> Option<IceGatheringState> {
    match s {
        WebRTCICEGatheringState::Gathering => Some(IceGatheringState::Gathering),
        WebRTCICEGatheringState::Complete => Some(IceGatheringState::Complete),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_the_w3c_enum_values() {
        assert_eq!(IceGatheringState::Gathering.as_str(), "gathering");
        assert_eq!(IceConnectionState::from(WebRTCICEConnectionState::Completed).as_str(), "completed");
        assert_eq!(IceConnectionState::from(WebRTCICEConnectionState::Closed), IceConnectionState::Closed);
        assert_eq!(PeerConnectionState::from(WebRTCPeerConnectionState::Connecting).as_str(), "connecting");
        assert!(IceConnectionState::Completed.is_up() && !IceConnectionState::Checking.is_up());
        assert_eq!(gathering_from(WebRTCICEGatheringState::New), None);
    }
}
