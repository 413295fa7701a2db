'use strict';

// Judging a received recording against its source: the best normalized cross-correlation of
// the waveform, after aligning the two by their 20 ms energy envelopes. Used where the audio
// is speech, not a tone (sipp's g711a.pcap), so a frequency check cannot judge it.

const { execFileSync } = require('child_process');

/** Decode an RTP pcap's PCMA stream with GStreamer into 8 kHz mono Int16Array. */
function decodePcmaPcap(file) {
  const raw = execFileSync(
    'gst-launch-1.0',
    ['-q', 'filesrc', `location=${file}`, '!', 'pcapparse', '!', 'application/x-rtp,media=audio,clock-rate=8000,encoding-name=PCMA,payload=8', '!', 'rtppcmadepay', '!', 'alawdec', '!', 'audioconvert', '!', 'audio/x-raw,format=S16LE,channels=1,rate=8000', '!', 'fdsink', 'fd=1'],
    { maxBuffer: 64 * 1024 * 1024, timeout: 30000 },
  );
  return new Int16Array(raw.buffer, raw.byteOffset, raw.length >> 1);
}

function envelope(samples, frame) {
  const out = new Float64Array(Math.floor(samples.length / frame));
  for (let f = 0; f < out.length; f++) {
    let e = 0;
    for (let i = f * frame; i < (f + 1) * frame; i++) e += samples[i] * samples[i];
    out[f] = Math.sqrt(e / frame);
  }
  return out;
}

function correlation(a, aStart, b, bStart, n) {
  let ab = 0, aa = 0, bb = 0, ma = 0, mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[aStart + i];
    mb += b[bStart + i];
  }
  ma /= n;
  mb /= n;
  for (let i = 0; i < n; i++) {
    const x = a[aStart + i] - ma;
    const y = b[bStart + i] - mb;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return aa > 0 && bb > 0 ? ab / Math.sqrt(aa * bb) : 0;
}

/**
 * How faithfully `received48k` (48 kHz; decimated to 8 kHz, since what came from an 8 kHz codec
 * has nothing above 4 kHz) carries `reference` (8 kHz). The two are aligned once by their 20 ms
 * energy envelopes; then each voiced 250 ms window of the reference is matched where it best
 * correlates, within 80 ms of where the previous one was. A receive path may start playing at
 * once and grow its playout delay by inserting pitch periods (src/media/playout.rs, WebRTC), so
 * the offset may only grow, by at most that delay; a plain-RTP stream is played on arrival
 * (src/media/reorder/), and its offset stays.
 * Returns `{ windows: [{ atMs, r, offsetMs }], median, worst, driftMs }`.
 */
function matchRecording(reference, received48k) {
  const received = new Float64Array(Math.floor(received48k.length / 6));
  for (let i = 0; i < received.length; i++) received[i] = received48k[i * 6];
  const frame = 160;
  const refEnv = envelope(reference, frame);
  const recEnv = envelope(received, frame);
  // The recording may lack the reference's first packet or two (HEAD frames): a plain-RTP
  // stream is delivered as it arrives, and a sink attached when the track appears can come after
  // the first packet when the sender starts at once (sipp plays as soon as it has sent its ACK
  // or its 200 OK). It may end up to ~11 ms short (TAIL frames): the resampler holds back its
  // filter's delay and RTCAudioSink hands out whole 10 ms frames. The coarse alignment
  // correlates where the two overlap; every voiced window below is still matched in full.
  const HEAD = 4;
  const TAIL = 2;
  let coarse = { lag: -HEAD - 1, r: -1 };
  for (let lag = -HEAD; lag + refEnv.length <= recEnv.length + TAIL; lag++) {
    const from = Math.max(0, -lag);
    const r = correlation(refEnv, from, recEnv, lag + from, Math.min(refEnv.length, recEnv.length - lag) - from);
    if (r > coarse.r) coarse = { lag, r };
  }
  const result = { windows: [], median: 0, worst: 0, driftMs: 0 };
  if (coarse.lag < -HEAD) return result;
  const win = 2000;
  const search = 640; // 80 ms
  const sorted = [...refEnv].sort((x, y) => x - y);
  const voiced = sorted[Math.floor(sorted.length / 2)] * 0.5;
  let offset = coarse.lag * frame;
  for (let start = 0; start + win <= reference.length; start += win) {
    const e = envelope(reference.subarray(start, start + win), win)[0];
    if (e < voiced) continue;
    let best = { r: -1, at: 0 };
    for (let at = start + offset - search; at <= start + offset + search; at++) {
      if (at < 0 || at + win > received.length) continue;
      const r = correlation(reference, start, received, at, win);
      if (r > best.r) best = { r, at };
    }
    offset = best.at - start;
    result.windows.push({ atMs: start / 8, r: best.r, offsetMs: offset / 8 });
  }
  const rs = result.windows.map((w) => w.r).sort((x, y) => x - y);
  result.median = rs[Math.floor(rs.length / 2)] ?? 0;
  result.worst = rs[0] ?? 0;
  const offsets = result.windows.map((w) => w.offsetMs);
  result.driftMs = offsets.length ? Math.max(...offsets) - offsets[0] : 0;
  result.monotonic = offsets.every((o, i) => i === 0 || o >= offsets[i - 1]);
  return result;
}

module.exports = { decodePcmaPcap, matchRecording };
