//! gst-peerconnection: a W3C RTCPeerConnection for Node.js on GStreamer's webrtcbin.
//!
//! The Rust side owns the media (one GStreamer pipeline per connection, tracks that
//! cross connections) and the negotiation state; the TypeScript layer in `js/` owns the
//! W3C object model and turns native error codes into DOMExceptions.

pub mod error;
pub mod events;
pub mod heap;
pub mod ice;
pub mod log;
pub mod media;
pub mod negotiation;
pub mod peer_connection;
pub mod rtp_session;
pub mod runtime;
pub mod sdp;
pub mod states;
pub mod stats;
pub mod teardown;
pub mod workarounds;
