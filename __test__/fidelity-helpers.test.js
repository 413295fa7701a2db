'use strict';

// The fidelity checker (helpers/fidelity.js) on signals whose defects are known: it must find
// pitch shifts of 0.2 %, 1 % and 1.25 % (21 cents) in the windows where they are, single-sample
// clicks and phase jumps, and pass clean tones — synthetic, Opus-coded by libopus offline, and
// through a real RTP round trip on loopback — so that its 0.1 % and click limits are proven
// neither blind nor flagging codec noise.

const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const { ToneSource, RtpForwarder, UdpRtpSource, nonstandard } = require('../dist');
const { FrameCollector } = require('./helpers/audio');
const { analyzeFidelity, describeFidelity } = require('./helpers/fidelity');

const SR = 48000;
const AMP = 0.3;
const LIMIT = 0.001;
const HALF_SPAN_MS = 20; // the tracking kernel's reach either side of a window (4 × 10 ms / 2)

/**
 * A sum of sines by phase accumulation (so frequency changes are phase-continuous), as floats.
 * parts: [{freq, amp, shifts: [{fromMs, toMs, ratio}], phaseJumps: [{atMs, rad}]}]
 */
function synth(durationMs, parts) {
  const n = Math.round((durationMs * SR) / 1000);
  const out = new Float32Array(n);
  for (const p of parts) {
    let phase = p.phase ?? 0.3;
    const shifts = (p.shifts || []).map((s) => ({ a: Math.round((s.fromMs * SR) / 1000), b: Math.round((s.toMs * SR) / 1000), ratio: s.ratio }));
    const jumps = new Map((p.phaseJumps || []).map((j) => [Math.round((j.atMs * SR) / 1000), j.rad]));
    for (let i = 0; i < n; i++) {
      if (jumps.has(i)) phase += jumps.get(i);
      out[i] += (p.amp ?? AMP) * Math.sin(phase);
      let f = p.freq;
      for (const s of shifts) if (i >= s.a && i < s.b) f *= s.ratio;
      phase += (2 * Math.PI * f) / SR;
    }
  }
  return out;
}

/** As S16, the format every sink delivers. */
const toInt16 = (f) => Int16Array.from(f, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32768))));

/**
 * Windows a shift over [fromMs, toMs) must show fully (the kernel sees only shifted audio),
 * and windows it must not touch.
 */
function classify(res, fromMs, toMs, windowMs = 20) {
  const inside = [];
  const outside = [];
  for (const w of res.windows) {
    const lo = w.startMs - HALF_SPAN_MS;
    const hi = w.startMs + windowMs + HALF_SPAN_MS;
    if (lo >= fromMs && hi <= toMs) inside.push(w);
    else if (hi <= fromMs || lo >= toMs) outside.push(w);
  }
  return { inside, outside };
}

