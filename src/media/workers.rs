//! A few threads, shared by every connection, that push media into pipelines.
//!
//! GStreamer's appsrc gives every sender a streaming thread of its own, woken once per
//! buffer: with hundreds of connections that is hundreds of threads and as many context
//! switches every 10 ms. A producer's buffer fans out to all its senders at the same
//! moment, so a small pool takes the whole batch in a few wake-ups and runs the encoders
//! back to back. Each source keeps its own order (`PushSource`); the pool
//! only runs jobs.
//!
//! Four workers per core, not one: a worker that encodes for half the connections is the
//! busiest thread in the process, and the kernel's fair scheduler then lets it wait behind
//! the hundreds of streaming threads that wake for every packet. While it waits, every
//! source it holds goes silent, and the far ends hear a gap (a jitter buffer without
//! retransmission only notices loss when a later packet arrives). With more, lighter
//! workers a preempted one holds up one source and the others drain the rest: at 50 pairs
//! on 2 cores, audio continuity went from 96.5–99.7 % to 99.99–100 % at the same CPU
//! (bench/RESULTS.md). `GST_PC_MEDIA_WORKERS` overrides the count.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};

pub type Job = Box<dyn FnOnce() + Send>;

struct Pool {
    jobs: Mutex<Queue>,
    ready: Condvar,
    /// The workers that started, which the wake rule counts: one counted but never started
    /// would pass for busy forever, and jobs would wait for a wake-up that never comes.
    workers: AtomicUsize,
}

/// Jobs a worker awake (running, or woken and on its way) may have waiting before another is
/// woken: a producer's buffer fans out to all its senders at once, so jobs come in bursts.
const DEPTH: usize = 4;

/// The jobs waiting, how many workers wait for one, and how many of those were woken and have
/// not taken the lock yet.
///
/// A wake-up is a futex syscall for the producer and a context switch for the worker, which on
/// this kind of VM cost more than a G.711 packet's encoding, so a burst does not wake a worker
/// per job: one more is woken only while the jobs waiting exceed `DEPTH` for each worker awake.
/// A burst of 10 wakes 3 workers instead of every idle one (the woken ones counted as idle
/// until they ran, so each job of a burst woke another). Each job still waits behind at most
/// `DEPTH` others per awake worker, and a worker that is preempted holds up only its current
/// job: the next burst wakes others past it.
#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    idle: usize,
    waking: usize,
}

impl Queue {
    /// Whether the job just queued should wake a worker, counting it as woken if so.
    fn wake_one(&mut self, workers: usize) -> bool {
        let awake = workers.saturating_sub(self.idle) + self.waking;
        let wake = self.idle > self.waking && self.jobs.len() > awake * DEPTH;
        if wake {
            self.waking += 1;
        }
        wake
    }
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<&'static Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = worker_count(std::env::var("GST_PC_MEDIA_WORKERS").ok().as_deref(), std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2));
        let pool: &'static Pool = Box::leak(Box::new(Pool { jobs: Mutex::new(Queue::default()), ready: Condvar::new(), workers: AtomicUsize::new(0) }));
        for i in 0..threads {
            match std::thread::Builder::new().name(format!("gstpc-media-{i}")).spawn(move || work(pool)) {
                // Final before any job is queued: `spawn` gets the pool once this is done.
                Ok(_) => pool.workers.fetch_add(1, Ordering::AcqRel),
                Err(e) => {
                    gst::warning!(crate::log::CAT, "cannot start media worker thread: {e}");
                    0
                }
            };
        }
        if pool.workers.load(Ordering::Acquire) == 0 {
            gst::error!(crate::log::CAT, "no media worker thread started: media jobs run on the threads that make them");
        }
        pool
    })
}

/// Workers for `cores`: four per core, at most 32; `GST_PC_MEDIA_WORKERS` (1–256) wins.
fn worker_count(configured: Option<&str>, cores: usize) -> usize {
    match configured.and_then(|v| v.trim().parse::<usize>().ok()) {
        Some(n) if (1..=256).contains(&n) => n,
        _ => (4 * cores).clamp(4, 32),
    }
}

fn work(pool: &'static Pool) {
    loop {
        let job = {
            let Ok(mut queue) = pool.jobs.lock() else { return };
            loop {
                if let Some(job) = queue.jobs.pop_front() {
                    break job;
                }
                queue.idle += 1;
                queue = match pool.ready.wait(queue) {
                    Ok(q) => q,
                    Err(_) => return,
                };
                queue.idle -= 1;
                // (A spurious wake-up finds `waking` at 0.)
                queue.waking = queue.waking.saturating_sub(1);
            }
        };
        run(job);
    }
}

/// A panicking job must not take the worker (and every connection it serves) down.
fn run(job: Job) {
    if catch_unwind(AssertUnwindSafe(job)).is_err() {
        gst::warning!(crate::log::CAT, "a media job panicked");
    }
}

/// Run `job` on a media worker.
pub fn spawn(job: Job) {
    let pool = pool();
    let workers = pool.workers.load(Ordering::Acquire);
    if workers == 0 {
        // Late rather than never: the thread that makes a job runs it.
        run(job);
        return;
    }
    let wake = match pool.jobs.lock() {
        Ok(mut queue) => {
            queue.jobs.push_back(job);
            queue.wake_one(workers)
        }
        Err(_) => return,
    };
    if wake {
        pool.ready.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn four_workers_per_core_unless_configured() {
        assert_eq!(worker_count(None, 2), 8);
        assert_eq!(worker_count(None, 1), 4);
        assert_eq!(worker_count(None, 64), 32);
        assert_eq!(worker_count(Some("3"), 2), 3);
        assert_eq!(worker_count(Some("0"), 2), 8);
        assert_eq!(worker_count(Some("lots"), 2), 8);
    }

    #[test]
    fn a_burst_wakes_one_worker_per_depth_of_jobs_waiting() {
        let mut q = Queue { idle: 8, ..Queue::default() };
        let mut woken = 0;
        for _ in 0..10 {
            q.jobs.push_back(Box::new(|| ()));
            woken += usize::from(q.wake_one(8));
        }
        assert_eq!(woken, 3);
        // A worker busy with a job counts as awake too.
        let mut q = Queue { idle: 7, ..Queue::default() };
        q.jobs.push_back(Box::new(|| ()));
        assert!(!q.wake_one(8));
        // Never more woken than are idle: one idle of two, the other busy.
        let mut q = Queue { idle: 1, ..Queue::default() };
        let woken: usize = (0..40)
            .map(|_| {
                q.jobs.push_back(Box::new(|| ()));
                usize::from(q.wake_one(2))
            })
            .sum();
        assert_eq!(woken, 1);
    }

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
