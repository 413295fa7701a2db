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
//! the pipeline goes to NULL here, on a thread of its own.
//!
//! A thread per teardown, not a shared queue: a pipeline that never reaches NULL (a deadlock
//! inside webrtcbin 1.22 after hostile input, say) then keeps its own resources, not those of
//! every connection closed after it. At process exit (`exit()`, which `process.exit()` and a
//! natural end both call), an atexit handler waits until every teardown has finished, so that
//! no pipeline is still being torn down while the libraries it uses run their own atexit
//! cleanup (OpenSSL's): the time close() no longer takes on the event loop is spent at exit
//! instead, no more. (A teardown that never finishes, which would have hung close() and
//! with it Node for good, holds up the exit instead.)

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, Once};

type Job = Box<dyn FnOnce() + Send>;

/// Teardowns started and not finished yet.
static RUNNING: Mutex<usize> = Mutex::new(0);
static FINISHED: Condvar = Condvar::new();

fn running() -> MutexGuard<'static, usize> {
    // Jobs run outside the lock and under catch_unwind: a poisoned count is still right.
    RUNNING.lock().unwrap_or_else(|e| e.into_inner())
}

fn run(job: Job) {
    if catch_unwind(AssertUnwindSafe(job)).is_err() {
        gst::warning!(crate::log::CAT, "a pipeline teardown panicked");
    }
    *running() -= 1;
    FINISHED.notify_all();
}

/// Runs `job` on a thread of its own (on this thread if none can be started) and returns.
pub fn submit(job: impl FnOnce() + Send + 'static) {
    static AT_EXIT: Once = Once::new();
    AT_EXIT.call_once(|| {
        // SAFETY: registers a plain extern "C" function, called once at exit.
        unsafe {
            libc::atexit(drain_at_exit);
        }
    });
    *running() += 1;
    // Kept here too: a failed spawn drops the closure it was given, and the job must still run.
    let slot: Arc<Mutex<Option<Job>>> = Arc::new(Mutex::new(Some(Box::new(job))));
    let theirs = slot.clone();
    let spawned = std::thread::Builder::new().name("gstpc-teardown".into()).spawn(move || {
        if let Some(job) = theirs.lock().ok().and_then(|mut j| j.take()) {
            run(job);
        }
    });
    if let Err(e) = spawned {
        gst::warning!(crate::log::CAT, "cannot start a teardown thread ({e}); tearing down on this one");
        match slot.lock().ok().and_then(|mut j| j.take()) {
            Some(job) => run(job),
            None => {
                *running() -= 1;
                FINISHED.notify_all();
            }
        }
    }
}

/// Blocks until every teardown submitted so far has finished.
pub fn wait_idle() {
    let mut n = running();
    while *n > 0 {
        n = FINISHED.wait(n).unwrap_or_else(|e| e.into_inner());
    }
}

extern "C" fn drain_at_exit() {
    wait_idle();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    #[test]
    fn submit_returns_at_once_and_every_job_runs() {
        let ran = Arc::new(AtomicUsize::new(0));
        let t0 = Instant::now();
        for _ in 0..3 {
            let ran = ran.clone();
            submit(move || {
                std::thread::sleep(Duration::from_millis(100));
                ran.fetch_add(1, Ordering::SeqCst);
            });
        }
        // Three 100 ms jobs submitted; none ran on this thread.
        assert!(t0.elapsed() < Duration::from_millis(100), "submit waited: {:?}", t0.elapsed());
        wait_idle();
        assert_eq!(ran.load(Ordering::SeqCst), 3);
    }

    #[test]
    fn a_stuck_teardown_does_not_hold_up_the_next() {
        let (release, stuck) = mpsc::channel::<()>();
        submit(move || {
            let _ = stuck.recv();
        });
        let (done, finished) = mpsc::channel();
        submit(move || done.send(()).unwrap());
        // The second finishes while the first still waits (it would never run behind it).
        assert!(finished.recv_timeout(Duration::from_secs(10)).is_ok());
        release.send(()).unwrap();
        wait_idle();
    }

    #[test]
    fn a_panicking_job_is_counted_as_finished() {
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
