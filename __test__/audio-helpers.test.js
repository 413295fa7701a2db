'use strict';

const {
  goertzelPower,
  rms,
  dominantFrequency,
  detectTone,
  FrameCollector,
  sine,
} = require('./helpers/audio');

const SR = 48000;

function mix(...signals) {
  const out = new Float32Array(signals[0].length);
  for (const s of signals) {
    const k = s instanceof Int16Array ? 1 / 32768 : 1;
    for (let i = 0; i < out.length; i++) out[i] += s[i] * k;
  }
  return out;
}

function noise(n, amplitude, seed = 1) {
  // Small deterministic LCG so the test is reproducible.
  let x = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = amplitude * (x / 2 ** 31 - 1);
  }
  return out;
}

/** Split a mono/interleaved Int16Array into wrtc-style 10 ms frames. */
function framesOf(samples, sampleRate, channelCount = 1) {
  const per = (sampleRate / 100) * channelCount;
  const frames = [];
  for (let o = 0; o + per <= samples.length; o += per) {
    frames.push({
      samples: samples.slice(o, o + per),
      sampleRate,
      bitsPerSample: 16,
      channelCount,
      numberOfFrames: per / channelCount,
    });
  }
  return frames;
}

const MS = 1_000_000n; // ns per ms

describe('goertzelPower / rms', () => {
  test('normalized power ≈ amplitude² at the tone, ≈ 0 elsewhere', () => {
    const s = sine(440, SR, 200, { amplitude: 0.5 });
    expect(goertzelPower(s, SR, 440)).toBeCloseTo(0.25, 2);
    expect(goertzelPower(s, SR, 660)).toBeLessThan(1e-5);
    expect(goertzelPower(s, SR, 1000)).toBeLessThan(1e-5);
  });

  test('Int16Array and Float32Array give the same result', () => {
    const i16 = sine(1000, SR, 100, { amplitude: 0.3 });
    const f32 = sine(1000, SR, 100, { amplitude: 0.3, type: 'float32' });
    expect(goertzelPower(i16, SR, 1000)).toBeCloseTo(goertzelPower(f32, SR, 1000), 4);
    expect(rms(i16)).toBeCloseTo(rms(f32), 4);
  });

  test('rms of a sine is A/√2, of silence 0', () => {
    expect(rms(sine(440, SR, 100, { amplitude: 1 }))).toBeCloseTo(Math.SQRT1_2, 2);
    expect(rms(new Int16Array(4800))).toBe(0);
    expect(rms(new Float32Array(0))).toBe(0);
  });
});

describe('dominantFrequency', () => {
  test('discriminates 440 Hz from 660 Hz', () => {
    const a = dominantFrequency(sine(440, SR, 100), SR, [440, 660, 1000]);
    expect(a.frequency).toBe(440);
    expect(a.ratio).toBeGreaterThan(100);
    const b = dominantFrequency(sine(660, SR, 100), SR, [440, 660, 1000]);
    expect(b.frequency).toBe(660);
    expect(b.ratioDb).toBeGreaterThan(20);
  });

  test('works at 8 kHz and with a louder and a quieter tone mixed', () => {
    const s = mix(sine(440, 8000, 200, { amplitude: 0.5 }), sine(660, 8000, 200, { amplitude: 0.1 }));
    const d = dominantFrequency(s, 8000, [440, 660]);
    expect(d.frequency).toBe(440);
    expect(d.ratio).toBeGreaterThan(20); // 0.25 / 0.01 = 25
    expect(d.ratio).toBeLessThan(30);
  });

  test('rejects an empty candidate list', () => {
    expect(() => dominantFrequency(sine(440, SR, 10), SR, [])).toThrow(TypeError);
  });
});

describe('detectTone', () => {
  test('a 440 Hz tone is present vs 660 Hz, and not the other way round', () => {
    const s = sine(440, SR, 100);
    const yes = detectTone(s, SR, 440, { otherFreqs: [660] });
    expect(yes.present).toBe(true);
    expect(yes.snrDb).toBeGreaterThan(30);
    const no = detectTone(s, SR, 660, { otherFreqs: [440] });
    expect(no.present).toBe(false);
    expect(no.snrDb).toBeLessThan(-30);
  });

  test('works on a short 20 ms window', () => {
    const s = sine(440, SR, 20);
    expect(detectTone(s, SR, 440, { otherFreqs: [660] }).present).toBe(true);
    expect(detectTone(s, SR, 660, { otherFreqs: [440] }).present).toBe(false);
  });

  test('silence is not a tone', () => {
    const d = detectTone(new Int16Array(4800), SR, 440, { otherFreqs: [660] });
    expect(d.present).toBe(false);
    expect(detectTone(new Int16Array(4800), SR, 440).present).toBe(false);
  });

  test('a tone below the RMS floor is not present', () => {
    const s = sine(440, SR, 100, { amplitude: 0.0005, type: 'float32' });
    expect(detectTone(s, SR, 440, { otherFreqs: [660] }).present).toBe(false);
    expect(detectTone(s, SR, 440, { otherFreqs: [660], minRms: 1e-4 }).present).toBe(true);
  });

  test('two equal tones: neither is 10 dB above the other', () => {
    const s = mix(sine(440, SR, 100), sine(660, SR, 100));
    expect(detectTone(s, SR, 440, { otherFreqs: [660] }).present).toBe(false);
    expect(detectTone(s, SR, 660, { otherFreqs: [440] }).present).toBe(false);
    // Without otherFreqs each tone carries half the energy: present.
    expect(detectTone(s, SR, 440).present).toBe(true);
  });

  test('without otherFreqs: noise alone is not a tone, tone in mild noise is', () => {
    expect(detectTone(noise(4800, 0.5), SR, 440).present).toBe(false);
    const s = mix(sine(440, SR, 100, { amplitude: 0.5 }), noise(4800, 0.05));
    const d = detectTone(s, SR, 440);
    expect(d.present).toBe(true);
    expect(d.snrDb).toBeGreaterThan(10);
  });
});

