//! Server-side media: tracks (fan-out hubs of raw audio), their native sources and sinks,
//! and the per-connection send/receive chains around webrtcbin.

pub mod audio_player;
pub mod audio_sink;
pub mod audio_source;
pub mod bus;
pub mod caps_cache;
pub mod codec;
pub mod convert;
pub mod dtmf_receive;
pub mod dtmf_send;
pub mod file_source;
pub mod loss_report;
pub mod mixer;
pub mod opus;
pub mod pcm;
pub mod playout;
pub mod push_source;
pub mod receiver;
pub mod recorder;
pub mod reorder;
pub mod reorder_wait;
pub mod steady_resample;
pub mod rtp_forwarder;
pub mod rtp_header;
pub mod rtp_ingress;
pub mod rtp_parameters;
pub mod sender;
pub mod ticker;
pub mod tone;
pub mod tsm;
pub mod track;
pub mod track_io;
pub mod udp_rtp_source;
pub mod voice;
pub mod workers;

/// The raw format every native producer emits: 10 ms of 48 kHz mono S16LE per buffer.
/// Opus runs at 48 kHz, so the common path never resamples.
pub const RATE: u32 = 48_000;
pub const FRAME_SAMPLES: u32 = RATE / 100;

pub fn raw_caps(rate: u32, channels: u32) -> gst::Caps {
    gst::Caps::builder("audio/x-raw")
        .field("format", "S16LE")
        .field("layout", "interleaved")
        .field("rate", rate as i32)
        .field("channels", channels as i32)
        .build()
}
