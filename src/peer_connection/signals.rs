//! The webrtcbin signals a connection listens to; each handler holds a `Weak<Inner>` and
//! runs on the webrtcbin or streaming thread that emitted it.

use std::sync::{Arc, Weak};
use gst::prelude::*;
use gst_webrtc::{
    WebRTCICEConnectionState, WebRTCICEGatheringState, WebRTCPeerConnectionState, WebRTCRTPTransceiver,
};
use crate::ice::{self};

use super::inner::*;

pub(super) fn connect_signals(inner: &Arc<Inner>, webrtc: &gst::Element) {

    let weak = Arc::downgrade(inner);
    webrtc.connect("on-ice-candidate", false, move |values| {
        let mline = values[1].get::<u32>().ok()?;
        let candidate = values[2].get::<String>().ok()?;
        if let Some(inner) = weak.upgrade() {
            inner.on_local_candidate(mline, candidate);
        }
        None
    });

    let weak = Arc::downgrade(inner);
    webrtc.connect("on-new-transceiver", false, move |values| {
        if let (Some(inner), Ok(t)) = (weak.upgrade(), values[1].get::<WebRTCRTPTransceiver>()) {
            inner.register_transceiver(&t);
        }
        None
    });

    let weak: Weak<Inner> = Arc::downgrade(inner);
    webrtc.connect_notify(Some("ice-gathering-state"), move |webrtc, _| {
        let Some(inner) = weak.upgrade() else { return };
        match webrtc.property::<WebRTCICEGatheringState>("ice-gathering-state") {
            WebRTCICEGatheringState::Gathering => inner.set_gathering("gathering"),
            WebRTCICEGatheringState::Complete => inner.set_gathering("complete"),
            _ => {}
        }
    });

    let weak: Weak<Inner> = Arc::downgrade(inner);
    webrtc.connect_notify(Some("ice-connection-state"), move |webrtc, _| {
        let Some(inner) = weak.upgrade() else { return };
        let state = ice::connection_state_name(webrtc.property::<WebRTCICEConnectionState>("ice-connection-state"));
        if matches!(state, "connected" | "completed") {
            inner.watch_consent();
        }
        inner.set_ice_connection(state);
    });

    let weak: Weak<Inner> = Arc::downgrade(inner);
    webrtc.connect_notify(Some("connection-state"), move |webrtc, _| {
        let Some(inner) = weak.upgrade() else { return };
        let state = match webrtc.property::<WebRTCPeerConnectionState>("connection-state") {
            WebRTCPeerConnectionState::New => "new",
            WebRTCPeerConnectionState::Connecting => "connecting",
            WebRTCPeerConnectionState::Connected => "connected",
            WebRTCPeerConnectionState::Disconnected => "disconnected",
            WebRTCPeerConnectionState::Failed => "failed",
            _ => "closed",
        };
        inner.set_connection(state);
    });

    let weak = Arc::downgrade(inner);
    webrtc.connect_pad_added(move |_, pad| {
        if let Some(inner) = weak.upgrade() {
            inner.on_src_pad(pad);
        }
    });
}
