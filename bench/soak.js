'use strict';

// npm run soak: two-way calls ending and starting without pause, for a long time, in one
// process. Every call is a pair of connections sending each other a tone (a ToneSource of
// its own frequency per side) into RTCAudioSinks; a call lives a random 15–45 s (seeded), then
// closes and a new one starts in its place. Prints one JSON line and exits 1 when a gate fails.
//
//   SOAK_MINUTES (60)   how long calls keep being made: V8's heap and the allocators grow to
//                       their working size over the first 15 minutes of churn, so 30 minutes
//                       show mostly that growth and 60 the trend after it (docs/performance.md)
//   SOAK_PAIRS (8)      calls in progress at once (10 still hold 99.99 % on time on this
//                       machine with calls starting all the time: docs/performance.md)
//   SOAK_WARMUP_S (60)  RSS before this is not part of the slope
//   SOAK_SEED (1)       the call lengths
//   SOAK_PROFILE        rtpProfile of both sides: unset for WebRTC (ICE + DTLS-SRTP, Opus),
//                       'RTP/AVP' for the plain-RTP backend (what a trunk or phone call is),
//                       'RTP/SAVP' for it with SDES-SRTP
//
// Judged, per call from its first audible frame to its close: time missing (arrival gaps over
// 3 frames, as bench/meter.js counts them) over time live — the on-time fraction — and the
// tone it ends with (Goertzel at the sender's exact frequency over its last 200 ms). A call is
// dropped when it fails to connect within 15 s or leaves 'connected' before its end. Across the
// run: RSS outside V8's heap every 5 s after warm-up (least-squares slope, MB/hour; V8 grows its
// heap lazily, so the JS heap is judged instead by what is in use after collecting garbage once
// every call is closed) and, once every call is closed and torn down, threads and fds against
// the idle process measured after one first call.
//
// Gates: 0 dropped calls, every call's tone right, on-time ≥ 99.9 %, threads and fds back to
// idle (± 2), JS heap in use back to idle (+ 5 MB); RSS outside V8's heap grown after warm-up by at most SOAK_MAX_MB_PER_CALL (default 1) per call made
// since — a leaked pair of connections costs over 2 MB (bench: 1.07 MB per connection) — and,
// when at least 10 minutes are measured after warm-up, an RSS slope of at most
// SOAK_MAX_MB_PER_HOUR (default 30): over a shorter window the slope is the allocators and the
// JS heap still growing to their working size, not a trend. Reported beside RSS: the C heap's
// bytes in use (glibc's mallinfo2 without Node's ArrayBuffers) over the run and at idle
// against after the last call and a collection, which tells a leak from memory the allocator
// keeps.

const v8 = require('node:v8');
const vm = require('node:vm');
const { GstPeerConnection, ToneSource, nonstandard } = require('..');
const { nativeHeap } = require('../index.js'); // the binding the line above loaded
const { threadCount, fdCount, rssBytes } = require('../__test__/helpers/resources');
const { detectTone } = require('../__test__/helpers/audio');

const MINUTES = Number(process.env.SOAK_MINUTES ?? 60);
const PAIRS = Number(process.env.SOAK_PAIRS ?? 8);
const WARMUP_S = Number(process.env.SOAK_WARMUP_S ?? 60);
const MAX_MB_PER_HOUR = Number(process.env.SOAK_MAX_MB_PER_HOUR ?? 30);
const MAX_MB_PER_CALL = Number(process.env.SOAK_MAX_MB_PER_CALL ?? 1);
const SLOPE_WINDOW_MS = 10 * 60000;
const PROFILE = process.env.SOAK_PROFILE || undefined;
const CONFIG = { iceServers: [], localAddresses: ['127.0.0.1'], ...(PROFILE && { rtpProfile: PROFILE }) };
const FREQUENCIES = [440, 660];
const SETUP_TIMEOUT_MS = 15000;

