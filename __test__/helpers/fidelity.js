'use strict';

// Audio fidelity checker for known tones (issue 15): per-window instantaneous frequency of each
// tone, and clicks. Pure JS; samples as in helpers/audio.js (Int16Array or float in [-1, 1]).
//
// How it works (per tone f, sample rate fs):
//
// 1. Complex demodulation. z[n] = x[n]·e^{-j2πfn/fs} moves the tone to 0 Hz; every other tone
//    g lands at g − f and the tone's own image at −2f. A centred (zero-phase) cascade of
//    STAGES moving averages of L samples (L odd, ≈ 10 ms) is the low-pass: response
//    sinc^STAGES(δ·L/fs) — nulls every fs/L ≈ 100 Hz, ≤ −54 dB beyond 1.5·fs/L ≈ 150 Hz, ≤ −72 dB
//    beyond 250 Hz (STAGES = 4), and unity gain at 0 Hz. y[n] ≈ (A/2)·e^{j(2πδn/fs + φ)} for a
//    tone of amplitude A at f + δ. The kernel is symmetric, so δ does not bias the phase; it
//    only lowers the tracked amplitude: −1.3 dB at ±15 Hz (1.25 % of 1200 Hz), −3.6 dB at ±25 Hz.
//    Kernel span: STAGES·L ≈ 40 ms (±20 ms around n).
// 2. Frequency per window [s, s+W): f̂ = f + Δφ·fs / (2π·W), Δφ = the unwrapped phase change of y
//    from s to s+W (summed over 1 ms steps, so up to ±500 Hz would unwrap). That is the mean
//    instantaneous frequency over the window, seen through the kernel (a frequency step shows
//    fully in every window whose [s − 20 ms, s + W + 20 ms] lies on one side of it).
//    Resolution: a deviation δ turns the phase by 2πδW over the window; 0.1 % of 400 Hz in
//    20 ms is 0.050 rad. The error of f̂ is (ε_end − ε_start)·fs/(2πW) for the phase noise ε of y;
//    with in-band noise-to-tone amplitude ratio ρ, ε ≈ ρ (rad rms), so f̂'s rms error is
//    ≈ √2·ρ/(2π·0.02 s) = 11·ρ Hz — a 0.4 Hz (0.1 % at 400 Hz) limit leaves a margin of 10 for
//    ρ ≤ 0.0036 (−49 dB in the ≈ 50 Hz noise bandwidth of the kernel). The unit tests measure it:
//    exact on synthetic tones, and the spread on a real Opus round trip.
// 3. Clicks, two ways:
//    - Slope: for x[n] = Σ A_i·sin(2πf_i·n/fs + φ_i),
//      x[n] − x[n−1] = Σ 2A_i·sin(πf_i/fs)·cos(2πf_i(n − ½)/fs + φ_i), so by the triangle
//      inequality |x[n] − x[n−1]| ≤ Σ 2A_i·sin(πf_i/fs). A_i is the tracked amplitude (its maximum
//      over the window and its neighbours), plus SLOPE_REL_MARGIN of it and SLOPE_NOISE_K times
//      the residual's sample-step noise (codec noise). Anything steeper is a discontinuity.
//    - Residual: r[n] = x[n] − Σ tone_i[n], the tones rebuilt from the tracks
//      (tone_i[n] = 2·Re(y_i[n]·e^{j2πf_i·n/fs})). What the tracks cannot follow at once (a
//      frequency or level change, a phase jump: they are ≥ 40 ms smooth) stays in r as a slowly
//      varying sum of sines at the tone frequencies, so r itself is not judged sample by sample:
//      it goes through the tones' annihilating filter A(z) = Π_i (1 − 2cos(2πf_i/fs)·z⁻¹ + z⁻²)
//      (linear-phase, 2K + 1 taps for K tones, centred), which is exactly 0 for any sine at the
//      f_i, whatever its amplitude and phase, and nearly 0 for slow modulations of them. A
//      discontinuity is broadband and comes through: a step of height h gives a peak of G·h, G
//      the largest |step response| of A; e = A·r / G is therefore in "step heights". A click is
//      |e[n]| > max(RESIDUAL_K·σ, RESIDUAL_FLOOR), σ the robust (median-based) rms of e over the
//      20 ms window (codec noise). This catches discontinuities far below the slope bound (a
//      0.02 spike or a 0.15 rad phase jump on a 0.25 tone) and is local to ±K samples.
//      A corner (a sudden change of slope, no jump) comes through too, at about 0.6 × the slope
//      change per sample: on three 0.25 tones a linear fade to silence over 5 ms passes (0.73 of
//      the limit) and one over 3 ms or less is a click (1.2 at 3 ms, 3.6 at 1 ms), while a
//      raised-cosine fade passes even over 0.5 ms (0.27) — fade with a smooth gain curve.
//    Detections closer than 2 ms are one click.

