//! The reader threads (`gstpc-rtp-in-N`, one per core, started with the first registration):
//! each waits on its own epoll set of sockets and, for each socket that is ready, receives one
//! datagram and pushes it on that socket's pad, on the reader's thread. Level-triggered, so a
//! socket with more datagrams queued is reported again by the next wait, after the other
//! sockets that were ready: no socket can starve the others.
//!
//! A socket is given to the readers in turn and stays on its reader (its packets are pushed in
//! the order they arrived). A registration owns a duplicate of the socket's descriptor, closed
//! when the reader no longer holds it, so a descriptor number reused elsewhere is never read.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};

use gst::prelude::*;

use crate::runtime::lock;

/// An audio RTP packet on any path we serve fits in an Ethernet MTU. A longer datagram is
/// passed on empty, so the latching check drops it and counts it with what is not RTP, rather
/// than handing on a cut packet.
const MAX_DATAGRAM: usize = 1500;

/// Where a socket's datagrams go: its source's pad, stamped with their arrival in running time
/// (as `udpsrc` stamps them; the reordering anchors its timeline there).
pub struct Target {
    pad: gst::Pad,
    clock: gst::Clock,
    base_time: gst::ClockTime,
    /// The last sender and its address object, which the next datagram from there shares
    /// (nearly all come from the latched peer): a GInetSocketAddress is two GObjects to build.
    sender: Option<(SocketAddr, gst_net::gio::InetSocketAddress)>,
}

impl Target {
    pub fn new(pad: gst::Pad, clock: gst::Clock, base_time: gst::ClockTime) -> Self {
        Self { pad, clock, base_time, sender: None }
    }

    fn sender(&mut self, from: SocketAddr) -> gst_net::gio::InetSocketAddress {
        match &self.sender {
            Some((at, address)) if *at == from => address.clone(),
            _ => {
                let address = gst_net::gio::InetSocketAddress::from(from);
                self.sender = Some((from, address.clone()));
                address
            }
        }
    }
}

struct Entry {
    fd: OwnedFd,
    /// Set by `Registration::pause`: a reader that took the entry before it left the epoll set
    /// reads nothing more from it.
    paused: AtomicBool,
    /// Held for each push: the pushes of one socket never overlap.
    target: Mutex<Option<Target>>,
}

struct Reader {
    epoll: OwnedFd,
    entries: Mutex<HashMap<u64, Arc<Entry>>>,
}

struct Readers {
    readers: Vec<Arc<Reader>>,
    next_key: AtomicU64,
    next_reader: AtomicUsize,
}

static READERS: LazyLock<Result<Readers, String>> = LazyLock::new(|| {
    let n = std::thread::available_parallelism().map_or(2, |n| n.get());
    let readers = (0..n)
        .map(|i| {
            // SAFETY: epoll_create1 returns a new descriptor or -1.
            let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
            if fd < 0 {
                return Err(format!("epoll_create1: {}", std::io::Error::last_os_error()));
            }
            // SAFETY: fd is a new descriptor that nothing else owns.
            let epoll = unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fd) };
            let reader = Arc::new(Reader { epoll, entries: Mutex::default() });
            let run = reader.clone();
            std::thread::Builder::new().name(format!("gstpc-rtp-in-{i}")).spawn(move || run.run()).map_err(|e| format!("cannot start a socket reader: {e}"))?;
            Ok(reader)
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Readers { readers, next_key: AtomicU64::new(1), next_reader: AtomicUsize::new(0) })
});

/// A socket being read. Dropping it stops the reading and waits for the push in progress, if
/// any, to return: none follows.
pub struct Registration {
    reader: Arc<Reader>,
    key: u64,
    entry: Arc<Entry>,
}

/// Read `fd` (a duplicate of the source's, owned by the registration) and push what arrives
/// to `target`.
pub fn register(fd: OwnedFd, target: Target) -> Result<Registration, String> {
    let readers = READERS.as_ref().map_err(Clone::clone)?;
    let reader = readers.readers[readers.next_reader.fetch_add(1, Ordering::Relaxed) % readers.readers.len()].clone();
    let key = readers.next_key.fetch_add(1, Ordering::Relaxed);
    let entry = Arc::new(Entry { fd, paused: AtomicBool::new(false), target: Mutex::new(Some(target)) });
    lock(&reader.entries).insert(key, entry.clone());
    let mut event = libc::epoll_event { events: libc::EPOLLIN as u32, u64: key };
    // SAFETY: both descriptors are open; event is a valid epoll_event.
    if unsafe { libc::epoll_ctl(reader.epoll.as_raw_fd(), libc::EPOLL_CTL_ADD, entry.fd.as_raw_fd(), &mut event) } != 0 {
        let err = std::io::Error::last_os_error();
        lock(&reader.entries).remove(&key);
        return Err(format!("cannot watch the socket: {err}"));
    }
    Ok(Registration { reader, key, entry })
}