let seed = Number(process.env.SOAK_SEED ?? 1) >>> 0;
/** mulberry32: the same call lengths for the same seed. */
function random() {
  seed = (seed + 0x6d2b79f5) >>> 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Garbage is collected only outside the calls (before the first, after the last): a forced
// collection pauses the event loop, which the audio measurement would count.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
async function collect() {
  for (let i = 0; i < 4; i++) {
    gc();
    await sleep(50); // finalizers run a tick later
  }
}

/** RSS outside V8's heap: V8 grows its heap lazily, which is not the calls' memory. */
const nativeRss = () => rssBytes() - process.memoryUsage().heapTotal;
// The C heap's bytes in use, without Node's ArrayBuffers (audio frames awaiting collection),
// which malloc holds too: what a leak in the addon, GStreamer or its libraries would grow.
const heapInUse = (heap = nativeHeap(), m = process.memoryUsage()) => heap.inUse - m.arrayBuffers;

/** The receiving end of one side: arrival gaps, and the last 200 ms of audio. */
function listener(frequency) {
  const l = { frequency, first: null, last: null, missing: 0, tail: new Float32Array(9600), at: 0, frames: 0 };
  l.push = ({ samples }) => {
    const now = performance.now();
    if (l.first === null) {
      if (!samples.some((s) => s > 100 || s < -100)) return; // not yet audible
      l.first = now;
    } else if (now - l.last > 30) {
      l.missing += now - l.last - 10; // a 10 ms frame is due every 10 ms; beyond 3 is missing
    }
    l.last = now;
    l.frames++;
    for (let i = 0; i < samples.length; i++) l.tail[(l.at + i) % l.tail.length] = samples[i] / 32768;
    l.at = (l.at + samples.length) % l.tail.length;
  };
  // The ring unrolled by two copies: element by element (Float32Array.from with a mapping
  // function) it takes 12-23 ms of the event loop at every call's end, a pause in which no
  // other call's frames can arrive, which the soak would count as their missing audio.
  l.toneRight = () => {
    const last = new Float32Array(l.tail.length);
    last.set(l.tail.subarray(l.at));
    last.set(l.tail.subarray(0, l.at), l.tail.length - l.at);
    return detectTone(last, 48000, frequency, { minRms: 0.01, minToneFraction: 0.9 }).present;
  };
  return l;
}

/** One call: A and B connected, each hearing the other's tone. Resolves once both hear it. */
async function startCall(tones) {
  const pcs = [new GstPeerConnection(CONFIG), new GstPeerConnection(CONFIG)];
  const call = { pcs, sinks: [], listeners: [], dropped: null, closing: false };
  const heard = pcs.map(
    (pc, i) =>
      new Promise((resolve) => {
        pc.addTrack(tones[i].track);
        const l = listener(FREQUENCIES[1 - i]);
        call.listeners.push(l);
        pc.ontrack = ({ track }) => {
          const sink = new nonstandard.RTCAudioSink(track);
          call.sinks.push(sink);
          sink.ondata = (frame) => {
            l.push(frame);
            if (l.first !== null) resolve();
          };
        };
        pc.onconnectionstatechange = () => {
          if (!call.closing && call.up && pc.connectionState !== 'connected') call.dropped ??= `side ${i} went ${pc.connectionState}`;
        };
      }),
  );
  const [a, b] = pcs;
  a.onicecandidate = ({ candidate }) => candidate && b.addIceCandidate(candidate);
  b.onicecandidate = ({ candidate }) => candidate && a.addIceCandidate(candidate);
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  let timer;
  await Promise.race([
    Promise.all(heard),
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('no audio both ways within 15 s')), SETUP_TIMEOUT_MS))),
  ]).finally(() => clearTimeout(timer));
  call.up = true;
  return call;
}

function endCall(call) {
  call.closing = true;
  for (const s of call.sinks) s.stop();
  for (const pc of call.pcs) pc.close();
}

/** Least-squares slope of `samples[i][key]` (bytes) over `samples[i].t` (ms), in MB/hour. */
function slopeMbPerHour(samples, key = 'rss') {
  if (samples.length < 3) return 0;
  const n = samples.length;
  const mx = samples.reduce((s, p) => s + p.t, 0) / n;
  const my = samples.reduce((s, p) => s + p[key], 0) / n;
  let num = 0;
  let den = 0;
  for (const p of samples) {
    num += (p.t - mx) * (p[key] - my);
    den += (p.t - mx) ** 2;
  }
  return ((num / den) * 3600 * 1000) / 1e6; // bytes per ms → MB per hour
}