describe('FrameCollector', () => {
  test('concatenates frames and mixes stereo down to mono', () => {
    const left = sine(440, SR, 100, { amplitude: 0.4 });
    const stereo = new Int16Array(left.length * 2);
    for (let i = 0; i < left.length; i++) {
      stereo[2 * i] = left[i];
      stereo[2 * i + 1] = -left[i]; // opposite phase: mono mixdown cancels out
    }
    const c = new FrameCollector();
    for (const f of framesOf(stereo, SR, 2)) c.push(f);
    expect(c.frameCount).toBe(10);
    expect(c.samples().length).toBe(4800);
    expect(c.durationMs).toBeCloseTo(100, 6);
    expect(rms(c.samples())).toBeLessThan(1e-4);

    const same = new Int16Array(left.length * 2);
    for (let i = 0; i < left.length; i++) same[2 * i] = same[2 * i + 1] = left[i];
    const c2 = new FrameCollector();
    for (const f of framesOf(same, SR, 2)) c2.push(f);
    expect(detectTone(c2.samples(), SR, 440, { otherFreqs: [660] }).present).toBe(true);
    expect(rms(c2.samples())).toBeCloseTo(0.4 * Math.SQRT1_2, 2);
  });

  test('push is bound (usable as sink.ondata) and records real arrival times', () => {
    const c = new FrameCollector();
    const ondata = c.push;
    for (const f of framesOf(sine(440, SR, 50), SR)) ondata(f);
    const k = c.continuity();
    expect(k.frames).toBe(5);
    expect(k.gaps).toBe(0);
    expect(k.longestRunMs).toBeCloseTo(50, 6);
    expect(k.wallMs).toBeGreaterThanOrEqual(0);
    expect(k.wallMs).toBeLessThan(1000);
  });

  test('continuity: 10 ms spacing is continuous, a > 100 ms gap breaks the run', () => {
    const frames = framesOf(sine(440, SR, 1000), SR); // 100 frames
    const c = new FrameCollector();
    let t = 1_000n * MS;
    frames.forEach((f, i) => {
      if (i === 30) t += 150n * MS; // gap after 30 frames
      else if (i === 70) t += 90n * MS; // jitter below the threshold: no break
      else if (i > 0) t += 10n * MS;
      c.push(f, t);
    });
    const k = c.continuity();
    expect(k.frames).toBe(100);
    expect(k.totalMs).toBeCloseTo(1000, 6);
    expect(k.gaps).toBe(1);
    expect(k.maxGapMs).toBeCloseTo(150, 6);
    expect(k.longestRunFrames).toBe(70);
    expect(k.longestRunMs).toBeCloseTo(700, 6);
    expect(k.wallMs).toBeCloseTo(150 + 90 + 97 * 10, 6);

    // Same frames without the gap: one run covering everything.
    const c2 = new FrameCollector();
    frames.forEach((f, i) => c2.push(f, BigInt(i) * 10n * MS));
    expect(c2.continuity()).toMatchObject({ gaps: 0, longestRunFrames: 100, maxGapMs: 10 });

    // fromMs skips frames that arrived earlier (relative to the first frame).
    const late = c.continuity(500);
    expect(late.gaps).toBe(0);
    expect(late.frames).toBeLessThan(100);
    expect(late.longestRunFrames).toBe(late.frames);
  });

  test('continuity of an empty collector', () => {
    expect(new FrameCollector().continuity()).toMatchObject({ frames: 0, longestRunMs: 0, totalMs: 0 });
  });

  test('rejects frames whose sample rate changes', () => {
    const c = new FrameCollector();
    c.push(framesOf(sine(440, SR, 10), SR)[0]);
    expect(() => c.push(framesOf(sine(440, 16000, 10), 16000)[0])).toThrow(/sample rate/);
  });

  test('toneOverWindows: all windows have the tone, a silent hole fails one', () => {
    const tone = sine(440, SR, 3000);
    const c = new FrameCollector();
    framesOf(tone, SR).forEach((f, i) => c.push(f, BigInt(i) * 10n * MS));
    const ok = c.toneOverWindows(440, 200, [660]);
    expect(ok.ok).toBe(true);
    expect(ok.windows.length).toBe(15);
    expect(c.toneOverWindows(660, 200, [440]).ok).toBe(false);

    const holed = tone.slice();
    holed.fill(0, SR * 1.2, SR * 1.4); // 200 ms of silence at 1.2 s
    const c2 = new FrameCollector();
    framesOf(holed, SR).forEach((f, i) => c2.push(f, BigInt(i) * 10n * MS));
    const bad = c2.toneOverWindows(440, 200, [660]);
    expect(bad.ok).toBe(false);
    expect(bad.failed).toEqual([1200]);
    // Only the last second is checked: the hole is outside it.
    const tail = c2.toneOverWindows(440, 200, [660], { lastMs: 1000 });
    expect(tail.ok).toBe(true);
    expect(tail.windows.length).toBe(5);
    expect(tail.windows[0].startMs).toBe(2000);
    expect(c2.toneOverWindows(440, 200, [660], 1000).ok).toBe(true);
  });

  test('toneOverWindows is not ok without a full window of audio', () => {
    const c = new FrameCollector();
    expect(c.toneOverWindows(440, 200).ok).toBe(false);
    framesOf(sine(440, SR, 100), SR).forEach((f) => c.push(f));
    expect(c.toneOverWindows(440, 200).ok).toBe(false);
  });
});
