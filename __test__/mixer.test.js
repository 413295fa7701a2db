'use strict';

// AudioMixer with real GStreamer (no network): ToneSources / RTCAudioSources → mixer → output
// tracks → RTCAudioSink, analysed with Goertzel (helpers/audio.js).

const { ToneSource, AudioMixer, MixerInput, nonstandard } = require('../dist');
const { FrameCollector, goertzelPower, sine } = require('./helpers/audio');
const { threadCount, fdCount, waitFor, sleep } = require('./helpers/resources');
const { later } = require('./helpers/later');

const SR = 48000;
const AMP = 0.25; // three of them sum to ≤ 0.75: no saturation
const F = [440, 700, 1100];
const ABSENT = 1700; // a frequency nobody plays
const EXPECTED = AMP * AMP; // goertzelPower of a sine of amplitude A ≈ A²

function tones(freqs = F) {
  return freqs.map((frequency) => {
    const t = new ToneSource({ frequency, amplitude: AMP });
    later(() => t.stop());
    return t;
  });
}

function mixer() {
  const m = new AudioMixer();
  later(() => m.stop());
  return m;
}

function listen(track) {
  const collector = new FrameCollector({ gapMs: 60 });
  const sink = new nonstandard.RTCAudioSink(track);
  // The native Int16Array comes from Node's main realm, where jest's `instanceof Int16Array`
  // fails and helpers/audio.js would take it as unscaled floats: copy into this realm.
  sink.ondata = (frame) => collector.push({ ...frame, samples: Int16Array.from(frame.samples) });
  later(() => sink.stop());
  return collector;
}

/**
 * Level of each frequency over the media interval [fromMs, toMs) of `c`: per 100 ms window the
 * Goertzel power at the tone's exact bin (the mixer follows drift by whole pitch periods, never
 * by resampling, so a tone stays on its frequency), then the median over windows (on a loaded
 * 2-core CI machine a source can miss a window, and a level comparison must not read that as a
 * gain change).
 */
function powers(c, fromMs, toMs, freqs = [...F, ABSENT]) {
  const all = c.samples();
  const win = all.subarray(Math.round((fromMs * SR) / 1000), Math.round((toMs * SR) / 1000));
  const n = Math.floor(win.length / (SR / 10));
  expect(n).toBeGreaterThanOrEqual(2);
  return Object.fromEntries(
    freqs.map((f) => {
      const each = [];
      for (let i = 0; i < n; i++) {
        const w = win.subarray((i * SR) / 10, ((i + 1) * SR) / 10);
        each.push(goertzelPower(w, SR, f));
      }
      each.sort((a, b) => a - b);
      return [f, each[Math.floor(n / 2)]];
    }),
  );
}

/**
 * powers() over the last `ms` of what `c` holds. A change is measured this way, some time after
 * it was made, rather than from a mark taken at the change: frames still queued for the JS
 * thread (a busy event loop, a loaded CI machine) would make such a mark early, and the
 * "after" window would hold audio from before the change.
 */
const recent = (c, ms) => powers(c, c.durationMs - ms, c.durationMs);

const present = (p) => expect(p).toBeGreaterThan(EXPECTED * 0.5);
const absent = (p) => expect(p).toBeLessThan(EXPECTED * 1e-3);

function maxStep(samples) {
  let max = 0;
  for (let i = 1; i < samples.length; i++) max = Math.max(max, Math.abs(samples[i] - samples[i - 1]));
  return max;
}
/** The steepest a sum of sines of amplitude AMP can move in one sample. */
const slopeBound = (freqs) => freqs.reduce((s, f) => s + (AMP * 2 * Math.PI * f) / SR, 0);

test('mixes three tones into one track, continuously', async () => {
  const m = mixer();
  tones().forEach((t) => m.addInput(t.track));
  const out = m.createTrack();
  expect(out.kind).toBe('audio');
  expect(out.readyState).toBe('live');
  const c = listen(out);
  await sleep(1500);
  expect(c.sampleRate).toBe(SR);
  const p = powers(c, 300, c.durationMs);
  F.forEach((f) => present(p[f]));
  absent(p[ABSENT]);
  const cont = c.continuity(300);
  expect(cont.gaps).toBe(0);
  expect(c.durationMs).toBeGreaterThan(1200);
});

test('setMuted removes exactly that tone, and unmuting brings it back', async () => {
  const m = mixer();
  const inputs = tones().map((t) => m.addInput(t.track));
  const c = listen(m.createTrack());
  await sleep(800);
  inputs[1].setMuted(true);
  expect(inputs[1].muted).toBe(true);
  await sleep(900);
  let p = recent(c, 500);
  absent(p[700]);
  present(p[440]);
  present(p[1100]);
  inputs[1].setMuted(false);
  await sleep(900);
  p = recent(c, 500);
  F.forEach((f) => present(p[f]));
});

