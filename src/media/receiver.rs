//! The receive chain started when webrtcbin exposes a decrypted RTP pad:
//! depayloader → decoder (with packet-loss concealment) → 48 kHz mono → the receiver track;
//! or, for a pad nothing decodes (telephone-events, an unknown codec), a draining probe.

use std::sync::Arc;

use gst::prelude::*;

use super::codec::by_encoding_name;
use super::playout::{PlayoutRamp, RealTimeClamp};
use super::rtp_header::RtpHeader;
use super::track::TrackCore;
use super::{raw_caps, RATE};

/// When a receive stream's decoded audio reaches its track.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Playout {
    /// At its time plus the pipeline's latency (webrtcbin's rtpjitterbuffer, whose latency is a
    /// playout delay only at a sink synced to the clock): a steady pace against jitter.
    Delayed,
    /// As soon as it is in order (`media::reorder` in front): no sink thread waits on the
    /// clock, and the track's consumers absorb the jitter.
    OnArrival,
}

pub fn link_decoder(pipeline: &gst::Pipeline, pad: &gst::Pad, track: Arc<TrackCore>, playout: Playout) -> Result<(), String> {
    let caps = pad.current_caps().or_else(|| Some(pad.query_caps(None))).ok_or("pad without caps")?;
    let s = caps.structure(0).ok_or("empty caps")?;
    let name = s.get::<&str>("encoding-name").map_err(|_| "caps without encoding-name")?;
    let codec = by_encoding_name(name).ok_or_else(|| format!("no decoder for {name}"))?;
    let delayed = playout == Playout::Delayed;
    // Delayed: synchronised to the clock, since rtpjitterbuffer forwards in-order packets at
    // once and its `latency` only becomes a playout delay (absorbing network jitter) at a
    // syncing sink.
    // Not async: a sink that prerolls makes the playing pipeline lose its state for a moment,
    // and an element added in that moment (the next pad's chain) can miss going to PLAYING.
    let sink = gst_app::AppSink::builder().caps(&raw_caps(RATE, 1)).sync(delayed).async_(false).build();
    // The encoded tap's place (`tap_rtp`): before webrtcbin's jitter buffer; on arrival, no
    // jitter buffer holds packets back, and the depayloader is as early.
    let jitterbuffer = if delayed { crate::workarounds::jitter_buffer::serving(pad) } else { None };
    // The whole playout delay (the pinned pipeline latency: jitter buffer + headroom) is
    // ramped: a late buffer is played at once, never dropped, so starting at no delay at all
    // costs nothing.
    let ramp = pipeline.latency().filter(|_| delayed).and_then(|l| PlayoutRamp::start(sink.upcast_ref(), l));
    // webrtcbin's other streams go on when this receiver's track is gone: no EOS from here.
    super::track_io::feed_track(&sink, &track, ramp.map(Arc::new), Ok(gst::FlowSuccess::Ok));
    let mut elements = codec.decode_chain()?;
    elements.push(sink.upcast());
    pipeline.add_many(&elements).map_err(|e| e.to_string())?;
    gst::Element::link_many(&elements).map_err(|e| e.to_string())?;
    for e in &elements {
        e.sync_state_with_parent().map_err(|e| e.to_string())?;
    }
    let sinkpad = elements[0].static_pad("sink").ok_or("depayloader without sink pad")?;
    // elements: depayloader, decoder, …: the decoder's output may not run ahead of its
    // timestamps (a lying payload, concealment longer than the gap: `RealTimeClamp`).
    RealTimeClamp::install(&elements[1].static_pad("src").ok_or("decoder without src pad")?, &sinkpad);
    track.set_rtp_caps(caps.clone());
    tap_rtp(jitterbuffer.as_ref(), &sinkpad, s.get::<i32>("payload").ok(), &track);
    pad.link(&sinkpad).map_err(|e| format!("cannot link webrtcbin pad: {e:?}"))?;
    if !delayed {
        return Ok(());
    }
    // A non-async sink joins without the pipeline redistributing latency (that happens on
    // async-done), so the new sink would play at latency 0: give it the pinned latency.
    // Not on this streaming thread: the latency query walks the whole pipeline.
    pipeline.call_async(|p| {
        // It fails, harmlessly, when the connection is closing meanwhile (its sinks are
        // leaving PLAYING): only a steadily playing pipeline that refuses it is worth a word.
        if p.recalculate_latency().is_err() && p.current_state() == gst::State::Playing && p.pending_state() == gst::State::VoidPending {
            gst::warning!(crate::log::CAT, "cannot configure the playout latency of a new stream");
        }
    });
    Ok(())
}

