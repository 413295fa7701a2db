'use strict';

// @roamhq/wrtc (libwebrtc bindings) as a bench stack; same interface as bench/stacks/gst.js.
//
// Audio goes through libwebrtc's own pipeline: PCM pushed into an RTCAudioSource is encoded to
// 20 ms Opus by libwebrtc, and the receiver's RTCAudioSink gets decoded 10 ms PCM frames.

const v8 = require('node:v8');
const vm = require('node:vm');
const { RTCPeerConnection, nonstandard } = require('@roamhq/wrtc');
const { connected, listenPcm } = require('./pcm');
const { localOnly, trickleKept } = require('./loopback');
const { startClock } = require('./clock');
const pkg = require('@roamhq/wrtc/package.json');
const { speechPcm } = require('../speech');

const RATE = 48000;
const CHUNK_MS = 10; // RTCAudioSource takes exactly 10 ms per onData()

// libwebrtc has no option to gather on one address only (just a port range), so candidates are
// filtered on the way to the peer instead: only UDP host candidates on 127.0.0.1 get through.
const CONFIG = { iceServers: [] };
const loopback = (line) => / udp \d+ 127\.0\.0\.1 \d+ typ host/i.test(line);

module.exports = {
  name: 'wrtc',
  label: `@roamhq/wrtc ${pkg.version}`,
  version: pkg.version,
  audio: 'RTCAudioSource fed 10 ms PCM (440 Hz) from JS → libwebrtc Opus 20 ms; RTCAudioSink (10 ms PCM frames to JS)',

  /** `signal`: 'tone' (default) or 'speech' (bench/speech.js, looped). */
  async setup({ signal } = {}) {
    const per = (RATE * CHUNK_MS) / 1000;
    // A 440 Hz tone is one 10 ms frame (a whole number of periods: loops seamlessly); speech is
    // cut to whole frames.
    const tone = () => Int16Array.from({ length: per }, (_, i) => Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / RATE)));
    const speech = () => {
      const pcm = speechPcm();
      return pcm.subarray(0, per * Math.floor(pcm.length / per));
    };
    const pcm = signal === 'speech' ? speech() : tone();
    const frames = Array.from({ length: pcm.length / per }, (_, k) => ({
      samples: pcm.slice(k * per, (k + 1) * per), sampleRate: RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: per,
    }));
    const ctx = { sources: new Set(), n: 0, timer: null };
    // One timer for every source, deadline corrected: a late tick pushes every 10 ms frame owed
    // since the start, so libwebrtc is fed in real time on average whatever the timer does.
    startClock(ctx, CHUNK_MS, (n) => {
      for (const source of ctx.sources) source.onData(frames[n % frames.length]);
    });
    return ctx;
  },

  async pair(ctx, meter) {
    const t0 = performance.now();
    const a = new RTCPeerConnection(CONFIG);
    const b = new RTCPeerConnection(CONFIG);
    const sources = [0, 1].map(() => new nonstandard.RTCAudioSource());
    const tracks = sources.map((s) => s.createTrack());
    const sinks = [];
    const heard = [a, b].map((pc, i) => {
      pc.addTrack(tracks[i]);
      return listenPcm(pc, nonstandard, meter, sinks, t0);
    });
    const up = Promise.all([connected(a), connected(b)]).then(() => performance.now() - t0);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      sources.forEach((s) => ctx.sources.delete(s));
      sinks.forEach((s) => s.stop());
      tracks.forEach((t) => t.stop());
      a.close();
      b.close();
      // Let the native objects be collected even if the caller keeps this pair: see teardown().
      sources.length = tracks.length = sinks.length = 0;
    };
    // A rejected addIceCandidate fails the pair rather than vanishing.
    const failed = trickleKept(a, b, loopback);
    try {
      // Feeding starts now, as with a live source: what is pushed before 'connected' is dropped.
      sources.forEach((s) => ctx.sources.add(s));
      // The descriptions passed on are createOffer()/createAnswer()'s, not pc.localDescription:
      // wrtc's localDescription getter serializes the SDP on the JS thread while libwebrtc's
      // network thread adds gathered candidates to it, and crashes now and then (SIGSEGV in
      // SdpSerialize). Candidates go by trickle anyway.
      const offer = await a.createOffer();
      await a.setLocalDescription(offer);
      await b.setRemoteDescription(localOnly(offer, loopback));
      const answer = await b.createAnswer();
      await b.setLocalDescription(answer);
      await a.setRemoteDescription(localOnly(answer, loopback));
      const [connectedMs, firstAudio] = await Promise.race([Promise.all([up, Promise.all(heard)]), failed]);
      return { connectedMs, firstAudioMs: Math.max(...firstAudio), close };
    } catch (e) {
      close();
      throw e;
    }
  },

  async teardown(ctx) {
    clearTimeout(ctx.timer);
    ctx.sources.clear();
    // wrtc bug: native objects (RTCAudioSource, RTCRtpReceiver, ...) still alive when Node exits
    // are finalized after wrtc's PeerConnectionFactory reference is gone, and the process dies
    // with SIGSEGV at exit (finalizer → napi_reference_unref on a deleted reference). Collecting
    // the closed pairs now, while the environment is alive, avoids it. Each wrapper holds the
    // next one (pc → transceiver → receiver → track → source) through references that only its
    // finalizer drops, so it takes several rounds.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc');
    for (let i = 0; i < 8; i++) {
      gc();
      await new Promise((resolve) => setTimeout(resolve, 10)); // finalizers run a tick later
    }
  },
};
