//! A periodic callback on GStreamer's SystemClock (monotonic), for the native producers that
//! emit one frame per period (mixer, player, multi-track recorder).
//!
//! Every entry of every ticker runs on GStreamer's single clock thread: no thread per
//! producer. GstSystemClock re-arms a periodic entry at `previous + interval`, so a late tick
//! is caught up and a 10 ms ticker fires exactly 100 times per second on average.
//!
//! The tick runs with the ticker's lock held, so "nothing left to do → stop ticking" (the tick
//! returning false) and "new work → `ensure`" cannot interleave into work with no ticker. A
//! tick must therefore never call `ensure` or `stop` on its own ticker. What the tick closure
//! holds may be dropped on the clock thread when the ticker stops: nothing reachable from it
//! may schedule clock entries in its Drop.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Entry {
    /// Bumped at each start, to tell a stale callback of an unscheduled entry apart.
    generation: u64,
    id: Option<gst::PeriodicClockId>,
}

impl Drop for Entry {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            id.unschedule();
        }
    }
}

#[derive(Default)]
pub struct Ticker {
    entry: Arc<Mutex<Entry>>,
}

impl Ticker {
    /// Start calling `tick` every `interval` (first call one interval from now), unless the
    /// ticker is running. `tick` returns whether to go on. The clock entry holds `tick` (and
    /// what it captures) until the ticker stops; the ticker itself is held weakly, so dropping
    /// it stops the ticks.
    pub fn ensure(&self, interval: gst::ClockTime, tick: impl Fn() -> bool + Send + Sync + 'static) {
        use gst::prelude::*;
        let Ok(mut entry) = self.entry.lock() else { return };
        if entry.id.is_some() {
            return;
        }
        let clock = gst::SystemClock::obtain();
        let id = clock.new_periodic_id(clock.time() + interval, interval);
        entry.generation += 1;
        let generation = entry.generation;
        let weak = Arc::downgrade(&self.entry);
        let scheduled = id.wait_async(move |_, _, _| {
            let Some(shared) = weak.upgrade() else { return };
            let Ok(mut entry) = shared.lock() else { return };
            if entry.generation != generation || entry.id.is_none() {
                return;
            }
            // Nothing may unwind into GStreamer's C clock thread. A tick that panicked stops
            // its ticker (its state may be half-updated); that is a bug, so it is logged.
            let go_on = catch_unwind(AssertUnwindSafe(&tick)).unwrap_or_else(|_| {
                gst::error!(crate::log::CAT, "a 10 ms tick panicked: its producer stops");
                false
            });
            if !go_on {
                if let Some(id) = entry.id.take() {
                    id.unschedule();
                }
            }
        });
        if scheduled.is_ok() {
            entry.id = Some(id);
        }
    }

    /// Idempotent; waits for a tick in progress to finish.
    pub fn stop(&self) {
        let id = self.entry.lock().ok().and_then(|mut e| e.id.take());
        if let Some(id) = id {
            id.unschedule();
        }
    }

    pub fn is_running(&self) -> bool {
        self.entry.lock().map(|e| e.id.is_some()).unwrap_or(false)
    }
}
