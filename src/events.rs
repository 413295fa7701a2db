//! The ordered native→JS event channel of one connection.
//!
//! Operation completions and ICE/state events share this single threadsafe function, so
//! JS sees them in the order GStreamer produced them (webrtc-pc requires, for example,
//! that candidates of a description follow its setLocalDescription).

use std::sync::{Arc, Mutex};

use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi::Status;
use napi_derive::napi;

use crate::error::PcError;

#[napi(object)]
#[derive(Debug, Default, Clone)]
pub struct NativeEvent {
    #[napi(js_name = "type")]
    pub kind: String,
    pub request_id: Option<u32>,
    pub error_code: Option<String>,
    pub message: Option<String>,
    /// RTCError.sdpLineNumber of an `SdpSyntaxError`.
    pub sdp_line_number: Option<u32>,
    pub sdp: Option<String>,
    pub state: Option<String>,
    pub candidate: Option<String>,
    pub sdp_mid: Option<String>,
    #[napi(js_name = "sdpMLineIndex")]
    pub sdp_m_line_index: Option<u32>,
    /// 'icecandidate': the ice-ufrag of the candidate's m-section in the local description.
    pub username_fragment: Option<String>,
    /// getStats() result: a JSON array of W3C webrtc-stats dictionaries (see src/stats/).
    pub stats: Option<String>,
    /// 'dtmf': the transceiver whose receiver got the event; 'receiving': the transceiver whose
    /// receive stream's first packet arrived.
    pub transceiver_id: Option<u32>,
    /// 'dtmf': the DTMF tone character ('0'-'9', '*', '#', 'A'-'D').
    pub tone: Option<String>,
    /// 'dtmf': the event's duration in ms (RFC 4733 §2.5.1.3, from the final packet).
    pub duration: Option<u32>,
}

impl NativeEvent {
    pub fn new(kind: &str) -> Self {
        Self { kind: kind.to_owned(), ..Default::default() }
    }
    pub fn state(kind: &str, state: &str) -> Self {
        Self { state: Some(state.to_owned()), ..Self::new(kind) }
    }
    pub fn result(request_id: u32) -> Self {
        Self { request_id: Some(request_id), ..Self::new("result") }
    }
    pub fn failure(request_id: u32, err: &PcError) -> Self {
        Self {
            error_code: Some(err.code.as_str().to_owned()),
            message: Some(err.message.clone()),
            sdp_line_number: err.sdp_line,
            ..Self::result(request_id)
        }
    }
}

/// Weak: the channel alone does not keep Node's event loop alive; the JS layer holds a
/// keep-alive handle while a connection is open, so a forgotten connection never blocks
/// `process.exit` semantics of the host app.
pub type EventFn = ThreadsafeFunction<NativeEvent, napi::Unknown<'static>, NativeEvent, Status, false, true>;

#[derive(Clone)]
pub struct EventSink {
    tsfn: Arc<Mutex<Option<Arc<EventFn>>>>,
}

impl EventSink {
    pub fn new(tsfn: EventFn) -> Self {
        Self { tsfn: Arc::new(Mutex::new(Some(Arc::new(tsfn)))) }
    }

    /// Queue an event for JS; never blocks a GStreamer thread.
    pub fn emit(&self, event: NativeEvent) {
        let tsfn = self.tsfn.lock().ok().and_then(|guard| guard.clone());
        if let Some(tsfn) = tsfn {
            tsfn.call(event, ThreadsafeFunctionCallMode::NonBlocking);
        }
    }

    /// Drop the JS callback; events after close are discarded.
    pub fn close(&self) {
        if let Ok(mut guard) = self.tsfn.lock() {
            guard.take();
        }
    }
}
