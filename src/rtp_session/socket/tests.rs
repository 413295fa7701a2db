use std::net::{SocketAddr, UdpSocket};
use std::sync::mpsc;
use std::time::Duration;

use gst::prelude::*;

use super::readers::socket_addr_of;

/// A bound socket read by gstpc-socketsrc into an appsink; what arrives goes to the channel as
/// (payload, sender, pts, the reading thread's name).
fn reading(address: &str) -> (gst::Pipeline, SocketAddr, mpsc::Receiver<(Vec<u8>, SocketAddr, Option<gst::ClockTime>, String)>) {
    gst::init().unwrap();
    super::register().unwrap();
    let bound = UdpSocket::bind(address).unwrap();
    let at = bound.local_addr().unwrap();
    let socket = gst_net::gio::Socket::from_fd(bound.into()).unwrap();
    let src = gst::ElementFactory::make(super::NAME).property("socket", &socket).property("caps", gst::Caps::new_empty_simple("application/x-rtp")).build().unwrap();
    let sink = gst_app::AppSink::builder().sync(false).build();
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let caps = sample.caps().map(|c| c.structure(0).unwrap().name().to_string());
                assert_eq!(caps.as_deref(), Some("application/x-rtp"));
                let b = sample.buffer().unwrap();
                let from = super::super::transport::source_of(b).unwrap();
                let name = std::thread::current().name().unwrap_or("").to_owned();
                let _ = tx.lock().unwrap().send((b.map_readable().unwrap().to_vec(), from, b.pts(), name));
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let pipeline = gst::Pipeline::new();
    pipeline.add_many([&src, sink.upcast_ref()]).unwrap();
    src.link(&sink).unwrap();
    pipeline.set_state(gst::State::Playing).unwrap();
    (pipeline, at, rx)
}

#[test]
fn datagrams_reach_the_pad_in_order_with_their_sender_and_arrival_on_a_reader_thread() {
    for address in ["127.0.0.1:0", "[::1]:0"] {
        let (pipeline, at, rx) = reading(address);
        let peer = UdpSocket::bind(SocketAddr::new(at.ip(), 0)).unwrap();
        let other = UdpSocket::bind(SocketAddr::new(at.ip(), 0)).unwrap();
        for n in 0..5u8 {
            let from = if n == 3 { &other } else { &peer };
            from.send_to(&[0x80, n, 1, 2], at).unwrap();
        }
        let mut last_pts = gst::ClockTime::ZERO;
        for n in 0..5u8 {
            let (data, from, pts, thread) = rx.recv_timeout(Duration::from_secs(2)).unwrap();
            assert_eq!(data, [0x80, n, 1, 2]);
            let sender = if n == 3 { &other } else { &peer };
            assert_eq!(from, sender.local_addr().unwrap(), "datagram {n} from {address}");
            let pts = pts.unwrap();
            assert!(pts >= last_pts);
            last_pts = pts;
            assert!(thread.starts_with("gstpc-rtp-in-"), "{thread}");
        }
        pipeline.set_state(gst::State::Null).unwrap();
    }
}

#[test]
fn a_datagram_longer_than_an_audio_packet_arrives_empty_and_the_next_one_whole() {
    let (pipeline, at, rx) = reading("127.0.0.1:0");
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.send_to(&[0x80; 3000], at).unwrap();
    peer.send_to(&[0x80; 1500], at).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(2)).unwrap().0.len(), 0);
    assert_eq!(rx.recv_timeout(Duration::from_secs(2)).unwrap().0, [0x80; 1500]);
    pipeline.set_state(gst::State::Null).unwrap();
}

/// Reading, then `stopped` (NULL or PAUSED): nothing is read, and PLAYING again reads
/// on from the datagram that waited in the socket meanwhile.
fn held_while(stopped: gst::State) {
    let (pipeline, at, rx) = reading("127.0.0.1:0");
    let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.send_to(b"\x80one", at).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(2)).unwrap().0, b"\x80one");
    pipeline.set_state(stopped).unwrap();
    peer.send_to(b"\x80two", at).unwrap();
    assert!(rx.recv_timeout(Duration::from_millis(200)).is_err(), "read while {stopped:?}");
    pipeline.set_state(gst::State::Playing).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(2)).unwrap().0, b"\x80two");
    peer.send_to(b"\x80three", at).unwrap();
    assert_eq!(rx.recv_timeout(Duration::from_secs(2)).unwrap().0, b"\x80three");
    pipeline.set_state(gst::State::Null).unwrap();
}

#[test]
fn nothing_is_read_while_stopped_and_reading_resumes_when_playing_again() {
    held_while(gst::State::Null);
}

#[test]
fn paused_reads_nothing_and_playing_again_reads_on() {
    held_while(gst::State::Paused);
}

#[test]
fn without_a_socket_the_element_does_not_start() {
    gst::init().unwrap();
    super::register().unwrap();
    let pipeline = gst::Pipeline::new();
    let src = gst::ElementFactory::make(super::NAME).build().unwrap();
    let sink = gst::ElementFactory::make("fakesink").build().unwrap();
    pipeline.add_many([&src, &sink]).unwrap();
    src.link(&sink).unwrap();
    assert!(pipeline.set_state(gst::State::Playing).is_err());
    pipeline.set_state(gst::State::Null).unwrap();
}

#[test]
fn socket_addresses_convert_both_families() {
    for addr in ["192.0.2.7:5004", "[2001:db8::1]:40000"] {
        let addr: SocketAddr = addr.parse().unwrap();
        let storage = storage_of(addr);
        assert_eq!(socket_addr_of(&storage), Some(addr));
    }
}

/// `addr` as the kernel fills a sockaddr_storage.
fn storage_of(addr: SocketAddr) -> libc::sockaddr_storage {
    // SAFETY: all-zero is a valid sockaddr_storage, and each arm writes the variant its family names.
    let mut s: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    match addr {
        SocketAddr::V4(a) => {
            let sin = unsafe { &mut *std::ptr::from_mut(&mut s).cast::<libc::sockaddr_in>() };
            sin.sin_family = libc::AF_INET as libc::sa_family_t;
            sin.sin_port = a.port().to_be();
            sin.sin_addr.s_addr = u32::from(*a.ip()).to_be();
        }
        SocketAddr::V6(a) => {
            let sin6 = unsafe { &mut *std::ptr::from_mut(&mut s).cast::<libc::sockaddr_in6>() };
            sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
            sin6.sin6_port = a.port().to_be();
            sin6.sin6_addr.s6_addr = a.ip().octets();
        }
    }
    s
}
