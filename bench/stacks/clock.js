'use strict';

// The one timer a bench stack feeds all its senders from (bench/stacks/werift.js, wrtc.js).

/**
 * Calls `step(n)` for period n = ctx.n, ctx.n + 1, … every `periodMs`, deadline corrected: a
 * late tick makes up every period owed since the start, so the senders are fed in real time on
 * average whatever the timer does. ctx.n counts the periods done; ctx.timer is the pending
 * timeout (clearTimeout(ctx.timer) stops the clock).
 */
function startClock(ctx, periodMs, step) {
  const t0 = performance.now();
  const tick = () => {
    const due = Math.floor((performance.now() - t0) / periodMs) + 1;
    for (; ctx.n < due; ctx.n++) step(ctx.n);
    ctx.timer = setTimeout(tick, t0 + ctx.n * periodMs - performance.now());
  };
  tick();
}

module.exports = { startClock };
