//! What the `get-stats` reply does not say, read from webrtcbin before asking for it.

use std::collections::HashMap;

use gst::prelude::*;
use gst_webrtc::{WebRTCDTLSTransportState, WebRTCRTPTransceiver};

/// What the reply does not say, read from webrtcbin's pads, transports and descriptions.
#[derive(Debug, Default, Clone)]
pub struct Context {
    /// Codec stats id (`codec-stats-<pad name>`) → what the pad tells.
    pub pads: HashMap<String, PadInfo>,
    /// Transport stats id (`transport-stats_<dtls transport name>`) → its states.
    pub transports: HashMap<String, TransportInfo>,
    /// (mid, payload type) → the fmtp parameters (after `a=fmtp:<pt> `), local description first.
    pub fmtp: HashMap<(String, u32), String>,
}

#[derive(Debug, Default, Clone)]
pub struct PadInfo {
    pub mid: Option<String>,
    /// The pad's RTP caps (`payload`, `clock-rate`, `encoding-name`, `encoding-params`).
    pub caps: Option<gst::Structure>,
}

#[derive(Debug, Default, Clone)]
pub struct TransportInfo {
    /// RTCDtlsTransportState
    pub dtls_state: &'static str,
    /// RTCIceTransportState
    pub ice_state: &'static str,
    /// RTCDtlsRole
    pub dtls_role: &'static str,
}

impl Context {
    /// Read from webrtcbin; called without any lock of ours held.
    pub fn collect(webrtc: &gst::Element) -> Self {
        let mut ctx = Context::default();
        let mut transceivers: Vec<WebRTCRTPTransceiver> = Vec::new();
        for pad in webrtc.pads() {
            let Some(t) = pad.find_property("transceiver").and_then(|_| pad.property::<Option<WebRTCRTPTransceiver>>("transceiver")) else {
                continue;
            };
            let caps = pad.current_caps().or_else(|| pad.peer().and_then(|p| p.current_caps()));
            ctx.pads.insert(
                format!("codec-stats-{}", pad.name()),
                PadInfo { mid: t.mid().map(|m| m.to_string()), caps: caps.and_then(|c| c.structure(0).map(|s| s.to_owned())) },
            );
            if !transceivers.contains(&t) {
                transceivers.push(t);
            }
        }
        for t in &transceivers {
            let Some(dtls) = t.receiver().and_then(|r| r.transport()) else { continue };
            let ice_state = dtls.transport().map(|ice| crate::states::IceConnectionState::from(ice.state()).as_str()).unwrap_or("new");
            ctx.transports.insert(
                format!("transport-stats_{}", dtls.name()),
                TransportInfo {
                    dtls_state: dtls_state(dtls.state()),
                    ice_state,
                    dtls_role: match dtls.state() {
                        WebRTCDTLSTransportState::Connected | WebRTCDTLSTransportState::Connecting => {
                            if dtls.is_client() { "client" } else { "server" }
                        }
                        _ => "unknown",
                    },
                },
            );
        }
        for prop in ["current-local-description", "current-remote-description"] {
            let Some(desc) = webrtc.property::<Option<gst_webrtc::WebRTCSessionDescription>>(prop) else { continue };
            let sdp = desc.sdp();
            for media in sdp.medias() {
                let Some(mid) = media.attribute_val("mid") else { continue };
                for (key, value) in media.attributes().filter_map(|a| Some((a.key(), a.value()?))) {
                    if key != "fmtp" {
                        continue;
                    }
                    if let Some((pt, params)) = value.split_once(' ') {
                        if let Ok(pt) = pt.parse::<u32>() {
                            ctx.fmtp.entry((mid.to_owned(), pt)).or_insert_with(|| params.trim().to_owned());
                        }
                    }
                }
            }
        }
        ctx
    }
}

fn dtls_state(s: WebRTCDTLSTransportState) -> &'static str {
    match s {
        WebRTCDTLSTransportState::New => "new",
        WebRTCDTLSTransportState::Connecting => "connecting",
        WebRTCDTLSTransportState::Connected => "connected",
        WebRTCDTLSTransportState::Failed => "failed",
        _ => "closed",
    }
}