test('remove() mid-stream: the others continue with no gap and no click', async () => {
  const m = mixer();
  const inputs = tones().map((t) => m.addInput(t.track));
  const c = listen(m.createTrack());
  await sleep(1000);
  const removedAt = c.durationMs;
  inputs[1].remove();
  expect(inputs[1].removed).toBe(true);
  inputs[1].remove(); // idempotent
  expect(() => inputs[1].setGain(0.3)).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
  await sleep(1000);

  const cont = c.continuity(300);
  expect(cont.gaps).toBe(0);
  // Media continuity: ~100 frames per second of wall time, none missing around the removal.
  expect(c.durationMs).toBeGreaterThan(1700);

  const p = recent(c, 500);
  absent(p[700]);
  present(p[440]);
  present(p[1100]);

  // No click: around the removal no sample step exceeds what the three sines themselves can do.
  const all = c.samples();
  const at = Math.round((removedAt * SR) / 1000);
  const around = all.subarray(Math.max(0, at - SR / 5), Math.min(all.length, at + SR / 5));
  expect(maxStep(around)).toBeLessThanOrEqual(slopeBound(F) * 1.05);
  // ... and neither anywhere else after start-up.
  expect(maxStep(all.subarray(SR / 5))).toBeLessThanOrEqual(slopeBound(F) * 1.05);
});

test('mix-minus output lacks exactly the excluded input while the full mix has all', async () => {
  const m = mixer();
  const inputs = tones().map((t) => m.addInput(t.track));
  const full = listen(m.createTrack());
  const minus = listen(m.createTrack({ exclude: [inputs[1]] }));
  await sleep(1200);
  const pf = powers(full, 300, full.durationMs);
  const pm = powers(minus, 300, minus.durationMs);
  F.forEach((f) => present(pf[f]));
  absent(pm[700]);
  present(pm[440]);
  present(pm[1100]);
  // The shared parts are bit-identical in level.
  expect(Math.abs(10 * Math.log10(pm[440] / pf[440]))).toBeLessThan(0.2);
});

test('createTrack validates exclude; addInput validates gain', () => {
  const m = mixer();
  const other = mixer();
  const [t] = tones([440]);
  const foreign = other.addInput(t.track);
  expect(() => m.createTrack({ exclude: [foreign] })).toThrow(TypeError);
  expect(() => m.createTrack({ exclude: [{}] })).toThrow(TypeError);
  expect(() => m.addInput(t.track, { gain: -1 })).toThrow(TypeError);
  expect(() => m.addInput(t.track, { gain: NaN })).toThrow(TypeError);
  expect(() => m.addInput({})).toThrow(TypeError);
  expect(foreign).toBeInstanceOf(MixerInput);
  m.stop();
  expect(() => m.addInput(t.track)).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
  expect(() => m.createTrack()).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
});

test('gain 0.5 (linear amplitude, as GainNode) lowers that tone by 6 dB', async () => {
  const m = mixer();
  const inputs = tones().map((t) => m.addInput(t.track));
  const c = listen(m.createTrack());
  await sleep(1000);
  const before = powers(c, 300, c.durationMs);
  inputs[0].setGain(0.5);
  expect(inputs[0].gain).toBe(0.5);
  await sleep(900);
  const after = recent(c, 500);
  const db = 10 * Math.log10(after[440] / before[440]);
  expect(Math.abs(db - 20 * Math.log10(0.5))).toBeLessThan(1.5);
  // The other tones are untouched.
  expect(Math.abs(10 * Math.log10(after[700] / before[700]))).toBeLessThan(0.5);
});

test('an RTCAudioSource at 16 kHz is resampled into the mix', async () => {
  const m = mixer();
  const src = new nonstandard.RTCAudioSource();
  const track = src.createTrack();
  m.addInput(track);
  const c = listen(m.createTrack());
  // Push what is owed by the wall clock (setInterval alone runs slow), at 16 kHz.
  const tone = sine(700, 16000, 10000, { amplitude: AMP });
  const t0 = performance.now();
  let pushed = 0;
  const timer = setInterval(() => {
    const owed = Math.min(tone.length, Math.floor((performance.now() - t0) * 16)) - pushed;
    if (owed <= 0) return;
    src.onData({ samples: tone.slice(pushed, pushed + owed), sampleRate: 16000, numberOfFrames: owed });
    pushed += owed;
  }, 10);
  later(() => clearInterval(timer));
  await sleep(1200);
  const p = powers(c, 500, c.durationMs);
  present(p[700]);
  absent(p[ABSENT]);
  // (No underrun assertion: a JS pusher in a busy jest process can stall past the 15 ms
  // headroom; the mixer then decays and re-primes, which the drift test covers.)
});