describe('pitch', () => {
  test('a clean tone at 400–1500 Hz passes, measured to within 0.0005 %', () => {
    for (const freq of [400, 440, 700, 1100, 1500]) {
      const res = analyzeFidelity(toInt16(synth(2000, [{ freq }])), SR, [freq]);
      expect(res.windows.length).toBeGreaterThan(90);
      expect(res.offPitchWindows).toBe(0);
      expect(res.clicks).toEqual([]);
      expect(res.weak).toEqual([]);
      expect(res.maxAbsDeviation[freq]).toBeLessThan(5e-6);
      for (const w of res.windows) expect(w.tones[0].amplitude).toBeCloseTo(AMP, 2);
    }
  });

  test.each([
    ['+0.2 %', 1.002, 400],
    ['−0.2 %', 0.998, 1500],
    ['+1 %', 1.01, 700],
    ['+1.25 % (21 cents, the mixer\'s maximum stretch)', 1.0125, 1100],
    ['−1.25 %', 1 / 1.0125, 440],
  ])('a %s shift over 300 ms (ratio %f) at %s Hz is caught in exactly its windows', (_name, ratio, freq) => {
    const expected = ratio - 1;
    const res = analyzeFidelity(toInt16(synth(2000, [{ freq, shifts: [{ fromMs: 800, toMs: 1100, ratio }] }])), SR, [freq]);
    const { inside, outside } = classify(res, 800, 1100);
    expect(inside.length).toBeGreaterThanOrEqual(12); // 15 windows of 20 ms, less the kernel's reach
    for (const w of inside) {
      expect(w.offPitch).toBe(true);
      // Measured, not just flagged: the estimate is the shift to 0.001 % (absolute).
      expect(Math.abs(w.tones[0].deviation - expected)).toBeLessThan(1e-5);
    }
    for (const w of outside) {
      expect(w.offPitch).toBe(false);
      expect(Math.abs(w.tones[0].deviation)).toBeLessThan(1e-5);
    }
    // The flagged windows are the shift's (edge windows, half in it, may or may not be).
    for (const p of res.offPitch) {
      expect(p.startMs + 20 + HALF_SPAN_MS).toBeGreaterThan(800);
      expect(p.startMs - HALF_SPAN_MS).toBeLessThan(1100);
    }
    expect(res.clicks).toEqual([]); // a phase-continuous shift is no click
  });

  test('resolution: 0.12 % is caught and 0.08 % is not, at 400 Hz (0.48 / 0.32 Hz) in 20 ms windows', () => {
    for (const [ratio, caught] of [
      [1.0012, true],
      [0.9988, true],
      [1.0008, false],
      [0.9992, false],
    ]) {
      const res = analyzeFidelity(toInt16(synth(1500, [{ freq: 400, shifts: [{ fromMs: 500, toMs: 1000, ratio }] }])), SR, [400]);
      const { inside } = classify(res, 500, 1000);
      expect(inside.length).toBeGreaterThan(15);
      for (const w of inside) expect(w.offPitch).toBe(caught);
    }
  });

  test('in a mix of three tones, a shift of one is attributed to that tone only', () => {
    const x = synth(2000, [
      { freq: 440, amp: 0.25 },
      { freq: 700, amp: 0.25, shifts: [{ fromMs: 800, toMs: 1100, ratio: 1.002 }] },
      { freq: 1100, amp: 0.25 },
    ]);
    const res = analyzeFidelity(toInt16(x), SR, [440, 700, 1100]);
    const { inside, outside } = classify(res, 800, 1100);
    expect(inside.length).toBeGreaterThanOrEqual(12);
    for (const w of inside) expect(w.offPitch).toBe(true);
    for (const w of outside) expect(w.offPitch).toBe(false);
    expect(new Set(res.offPitch.map((p) => p.freq))).toEqual(new Set([700]));
    expect(res.maxAbsDeviation[440]).toBeLessThan(2e-5);
    expect(res.maxAbsDeviation[1100]).toBeLessThan(2e-5);
    expect(res.clicks).toEqual([]);
  });

  test('a silent talker is reported weak, not judged', () => {
    const x = synth(1500, [{ freq: 440 }]);
    const res = analyzeFidelity(toInt16(x), SR, [440, 1100]);
    expect(res.offPitchWindows).toBe(0);
    expect(res.weak.length).toBe(res.windows.length);
    expect(res.weak.every((w) => w.freq === 1100)).toBe(true);
  });
});