const { toFloat32 } = require('./audio');

const DEFAULTS = {
  windowMs: 20,
  maxDeviation: 0.001, // 0.1 %
  skipMs: 0, // media time at the start not judged (windows start here)
  boxMs: 10, // moving-average length (rounded to an odd sample count)
  stages: 4,
  minAmplitude: 0.01, // a tone weaker than this (peak, full scale) in a window is not judged for pitch ("weak")
  slopeRelMargin: 0.05,
  slopeNoiseK: 8,
  residualK: 12,
  residualFloor: 0.002, // step height (−54 dBFS, 66 LSB of S16): below it no click is audible over a tone
  mergeMs: 2,
};

/** Centred moving average of odd length L (zero outside the signal), in place into `out`. */
function boxcar(src, out, L) {
  const n = src.length;
  const h = (L - 1) >> 1;
  let acc = 0;
  for (let i = 0; i <= Math.min(h, n - 1); i++) acc += src[i];
  for (let c = 0; c < n; c++) {
    out[c] = acc / L;
    const add = c + h + 1;
    const drop = c - h;
    if (add < n) acc += src[add];
    if (drop >= 0) acc -= src[drop];
  }
  return out;
}

/**
 * Track one tone: the zero-phase low-passed complex baseband y[n] (re, im) at every sample.
 * Valid for n in [edge, N − edge), edge = stages·(L − 1)/2.
 */
function trackTone(x, fs, freq, opts) {
  const n = x.length;
  let L = Math.round((opts.boxMs * fs) / 1000);
  if (L % 2 === 0) L += 1;
  const { cos, sin } = oscillator(n, freq / fs);
  let re = new Float64Array(n);
  let im = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    re[i] = x[i] * cos[i];
    im[i] = -x[i] * sin[i];
  }
  let tr = new Float64Array(n);
  let ti = new Float64Array(n);
  for (let s = 0; s < opts.stages; s++) {
    boxcar(re, tr, L);
    boxcar(im, ti, L);
    [re, tr] = [tr, re];
    [im, ti] = [ti, im];
  }
  return { freq, re, im, cos, sin, L, edge: (opts.stages * (L - 1)) / 2 };
}

/**
 * cos/sin(2π·cps·i) for i < n: a rotating phasor, re-anchored exactly every 1024 samples (Math.cos
 * per sample is an order of magnitude slower inside jest's VM context).
 */
function oscillator(n, cps) {
  const cos = new Float64Array(n);
  const sin = new Float64Array(n);
  const wr = Math.cos(2 * Math.PI * cps);
  const wi = Math.sin(2 * Math.PI * cps);
  let cr = 1;
  let ci = 0;
  for (let i = 0; i < n; i++) {
    if ((i & 1023) === 0) {
      const ph = 2 * Math.PI * ((cps * i) % 1);
      cr = Math.cos(ph);
      ci = Math.sin(ph);
    }
    cos[i] = cr;
    sin[i] = ci;
    const nr = cr * wr - ci * wi;
    ci = cr * wi + ci * wr;
    cr = nr;
  }
  return { cos, sin };
}

/** Unwrapped phase change of the track from sample a to b, summed over ~1 ms steps. */
function phaseChange(t, a, b, step) {
  let total = 0;
  let pr = t.re[a];
  let pi = t.im[a];
  for (let p = a; p < b; ) {
    const q = Math.min(b, p + step);
    const cr = t.re[q];
    const ci = t.im[q];
    // angle(c · conj(prev))
    total += Math.atan2(ci * pr - cr * pi, cr * pr + ci * pi);
    pr = cr;
    pi = ci;
    p = q;
  }
  return total;
}

/** k-th smallest of a (in place; Hoare's selection). */
function select(a, k) {
  let lo = 0;
  let hi = a.length - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1];
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k];
}

/** Robust rms of d[a..b): 1.4826 × the median absolute value (a Gaussian's σ). */
function robustSigma(d, a, b, tmp) {
  const m = b - a;
  if (m <= 0) return 0;
  const buf = tmp.length === m ? tmp : new Float64Array(m);
  for (let i = 0; i < m; i++) {
    const v = d[a + i];
    buf[i] = v < 0 ? -v : v;
  }
  return 1.4826 * select(buf, m >> 1);
}

