//! The promises of a connection's webrtcbin operations that have not completed yet, so that
//! close() can settle them.
//!
//! webrtcbin 1.22 runs createOffer, setDescription, getStats … as idle sources on its
//! operation thread. Going to NULL quits that thread's main loop and unrefs its context,
//! which destroys the sources that had not run yet; their destroy notify only unrefs the
//! promise (`_free_op` in gstwebrtcbin.c), so a promise still pending is freed as such and
//! GLib warns (`gst_promise_free: runtime check failed`, seen when 200 connections were
//! closed with operations queued). Interrupting our pending promises before the state
//! change is the documented way to abandon them: a later reply to an interrupted promise is
//! dropped, and freeing it is no longer a fault.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};

type Pending = Mutex<Option<HashMap<u64, gst::Promise>>>;

pub struct InFlight {
    /// `None` once closed: promises made afterwards are interrupted at once.
    pending: Arc<Pending>,
    next: AtomicU64,
}

impl Default for InFlight {
    fn default() -> Self {
        Self { pending: Arc::new(Mutex::new(Some(HashMap::new()))), next: AtomicU64::new(0) }
    }
}

fn lock(p: &Pending) -> std::sync::MutexGuard<'_, Option<HashMap<u64, gst::Promise>>> {
    // A poisoned lock only means a panic elsewhere was caught; the map is still usable.
    p.lock().unwrap_or_else(|e| e.into_inner())
}

impl InFlight {
    /// A promise for one webrtcbin operation; `func` runs once, with webrtcbin's reply or,
    /// if the connection closes first, with `Err(PromiseError::Interrupted)`.
    pub fn promise<F>(&self, func: F) -> gst::Promise
    where
        F: FnOnce(Result<Option<&gst::StructureRef>, gst::PromiseError>) + Send + 'static,
    {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let pending: Weak<Pending> = Arc::downgrade(&self.pending);
        let promise = gst::Promise::with_change_func(move |reply| {
            if let Some(pending) = pending.upgrade() {
                // Dropping our reference here is safe: whoever settles the promise holds one.
                let done = lock(&pending).as_mut().and_then(|m| m.remove(&id));
                drop(done);
            }
            func(reply)
        });
        let closed = {
            let mut guard = lock(&self.pending);
            match guard.as_mut() {
                Some(map) => {
                    map.insert(id, promise.clone());
                    false
                }
                None => true,
            }
        };
        if closed {
            promise.interrupt();
        }
        promise
    }

    /// Interrupt every pending promise (each `func` runs now, on this thread) and every later
    /// one. Call before webrtcbin leaves PLAYING. No lock is held while the callbacks run.
    pub fn interrupt_all(&self) {
        let taken = lock(&self.pending).take();
        for promise in taken.into_iter().flat_map(HashMap::into_values) {
            // A promise webrtcbin is replying to right now stays replied: interrupt is then a
            // no-op, and each promise is taken from the map, hence interrupted, only once.
            promise.interrupt();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    fn counter() -> (Arc<AtomicUsize>, Arc<AtomicUsize>) {
        (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)))
    }

    #[test]
    fn interrupt_all_settles_pending_promises_once_and_skips_replied_ones() {
        gst::init().unwrap();
        let flight = InFlight::default();
        let (replied, interrupted) = counter();
        let make = |flight: &InFlight| {
            let (r, i) = (replied.clone(), interrupted.clone());
            flight.promise(move |reply| {
                let n = match reply {
                    Ok(_) => &r,
                    Err(gst::PromiseError::Interrupted) => &i,
                    Err(e) => panic!("unexpected {e:?}"),
                };
                n.fetch_add(1, Ordering::SeqCst);
            })
        };
        let done = make(&flight);
        let pending = make(&flight);
        done.reply(None);
        assert_eq!(lock(&flight.pending).as_ref().map(HashMap::len), Some(1), "a replied promise leaves the map");
        flight.interrupt_all();
        assert_eq!((replied.load(Ordering::SeqCst), interrupted.load(Ordering::SeqCst)), (1, 1));
        // webrtcbin answering after close: the reply is dropped, the callback does not run again.
        pending.reply(None);
        assert_eq!(replied.load(Ordering::SeqCst), 1);
        let late = make(&flight);
        assert_eq!(interrupted.load(Ordering::SeqCst), 2, "a promise made after close is interrupted at once");
        drop((done, pending, late));
    }
}