impl Registration {
    /// No more datagrams are taken from now on, without waiting for the push in progress: it
    /// may be blocked downstream until the pipeline goes down further (a sink in PAUSED waits
    /// for PLAYING), which is why a source leaving PLAYING must not wait for it.
    pub fn pause(&self) {
        self.entry.paused.store(true, Ordering::Release);
        // SAFETY: both descriptors are open (the entry owns its duplicate). Removing a
        // descriptor twice fails harmlessly.
        unsafe { libc::epoll_ctl(self.reader.epoll.as_raw_fd(), libc::EPOLL_CTL_DEL, self.entry.fd.as_raw_fd(), std::ptr::null_mut()) };
        lock(&self.reader.entries).remove(&self.key);
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.pause();
        lock(&self.entry.target).take();
    }
}

impl Reader {
    fn run(&self) {
        let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 64];
        loop {
            // SAFETY: events has room for the count given.
            let n = unsafe { libc::epoll_wait(self.epoll.as_raw_fd(), events.as_mut_ptr(), events.len() as i32, -1) };
            for event in &events[..usize::try_from(n).unwrap_or(0)] {
                let key = event.u64;
                let Some(entry) = lock(&self.entries).get(&key).cloned() else { continue };
                // A panic below must not end the thread every registered socket depends on.
                let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| entry.deliver_one()));
            }
        }
    }
}

impl Entry {
    fn deliver_one(&self) {
        let mut target = lock(&self.target);
        let Some(target) = target.as_mut() else { return };
        if self.paused.load(Ordering::Acquire) {
            return;
        }
        let Some((mut buffer, from)) = receive(self.fd.as_raw_fd()) else { return };
        let arrival = target.clock.time().saturating_sub(target.base_time);
        let sender = target.sender(from);
        if let Some(b) = buffer.get_mut() {
            b.set_dts(arrival);
            b.set_pts(arrival);
            gst_net::NetAddressMeta::add(b, &sender);
        }
        // Flushing (stopping) or not linked yet: what arrives meanwhile is dropped, as udpsrc does.
        let _ = target.pad.push(buffer);
    }
}

/// One datagram from `fd` and its sender, or None when there is none or it cannot be read.
fn receive(fd: RawFd) -> Option<(gst::Buffer, SocketAddr)> {
    let mut buffer = gst::Buffer::with_size(MAX_DATAGRAM).ok()?;
    // SAFETY: all-zero is a valid sockaddr_storage.
    let mut from: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let mut from_len = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
    let b = buffer.get_mut()?;
    let n = {
        let mut map = b.map_writable().ok()?;
        // SAFETY: the map is MAX_DATAGRAM writable bytes; from/from_len describe `from`.
        // MSG_TRUNC: the datagram's whole length, even when it did not fit.
        unsafe { libc::recvfrom(fd, map.as_mut_ptr().cast(), MAX_DATAGRAM, libc::MSG_DONTWAIT | libc::MSG_TRUNC, std::ptr::from_mut(&mut from).cast(), &mut from_len) }
    };
    let n = usize::try_from(n).ok()?;
    b.set_size(if n > MAX_DATAGRAM { 0 } else { n });
    Some((buffer, socket_addr_of(&from)?))
}

pub(super) fn socket_addr_of(s: &libc::sockaddr_storage) -> Option<SocketAddr> {
    match i32::from(s.ss_family) {
        libc::AF_INET => {
            // SAFETY: the family says the storage holds a sockaddr_in.
            let a = unsafe { &*std::ptr::from_ref(s).cast::<libc::sockaddr_in>() };
            Some(SocketAddr::new(IpAddr::V4(Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr))), u16::from_be(a.sin_port)))
        }
        libc::AF_INET6 => {
            // SAFETY: the family says the storage holds a sockaddr_in6.
            let a = unsafe { &*std::ptr::from_ref(s).cast::<libc::sockaddr_in6>() };
            Some(SocketAddr::new(IpAddr::V6(Ipv6Addr::from(a.sin6_addr.s6_addr)), u16::from_be(a.sin6_port)))
        }
        _ => None,
    }
}
