'use strict';

/**
 * Audio continuity as the receiving application sees it, the same way for every stack: each
 * receiver reports the arrival of each audio frame (a 10 ms PCM frame from a sink, or a 20 ms
 * RTP packet); a silence between two arrivals longer than 3 frames counts as missing audio
 * (all of it beyond one frame). Loss that a stack conceals (Opus PLC in a jitter buffer) is
 * not missing; a starved thread that delivers late, in a burst, is.
 *
 * continuity = 1 − missing / (receivers × window): the "fraction of frames received on time".
 */
class Meter {
  constructor() {
    this.receivers = [];
    this.window = null;
  }

  /** A new receiver of frames of `frameMs`; call the returned function on every frame. */
  receiver(frameMs) {
    const r = { frameMs, last: 0, missing: 0, frames: 0 };
    this.receivers.push(r);
    return () => {
      const now = performance.now();
      if (this.window && now >= this.window.start) {
        // The first frame in the window counts from the window's start.
        const gap = now - Math.max(r.last, this.window.start);
        if (gap > 3 * r.frameMs) r.missing += gap - r.frameMs;
        r.frames++;
      }
      r.last = now;
    };
  }

  /** Starts the measurement window: counting starts fresh for all receivers. */
  start() {
    this.window = { start: performance.now() };
    for (const r of this.receivers) {
      r.missing = 0;
      r.frames = 0;
    }
  }

  /** Ends the window; silence since a receiver's last frame counts as missing too. */
  stop() {
    const end = performance.now();
    const duration = end - this.window.start;
    let missing = 0;
    let frames = 0;
    for (const r of this.receivers) {
      const tail = end - Math.max(r.last, this.window.start);
      missing += Math.min(duration, r.missing + (tail > 3 * r.frameMs ? tail - r.frameMs : 0));
      frames += r.frames;
    }
    this.window = null;
    const total = duration * this.receivers.length;
    return { receivers: this.receivers.length, durationMs: duration, frames, continuity: total ? 1 - missing / total : 0 };
  }
}

/** Whether a PCM frame (Int16Array) carries signal: any sample beyond ±100 (−50 dBFS). */
function audible(samples) {
  for (let i = 0; i < samples.length; i++) if (samples[i] > 100 || samples[i] < -100) return true;
  return false;
}

module.exports = { Meter, audible };
