//! Where webrtcbin 1.22 (Debian 12's GStreamer) falls short of webrtc-pc, JSEP or a robust
//! server, and what fills each gap. Everything here exists because of webrtcbin or the
//! GStreamer elements under it, not because of a W3C rule: when the project moves to a
//! GStreamer that closes a gap, the module goes and the test named beside it must still pass.
//! Only GStreamer 1.22 is available on this platform, so which release closes a gap is known for
//! one of them (gathering reaching `complete`: 1.28); for the others it is unverified, and each
//! module's doc names the webrtcbin function at fault, which is where to look on an upgrade.
//!
//! | gap | module | guarded by |
//! |---|---|---|
//! | no rollback (webrtcsdp.c has no rule for it); a rolled-back first offer blocks a remote offer | `rollback` | `state-machine`, `sip-calls` (488 re-INVITE), `negotiation-roles` (glare) |
//! | a rejected section of our answer is the offer's copy (their ICE credentials, fingerprint, address) | `rejected_media` | its unit test; `wpt` addIceCandidate |
//! | no pranswer states: a final answer after a pranswer is refused | `pranswer` | `state-machine` pranswer flows |
//! | renegotiating a direction fails; only `sendrecv` is shown to webrtcbin, send chains are gated | `webrtcbin_view` | `browser-interop` renegotiation, `sip-calls` hold |
//! | every remote attribute name is interned for good as a caps field | `webrtcbin_view` | its unit tests, `fuzz` |
//! | no ICE consent freshness: a vanished peer stays `connected` | `consent` | `ice` (disconnected after ~8 s), `browser-interop` teardown |
//! | the peer's DTLS certificate is never compared with the SDP fingerprint | `fingerprint` | `ice` wrong fingerprint, its unit tests |
//! | non-DTLS datagrams and short RTCP reach OpenSSL and srtpdec | `transport_guard` | `hostile-datagrams`, `fuzz` |
//! | a new stream waits for probation and its first jitter-buffer deadline | `receive_start` | its unit tests; `bench/latency.js` measures it |
//! | no per-receiver jitter-buffer handle | `jitter_buffer` | `browser-interop` jitterBufferLatency |
//! | an ICE restart offer keeps the old credentials; split session/media credentials assert | `ice_credentials` | `ice` restartIce, `hostile-input` split ufrag/pwd |
//! | pending operations are freed un-replied when the pipeline stops | `in_flight` | `close-storm` |
//! | gathering does not always reach `complete` | the gathering guard, `peer_connection::gathering` | `ice`, `browser-interop` complete SDP |
//! | transceivers for a remote offer are made only inside create-answer | `answer_remote_media`, `peer_connection::transceivers` | `state-machine` (track events at setRemoteDescription) |
//! | no stopped transceivers, none removed, and a port-0 offer section answered as live | `reject_stopped`, `peer_connection::transceivers` (the W3C layer hides removed ones) | `transceiver-stop`, `wpt` RTCRtpTransceiver-stop/-stopping |
//!
//! A second media backend (rtpbin and UDP) needs none of these except `transport_guard`'s
//! RTCP check and `receive_start`'s probation setting, which are about rtpbin, not webrtcbin.

pub mod consent;
pub mod fingerprint;
pub mod ice_credentials;
pub mod in_flight;
pub mod jitter_buffer;
pub mod pranswer;
pub mod receive_start;
pub mod rejected_media;
pub mod rollback;
pub mod transport_guard;
pub mod webrtcbin_view;

/// Drop a buffer (or buffer list) in a pad probe: consumed and Handled, not Drop — gstreamer-rs
/// hands the probe the data out of the probe info, and 1.22's chain path then unrefs the info's
/// NULL after a Drop (a GLib CRITICAL per dropped datagram; measured with fuzz finding
/// d57a36e0ff).
pub(crate) fn consume(info: &mut gst::PadProbeInfo) -> gst::PadProbeReturn {
    drop(info.take_buffer());
    drop(info.take_buffer_list());
    gst::PadProbeReturn::Handled
}
