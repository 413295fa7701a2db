'use strict';

// @roamhq/wrtc (libwebrtc bindings) as a bench stack; same interface as bench/stacks/gst.js.
//
// Audio goes through libwebrtc's own pipeline: PCM pushed into an RTCAudioSource is encoded to
// 20 ms Opus by libwebrtc, and the receiver's RTCAudioSink gets decoded 10 ms PCM frames.

const { RTCPeerConnection, nonstandard } = require('@roamhq/wrtc');
const pkg = require('@roamhq/wrtc/package.json');

const RATE = 48000;
const CHUNK_MS = 10; // RTCAudioSource takes exactly 10 ms per onData()

// libwebrtc has no option to gather on one address only (just a port range), so candidates are
// filtered on the way to the peer instead: only UDP host candidates on 127.0.0.1 get through.
const CONFIG = { iceServers: [] };
const loopback = (line) => / udp \d+ 127\.0\.0\.1 \d+ typ host/i.test(line);

/** The description with its a=candidate lines (if any) reduced to 127.0.0.1 ones. */
function localOnly(desc) {
  const sdp = desc.sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:') || loopback(l)).join('\r\n');
  return { type: desc.type, sdp };
}

function connected(pc) {
  return new Promise((resolve, reject) => {
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') resolve();
      if (pc.connectionState === 'failed') reject(new Error('connection failed'));
    });
  });
}

module.exports = {
  name: 'wrtc',
  label: `@roamhq/wrtc ${pkg.version}`,
  version: pkg.version,
  audio: 'RTCAudioSource fed 10 ms PCM (440 Hz) from JS → libwebrtc Opus 20 ms; RTCAudioSink (10 ms PCM frames to JS)',

  async setup() {
    // One 10 ms frame of a 440 Hz tone (a whole number of periods in 10 ms: loops seamlessly).
    const samples = new Int16Array((RATE * CHUNK_MS) / 1000);
    samples.forEach((_, i) => { samples[i] = Math.round(8000 * Math.sin((2 * Math.PI * 440 * i) / RATE)); });
    const data = { samples, sampleRate: RATE, bitsPerSample: 16, channelCount: 1, numberOfFrames: samples.length };
    const ctx = { sources: new Set(), n: 0, timer: null };
    // One timer for every source, deadline corrected: a late tick pushes every 10 ms frame owed
    // since the start, so libwebrtc is fed in real time on average whatever the timer does.
    const t0 = performance.now();
    const tick = () => {
      const due = Math.floor((performance.now() - t0) / CHUNK_MS) + 1;
      for (; ctx.n < due; ctx.n++) for (const source of ctx.sources) source.onData(data);
      ctx.timer = setTimeout(tick, t0 + ctx.n * CHUNK_MS - performance.now());
    };
    tick();
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
      return new Promise((resolve) => {
        pc.ontrack = ({ track }) => {
          const sink = new nonstandard.RTCAudioSink(track);
          sinks.push(sink);
          // Decoded 20 ms Opus frames reach the sink as two 10 ms frames back to back.
          const frame = meter.receiver(20);
          sink.ondata = () => {
            frame();
            resolve(performance.now() - t0);
          };
        };
      });
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
    };
    // A rejected addIceCandidate fails the pair rather than vanishing.
    let fail;
    const failed = new Promise((_, reject) => { fail = reject; });
    failed.catch(() => {}); // once the pair is up (or closed), a late failure no longer matters
    const trickle = (to) => ({ candidate }) => {
      if (candidate && loopback(candidate.candidate)) to.addIceCandidate(candidate).catch(fail);
    };
    a.onicecandidate = trickle(b);
    b.onicecandidate = trickle(a);
    try {
      // Feeding starts now, as with a live source: what is pushed before 'connected' is dropped.
      sources.forEach((s) => ctx.sources.add(s));
      await a.setLocalDescription(await a.createOffer());
      await b.setRemoteDescription(localOnly(a.localDescription));
      await b.setLocalDescription(await b.createAnswer());
      await a.setRemoteDescription(localOnly(b.localDescription));
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
  },
};
