'use strict';

// VoiceProcessor (issue 22): echo cancellation against the agent's own voice, noise
// suppression and voice activity on a received track, with real GStreamer (webrtcdsp) and
// espeak-ng speech. Levels compare the processor's input and output over the same stretch of
// audio: both are collected from the moment the processor starts.

const { AudioPlayer, RTCPeerConnection, VoiceProcessor, nonstandard } = require('../dist');
const { FrameCollector } = require('./helpers/audio');
const { later, own } = require('./helpers/later');
const { sleep, waitFor } = require('./helpers/resources');
const { mulaw, unmulaw } = require('./helpers/rtp-phone');
const { say, pinkNoise, levelDb } = require('./helpers/voices');

jest.setTimeout(90_000);

const AGENT_TEXT = 'Thank you for calling. I can help you with your booking, your invoice, or a new order. Please tell me what you need, and I will find the right answer for you.';
const PHONE_TEXT = 'Hello, I would like to change the date of my flight to next Tuesday please, and keep the same seat.';

/** Collects `track` (48 kHz) from now on; stopped after the test. */
function collect(track) {
  const collector = new FrameCollector();
  const sink = own(new nonstandard.RTCAudioSink(track));
  sink.ondata = collector.push;
  return collector;
}

/** [fromMs, toMs) of a 48 kHz collection. */
const span = (samples, fromMs, toMs) => samples.subarray(Math.round(fromMs * 48), Math.round(toMs * 48));

/** Start of the first 10 ms with sound (above −50 dBFS), ms. */
function firstSound(samples) {
  for (let i = 0; i + 480 <= samples.length; i += 480) if (levelDb(samples.subarray(i, i + 480)) > -50) return i / 48;
  return -1;
}

/**
 * Where `voice` (8 kHz) starts in `samples` (48 kHz, band-limited to 4 kHz by PCMU), in ms,
 * searched ±`withinMs` around `nearMs`: the lag of the largest cross-correlation.
 */
function locate(samples, voice, nearMs, withinMs) {
  let best = -Infinity;
  let at = nearMs;
  for (let lag = (nearMs - withinMs) * 8; lag <= (nearMs + withinMs) * 8; lag++) {
    let c = 0;
    for (let i = 0; i < voice.length && 6 * (lag + i) < samples.length; i++) c += voice[i] * samples[6 * (lag + i)];
    if (c > best) [best, at] = [c, lag / 8];
  }
  return at;
}

/**
 * A phone on plain RTP (PCMU): what it hears comes back 80 ms later, 10 dB down (a hybrid's
 * echo), and `ownVoiceAfterMs` after it first hears the agent it starts speaking `voice`
 * (8 kHz) over it. Its clock is the agent's: one packet back per packet received.
 * `stalls`: its network holds its packets for 30–90 ms every 600 ms (lengths from a fixed
 * seed) and then delivers them at once, as a congested Wi-Fi or mobile link does.
 */
async function echoingPhone(player, voice, ownVoiceAfterMs, { stalls = false } = {}) {
  const dgram = require('node:dgram');
  const socket = dgram.createSocket('udp4');
  await new Promise((r) => socket.bind(0, '127.0.0.1', r));
  const pc = own(new RTCPeerConnection({ rtpProfile: 'RTP/AVP', localAddresses: ['127.0.0.1'] }));
  pc.addTrack(player.track);
  const remote = new Promise((r) => pc.addEventListener('track', (e) => r(e.track), { once: true }));
  const offer = `v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${socket.address().port} RTP/AVP 0\r\na=sendrecv\r\n`;
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  await pc.setLocalDescription(await pc.createAnswer());
  const port = Number(/^m=audio (\d+) /m.exec(pc.localDescription.sdp)[1]);
  let seq = 0;
  let heardAgentAt = -1;
  let packets = 0;
  let spoken = 0;
  let closed = false;
  const timers = new Set();
  // Time between the phone's packets: this process's event loop stalling (a long garbage
  // collection) makes its packets late and then bursty, which costs the canceller while both talk.
  const gaps = [];
  let lastSent;
  const send = (packet) => {
    socket.send(packet, port, '127.0.0.1');
    const sentAt = performance.now();
    if (lastSent !== undefined) gaps.push(sentAt - lastSent);
    lastSent = sentAt;
  };
  socket.on('message', (m) => {
    if (m.length <= 12) return;
    const pcm = new Int16Array(m.length - 12);
    for (let i = 0; i < pcm.length; i++) pcm[i] = unmulaw(m[12 + i]);
    packets++;
    if (heardAgentAt < 0 && pcm.some((s) => Math.abs(s) > 300)) heardAgentAt = packets;
    const speaking = heardAgentAt >= 0 && (packets - heardAgentAt) * 20 >= ownVoiceAfterMs;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (closed) return;
      const out = Buffer.alloc(12 + pcm.length);
      out[0] = 0x80;
      out.writeUInt16BE(seq & 0xffff, 2);
      out.writeUInt32BE((seq * 160) >>> 0, 4);
      out.writeUInt32BE(0x4242, 8);
      seq++;
      for (let i = 0; i < pcm.length; i++) {
        const own = speaking && spoken < voice.length ? voice[spoken++] : 0;
        out[12 + i] = mulaw(Math.max(-32768, Math.min(32767, Math.round(pcm[i] * 0.316 + own))));
      }
      if (held) held.push(out);
      else send(out);
    }, 80);
    timers.add(timer);
  });
  // The stalled network: packets held while `held` is set, then sent in order.
  let held = null;
  let seed = 7;
  const stallTimer = stalls
    ? setInterval(() => {
        seed = (seed * 16807) % 2147483647;
        held = [];
        const timer = setTimeout(() => {
          timers.delete(timer);
          const burst = held;
          held = null;
          if (!closed) burst.forEach(send);
        }, 30 + (seed % 61));
        timers.add(timer);
      }, 600)
    : null;
  later(() => {
    clearInterval(stallTimer);
    closed = true;
    for (const t of timers) clearTimeout(t);
    socket.close();
  });
  return { remote: await remote, gaps };
}

