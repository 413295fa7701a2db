'use strict';

// Pure-JS audio analysis for tests.
//
// Conventions:
// - Samples may be Int16Array (PCM s16, scaled to [-1, 1) by /32768) or
//   Float32Array / number[] (taken as already in [-1, 1]).
// - goertzelPower() returns a normalized power: a pure sine of amplitude A
//   (full scale = 1.0) at the probed frequency gives ≈ A². A Hann window is
//   applied, so leakage from other tones a few bins away is negligible.
// - rms() is in full-scale units too (a full-scale sine ≈ 0.707).

const INT16_SCALE = 1 / 32768;

// By tag, not instanceof: typed arrays made by the native addon belong to Node's main realm,
// not to the jest test realm, so `instanceof Int16Array` is false for them.
const isTyped = (value, name) => Object.prototype.toString.call(value) === `[object ${name}]`;

function scaleOf(samples) {
  return isTyped(samples, 'Int16Array') ? INT16_SCALE : 1;
}

function toFloat32(samples) {
  if (isTyped(samples, 'Float32Array')) return samples;
  const s = scaleOf(samples);
  const out = new Float32Array(samples.length);
  for (let i = 0; i < samples.length; i++) out[i] = samples[i] * s;
  return out;
}

/**
 * Goertzel power of `freq` in `samples` (Hann-windowed, normalized so that a
 * sine of amplitude A gives ≈ A²).
 */