async function main() {
  const tones = FREQUENCIES.map((frequency) => new ToneSource({ frequency, amplitude: 0.5 }));
  // The idle process: after one call, so that process-wide threads (GStreamer's clock, the
  // media workers) exist before it is measured.
  endCall(await startCall(tones));
  await sleep(3000);
  await collect();
  const idle = { threads: threadCount(), fds: fdCount(), heapUsed: process.memoryUsage().heapUsed, cHeap: heapInUse() };

  const t0 = performance.now();
  const end = t0 + MINUTES * 60000;
  const totals = { calls: 0, dropped: [], wrongTone: 0, liveMs: 0, missingMs: 0, worstOnTime: 1 };
  const rss = [];
  const sampler = setInterval(() => {
    const t = performance.now() - t0;
    const heap = nativeHeap();
    const m = process.memoryUsage();
    const inUse = heapInUse(heap, m);
    if (t >= WARMUP_S * 1000) rss.push({ t, rss: nativeRss(), inUse, calls: totals.calls });
    if (process.env.SOAK_TRACE) {
      console.error(`${(t / 1000).toFixed(0)} s: RSS ${(rssBytes() / 1e6).toFixed(1)} MB, outside V8's heap ${(nativeRss() / 1e6).toFixed(1)} MB (JS heap ${(m.heapTotal / 1e6).toFixed(1)}, external ${(m.external / 1e6).toFixed(1)}); C heap in use ${(inUse / 1e6).toFixed(1)} MB, free in its arenas ${(heap.free / 1e6).toFixed(1)} MB (${(heap.releasable / 1e6).toFixed(1)} at their tops, which malloc_trim gives back whole); ${threadCount()} threads, ${totals.calls} calls`);
    }
  }, 5000);

  // A call starts only while it can live its shortest life (15 s) before the end: each call's
  // tone is judged over its last 200 ms, so every call must have had that much audio.
  const lane = async () => {
    while (performance.now() + 15000 < end) {
      let call;
      try {
        call = await startCall(tones);
      } catch (e) {
        totals.dropped.push(`set-up: ${e.message}`);
        continue;
      }
      const lifetime = 15000 + random() * 30000;
      await sleep(Math.min(lifetime, Math.max(0, end - performance.now())));
      const now = performance.now();
      for (const l of call.listeners) {
        if (l.first === null) continue;
        const tail = now - l.last > 30 ? now - l.last - 10 : 0;
        const live = now - l.first;
        const missing = Math.min(live, l.missing + tail);
        totals.liveMs += live;
        totals.missingMs += missing;
        totals.worstOnTime = Math.min(totals.worstOnTime, live > 0 ? 1 - missing / live : 1);
        if (!l.toneRight()) totals.wrongTone++;
      }
      if (call.dropped) totals.dropped.push(call.dropped);
      totals.calls++;
      endCall(call);
    }
  };
  // Lanes start 1 s apart, so the calls' ends spread out too.
  await Promise.all(Array.from({ length: PAIRS }, (_, i) => sleep(i * 1000).then(lane)));
  clearInterval(sampler);
  for (const t of tones) t.stop();

  // Every call closed: threads and fds must come back to idle once the teardowns finish.
  let after = { threads: threadCount(), fds: fdCount() };
  for (let i = 0; i < 100 && (after.threads > idle.threads + 2 || after.fds > idle.fds + 2); i++) {
    await sleep(100);
    after = { threads: threadCount(), fds: fdCount() };
  }
  await collect();
  const heapUsedAfter = process.memoryUsage().heapUsed;
  const cHeapAfter = heapInUse();
  const onTime = totals.liveMs ? 1 - totals.missingMs / totals.liveMs : 0;
  const slope = slopeMbPerHour(rss);
  const measuredMs = rss.length > 1 ? rss.at(-1).t - rss[0].t : 0;
  const callsMeasured = rss.length > 1 ? rss.at(-1).calls - rss[0].calls : 0;
  const mbPerCall = callsMeasured > 0 ? (rss.at(-1).rss - rss[0].rss) / 1e6 / callsMeasured : 0;
  const result = {
    minutes: MINUTES,
    pairs: PAIRS,
    profile: PROFILE ?? 'UDP/TLS/RTP/SAVPF',
    calls: totals.calls,
    dropped: totals.dropped.length,
    droppedReasons: [...new Set(totals.dropped)].slice(0, 5),
    wrongTone: totals.wrongTone,
    onTime: Number(onTime.toFixed(5)),
    worstCallOnTime: Number(totals.worstOnTime.toFixed(4)),
    nativeRssMb: { afterWarmup: rss.length ? Math.round(rss[0].rss / 1e6) : null, end: rss.length ? Math.round(rss.at(-1).rss / 1e6) : null, slopeMbPerHour: Number(slope.toFixed(1)), mbPerCall: Number(mbPerCall.toFixed(3)), measuredMinutes: Number((measuredMs / 60000).toFixed(1)) },
    cHeapInUseMb: { idle: Number((idle.cHeap / 1e6).toFixed(1)), afterLastCall: Number((cHeapAfter / 1e6).toFixed(1)), afterWarmup: rss.length ? Math.round(rss[0].inUse / 1e6) : null, end: rss.length ? Math.round(rss.at(-1).inUse / 1e6) : null, slopeMbPerHour: Number(slopeMbPerHour(rss, 'inUse').toFixed(1)) },
    threads: { idle: idle.threads, after: after.threads },
    fds: { idle: idle.fds, after: after.fds },
    jsHeapUsedMb: { idle: Number((idle.heapUsed / 1e6).toFixed(1)), after: Number((heapUsedAfter / 1e6).toFixed(1)) },
  };
  const failures = [];
  if (result.dropped > 0) failures.push(`${result.dropped} dropped calls`);
  if (result.wrongTone > 0) failures.push(`${result.wrongTone} calls ended hearing the wrong audio`);
  if (onTime < 0.999) failures.push(`on-time audio ${(onTime * 100).toFixed(3)} % < 99.9 %`);
  if (after.threads > idle.threads + 2) failures.push(`threads ${idle.threads} → ${after.threads}`);
  if (after.fds > idle.fds + 2) failures.push(`fds ${idle.fds} → ${after.fds}`);
  if (heapUsedAfter > idle.heapUsed + 5e6) failures.push(`JS heap in use ${result.jsHeapUsedMb.idle} → ${result.jsHeapUsedMb.after} MB after the last call`);
  if (mbPerCall > MAX_MB_PER_CALL) failures.push(`RSS grows ${mbPerCall.toFixed(2)} MB per call > ${MAX_MB_PER_CALL}`);
  if (measuredMs >= SLOPE_WINDOW_MS && slope > MAX_MB_PER_HOUR) failures.push(`RSS grows ${slope.toFixed(1)} MB/hour > ${MAX_MB_PER_HOUR}`);
  result.failures = failures;
  console.log(JSON.stringify(result));
  process.exit(failures.length ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
