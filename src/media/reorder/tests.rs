use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gst::prelude::*;

type Seen = Arc<Mutex<Vec<(u16, u64, bool, Instant)>>>;

fn packet(seq: u16, at: gst::ClockTime) -> gst::Buffer {
    let mut data = vec![0u8; 12 + 160];
    data[0] = 0x80;
    data[2..4].copy_from_slice(&seq.to_be_bytes());
    data[4..8].copy_from_slice(&(u32::from(seq) * 160).to_be_bytes());
    data[8..12].copy_from_slice(&0x1234_5678u32.to_be_bytes());
    let mut buffer = gst::Buffer::from_mut_slice(data);
    buffer.get_mut().unwrap().set_dts(at);
    buffer
}

/// appsrc → gstpc-rtpreorder (40 ms wait) → an unsynced appsink recording what leaves, when.
fn chain() -> (gst::Pipeline, gst_app::AppSrc, Seen) {
    gst::init().unwrap();
    super::register().unwrap();
    let pipeline = gst::Pipeline::new();
    let caps = gst::Caps::builder("application/x-rtp").field("media", "audio").field("clock-rate", 8000i32).field("payload", 0i32).build();
    let src = gst_app::AppSrc::builder().caps(&caps).is_live(true).format(gst::Format::Time).build();
    let reorder = gst::ElementFactory::make(super::NAME).property("latency", 40u32).build().unwrap();
    let sink = gst_app::AppSink::builder().sync(false).build();
    pipeline.add_many([src.upcast_ref(), &reorder, sink.upcast_ref()]).unwrap();
    gst::Element::link_many([src.upcast_ref(), &reorder, sink.upcast_ref()]).unwrap();
    let seen: Seen = Arc::default();
    let out = seen.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let b = sample.buffer().unwrap();
                let seq = u16::from_be_bytes(b.map_readable().unwrap()[2..4].try_into().unwrap());
                out.lock().unwrap().push((seq, b.pts().unwrap().mseconds(), b.flags().contains(gst::BufferFlags::DISCONT), Instant::now()));
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    pipeline.set_state(gst::State::Playing).unwrap();
    (pipeline, src, seen)
}

fn now(pipeline: &gst::Pipeline) -> gst::ClockTime {
    pipeline.current_running_time().unwrap_or(gst::ClockTime::ZERO)
}

#[test]
fn packets_leave_in_order_on_the_pushing_thread_and_a_gap_is_given_up_on_the_clock_after_the_wait() {
    let (pipeline, src, seen) = chain();
    std::thread::sleep(Duration::from_millis(100));
    let t0 = now(&pipeline);
    let ms = gst::ClockTime::from_mseconds;
    for (seq, at) in [(1u16, 0u64), (3, 40), (4, 60), (2, 65)] {
        src.push_buffer(packet(seq, t0 + ms(at))).unwrap();
    }
    // Nothing is waited for once the run is whole: all four are out by now.
    let deadline = Instant::now() + Duration::from_secs(2);
    while seen.lock().unwrap().len() < 4 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    {
        let seen = seen.lock().unwrap();
        let order: Vec<(u16, u64, bool)> = seen.iter().map(|&(s, p, d, _)| (s, p - t0.mseconds(), d)).collect();
        assert_eq!(order, vec![(1, 0, true), (2, 20, false), (3, 40, false), (4, 60, false)]);
    }
    // Packet 5 never comes: 6 waits the 40 ms, then leaves from the clock's thread.
    let pushed = Instant::now();
    src.push_buffer(packet(6, now(&pipeline))).unwrap();
    while seen.lock().unwrap().len() < 5 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    let (seq, _, discont, at) = *seen.lock().unwrap().last().unwrap();
    assert_eq!((seq, discont), (6, true));
    let waited = at.duration_since(pushed);
    assert!(waited >= Duration::from_millis(35) && waited < Duration::from_millis(200), "6 left after {waited:?}");
    // 5 is late now, and dropped; 7 follows at once.
    src.push_buffer(packet(5, now(&pipeline))).unwrap();
    src.push_buffer(packet(7, now(&pipeline))).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    let seqs: Vec<u16> = seen.lock().unwrap().iter().map(|s| s.0).collect();
    assert_eq!(seqs, vec![1, 2, 3, 4, 6, 7]);
    pipeline.set_state(gst::State::Null).unwrap();
}

#[test]
fn a_held_packet_leaves_at_the_end_of_the_stream_and_stopping_cancels_the_deadline() {
    let (pipeline, src, seen) = chain();
    std::thread::sleep(Duration::from_millis(50));
    let t0 = now(&pipeline);
    src.push_buffer(packet(1, t0)).unwrap();
    src.push_buffer(packet(3, t0)).unwrap();
    src.end_of_stream().unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(seen.lock().unwrap().iter().map(|s| s.0).collect::<Vec<_>>(), vec![1, 3]);
    // A gap open while the pipeline stops: its deadline goes with it.
    let (pipeline2, src2, seen2) = chain();
    std::thread::sleep(Duration::from_millis(50));
    let t = now(&pipeline2);
    src2.push_buffer(packet(1, t)).unwrap();
    src2.push_buffer(packet(3, t)).unwrap();
    // (appsrc pushes from its own thread.)
    let deadline = Instant::now() + Duration::from_secs(2);
    while seen2.lock().unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    pipeline2.set_state(gst::State::Null).unwrap();
    std::thread::sleep(Duration::from_millis(80));
    assert_eq!(seen2.lock().unwrap().len(), 1);
    pipeline.set_state(gst::State::Null).unwrap();
}