describe('clicks', () => {
  const MIX = [
    { freq: 440, amp: 0.25 },
    { freq: 700, amp: 0.25 },
    { freq: 1100, amp: 0.25 },
  ];
  const F = MIX.map((p) => p.freq);

  test('the slope bound Σ 2·A·sin(πf/fs) holds with equality in the limit, so clean mixes pass', () => {
    const res = analyzeFidelity(toInt16(synth(3000, MIX)), SR, F);
    expect(res.clicks).toEqual([]);
    // The steepest clean step uses ≥ 85 % of the limit: the bound is tight, not a loose guess.
    expect(res.margins.slope).toBeGreaterThan(0.85);
    expect(res.margins.slope).toBeLessThan(1);
  });

  test.each([
    ['a full-scale-ish single-sample spike (+0.3)', 0.3, ['slope', 'residual']],
    ['a small single-sample spike (+0.02, far inside the slope bound)', 0.02, ['residual']],
    ['a negative single-sample spike (−0.05)', -0.05, ['residual']],
  ])('%s is one click at its sample', (_name, size, kinds) => {
    const x = synth(2000, MIX);
    const at = Math.round(1.2345 * SR);
    x[at] += size;
    const res = analyzeFidelity(toInt16(x), SR, F);
    expect(res.clicks.length).toBe(1);
    expect(Math.abs(res.clicks[0].sample - at)).toBeLessThanOrEqual(1);
    for (const k of kinds) expect(res.clicks[0].kinds).toContain(k);
  });

  /** The sample near `nearMs` where the tone (synth's start phase 0.3) is at phase k·π + at. */
  function sampleAtPhase(freq, nearMs, at) {
    const w = (2 * Math.PI * freq) / SR;
    const k = Math.round(((nearMs * SR) / 1000) * w / Math.PI);
    return Math.round((k * Math.PI + at - 0.3) / w);
  }

  test.each([
    [Math.PI / 2, 440, 1.0],
    [Math.PI, 1100, 0.4],
    [0.15, 700, 0], // at a zero crossing: a step of 0.25 × 0.15 = 0.037
    [0.02, 440, 0], // a step of 0.005, 1/12 of the slope bound
  ])('a phase jump of %f rad on the %s Hz tone (at phase %s) is a click, at its sample', (rad, freq, at) => {
    const n = sampleAtPhase(freq, 1000, at);
    const x = synth(2000, MIX.map((p) => (p.freq === freq ? { ...p, phaseJumps: [{ atMs: (n * 1000) / SR, rad }] } : p)));
    const res = analyzeFidelity(toInt16(x), SR, F);
    expect(res.clicks.length).toBe(1);
    expect(Math.abs(res.clicks[0].sample - n)).toBeLessThanOrEqual(2);
    expect(res.clicks[0].kinds).toContain('residual');
  });

  test('at a crest a phase jump is only a kink: 0.2 rad is still found, as a click and as off-pitch', () => {
    // Where the jump makes no step (the tone at its peak), the click detector sees only the
    // change of slope: found from 0.2 rad (below, ≤ 0.1 rad, it is not, and that is the
    // checker's blind spot). A jump Δ reads as ≈ 0.58·Δ % at 700 Hz in the windows around it,
    // so from 0.2 rad it is off-pitch too, wherever it falls.
    const n = sampleAtPhase(700, 1000, Math.PI / 2);
    const x = synth(2000, MIX.map((p) => (p.freq === 700 ? { ...p, phaseJumps: [{ atMs: (n * 1000) / SR, rad: 0.2 }] } : p)));
    const res = analyzeFidelity(toInt16(x), SR, F);
    expect(res.clicks.length).toBe(1);
    expect(Math.abs(res.clicks[0].sample - n)).toBeLessThanOrEqual(2);
    expect(res.offPitch.length).toBeGreaterThan(0);
    expect(res.offPitch.every((p) => p.freq === 700 && Math.abs(p.startMs - 1000) <= 60)).toBe(true);
  });

  test('a dropped 2.5 ms chunk (an underrun spliced shut) is a click', () => {
    const x = synth(2000, MIX);
    const cut = Math.round(1.1 * SR);
    const spliced = new Float32Array(x.length - 120);
    spliced.set(x.subarray(0, cut));
    spliced.set(x.subarray(cut + 120), cut);
    const res = analyzeFidelity(toInt16(spliced), SR, F);
    expect(res.clicks.length).toBe(1);
    expect(Math.abs(res.clicks[0].sample - cut)).toBeLessThanOrEqual(1);
  });

  test('a 10 ms gap of silence is clicks at both edges', () => {
    const x = synth(2000, MIX);
    const a = Math.round(1.0 * SR) + 17;
    x.fill(0, a, a + 480);
    const res = analyzeFidelity(toInt16(x), SR, F);
    expect(res.clicks.map((c) => Math.round(c.ms))).toEqual([1000, 1010]);
  });

  test('a 1 ms raised-cosine fade out and back in is no click', () => {
    const x = synth(2000, MIX);
    const a = Math.round(1.0 * SR) + 17;
    const L = 48;
    const g = (i) => 0.5 - 0.5 * Math.cos((Math.PI * i) / L);
    for (let i = 0; i < L; i++) x[a + i] *= 1 - g(i);
    x.fill(0, a + L, a + L + 480);
    for (let i = 0; i < L; i++) x[a + L + 480 + i] *= g(i);
    const res = analyzeFidelity(toInt16(x), SR, F);
    expect(res.clicks).toEqual([]);
  });

  test('a ramp (fade out and back in over 5 ms each) is no click', () => {
    const x = synth(2000, MIX);
    const a = Math.round(1.0 * SR);
    const ramp = 240;
    for (let i = 0; i < ramp; i++) x[a + i] *= 1 - i / ramp;
    x.fill(0, a + ramp, a + 2 * ramp);
    for (let i = 0; i < ramp; i++) x[a + 2 * ramp + i] *= i / ramp;
    const res = analyzeFidelity(toInt16(x), SR, F);
    expect(res.clicks).toEqual([]);
  });
});

