// Audio analysis for the demo report: Goertzel power per frequency and a log spectrogram.

/**
 * Normalised power of `freq` in Int16 samples (a full-scale sine ≈ 0.5). A Hann window keeps
 * a tone's energy out of the neighbouring frequencies.
 */
export function power(samples, rate, freq) {
  const k = 2 * Math.cos((2 * Math.PI * freq) / rate);
  const n = samples.length;
  let s1 = 0;
  let s2 = 0;
  for (let i = 0; i < n; i++) {
    const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / Math.max(1, n - 1));
    const s0 = (2 * hann * samples[i]) / 32768 + k * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / (((n || 1) * (n || 1)) / 2);
}

export const dB = (p) => (p > 0 ? 10 * Math.log10(p) : -Infinity);

/** Spectrogram rows (frequencies, low at the bottom) × columns (windows), in dB. */
export function spectrogram(samples, rate, { windowMs = 50, freqs }) {
  const win = Math.round((rate * windowMs) / 1000);
  const cols = Math.floor(samples.length / win);
  return freqs.map((f) => Array.from({ length: cols }, (_, c) => dB(power(samples.subarray(c * win, (c + 1) * win), rate, f))));
}