function goertzelPower(samples, sampleRate, freq) {
  const n = samples.length;
  if (!n) return 0;
  if (!(sampleRate > 0)) throw new TypeError('goertzelPower: sampleRate must be > 0');
  const scale = scaleOf(samples);
  const w = (2 * Math.PI * freq) / sampleRate;
  const coeff = 2 * Math.cos(w);
  const hannStep = n > 1 ? (2 * Math.PI) / (n - 1) : 0;
  let s1 = 0;
  let s2 = 0;
  let wsum = 0;
  for (let i = 0; i < n; i++) {
    const win = n > 1 ? 0.5 - 0.5 * Math.cos(hannStep * i) : 1;
    wsum += win;
    const s0 = samples[i] * scale * win + coeff * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  // |X(w)|² for a non-integer bin (generalized Goertzel).
  const re = s1 - s2 * Math.cos(w);
  const im = s2 * Math.sin(w);
  const mag2 = re * re + im * im;
  if (wsum === 0) return 0;
  // |X| ≈ A·Σw/2 for a sine of amplitude A → normalize to A².
  return (4 * mag2) / (wsum * wsum);
}

/** Root mean square in full-scale units. */
function rms(samples) {
  const n = samples.length;
  if (!n) return 0;
  const scale = scaleOf(samples);
  let acc = 0;
  for (let i = 0; i < n; i++) {
    const v = samples[i] * scale;
    acc += v * v;
  }
  return Math.sqrt(acc / n);
}

function toDb(ratio) {
  if (ratio === Infinity) return Infinity;
  if (!(ratio > 0)) return -Infinity;
  return 10 * Math.log10(ratio);
}

/**
 * The candidate frequency with the highest Goertzel power.
 * @returns {{frequency: number, power: number, ratio: number, ratioDb: number,
 *            powers: Record<number, number>}}
 *   ratio = power of the winner / power of the strongest other candidate
 *   (Infinity with a single candidate or when all others are exactly 0).
 */
function dominantFrequency(samples, sampleRate, candidates) {
  if (!Array.isArray(candidates) || candidates.length === 0) {
    throw new TypeError('dominantFrequency: candidates must be a non-empty array');
  }
  const powers = {};
  let best = candidates[0];
  let bestPower = -1;
  for (const f of candidates) {
    const p = goertzelPower(samples, sampleRate, f);
    powers[f] = p;
    if (p > bestPower) {
      bestPower = p;
      best = f;
    }
  }
  let other = 0;
  for (const f of candidates) if (f !== best) other = Math.max(other, powers[f]);
  const ratio = other > 0 ? bestPower / other : bestPower > 0 ? Infinity : 0;
  return { frequency: best, power: bestPower, ratio, ratioDb: toDb(ratio), powers };
}

/**
 * Is a tone at `freq` present?
 *
 * present = rms > minRms AND
 *   - with otherFreqs: the target's power is ≥ minSnrDb (10 dB) above EACH
 *     of the other frequencies;
 *   - without otherFreqs: the tone carries ≥ minToneFraction (10 %, i.e. it is
 *     at most 10 dB below the whole signal) of the signal's energy.
 *
 * snrDb is target vs the strongest other frequency (with otherFreqs), else
 * target vs the residual (non-tone) energy.
 *
 * @returns {{present: boolean, power: number, snrDb: number, rms: number,
 *            toneFraction: number, otherPowers: Record<number, number>}}
 */
function detectTone(samples, sampleRate, freq, opts = {}) {
  const { otherFreqs = [], minRms = 1e-3, minSnrDb = 10, minToneFraction = 0.1 } = opts;
  const power = goertzelPower(samples, sampleRate, freq);
  const level = rms(samples);
  const meanSquare = level * level;
  // A sine of amplitude A has mean square A²/2 and normalized power A².
  const toneMs = power / 2;
  const toneFraction = meanSquare > 0 ? Math.min(1, toneMs / meanSquare) : 0;

  const otherPowers = {};
  let snrDb;
  let present = samples.length > 0 && level > minRms;
  if (otherFreqs.length) {
    let maxOther = 0;
    for (const f of otherFreqs) {
      const p = goertzelPower(samples, sampleRate, f);
      otherPowers[f] = p;
      maxOther = Math.max(maxOther, p);
      if (!(toDb(power / p) >= minSnrDb)) present = false; // NaN (0/0) fails too
    }
    snrDb = maxOther > 0 ? toDb(power / maxOther) : power > 0 ? Infinity : -Infinity;
  } else {
    const residual = Math.max(0, meanSquare - toneMs);
    snrDb = residual > 0 ? toDb(toneMs / residual) : toneMs > 0 ? Infinity : -Infinity;
    if (toneFraction < minToneFraction) present = false;
  }
  return { present, power, snrDb, rms: level, toneFraction, otherPowers };
}

/**
 * Collects wrtc-style PCM frames ({samples, sampleRate, channelCount,
 * numberOfFrames}, normally 10 ms each), e.g. `sink.ondata = c.push`.
 * Records each frame's arrival time and keeps a mono (channel-averaged)
 * Float32 copy of the audio.
 */
class FrameCollector {
  /**
   * @param {{gapMs?: number}} [opts] gapMs: an arrival gap larger than this
   *   breaks continuity (default 100 ms).
   */
  constructor(opts = {}) {
    this.gapMs = opts.gapMs ?? 100;
    this.push = this.push.bind(this);
    this.reset();
  }

  reset() {
    this.sampleRate = 0;
    this.channelCount = 0;
    /** @type {{t: bigint, offset: number, length: number}[]} */
    this.frames = [];
    this._chunks = [];
    this._length = 0;
    this._cache = null;
  }

  /**
   * Add one frame. `arrivalNs` (bigint, process.hrtime.bigint() scale) is for
   * tests; by default the current time is used.
   */
  push(frame, arrivalNs) {
    const t = typeof arrivalNs === 'bigint' ? arrivalNs : process.hrtime.bigint();
    const data = frame && frame.samples;
    if (!data) throw new TypeError('FrameCollector.push: frame.samples missing');
    const channels = frame.channelCount || 1;
    const sampleRate = frame.sampleRate;
    if (!(sampleRate > 0)) throw new TypeError('FrameCollector.push: frame.sampleRate missing');
    if (this.sampleRate && sampleRate !== this.sampleRate) {
      throw new Error(`FrameCollector: sample rate changed ${this.sampleRate} -> ${sampleRate}`);
    }
    this.sampleRate = sampleRate;
    this.channelCount = channels;
    const count = frame.numberOfFrames || Math.floor(data.length / channels);
    const scale = scaleOf(data);
    const mono = new Float32Array(count);
    if (channels === 1) {
      for (let i = 0; i < count; i++) mono[i] = data[i] * scale;
    } else {
      const k = scale / channels;
      for (let i = 0; i < count; i++) {
        let acc = 0;
        for (let c = 0; c < channels; c++) acc += data[i * channels + c];
        mono[i] = acc * k;
      }
    }
    this.frames.push({ t, offset: this._length, length: count });
    this._chunks.push(mono);
    this._length += count;
    this._cache = null;
  }

  get frameCount() {
    return this.frames.length;
  }

  /** Audio duration received, in ms (from sample counts). */
  get durationMs() {
    return this.sampleRate ? (this._length * 1000) / this.sampleRate : 0;
  }

  /** All audio as mono Float32Array in [-1, 1]; fromMs is media time. */
  samples(fromMs = 0) {
    if (!this._cache) {
      const out = new Float32Array(this._length);
      let o = 0;
      for (const c of this._chunks) {
        out.set(c, o);
        o += c.length;
      }
      this._cache = out;
    }
    if (!fromMs || !this.sampleRate) return this._cache;
    const start = Math.min(this._length, Math.max(0, Math.round((fromMs * this.sampleRate) / 1000)));
    return this._cache.subarray(start);
  }

  /**
   * Arrival continuity of frames received at or after `fromMs` ms after the
   * first frame's arrival.
   * @returns {{frames: number, longestRunFrames: number, longestRunMs: number,
   *            totalMs: number, wallMs: number, maxGapMs: number, gaps: number}}
   *   longestRunMs / totalMs are media durations (sample counts); wallMs is
   *   last arrival − first considered arrival; gaps counts arrival gaps > gapMs.
   */
  continuity(fromMs = 0) {
    const res = { frames: 0, longestRunFrames: 0, longestRunMs: 0, totalMs: 0, wallMs: 0, maxGapMs: 0, gaps: 0 };
    if (!this.frames.length || !this.sampleRate) return res;
    const t0 = this.frames[0].t;
    const fromNs = t0 + BigInt(Math.round(fromMs * 1e6));
    const gapNs = BigInt(Math.round(this.gapMs * 1e6));
    const frames = this.frames.filter((f) => f.t >= fromNs);
    if (!frames.length) return res;
    const msPer = 1000 / this.sampleRate;
    let runFrames = 0;
    let runSamples = 0;
    let totalSamples = 0;
    let bestFrames = 0;
    let bestSamples = 0;
    let maxGap = 0n;
    for (let i = 0; i < frames.length; i++) {
      if (i > 0) {
        const gap = frames[i].t - frames[i - 1].t;
        if (gap > maxGap) maxGap = gap;
        if (gap > gapNs) {
          res.gaps++;
          runFrames = 0;
          runSamples = 0;
        }
      }
      runFrames++;
      runSamples += frames[i].length;
      totalSamples += frames[i].length;
      if (runSamples > bestSamples || (runSamples === bestSamples && runFrames > bestFrames)) {
        bestFrames = runFrames;
        bestSamples = runSamples;
      }
    }
    res.frames = frames.length;
    res.longestRunFrames = bestFrames;
    res.longestRunMs = bestSamples * msPer;
    res.totalMs = totalSamples * msPer;
    res.wallMs = Number(frames[frames.length - 1].t - frames[0].t) / 1e6;
    res.maxGapMs = Number(maxGap) / 1e6;
    return res;
  }

  /**
   * Split the last `lastMs` ms of audio (default: all of it) into consecutive
   * windows of `windowMs` and run detectTone() on each.
   * @param {number} freq
   * @param {number} [windowMs=200]
   * @param {number[]} [otherFreqs=[]]
   * @param {number|{lastMs?: number, minRms?: number, minSnrDb?: number, minToneFraction?: number}} [opts]
   *   a number is taken as lastMs.
   * @returns {{ok: boolean, windows: {startMs: number, present: boolean, snrDb: number, rms: number}[],
   *            failed: number[]}} ok is false when there is not even one full window.
   */
  toneOverWindows(freq, windowMs = 200, otherFreqs = [], opts = {}) {
    const o = typeof opts === 'number' ? { lastMs: opts } : opts || {};
    const all = this.samples();
    const sr = this.sampleRate;
    const result = { ok: false, windows: [], failed: [] };
    if (!sr) return result;
    const win = Math.round((windowMs * sr) / 1000);
    if (win <= 0) throw new RangeError('toneOverWindows: windowMs too small');
    let start = 0;
    if (o.lastMs != null) start = Math.max(0, all.length - Math.round((o.lastMs * sr) / 1000));
    // Align so that the final window ends at the last sample.
    const n = Math.floor((all.length - start) / win);
    start = all.length - n * win;
    for (let i = 0; i < n; i++) {
      const a = start + i * win;
      const d = detectTone(all.subarray(a, a + win), sr, freq, {
        otherFreqs,
        minRms: o.minRms,
        minSnrDb: o.minSnrDb,
        minToneFraction: o.minToneFraction,
      });
      const w = { startMs: (a * 1000) / sr, present: d.present, snrDb: d.snrDb, rms: d.rms };
      result.windows.push(w);
      if (!d.present) result.failed.push(w.startMs);
    }
    result.ok = n > 0 && result.failed.length === 0;
    return result;
  }
}

/** A sine wave generator for tests: Int16Array (default) or Float32Array. */
function sine(freq, sampleRate, durationMs, { amplitude = 0.5, type = 'int16', phase = 0 } = {}) {
  const n = Math.round((durationMs * sampleRate) / 1000);
  const out = type === 'float32' ? new Float32Array(n) : new Int16Array(n);
  const k = type === 'float32' ? amplitude : amplitude * 32767;
  for (let i = 0; i < n; i++) out[i] = k * Math.sin(phase + (2 * Math.PI * freq * i) / sampleRate);
  return out;
}

/**
 * Jest: the last `ms` of what `collector` holds carries `freq` (against `otherFreqs`) in every
 * 200 ms window, and there are ms / 200 windows. Returns toneOverWindows' result.
 */
function expectToneWindows(collector, freq, otherFreqs, ms) {
  const w = collector.toneOverWindows(freq, 200, otherFreqs, ms);
  expect(w.failed).toEqual([]);
  expect(w.windows.length).toBeGreaterThanOrEqual(Math.floor(ms / 200));
  return w;
}

/**
 * Jest: the last `ms` of what `collector` holds is one run of frames (no gap over 500 ms) at
 * 48 kHz carrying `freq` in every 200 ms window, judged against the other `probes`.
 */
function expectContinuousTone(collector, freq, ms, probes) {
  const cont = collector.continuity(500);
  expect(cont.longestRunMs).toBeGreaterThanOrEqual(ms);
  expect(collector.sampleRate).toBe(48000);
  return expectToneWindows(collector, freq, probes.filter((f) => f !== freq), ms);
}

/** Jest: from now on (after `ms` + 200 ms), the last `ms` `collector` got carries `freq` in every 200 ms window. */
async function expectToneFromNow(collector, freq, ms = 1000, otherFreqs = []) {
  collector.reset();
  await new Promise((r) => setTimeout(r, ms + 200));
  return expectToneWindows(collector, freq, otherFreqs, ms);
}

module.exports = {
  expectToneWindows,
  expectContinuousTone,
  expectToneFromNow,
  goertzelPower,
  rms,
  dominantFrequency,
  detectTone,
  FrameCollector,
  sine,
  toFloat32,
};
