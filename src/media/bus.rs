//! The bus of a standalone pipeline, handled without a main loop: a sync handler records
//! the first error and end-of-stream and drops every message (nobody pops this bus, so
//! keeping them would grow memory for the life of the pipeline).

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use gst::prelude::*;

type Callback = Box<dyn Fn() + Send + Sync>;

#[derive(Default)]
struct State {
    error: Mutex<Option<String>>,
    eos: Mutex<bool>,
    cond: Condvar,
    on_eos: Mutex<Option<Callback>>,
    on_error: Mutex<Option<Callback>>,
}

#[derive(Clone)]
pub struct BusWatch {
    state: Arc<State>,
}

impl BusWatch {
    /// Callbacks run on the streaming thread that posted the message: they must not
    /// change the pipeline's state themselves (hand that to another thread).
    pub fn install(pipeline: &gst::Pipeline) -> Self {
        let state = Arc::new(State::default());
        let weak = Arc::downgrade(&state);
        if let Some(bus) = pipeline.bus() {
            bus.set_sync_handler(move |_, msg| {
                let Some(state) = weak.upgrade() else { return gst::BusSyncReply::Drop };
                match msg.view() {
                    gst::MessageView::Error(err) => {
                        let text = match err.debug() {
                            Some(debug) => format!("{} ({debug})", err.error()),
                            None => err.error().to_string(),
                        };
                        if let Ok(mut e) = state.error.lock() {
                            e.get_or_insert(text);
                        }
                        state.cond.notify_all();
                        if let Some(f) = state.on_error.lock().ok().as_deref().and_then(|f| f.as_ref()) {
                            f();
                        }
                    }
                    gst::MessageView::Eos(_) => {
                        if let Ok(mut eos) = state.eos.lock() {
                            *eos = true;
                        }
                        state.cond.notify_all();
                        if let Some(f) = state.on_eos.lock().ok().as_deref().and_then(|f| f.as_ref()) {
                            f();
                        }
                    }
                    _ => {}
                }
                gst::BusSyncReply::Drop
            });
        }
        Self { state }
    }

    pub fn on_eos(&self, f: impl Fn() + Send + Sync + 'static) {
        if let Ok(mut slot) = self.state.on_eos.lock() {
            *slot = Some(Box::new(f));
        }
    }

    pub fn on_error(&self, f: impl Fn() + Send + Sync + 'static) {
        if let Ok(mut slot) = self.state.on_error.lock() {
            *slot = Some(Box::new(f));
        }
    }

    pub fn error(&self) -> Option<String> {
        self.state.error.lock().ok()?.clone()
    }

    /// Forget a seen end-of-stream (a looping file seeks back and plays on).
    pub fn clear_eos(&self) {
        if let Ok(mut eos) = self.state.eos.lock() {
            *eos = false;
        }
    }

    /// Wait until end-of-stream or an error was posted; true on end-of-stream.
    pub fn wait_eos(&self, timeout: Duration) -> bool {
        let Ok(guard) = self.state.eos.lock() else { return false };
        let state = &self.state;
        match state.cond.wait_timeout_while(guard, timeout, |eos| !*eos && state.error.lock().map(|e| e.is_none()).unwrap_or(false)) {
            Ok((eos, _)) => *eos,
            Err(_) => false,
        }
    }
}

/// Bring `pipeline` to `target`; on failure return the element's error text (from the
/// bus) and take the pipeline back down, so the constructor can throw it.
pub fn set_state_or_error(pipeline: &gst::Pipeline, watch: &BusWatch, target: gst::State) -> Result<(), String> {
    let result = pipeline.set_state(target);
    let failed = match result {
        Err(_) => true,
        Ok(gst::StateChangeSuccess::Async) if target == gst::State::Paused => {
            // Wait for preroll (files): errors such as an undecodable file surface here.
            // Not for PLAYING: a live pipeline completes that only with its first data.
            let (res, _, _) = pipeline.state(gst::ClockTime::from_seconds(5));
            res.is_err()
        }
        Ok(_) => false,
    };
    if failed || watch.error().is_some() {
        let text = watch.error().unwrap_or_else(|| format!("cannot start the pipeline ({target:?})"));
        let _ = pipeline.set_state(gst::State::Null);
        return Err(text);
    }
    Ok(())
}