/**
 * The agent speaks to `echoingPhone(…, phoneOptions)`, which talks over it from 5 s into its
 * speech (double talk), then alone: the processed track has the echo ≥ 20 dB down and the
 * phone within 3 dB, alone and while both talk.
 */
async function echoCall(phoneOptions) {
  const agent = say(AGENT_TEXT, { voice: 'en-us', rate: 48000 });
  const phoneVoice = say(PHONE_TEXT, { voice: 'en+f3', rate: 8000 });
  const player = own(new AudioPlayer());
  const { remote, gaps } = await echoingPhone(player, phoneVoice, 5000, phoneOptions);
  const processor = own(new VoiceProcessor(remote, { reference: player.track }));
  const starts = [];
  processor.addEventListener('speechstart', (e) => starts.push(e.timeMs));
  const input = collect(remote);
  const output = collect(processor.track);
  // The agent greets 1 s into the call, while the new receive stream's playout delay still
  // grows by inserting pitch periods (media/playout.rs), each of which moves the echo path: the
  // canceller is told of each and keeps the path it sees in place (voice/canceller.rs).
  await sleep(1000);
  player.enqueue(agent, { sampleRate: 48000 });
  const agentMs = (agent.length / 48000) * 1000;
  const phoneMs = (phoneVoice.length / 8000) * 1000;
  await sleep(5000 + phoneMs + 1000);

  const raw = input.samples();
  const done = output.samples();
  const t0 = firstSound(raw);
  expect(t0).toBeGreaterThan(800);
  // Echo alone from 2.5 s into the agent's speech (the delay estimate behind echoDelayMs needs 1–2 s).
  const echoOnly = [t0 + 2500, t0 + 4800];
  const doubleTalk = [t0 + 5300, t0 + agentMs - 300];
  const phoneAlone = [t0 + agentMs + 300, t0 + 5000 + phoneMs - 300];
  const erle = levelDb(span(raw, ...echoOnly)) - levelDb(span(done, ...echoOnly));
  const phoneChange = levelDb(span(done, ...phoneAlone)) - levelDb(span(raw, ...phoneAlone));
  // While both talk, the input is the phone plus the echo: the phone's level there is that of
  // its own voice over the same stretch, found in the input by correlation.
  const phoneAt = locate(raw, phoneVoice, t0 + 5000, 100);
  const phoneDuring = phoneVoice.subarray(Math.round((doubleTalk[0] - phoneAt) * 8), Math.round((doubleTalk[1] - phoneAt) * 8));
  const doubleTalkChange = levelDb(span(done, ...doubleTalk)) - levelDb(phoneDuring);
  console.log(`echo delay ${processor.echoDelayMs} ms; ERLE ${erle.toFixed(1)} dB; phone alone ${phoneChange.toFixed(1)} dB; double talk ${doubleTalkChange.toFixed(1)} dB (phone at t0 + ${(phoneAt - t0).toFixed(1)} ms; input ${(levelDb(span(raw, ...doubleTalk)) - levelDb(phoneDuring)).toFixed(1)} dB)`);
  // Second by second, to tell a stretch where the canceller dips from a steady offset.
  const bySecond = [];
  for (let from = doubleTalk[0]; from + 1000 <= doubleTalk[1]; from += 1000) {
    const phone = phoneVoice.subarray(Math.round((from - phoneAt) * 8), Math.round((from + 1000 - phoneAt) * 8));
    bySecond.push((levelDb(span(done, from, from + 1000)) - levelDb(phone)).toFixed(1));
  }
  console.log(`double talk by second: ${bySecond.join(' ')} dB`);
  console.log(`phone: ${gaps.length} gaps between packets, ${gaps.filter((g) => g > 40).length} over 40 ms, longest ${Math.max(...gaps).toFixed(1)} ms`);
  expect(processor.echoDelayMs).toBeGreaterThan(80);
  expect(processor.echoDelayMs).toBeLessThan(300);
  expect(erle).toBeGreaterThanOrEqual(20);
  expect(Math.abs(phoneChange)).toBeLessThanOrEqual(3);
  expect(Math.abs(doubleTalkChange)).toBeLessThanOrEqual(3);
  // Once converged, the agent's own echo is no barge-in.
  expect(starts.filter((t) => t > echoOnly[0] && t < echoOnly[1])).toEqual([]);
}