test('a 0.5 % fast input keeps bounded FIFO depth (no skips) and its tone for 20 s', async () => {
  const m = mixer();
  const src = new nonstandard.RTCAudioSource();
  const input = m.addInput(src.createTrack());
  const c = listen(m.createTrack());
  // Push 48 240 samples per second of wall time (a sender whose clock runs 0.5 % fast),
  // whatever the timer jitter: each tick pushes what is owed by now.
  const RATE_FAST = SR * 1.005;
  const t0 = performance.now();
  let pushed = 0;
  const phaseStep = (2 * Math.PI * 1100) / RATE_FAST; // 1100 Hz in the sender's time base
  const timer = setInterval(() => {
    const owed = Math.floor(((performance.now() - t0) / 1000) * RATE_FAST) - pushed;
    if (owed <= 0) return;
    const samples = new Int16Array(owed);
    for (let k = 0; k < owed; k++) samples[k] = Math.round(AMP * 32767 * Math.sin(phaseStep * (pushed + k)));
    src.onData({ samples, sampleRate: SR, numberOfFrames: owed });
    pushed += owed;
  }, 10);
  later(() => clearInterval(timer));

  const peaks = [];
  const deadline = performance.now() + 20000;
  m.inputStats(); // reset the peak
  while (performance.now() < deadline) {
    await sleep(500);
    const [s] = m.inputStats();
    expect(s.id).toBe(input.id);
    if (performance.now() - t0 > 3000) peaks.push(s.peakDepthMs);
  }
  const [s] = m.inputStats();
  clearInterval(timer);
  // Without control the FIFO would have grown by 100 ms over 20 s.
  const maxPeak = Math.max(...peaks);
  console.log(`fast input: peaks ${peaks.map((p) => p.toFixed(0)).join(' ')} ms; headroom ${s.headroomMs} ms, underruns ${s.underruns}, concealed ${s.concealedMs.toFixed(0)} ms`);
  expect(maxPeak).toBeLessThan(50);
  expect(s.overflows).toBe(0);
  // The excess was absorbed by removing whole pitch periods: ~0.5 % of 20 s = 4800 samples.
  expect(s.stretchedSamples).toBeGreaterThan(3000);
  expect(s.stretchedSamples).toBeLessThan(7000);
  // Removing periods does not move the pitch: 1100 Hz in every 200 ms window.
  const w = c.toneOverWindows(1100, 200, [440, 700, ABSENT], { lastMs: 15000 });
  expect(w.failed).toEqual([]);
  expect(w.windows.length).toBeGreaterThanOrEqual(70);
  console.log(`fast input: peak FIFO depth ${maxPeak.toFixed(1)} ms, stretched ${s.stretchedSamples} samples, underruns ${s.underruns}`);
}, 40000);

test('the mixer ticks only while it has outputs', async () => {
  const m = mixer();
  const [t] = tones([440]);
  m.addInput(t.track);
  expect(m.ticking).toBe(false);
  const out = m.createTrack();
  expect(m.ticking).toBe(true);
  await sleep(50);
  out.stop();
  await waitFor(() => !m.ticking, 1000, 10, 'mixer idle after its only output stopped');
  const out2 = m.createTrack();
  expect(m.ticking).toBe(true);
  let ended = false;
  out2.onended = () => (ended = true);
  m.stop();
  expect(m.ticking).toBe(false);
  expect(out2.readyState).toBe('ended');
  expect(ended).toBe(true);
});

test('50 mixers with inputs and outputs: threads and fds back to baseline', async () => {
  const sources = tones();
  const warm = new AudioMixer();
  sources.forEach((t) => warm.addInput(t.track));
  listen(warm.createTrack());
  await sleep(100);
  warm.stop();
  await sleep(100);
  const threads0 = threadCount();
  const fds0 = fdCount();
  for (let i = 0; i < 50; i++) {
    const m = new AudioMixer();
    const inputs = sources.map((t) => m.addInput(t.track, { gain: 0.8 }));
    const full = m.createTrack();
    m.createTrack({ exclude: [inputs[0]] });
    const sink = new nonstandard.RTCAudioSink(full);
    await sleep(20);
    inputs[2].remove();
    sink.stop();
    m.stop();
  }
  await waitFor(() => threadCount() <= threads0 && fdCount() <= fds0, 5000, 50, `threads ≤ ${threads0}, fds ≤ ${fds0}`).catch(() => {});
  expect(threadCount()).toBeLessThanOrEqual(threads0);
  expect(fdCount()).toBeLessThanOrEqual(fds0);
}, 20000);
