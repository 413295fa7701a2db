/*
 * The native event channel is a weak threadsafe function: it does not keep the
 * Node event loop alive, so without this a process awaiting e.g. an ICE state
 * change would simply exit. One ref'd timer is shared by all open connections.
 */

// Long enough to cost nothing, short enough for setInterval's 32-bit limit.
const IDLE_PERIOD_MS = 1 << 30

let holders = 0
let timer: NodeJS.Timeout | null = null

export interface KeepAlive {
  /** Idempotent: a holder can only release once. */
  release(): void
}

export function acquireKeepAlive(): KeepAlive {
  holders++
  if (timer === null) timer = setInterval(() => {}, IDLE_PERIOD_MS)
  let held = true
  return {
    release(): void {
      if (!held) return
      held = false
      holders--
      if (holders === 0 && timer !== null) {
        clearInterval(timer)
        timer = null
      }
    },
  }
}

/** Number of current holders (for tests and diagnostics). */
export function keepAliveHolders(): number {
  return holders
}