test('echo: a phone returns the agent 80 ms later and 10 dB down under its own speech; the processed track has the echo ≥ 20 dB down and the phone within 3 dB, alone and while both talk', () => echoCall());

// The jitter buffer stamps a burst's packets against the audio while its skew estimate
// settles; the receive chain's resampler keeps the audio whole regardless
// (media/steady_resample.rs), so the echo path the canceller sees does not move.
test('echo: the same phone behind a network that holds its packets 30–90 ms every 600 ms and then delivers them at once; the same bounds', () => echoCall({ stalls: true }));

test('noise suppression: pink noise under speech is ≥ 10 dB down once converged, the speech keeps its level', async () => {
  const speech = say(PHONE_TEXT, { voice: 'en+f3', rate: 48000 });
  const total = 48000 * 6 + speech.length + 48000 * 3;
  const signal = pinkNoise(total, -38, 7);
  for (let i = 0; i < speech.length; i++) signal[48000 * 6 + i] = Math.max(-32768, Math.min(32767, signal[48000 * 6 + i] + speech[i]));
  const player = own(new AudioPlayer({ highWaterMs: 60_000, lowWaterMs: 1000 }));
  const processor = own(new VoiceProcessor(player.track, { noiseSuppression: 'moderate', voiceActivity: false }));
  const input = collect(player.track);
  const output = collect(processor.track);
  player.enqueue(signal, { sampleRate: 48000 });
  await waitFor(() => player.queuedMs === 0, 30_000, 100);
  await sleep(300);
  const raw = input.samples();
  const done = output.samples();
  const t0 = firstSound(raw);
  const speechMs = (speech.length / 48000) * 1000;
  const noiseAfter = [t0 + 6000 + speechMs + 500, t0 + 6000 + speechMs + 2800];
  const during = [t0 + 6000 + 200, t0 + 6000 + speechMs - 200];
  const noiseDown = levelDb(span(raw, ...noiseAfter)) - levelDb(span(done, ...noiseAfter));
  const speechChange = levelDb(span(done, ...during)) - levelDb(span(raw, ...during));
  console.log(`noise floor down ${noiseDown.toFixed(1)} dB; speech ${speechChange.toFixed(1)} dB`);
  expect(noiseDown).toBeGreaterThanOrEqual(10);
  expect(Math.abs(speechChange)).toBeLessThanOrEqual(3);
});