/**
 * Analyse `samples` for the known `tones` (Hz).
 *
 * @param {Int16Array|Float32Array|number[]} samples mono
 * @param {number} sampleRate
 * @param {number[]} tones the frequencies present (nominal), ≥ 150 Hz apart
 * @param {Partial<typeof DEFAULTS>} [options]
 * @returns {{
 *   windows: {startMs: number, tones: {freq: number, hz: number, deviation: number, amplitude: number, judged: boolean}[],
 *             offPitch: boolean, residualSigma: number, slopeLimit: number}[],
 *   offPitch: {startMs: number, freq: number, hz: number, deviation: number}[],
 *   offPitchWindows: number, weak: {startMs: number, freq: number, amplitude: number}[],
 *   clicks: {ms: number, sample: number, kinds: ('slope'|'residual')[], severity: number, step: number, residualStep: number}[],
 *   maxAbsDeviation: Record<number, number>, margins: {slope: number, residual: number}, analysedMs: number,
 *   perMinute: {offPitch: number, clicks: number},
 *   residual: Float64Array,
 * }}
 *   offPitchWindows counts windows with at least one judged tone off by more than maxDeviation;
 *   offPitch lists each (window, tone). Weak tones (amplitude < minAmplitude) are listed in
 *   `weak` and not judged for pitch — presence is for the caller (Goertzel on longer windows).
 */
function analyzeFidelity(samples, sampleRate, tones, options = {}) {
  const o = { ...DEFAULTS, ...options };
  if (!(sampleRate > 0)) throw new TypeError('analyzeFidelity: sampleRate must be > 0');
  if (!Array.isArray(tones) || !tones.length) throw new TypeError('analyzeFidelity: tones must be a non-empty array');
  const x = toFloat32(samples);
  const fs = sampleRate;
  const N = x.length;
  const tracks = tones.map((f) => trackTone(x, fs, f, o));
  const edge = tracks[0].edge;

  // Residual after removing the fitted tones.
  const r = new Float64Array(N);
  for (let i = 0; i < N; i++) r[i] = x[i];
  for (const t of tracks) {
    const { re, im, cos, sin } = t;
    for (let i = 0; i < N; i++) r[i] -= 2 * (re[i] * cos[i] - im[i] * sin[i]);
  }
  // Sample steps of the residual (codec noise, for the slope limit's noise term).
  const d = new Float64Array(N);
  for (let i = 1; i < N; i++) d[i] = r[i] - r[i - 1];
  // The residual through the tones' annihilating filter, centred, in step heights.
  let taps = [1];
  for (const f of tones) {
    const c = -2 * Math.cos((2 * Math.PI * f) / fs);
    const next = new Array(taps.length + 2).fill(0);
    taps.forEach((t, k) => {
      next[k] += t;
      next[k + 1] += c * t;
      next[k + 2] += t;
    });
    taps = next;
  }
  let stepGain = 0;
  let acc = 0;
  for (const t of taps) {
    acc += t;
    stepGain = Math.max(stepGain, Math.abs(acc));
  }
  const K = tones.length;
  const e = new Float64Array(N);
  for (let n = K; n < N - K; n++) {
    let v = 0;
    for (let k = 0; k < taps.length; k++) v += taps[k] * r[n + K - k];
    e[n] = v / stepGain;
  }

  const W = Math.round((o.windowMs * fs) / 1000);
  const step = Math.max(1, Math.round(fs / 1000));
  const first = Math.max(edge, Math.round((o.skipMs * fs) / 1000));
  const last = N - edge; // exclusive bound for window ends
  const count = Math.max(0, Math.floor((last - first) / W));

  // Per-window tone amplitude and frequency.
  const windows = [];
  for (let w = 0; w < count; w++) {
    const s = first + w * W;
    const e = s + W;
    const tw = tracks.map((t) => {
      let amp = 0;
      for (let p = s; p <= e; p += step) amp = Math.max(amp, 2 * Math.hypot(t.re[p], t.im[p]));
      let minAmp = Infinity;
      for (let p = s; p <= e; p += step) minAmp = Math.min(minAmp, 2 * Math.hypot(t.re[p], t.im[p]));
      const dphi = phaseChange(t, s, e, step);
      const hz = t.freq + (dphi * fs) / (2 * Math.PI * W);
      const judged = minAmp >= o.minAmplitude;
      return { freq: t.freq, hz, deviation: (hz - t.freq) / t.freq, amplitude: minAmp, peak: amp, judged };
    });
    windows.push({ s, e, startMs: (s * 1000) / fs, tones: tw });
  }

  const offPitch = [];
  const weak = [];
  const maxAbsDeviation = Object.fromEntries(tones.map((f) => [f, 0]));
  let offPitchWindows = 0;
  for (const w of windows) {
    w.offPitch = false;
    for (const t of w.tones) {
      if (!t.judged) {
        weak.push({ startMs: w.startMs, freq: t.freq, amplitude: t.amplitude });
        continue;
      }
      maxAbsDeviation[t.freq] = Math.max(maxAbsDeviation[t.freq], Math.abs(t.deviation));
      if (Math.abs(t.deviation) > o.maxDeviation) {
        w.offPitch = true;
        offPitch.push({ startMs: w.startMs, freq: t.freq, hz: t.hz, deviation: t.deviation });
      }
    }
    if (w.offPitch) offPitchWindows++;
  }

  // Clicks.
  const hits = [];
  let slopeRatio = 0; // worst |x[n] − x[n−1]| / slope limit
  let residualRatio = 0; // worst |e[n]| / residual limit
  const tmp = new Float64Array(W);
  for (let k = 0; k < windows.length; k++) {
    const w = windows[k];
    const stepSigma = robustSigma(d, w.s, w.e, tmp);
    const sigma = robustSigma(e, w.s, w.e, tmp);
    let slopeBound = 0;
    tones.forEach((f, i) => {
      let a = w.tones[i].peak;
      if (k > 0) a = Math.max(a, windows[k - 1].tones[i].peak);
      if (k + 1 < windows.length) a = Math.max(a, windows[k + 1].tones[i].peak);
      slopeBound += 2 * a * Math.sin((Math.PI * f) / fs);
    });
    const slopeLimit = slopeBound * (1 + o.slopeRelMargin) + o.slopeNoiseK * stepSigma;
    const residualLimit = Math.max(o.residualK * sigma, o.residualFloor);
    w.residualSigma = sigma;
    w.slopeLimit = slopeLimit;
    for (let i = Math.max(w.s, 1); i < w.e; i++) {
      const dx = x[i] - x[i - 1];
      const slope = dx < 0 ? -dx : dx;
      const res = e[i] < 0 ? -e[i] : e[i];
      const sr = slope / slopeLimit;
      const rr = res / residualLimit;
      if (sr > slopeRatio) slopeRatio = sr;
      if (rr > residualRatio) residualRatio = rr;
      if (sr > 1 || rr > 1) {
        hits.push({
          sample: i,
          kinds: [...(sr > 1 ? ['slope'] : []), ...(rr > 1 ? ['residual'] : [])],
          severity: Math.max(sr, rr),
          step: dx,
          residualStep: e[i],
        });
      }
    }
  }
  // Hits closer than mergeMs are one click, placed at its most severe sample.
  const merge = Math.round((o.mergeMs * fs) / 1000);
  const clicks = [];
  for (const h of hits) {
    const prev = clicks[clicks.length - 1];
    if (prev && h.sample - prev.lastSample <= merge) {
      for (const k of h.kinds) if (!prev.kinds.includes(k)) prev.kinds.push(k);
      prev.lastSample = h.sample;
      if (h.severity > prev.severity) Object.assign(prev, { sample: h.sample, ms: (h.sample * 1000) / fs, severity: h.severity, step: h.step, residualStep: h.residualStep });
      continue;
    }
    clicks.push({ ...h, kinds: [...h.kinds], ms: (h.sample * 1000) / fs, lastSample: h.sample });
  }

  const analysedMs = (count * W * 1000) / fs;
  const minutes = analysedMs / 60000;
  return {
    windows: windows.map(({ s, e, ...rest }) => rest),
    offPitch,
    offPitchWindows,
    weak,
    clicks,
    maxAbsDeviation,
    // Headroom actually used: the worst step over its limit (a click is > 1).
    margins: { slope: slopeRatio, residual: residualRatio },
    analysedMs,
    firstMs: (first * 1000) / fs,
    perMinute: {
      offPitch: minutes > 0 ? offPitchWindows / minutes : 0,
      clicks: minutes > 0 ? clicks.length / minutes : 0,
    },
    residual: r,
  };
}

