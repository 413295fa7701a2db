//! gst-peerconnection: a W3C RTCPeerConnection for Node.js on GStreamer's webrtcbin.
//!
//! The Rust side owns the media (one GStreamer pipeline per connection, tracks that
//! cross connections) and the negotiation state; the TypeScript layer in `js/` owns the
//! W3C object model and turns native error codes into DOMExceptions.

pub mod consent;
pub mod error;
pub mod events;
pub mod ice;
pub mod in_flight;
pub mod jitter_buffer;
pub mod log;
pub mod media;
pub mod negotiation;
pub mod peer_connection;
pub mod receive_start;
pub mod rollback;
pub mod runtime;
pub mod sdp;
pub mod stats;
pub mod teardown;
pub mod transport_guard;
