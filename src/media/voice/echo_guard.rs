//! Residual echo is not the caller speaking.
//!
//! Whatever the canceller leaves of the agent's echo (more while it adapts, and for a
//! moment after the echo path moves) is speech-like, and would read as the caller barging in.
//! While the reference's echo is due (the agent spoke `echo delay` ago), a processed frame that
//! is `MARGIN_DB` or more below the same moment of the unprocessed input is taken as residual
//! echo: the canceller removed most of it. The caller talking over the agent stays within a
//! few dB of the input (measured: −2 to −5 dB while both talk), so it still counts.

use std::collections::VecDeque;

pub const MARGIN_DB: f64 = 10.0;
/// The reference counts as sounding above this level.
const ACTIVE_DBFS: f64 = -50.0;
/// How long after the echo of a sounding reference is due the guard stays on (the echo path's
/// tail, the canceller's delay).
const TAIL_NS: u64 = 150_000_000;
/// Before the delay is measured, the echo may come back this late (`echo_delay::MAX_DELAY_MS`).
const UNKNOWN_DELAY_NS: u64 = super::echo_delay::MAX_DELAY_MS as u64 * 1_000_000;
const KEEP: usize = 200;

#[derive(Default)]
pub struct EchoGuard {
    /// Unprocessed input levels by timestamp (ns, dBFS), the last 2 s.
    input: VecDeque<(u64, f64)>,
    /// Running time (ns) until which the agent's echo may be in the input.
    echo_until: u64,
}

impl EchoGuard {
    pub fn input(&mut self, pts_ns: u64, level: f64) {
        self.input.push_back((pts_ns, level));
        while self.input.len() > KEEP {
            self.input.pop_front();
        }
    }

    /// The reference (the agent) at `now`, its echo due `delay_ns` later (None: not measured yet).
    pub fn reference(&mut self, now_ns: u64, level: f64, delay_ns: Option<u64>) {
        if level > ACTIVE_DBFS {
            let until = now_ns + delay_ns.unwrap_or(UNKNOWN_DELAY_NS) + TAIL_NS;
            self.echo_until = self.echo_until.max(until);
        }
    }

    /// Whether processed audio at `pts_ns` of `level` is residual echo.
    pub fn is_echo(&self, pts_ns: u64, level: f64) -> bool {
        if pts_ns > self.echo_until {
            return false;
        }
        // The input buffer covering that moment (the latest at or before it).
        let input = self.input.iter().rev().find(|(t, _)| *t <= pts_ns).map(|(_, l)| *l);
        input.is_some_and(|i| level < i - MARGIN_DB)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quiet_output_while_the_echo_is_due_is_echo() {
        let mut g = EchoGuard::default();
        for k in 0..100u64 {
            g.input(k * 10_000_000, -30.0);
        }
        g.reference(100_000_000, -25.0, Some(150_000_000));
        // Due from 250 ms to 400 ms (with the tail).
        assert!(g.is_echo(300_000_000, -55.0));
        assert!(!g.is_echo(300_000_000, -33.0)); // the caller over the agent: a few dB down
        assert!(!g.is_echo(500_000_000, -55.0)); // the agent's echo no longer due
        g.reference(600_000_000, -70.0, Some(150_000_000)); // a silent agent adds nothing
        assert!(!g.is_echo(700_000_000, -55.0));
    }
}
