//! A few threads, shared by every connection, that push media into pipelines.
//!
//! GStreamer's appsrc gives every sender a streaming thread of its own, woken once per
//! buffer: with hundreds of connections that is hundreds of threads and as many context
//! switches every 10 ms. A producer's buffer fans out to all its senders at the same
//! moment, so a pool of one thread per core takes the whole batch in one wake-up and runs
//! the encoders back to back. Each source keeps its own order (`PushSource`); the pool
//! only runs jobs.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Condvar, Mutex, OnceLock};

pub type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    jobs: Mutex<VecDeque<Job>>,
    ready: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let pool: &'static Pool = Box::leak(Box::new(Pool { jobs: Mutex::new(VecDeque::new()), ready: Condvar::new() }));
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2).clamp(1, 4);
        for i in 0..threads {
            let spawned = std::thread::Builder::new().name(format!("gstpc-media-{i}")).spawn(move || work(pool));
            if let Err(e) = spawned {
                eprintln!("gst-peerconnection: cannot start media worker thread: {e}");
            }
        }
        pool
    })
}

fn work(pool: &'static Pool) {
    loop {
        let job = {
            let Ok(mut jobs) = pool.jobs.lock() else { return };
            loop {
                if let Some(job) = jobs.pop_front() {
                    break job;
                }
                jobs = match pool.ready.wait(jobs) {
                    Ok(j) => j,
                    Err(_) => return,
                };
            }
        };
        // A panicking job must not take the worker (and every connection it serves) down.
        if catch_unwind(AssertUnwindSafe(job)).is_err() {
            eprintln!("gst-peerconnection: a media job panicked");
        }
    }
}

/// Run `job` on a media worker.
pub fn spawn(job: Job) {
    let pool = pool();
    if let Ok(mut jobs) = pool.jobs.lock() {
        jobs.push_back(job);
    }
    pool.ready.notify_one();
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn jobs_run_and_a_panic_does_not_stop_the_pool() {
        let (tx, rx) = mpsc::channel();
        spawn(Box::new(|| panic!("boom")));
        for i in 0..100 {
            let tx = tx.clone();
            spawn(Box::new(move || tx.send(i).unwrap()));
        }
        let mut got: Vec<i32> = (0..100).map(|_| rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap()).collect();
        got.sort();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    }
}