describe('Opus: codec noise is not flagged', () => {
  /** `seconds` of a sine through libopus (opusenc → opusdec), offline, S16 48 kHz mono. */
  function opusRoundTrip(freq, seconds, encoderOptions) {
    const file = path.join(os.tmpdir(), `fidelity-${process.pid}-${freq}-${Date.now()}.raw`);
    const pipeline =
      `audiotestsrc freq=${freq} volume=${AMP} wave=sine samplesperbuffer=960 num-buffers=${seconds * 50} ` +
      `! audio/x-raw,format=S16LE,rate=48000,channels=1 ! opusenc ${encoderOptions} ! opusdec ` +
      `! audio/x-raw,format=S16LE,rate=48000,channels=1 ! filesink location=${file}`;
    execFileSync('gst-launch-1.0', ['-q', ...pipeline.split(/\s+/).filter(Boolean)], { stdio: 'ignore' });
    const b = fs.readFileSync(file);
    fs.unlinkSync(file);
    return new Int16Array(b.buffer, b.byteOffset, b.length / 2);
  }

  // The senders of the scenarios (gst-launch opusenc defaults) and what this library's own
  // encoder uses (codec.rs: 32 kbit/s, complexity 5).
  test.each([
    ['opusenc defaults', ''],
    ['32 kbit/s complexity 5', 'bitrate=32000 complexity=5'],
  ])('30 s per tone and the three-talker mix, %s: 0 off-pitch windows, 0 clicks', (_name, options) => {
    const coded = {};
    const lines = [];
    for (const f of [440, 700, 1100, 1500]) {
      coded[f] = opusRoundTrip(f, 30, options);
      const res = analyzeFidelity(coded[f], SR, [f], { skipMs: 300 });
      lines.push(`${f}: ${describeFidelity(res)} margins ${res.margins.slope.toFixed(2)}/${res.margins.residual.toFixed(2)}`);
      expect(res.analysedMs).toBeGreaterThan(29000);
      expect(res.offPitchWindows).toBe(0);
      expect(res.clicks).toEqual([]);
      expect(res.weak).toEqual([]);
      // Not merely under the limit: codec noise uses under a third of it.
      expect(res.maxAbsDeviation[f]).toBeLessThan(LIMIT / 3);
    }
    // Three separately coded talkers summed, as the mixer does.
    const n = Math.min(coded[440].length, coded[700].length, coded[1100].length);
    const mix = new Float32Array(n);
    for (let i = 0; i < n; i++) mix[i] = (coded[440][i] + coded[700][i] + coded[1100][i]) / 32768;
    const res = analyzeFidelity(mix, SR, [440, 700, 1100], { skipMs: 300 });
    lines.push(`mix: ${describeFidelity(res)} margins ${res.margins.slope.toFixed(2)}/${res.margins.residual.toFixed(2)}`);
    console.log(`fidelity-helpers opus (${_name}):\n  ${lines.join('\n  ')}`);
    expect(res.offPitchWindows).toBe(0);
    expect(res.clicks).toEqual([]);
    for (const f of [440, 700, 1100]) expect(res.maxAbsDeviation[f]).toBeLessThan(LIMIT / 3);
  }, 60000);

  test('ToneSource → RtpForwarder → UdpRtpSource → RTCAudioSink on loopback: a clean tone passes', async () => {
    const freqs = [440, 1100];
    const parts = freqs.map((frequency, i) => {
      const tone = new ToneSource({ frequency, amplitude: AMP });
      const ingress = new UdpRtpSource({ address: '127.0.0.1', port: 0, codec: 'opus', payloadType: 111 });
      const collector = new FrameCollector({ gapMs: 60 });
      const sink = new nonstandard.RTCAudioSink(ingress.track);
      sink.ondata = collector.push;
      const sender = new RtpForwarder(tone.track, { address: '127.0.0.1', port: ingress.port, codec: 'opus', payloadType: 111, ssrc: 7000 + i });
      return { frequency, tone, ingress, sink, sender, collector };
    });
    try {
      await new Promise((r) => setTimeout(r, 6000));
    } finally {
      for (const p of parts) {
        p.sender.stop();
        p.sink.stop();
        p.ingress.stop();
        p.tone.stop();
      }
    }
    for (const p of parts) {
      expect(p.collector.durationMs).toBeGreaterThan(5000);
      const res = analyzeFidelity(p.collector.samples(), SR, [p.frequency], { skipMs: 300 });
      console.log(`fidelity-helpers loopback ${p.frequency} Hz: ${describeFidelity(res)}`);
      expect(res.analysedMs).toBeGreaterThan(4500);
      expect(res.offPitchWindows).toBe(0);
      expect(res.clicks).toEqual([]);
      expect(res.weak).toEqual([]);
    }
  }, 30000);
});