test('voice activity: speechstart/speechend within 100 ms of each spoken phrase, none on silence or on noise alone', async () => {
  const phrases = ['Hello there.', 'Please call me back tomorrow.', 'Yes, that is right.'].map((t) => say(t, { voice: 'en+f3', rate: 48000 }));
  const gap = () => new Int16Array(48000);
  const noise = pinkNoise(48000 * 3, -30, 11);
  const parts = [gap(), phrases[0], gap(), phrases[1], gap(), noise, gap(), phrases[2], gap()];
  const signal = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  // Where each phrase's sound starts and ends in the signal (10 ms frames above −45 dBFS), ms.
  const truth = [];
  let at = 0;
  for (const p of parts) {
    signal.set(p, at);
    if (phrases.includes(p)) {
      const frames = [];
      for (let i = 0; i + 480 <= p.length; i += 480) if (levelDb(p.subarray(i, i + 480)) > -45) frames.push(i);
      truth.push([(at + frames[0]) / 48, (at + frames[frames.length - 1] + 480) / 48]);
    }
    at += p.length;
  }
  const player = own(new AudioPlayer({ highWaterMs: 60_000, lowWaterMs: 1000 }));
  const processor = own(new VoiceProcessor(player.track, { noiseSuppression: 'moderate' }));
  const input = collect(player.track);
  const events = [];
  for (const type of ['speechstart', 'speechend']) processor.addEventListener(type, (e) => events.push([type, e.timeMs]));
  player.enqueue(signal, { sampleRate: 48000 });
  await waitFor(() => player.queuedMs === 0, 30_000, 100);
  await sleep(500);
  // The processor's media time is the input's: the first non-zero sample places the signal.
  const raw = input.samples();
  const offset = raw.findIndex((s) => s !== 0) / 48 - signal.findIndex((s) => s !== 0) / 48;
  const segments = truth.map(([s, e]) => [s + offset, e + offset]);
  console.log(`phrases ${JSON.stringify(segments.map(([s, e]) => [Math.round(s), Math.round(e)]))}; events ${JSON.stringify(events)}`);
  for (const [s, e] of segments) {
    expect({ phrase: [s, e], start: events.some(([type, t]) => type === 'speechstart' && Math.abs(t - s) <= 100) }).toEqual({ phrase: [s, e], start: true });
    expect({ phrase: [s, e], end: events.some(([type, t]) => type === 'speechend' && Math.abs(t - e) <= 100) }).toEqual({ phrase: [s, e], end: true });
  }
  // Every event belongs to a phrase: none on the silences, none on the 3 s of noise.
  const stray = events.filter(([, t]) => !segments.some(([s, e]) => t >= s - 100 && t <= e + 100));
  expect(stray).toEqual([]);
});

test('bad arguments: echo cancellation needs a reference; levels and flags are checked', () => {
  const player = own(new AudioPlayer());
  expect(() => new VoiceProcessor(player.track, { echoCancellation: true })).toThrow(TypeError);
  expect(() => new VoiceProcessor(player.track, { noiseSuppression: 'max' })).toThrow(TypeError);
  expect(() => new VoiceProcessor(player.track, { voiceActivity: 'yes' })).toThrow(TypeError);
  expect(() => new VoiceProcessor({}, {})).toThrow(TypeError);
  const processor = new VoiceProcessor(player.track, { noiseSuppression: false });
  expect(processor.echoDelayMs).toBeNull();
  processor.stop();
  expect(processor.track.readyState).toBe('ended');
  // The input ending ends the processed track, which fires 'ended'.
  const input = new AudioPlayer();
  const follows = new VoiceProcessor(input.track, { noiseSuppression: false });
  let fired = false;
  follows.track.addEventListener('ended', () => (fired = true));
  input.stop();
  expect(follows.track.readyState).toBe('ended');
  expect(fired).toBe(true);
  const ended = new AudioPlayer();
  ended.stop();
  expect(() => new VoiceProcessor(ended.track)).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
});

test('players and processors JS drops without stop() are released: their threads end and their objects are collected', () => {
  const { spawnSync } = require('node:child_process');
  const path = require('node:path');
  const script = `
    const fs = require('node:fs');
    const { AudioPlayer, VoiceProcessor } = require(${JSON.stringify(path.join(__dirname, '..', 'dist'))});
    const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
    const threads = () => fs.readdirSync('/proc/self/task').length;
    let collected = 0;
    const registry = new FinalizationRegistry(() => collected++);
    async function settle() {
      for (let i = 0; i < 5; i++) { global.gc(); await sleep(200); }
    }
    function make() {
      const caller = new AudioPlayer();
      const agent = new AudioPlayer();
      const processor = new VoiceProcessor(caller.track, { reference: agent.track });
      processor.onspeechstart = () => {};
      caller.enqueue(new Int16Array(4800).fill(500), { sampleRate: 48000 });
      agent.mark('m');
      for (const o of [caller, agent, processor]) registry.register(o, 0);
    }
    (async () => {
      // What lives for the process comes first: GLib keeps finished streaming threads in a
      // pool ("pool-…") for reuse.
      const p = new AudioPlayer();
      const warm = new VoiceProcessor(p.track, { reference: p.track });
      await sleep(300);
      warm.stop();
      p.stop();
      await settle();
      const before = threads();
      for (let i = 0; i < 10; i++) make();
      await sleep(500);
      const during = threads();
      await settle();
      await sleep(1000);
      await settle();
      console.log(JSON.stringify({ before, during, after: threads(), collected }));
      process.exit(0);
    })().catch((e) => { console.error(e); process.exit(2); });
  `;
  const res = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 60_000 });
  expect(res.stderr).toBe('');
  expect(res.status).toBe(0);
  const { before, during, after, collected } = JSON.parse(res.stdout.trim().split('\n').pop());
  expect(during).toBeGreaterThanOrEqual(before + 10); // one streaming thread per processor
  expect(after).toBeLessThanOrEqual(before);
  expect(collected).toBe(30);
});
