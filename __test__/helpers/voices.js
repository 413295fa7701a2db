'use strict';

// Test speech and noise: espeak-ng voices as PCM at any rate (cached in the temp dir, made
// once), and seeded pink noise.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');
const { mulberry32 } = require('./mulberry32');

/** `text` spoken by espeak-ng's `voice`, as mono S16 at `rate`. */
function say(text, { voice = 'en-us', rate = 48000 } = {}) {
  const key = crypto.createHash('sha1').update(`${voice}|${rate}|${text}`).digest('hex').slice(0, 16);
  const file = path.join(os.tmpdir(), `gst-pc-say-${key}.raw`);
  if (!fs.existsSync(file)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gst-pc-say-'));
    try {
      const wav = path.join(dir, 'spoken.wav');
      execFileSync('espeak-ng', ['-v', voice, '-w', wav, text]);
      const raw = path.join(dir, 'speech.raw');
      execFileSync('gst-launch-1.0', ['-q', 'filesrc', `location=${wav}`, '!', 'wavparse', '!', 'audioconvert', '!', 'audioresample', '!', `audio/x-raw,format=S16LE,rate=${rate},channels=1`, '!', 'filesink', `location=${raw}`]);
      fs.renameSync(raw, file); // atomic: a half-written file is never found
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const b = fs.readFileSync(file);
  return new Int16Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length - (b.length % 2)));
}

/** Pink noise (Paul Kellet's refined filter on seeded white noise) of `rms` dBFS. */
function pinkNoise(samples, dbfs, seed = 1) {
  const uniform = mulberry32(seed);
  const x = new Float64Array(samples);
  let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0, b5 = 0, b6 = 0;
  for (let i = 0; i < samples; i++) {
    const w = uniform() * 2 - 1;
    b0 = 0.99886 * b0 + w * 0.0555179;
    b1 = 0.99332 * b1 + w * 0.0750759;
    b2 = 0.969 * b2 + w * 0.153852;
    b3 = 0.8665 * b3 + w * 0.3104856;
    b4 = 0.55 * b4 + w * 0.5329522;
    b5 = -0.7616 * b5 - w * 0.016898;
    x[i] = b0 + b1 + b2 + b3 + b4 + b5 + b6 + w * 0.5362;
    b6 = w * 0.115926;
  }
  const rms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / samples);
  const gain = (10 ** (dbfs / 20) * 32768) / rms;
  return Int16Array.from(x, (v) => Math.max(-32768, Math.min(32767, Math.round(v * gain))));
}

/** Level of `samples` (Int16Array or floats in [-1, 1]) in dBFS (−120 for silence). */
function levelDb(samples) {
  if (!samples.length) return -120;
  const scale = samples instanceof Int16Array ? 1 / 32768 : 1;
  let sum = 0;
  for (const s of samples) sum += (s * scale) ** 2;
  return Math.max(-120, 10 * Math.log10(sum / samples.length));
}

module.exports = { say, pinkNoise, levelDb };