/** One line for logs: the worst windows and clicks, for a failure message. */
function describeFidelity(res, max = 5) {
  const dev = Object.entries(res.maxAbsDeviation)
    .map(([f, v]) => `${f}Hz max ${(v * 100).toFixed(3)}%`)
    .join(', ');
  const worst = [...res.offPitch]
    .sort((a, b) => Math.abs(b.deviation) - Math.abs(a.deviation))
    .slice(0, max)
    .map((p) => `${p.freq}Hz@${(p.startMs / 1000).toFixed(2)}s ${(p.deviation * 100).toFixed(3)}%`)
    .join(', ');
  const clicks = res.clicks
    .slice(0, max)
    .map((c) => `${(c.ms / 1000).toFixed(3)}s(${c.kinds.join('+')}, step ${c.step.toFixed(4)}, res ${c.residualStep.toFixed(4)})`)
    .join(', ');
  return (
    `${(res.analysedMs / 1000).toFixed(1)} s analysed; ${dev}; off-pitch windows ${res.offPitchWindows}` +
    (worst ? ` [${worst}]` : '') +
    `; weak ${res.weak.length}; clicks ${res.clicks.length}` +
    (clicks ? ` [${clicks}]` : '')
  );
}

module.exports = { analyzeFidelity, describeFidelity, FIDELITY_DEFAULTS: DEFAULTS, trackTone };
