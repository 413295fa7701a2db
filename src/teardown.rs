//! Pipeline teardown off the caller's thread.
//!
//! Setting a pipeline to NULL is not bounded by anything the caller controls: it joins every
//! streaming thread and runs each element's state change, and what that costs depends on
//! what the remote side has sent. Measured (issue 14, fuzz stall-7345e92796): after 400
//! batches of `ice-spray` datagrams, `close()` took 4.7 and 5.5 s on Node's main thread (and
//! a worker hung > 20 s at the same point), in srtpdec's state change: `srtp_dealloc` freeing
//! one libsrtp stream (NSS cipher contexts, NSS_ShutdownContext) per SSRC a third party had
//! sent, since srtpdec creates the stream before it authenticates the packet
//! (`validate_buffer`, gstsrtpdec.c); gdb found Node's thread there in both stalled workers. A W3C
//! close() returns at once; so does ours: the connection is closed as far as JS can see and
//! the pipeline goes to NULL here, on one thread shared by all connections.
//!
//! One thread, teardowns in the order of the closes: Node never waits for one, they wait for
//! each other (a slow one delays the release of the next connection's sockets, not JS). At
//! process exit (`exit()`, which `process.exit()` and a natural end both call),
//! an atexit handler waits until the queue is empty, so that no pipeline is still being
//! torn down while the libraries it uses run their own atexit cleanup (OpenSSL's): the time
//! close() no longer takes on the event loop is spent at exit instead, no more.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};

type Job = Box<dyn FnOnce() + Send>;

struct Queue {
    /// Jobs not started yet, and whether one is running.
    state: Mutex<(VecDeque<Job>, bool)>,
    /// Signalled when a job is queued, and when the queue becomes empty and idle.
    changed: Condvar,
}

fn lock(q: &Queue) -> MutexGuard<'_, (VecDeque<Job>, bool)> {
    // A job runs outside the lock and under catch_unwind: a poisoned lock is still consistent.
    q.state.lock().unwrap_or_else(|e| e.into_inner())
}

fn queue() -> Option<&'static Queue> {
    static QUEUE: OnceLock<Option<&'static Queue>> = OnceLock::new();
    *QUEUE.get_or_init(|| {
        let q: &'static Queue = Box::leak(Box::new(Queue { state: Mutex::new((VecDeque::new(), false)), changed: Condvar::new() }));
        let spawned = std::thread::Builder::new().name("gstpc-teardown".into()).spawn(move || work(q));
        match spawned {
            Ok(_) => {
                // SAFETY: registers a plain extern "C" function, called once at exit.
                unsafe {
                    libc::atexit(drain_at_exit);
                }
                Some(q)
            }
            Err(e) => {
                eprintln!("gst-peerconnection: cannot start the teardown thread ({e}); closing synchronously");
                None
            }
        }
    })
}

fn work(q: &'static Queue) {
    loop {
        let job = {
            let mut st = lock(q);
            loop {
                if let Some(job) = st.0.pop_front() {
                    st.1 = true;
                    break job;
                }
                if st.1 {
                    st.1 = false;
                    q.changed.notify_all();
                }
                st = q.changed.wait(st).unwrap_or_else(|e| e.into_inner());
            }
        };
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            eprintln!("gst-peerconnection: a pipeline teardown panicked");
        }
    }
}

/// Runs `job` on the teardown thread (on this thread if that thread could not be started).
/// Jobs run one at a time, in the order submitted.
pub fn submit(job: impl FnOnce() + Send + 'static) {
    match queue() {
        Some(q) => {
            lock(q).0.push_back(Box::new(job));
            q.changed.notify_all();
        }
        None => job(),
    }
}

/// Blocks until every job submitted so far has run.
pub fn wait_idle() {
    let Some(q) = queue() else { return };
    let mut st = lock(q);
    while !st.0.is_empty() || st.1 {
        st = q.changed.wait(st).unwrap_or_else(|e| e.into_inner());
    }
}

extern "C" fn drain_at_exit() {
    wait_idle();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    #[test]
    fn submit_returns_at_once_and_jobs_run_in_order() {
        let order = Arc::new(Mutex::new(Vec::new()));
        let ran = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        for i in 0..3 {
            let (order, ran) = (order.clone(), ran.clone());
            submit(move || {
                std::thread::sleep(Duration::from_millis(100));
                order.lock().unwrap().push(i);
                ran.fetch_add(1, Ordering::SeqCst);
            });
        }
        // Three 100 ms jobs queued; none ran on this thread.
        assert!(t0.elapsed() < Duration::from_millis(100), "submit waited: {:?}", t0.elapsed());
        wait_idle();
        assert_eq!(ran.load(Ordering::SeqCst), 3);
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2]);
    }

    #[test]
    fn a_panicking_job_does_not_stop_the_thread() {
        submit(|| panic!("boom"));
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        submit(move || {
            r.fetch_add(1, Ordering::SeqCst);
        });
        wait_idle();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