/// The encoded tap (RtpForwarder passthrough): the stream's packets as they reach its jitter
/// buffer, in arrival order, for a relay whose far end has a jitter buffer of its own.
///
/// Not after the jitter buffer: its thread pushes each packet on through the decoder into a
/// sink that waits for the packet's playout time, and only then takes the next one, so a tap
/// there saw every packet most of a playout delay late (the bridge's WebRTC → RTP leg paid
/// it). The jitter buffer's sink pad carries every payload type of the SSRC (telephone-events
/// too): only `pt` passes. A stream played on arrival (`Playout::OnArrival`: packets leave
/// `media::reorder` as they come, in order) is tapped at `depay_sink`, as is one whose walk to
/// the jitter buffer fails (another GStreamer layout).
fn tap_rtp(jitterbuffer: Option<&gst::Element>, depay_sink: &gst::Pad, pt: Option<i32>, track: &Arc<TrackCore>) {
    // The probe sees every packet of every receiver; only a track with an RTP consumer (a
    // passthrough forwarder, rare) is worth mapping and parsing them for.
    let weak = Arc::downgrade(track);
    let listening = move || weak.upgrade().filter(|t| t.has_rtp_consumers());
    let jb_sink = jitterbuffer.and_then(|jb| jb.static_pad("sink"));
    match (jb_sink, pt) {
        (Some(jb_sink), Some(pt)) => {
            let ours = move |buffer: &gst::BufferRef| {
                buffer.map_readable().ok().and_then(|m| RtpHeader::parse(&m)).is_some_and(|h| i32::from(h.payload_type) == pt)
            };
            jb_sink.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST, move |_, info| {
                let Some(track) = listening() else { return gst::PadProbeReturn::Ok };
                match &info.data {
                    Some(gst::PadProbeData::Buffer(b)) if ours(b) => track.push_rtp(b),
                    Some(gst::PadProbeData::BufferList(list)) => {
                        list.iter_owned().filter(|b| ours(b)).for_each(|b| track.push_rtp(&b));
                    }
                    _ => {}
                }
                gst::PadProbeReturn::Ok
            });
        }
        _ => {
            depay_sink.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let (Some(track), Some(gst::PadProbeData::Buffer(buffer))) = (listening(), &info.data) {
                    track.push_rtp(buffer);
                }
                gst::PadProbeReturn::Ok
            });
        }
    }
}

/// Consume everything leaving `pad` in a probe, with no element behind it.
///
/// Why not a fakesink: an element added while the pipeline is between states (a new
/// decoder's sink prerolling makes it lose state for a moment) can miss the move to
/// PLAYING and then blocks the streaming thread in preroll forever — with webrtcbin that
/// is the jitter buffer's thread, so the whole incoming stream stopped. A dropped buffer
/// returns OK upstream, as a sink's would.
///
/// Events are *handled*, not dropped: gstreamer-rs hands a probe the event and leaves the
/// probe info empty, and GStreamer 1.22's event path unrefs that empty slot after a drop
/// (`gst_mini_object_unref: assertion 'mini_object != NULL'`); a dropped sticky event also
/// stays pending, so it was pushed — and failed — again before every buffer (≈ 400
/// criticals in a few seconds of telephone-events). A handled sticky event counts as
/// received, as a sink's would.
pub fn drain(pad: &gst::Pad, on_buffer: impl Fn(&gst::BufferRef) + Send + Sync + 'static) {
    pad.add_probe(gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST | gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        match &info.data {
            Some(gst::PadProbeData::Buffer(buffer)) => on_buffer(buffer),
            Some(gst::PadProbeData::BufferList(list)) => list.iter().for_each(&on_buffer),
            Some(gst::PadProbeData::Event(_)) => return gst::PadProbeReturn::Handled,
            _ => {}
        }
        gst::PadProbeReturn::Drop
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;

    #[test]
    fn drain_consumes_a_stream_without_criticals_or_repushed_events() {
        gst::init().unwrap();
        let criticals = Arc::new(AtomicUsize::new(0));
        let c = criticals.clone();
        let handler = gst::glib::log_set_handler(Some("GStreamer"), gst::glib::LogLevels::LEVEL_CRITICAL, false, false, move |_, _, _| {
            c.fetch_add(1, Ordering::SeqCst);
        });
        let pad = gst::Pad::builder(gst::PadDirection::Src).name("drained").build();
        pad.set_active(true).unwrap();
        // Counts the events pushed (probes run in the order added): each sticky one once.
        let events = Arc::new(AtomicUsize::new(0));
        let e = events.clone();
        pad.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, _| {
            e.fetch_add(1, Ordering::SeqCst);
            gst::PadProbeReturn::Ok
        });
        let buffers = Arc::new(AtomicUsize::new(0));
        let b = buffers.clone();
        drain(&pad, move |_| {
            b.fetch_add(1, Ordering::SeqCst);
        });
        assert!(pad.push_event(gst::event::StreamStart::new("s")));
        assert!(pad.push_event(gst::event::Caps::new(&gst::Caps::builder("application/x-rtp").build())));
        assert!(pad.push_event(gst::event::Segment::new(&gst::FormattedSegment::<gst::ClockTime>::new())));
        for _ in 0..5 {
            assert_eq!(pad.push(gst::Buffer::with_size(12).unwrap()), Ok(gst::FlowSuccess::Ok));
        }
        gst::glib::log_remove_handler(Some("GStreamer"), handler);
        assert_eq!(buffers.load(Ordering::SeqCst), 5);
        assert_eq!(criticals.load(Ordering::SeqCst), 0, "GStreamer criticals");
        assert_eq!(events.load(Ordering::SeqCst), 3, "sticky events pushed again");
    }
}
