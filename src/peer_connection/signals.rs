//! The webrtcbin signals a connection listens to; each handler holds a `Weak<Inner>` and
//! runs on the webrtcbin or streaming thread that emitted it.

use std::sync::{Arc, Weak};
use gst::prelude::*;
use gst_webrtc::{
    WebRTCICEConnectionState, WebRTCICEGatheringState, WebRTCPeerConnectionState, WebRTCRTPTransceiver,
};
use crate::states::{self, IceConnectionState, PeerConnectionState};

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
        if let Some(state) = states::gathering_from(webrtc.property::<WebRTCICEGatheringState>("ice-gathering-state")) {
            inner.set_gathering(state);
        }
    });

    let weak: Weak<Inner> = Arc::downgrade(inner);
    webrtc.connect_notify(Some("ice-connection-state"), move |webrtc, _| {
        let Some(inner) = weak.upgrade() else { return };
        let state = IceConnectionState::from(webrtc.property::<WebRTCICEConnectionState>("ice-connection-state"));
        if state.is_up() {
            inner.watch_consent();
        }
        inner.on_ice_agent_state(state);
    });

    let weak: Weak<Inner> = Arc::downgrade(inner);
    webrtc.connect_notify(Some("connection-state"), move |webrtc, _| {
        let Some(inner) = weak.upgrade() else { return };
        inner.on_webrtcbin_connection(PeerConnectionState::from(webrtc.property::<WebRTCPeerConnectionState>("connection-state")));
    });

    let weak = Arc::downgrade(inner);
    webrtc.connect_pad_added(move |_, pad| {
        if let Some(inner) = weak.upgrade() {
            inner.on_src_pad(pad);
        }
    });
}
