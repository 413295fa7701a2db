'use strict';

// Is a tone present in recently received audio? Frames from an RTCAudioSink are kept for a
// few seconds; `present()` looks at the newest `ms` of them (Goertzel, normalized so a sine of
// amplitude A gives ≈ A²).

class ToneMonitor {
  constructor(frequency) {
    this.frequency = frequency;
    this.frames = []; // { t, samples, rate }
    this.ondata = ({ samples, sampleRate }) => {
      this.frames.push({ t: Date.now(), samples: Int16Array.from(samples), rate: sampleRate });
      if (this.frames.length > 300) this.frames.splice(0, this.frames.length - 300);
    };
  }

  /** Power of the tone in the newest `ms` of audio received after `since` (null: none yet). */
  power(ms, since = 0) {
    const recent = this.frames.filter((f) => f.t >= since);
    if (!recent.length) return null;
    const rate = recent[0].rate;
    const need = Math.round((rate * ms) / 1000);
    const chunks = [];
    let have = 0;
    for (let i = recent.length - 1; i >= 0 && have < need; i--) {
      chunks.unshift(recent[i].samples);
      have += recent[i].samples.length;
    }
    if (have < need) return null;
    const all = new Float32Array(have);
    let o = 0;
    for (const c of chunks) for (let i = 0; i < c.length; i++) all[o++] = c[i] / 32768;
    const s = all.subarray(have - need);
    const w = (2 * Math.PI * this.frequency) / rate;
    const coeff = 2 * Math.cos(w);
    let s1 = 0;
    let s2 = 0;
    let wsum = 0;
    for (let i = 0; i < s.length; i++) {
      const win = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (s.length - 1));
      wsum += win;
      const s0 = s[i] * win + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const re = s1 - s2 * Math.cos(w);
    const im = s2 * Math.sin(w);
    return (4 * (re * re + im * im)) / (wsum * wsum);
  }
}

module.exports = { ToneMonitor };
