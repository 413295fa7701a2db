'use strict';

// Real audio between two GstPeerConnections in one process (real GStreamer, loopback only).

const os = require('os');
const { ToneSource, nonstandard } = require('../dist');
const { detectTone, expectContinuousTone, sine } = require('./helpers/audio');
const { collectRemote, connect } = require('./helpers/peers');
const { withoutCandidates } = require('./helpers/sdp');
const { own, peer, twoTonePeers } = require('./helpers/later');
const { sleep } = require('./helpers/resources');

const FREQ_A = 440;
const FREQ_B = 1250;
const OTHERS = [FREQ_A, FREQ_B, 700, 2000];

/** Everything the last `ms` of audio must satisfy: continuous frames and the right tone. */
const assertHears = (collector, freq, ms) => expectContinuousTone(collector, freq, ms, OTHERS);

describe.each([
  ['trickle ICE', true],
  ['complete SDP (no trickle)', false],
])('two peers, %s', (_name, trickle) => {
  test('each side hears the other tone continuously for 2 s', async () => {
    const { a, b, atA, atB } = twoTonePeers(FREQ_A, FREQ_B);
    await connect(a, b, { trickle });
    const [{ sink: sinkA, ev: evA }, { sink: sinkB }] = await Promise.all([atA.ready, atB.ready]);
    expect(evA.track.kind).toBe('audio');
    expect(evA.receiver.track).toBe(evA.track);
    expect(evA.transceiver.receiver).toBe(evA.receiver);
    // B called addTrack(track) with no stream: a=msid:- , so A's track belongs to no stream
    // (RFC 8830 §2, webrtc-pc §4.4.1.5), as in browsers.
    expect(evA.streams).toEqual([]);
    await sleep(3000);
    sinkA.stop();
    sinkB.stop();
    assertHears(atB.collector, FREQ_A, 2000);
    assertHears(atA.collector, FREQ_B, 2000);
    if (!trickle) {
      const sdp = a.localDescription.sdp;
      expect(sdp).toMatch(/a=candidate:.* 127\.0\.0\.1 /);
      expect(sdp).toContain('a=end-of-candidates');
      expect(sdp).not.toMatch(/^c=IN IP4 0\.0\.0\.0/m);
    }
  });
});

describe('track controls', () => {
  test('a disabled track sends silence, re-enabling restores the tone', async () => {
    const tone = own(new ToneSource({ frequency: FREQ_A }));
    const a = peer();
    const b = peer();
    a.addTrack(tone.track);
    const atB = collectRemote(b);
    await connect(a, b);
    await atB.ready;
    await sleep(1000);
    tone.track.enabled = false;
    await sleep(300);
    atB.collector.reset();
    await sleep(800);
    const silent = atB.collector.samples();
    expect(silent.length).toBeGreaterThan(48000 * 0.5);
    expect(detectTone(silent, 48000, FREQ_A).present).toBe(false);
    tone.track.enabled = true;
    await sleep(300);
    atB.collector.reset();
    await sleep(800);
    expect(detectTone(atB.collector.samples(), 48000, FREQ_A, { otherFreqs: [FREQ_B] }).present).toBe(true);
  });

  test('replaceTrack switches the tone without renegotiation', async () => {
    const tone = own(new ToneSource({ frequency: FREQ_A }));
    const a = peer();
    const b = peer();
    const other = new ToneSource({ frequency: FREQ_B });
    try {
      const sender = a.addTrack(tone.track);
      const atB = collectRemote(b);
      await connect(a, b);
      await atB.ready;
      await sleep(800);
      await sender.replaceTrack(other.track);
      expect(sender.track).toBe(other.track);
      await sleep(300);
      atB.collector.reset();
      await sleep(800);
      expect(detectTone(atB.collector.samples(), 48000, FREQ_B, { otherFreqs: [FREQ_A] }).present).toBe(true);
    } finally {
      other.stop();
    }
  });
});

/** An RTCAudioSource's track sent from A to B, connected; `atB` collects what B hears. */
async function sourceCall() {
  const a = peer();
  const b = peer();
  const source = new nonstandard.RTCAudioSource();
  const track = source.createTrack();
  a.addTrack(track);
  const atB = collectRemote(b);
  await connect(a, b);
  await atB.ready;
  return { source, track, atB };
}

describe('RTCAudioSource → peer → RTCAudioSink', () => {
  test('a generated two-tone signal arrives intact', async () => {
    const { source, track, atB } = await sourceCall();
    // 16 kHz mono frames from JS, as a voice agent would push them: resampled natively.
    const rate = 16000;
    const frame = rate / 100;
    const low = sine(500, rate, 10_000, { amplitude: 0.3 });
    const high = sine(1300, rate, 10_000, { amplitude: 0.3 });
    let offset = 0;
    const timer = setInterval(() => {
      const samples = new Int16Array(frame);
      for (let i = 0; i < frame; i++) samples[i] = low[offset + i] + high[offset + i];
      offset += frame;
      source.onData({ samples, sampleRate: rate, bitsPerSample: 16, channelCount: 1, numberOfFrames: frame });
    }, 10);
    try {
      await sleep(2500);
    } finally {
      clearInterval(timer);
    }
    const audio = atB.collector.samples(1000);
    expect(audio.length).toBeGreaterThan(48000);
    for (const f of [500, 1300]) {
      expect(detectTone(audio, 48000, f, { otherFreqs: [800, 2000, 300] }).present).toBe(true);
    }
    expect(() => source.onData({ samples: new Int16Array(10), sampleRate: rate, bitsPerSample: 16, channelCount: 1, numberOfFrames: frame })).toThrow(TypeError);
    track.stop();
  });
});

describe('RTCAudioSource frame lengths', () => {
  // wrtc accepts only 10 ms frames; here any length goes (numberOfFrames defaults to
  // samples.length / channelCount), pushed into the track at once as wrtc does.
  test('7 ms chunks of 24 kHz stereo with no numberOfFrames arrive as a continuous tone', async () => {
    const { source, track, atB } = await sourceCall();
    const rate = 24000;
    const chunk = (rate * 7) / 1000;
    const mono = sine(FREQ_A, rate, 4000, { amplitude: 0.4 });
    let sent = 0;
    const started = performance.now();
    const timer = setInterval(() => {
      // Every chunk owed by now, so the average rate is real time whatever the timer does.
      const owed = Math.floor(((performance.now() - started) * rate) / 1000);
      while (sent + chunk <= Math.min(owed + chunk, mono.length)) {
        const samples = new Int16Array(chunk * 2);
        for (let i = 0; i < chunk; i++) samples[2 * i] = samples[2 * i + 1] = mono[sent + i];
        source.onData({ samples, sampleRate: rate, channelCount: 2 });
        sent += chunk;
      }
    }, 5);
    try {
      await sleep(3500);
    } finally {
      clearInterval(timer);
    }
    assertHears(atB.collector, FREQ_A, 2000);
    expect(() => source.onData({ samples: new Int16Array(3), sampleRate: rate, channelCount: 2 })).toThrow(TypeError);
    track.stop();
  });
});

describe('playout delay of a new stream', () => {
  // rtpjitterbuffer alone holds a stream's first packet for its whole latency and the sink
  // then plays at latency + headroom: first audio came ≥ 310 ms after 'connected' here.
  // Now the first packet plays at once and the delay grows to the latency over time
  // (src/media/playout.rs), without a gap.
  test('first audio does not wait for the whole jitter buffer, and the audio stays continuous', async () => {
    const tone = own(new ToneSource({ frequency: FREQ_A, amplitude: 0.5 }));
    const a = peer();
    const b = peer({ jitterBufferLatency: 300 });
    a.addTrack(tone.track);
    const atB = collectRemote(b);
    let firstAudioAt = null;
    atB.ready.then(({ ev }) => {
      const probe = new nonstandard.RTCAudioSink(ev.track);
      probe.ondata = ({ samples }) => {
        let energy = 0;
        for (const s of samples) energy += s * s;
        if (energy / samples.length > 0.01) {
          firstAudioAt = performance.now();
          probe.stop();
        }
      };
    });
    await connect(a, b);
    const connectedAt = performance.now();
    const { sink } = await atB.ready;
    await sleep(3000);
    sink.stop();
    expect(firstAudioAt).not.toBeNull();
    expect(firstAudioAt - connectedAt).toBeLessThan(200);
    // From the very first frame: delivered 1 % slower while the delay grows, never a gap.
    expect(atB.collector.continuity(0).gaps).toBe(0);
    assertHears(atB.collector, FREQ_A, 2000);
  });
});

describe('isolation', () => {
  // webrtcbin blocks RTP until DTLS is done; the pushing thread would be one of the media
  // workers all connections share (four per core): a few connections stuck before DTLS
  // used to hold every worker, and every other call went silent.
  test('connections that never connect do not hold up the audio of the others', async () => {
    const tone = own(new ToneSource({ frequency: FREQ_A, amplitude: 0.5 }));
    const [a, b] = [peer(), peer()];
    a.addTrack(tone.track);
    const atB = collectRemote(b);
    await connect(a, b);
    const { sink } = await atB.ready;
    // More senders than there are media workers, each negotiated (so encoding) but with no
    // candidate to reach its peer: they never get to DTLS.
    const stuckPairs = 2 * os.cpus().length + 1;
    for (let i = 0; i < stuckPairs; i++) {
      const [x, y] = [peer(), peer()];
      x.addTrack(tone.track);
      y.addTrack(tone.track);
      await x.setLocalDescription();
      await y.setRemoteDescription(withoutCandidates(x.localDescription));
      await y.setLocalDescription();
      await x.setRemoteDescription(withoutCandidates(y.localDescription));
    }
    const from = atB.collector.durationMs;
    await sleep(2500);
    sink.stop();
    expect(atB.collector.durationMs - from).toBeGreaterThan(2000);
    assertHears(atB.collector, FREQ_A, 2000);
  });
});

describe('RTCAudioSink frames', () => {
  // The native side hands over all the whole 10 ms frames of a buffer in one crossing; each
  // still arrives as its own 'data' event with its own samples, in order.
  test('a 30 ms chunk arrives as three 10 ms events; stop() in a listener drops the rest', async () => {
    const source = new nonstandard.RTCAudioSource();
    const track = source.createTrack();
    const sink = new nonstandard.RTCAudioSink(track);
    const events = [];
    sink.ondata = (e) => events.push(e);
    const push = (first, count) => {
      const samples = Int16Array.from({ length: count }, (_, i) => first + i);
      source.onData({ samples, sampleRate: 48000, channelCount: 1 });
    };
    push(0, 1440);
    push(1440, 720); // one frame and a half: the half waits for the next chunk
    push(2160, 240);
    for (let i = 0; i < 100 && events.length < 5; i++) await sleep(10);
    await sleep(50);
    expect(events.length).toBe(5);
    events.forEach((e, k) => {
      expect([e.sampleRate, e.channelCount, e.numberOfFrames, e.bitsPerSample]).toEqual([48000, 1, 480, 16]);
      expect(e.samples.length).toBe(480);
      expect(e.samples.buffer.byteLength).toBe(960);
      expect([e.samples[0], e.samples[479]]).toEqual([k * 480, k * 480 + 479]);
    });
    let after = 0;
    sink.ondata = () => {
      after += 1;
      sink.stop();
    };
    push(2400, 1440);
    await sleep(100);
    expect(after).toBe(1);
    expect(sink.stopped).toBe(true);
    track.stop();
  });

  // Many sinks crossing to Node's thread at the same moments: none may get another's frames,
  // lose one, or get them out of order.
  test('40 sinks fed at the same moments each get exactly their own frames, in order', async () => {
    const SINKS = 40;
    const CHUNKS = 10;
    const value = (k, i) => ((i + k * 613) % 32000) - 16000;
    const feeds = Array.from({ length: SINKS }, (_, k) => {
      const source = new nonstandard.RTCAudioSource();
      const track = source.createTrack();
      const sink = new nonstandard.RTCAudioSink(track);
      const got = [];
      sink.ondata = ({ samples }) => got.push(samples);
      return { k, source, track, sink, got };
    });
    for (let c = 0; c < CHUNKS; c++) {
      for (const { k, source } of feeds) {
        const samples = Int16Array.from({ length: 960 }, (_, j) => value(k, c * 960 + j));
        source.onData({ samples, sampleRate: 48000, channelCount: 1 });
      }
      await sleep(5);
    }
    const want = (CHUNKS * 960) / 480;
    for (let i = 0; i < 100 && feeds.some((f) => f.got.length < want); i++) await sleep(10);
    await sleep(50);
    for (const { k, got, sink, track } of feeds) {
      expect(got.length).toBe(want);
      const heard = Int16Array.from(got.flatMap((frame) => Array.from(frame)));
      const expected = Int16Array.from({ length: CHUNKS * 960 }, (_, i) => value(k, i));
      expect(Buffer.from(heard.buffer).equals(Buffer.from(expected.buffer))).toBe(true);
      sink.stop();
      track.stop();
    }
  });

  test('a sink nobody references delivers while its track lives; without stop(), it is let go when its track ends', () => {
    const { spawnSync } = require('node:child_process');
    const path = require('node:path');
    const script = `
      const { nonstandard } = require(${JSON.stringify(path.join(__dirname, '..', 'dist'))});
      const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
      async function settle() {
        for (let i = 0; i < 5; i++) { global.gc(); await sleep(100); }
      }
      let collected = 0;
      const registry = new FinalizationRegistry(() => collected++);
      let frames = 0;
      const source = new nonstandard.RTCAudioSource();
      const track = source.createTrack();
      const feed = () => source.onData({ samples: new Int16Array(480), sampleRate: 48000, channelCount: 1 });
      (() => {
        for (let i = 0; i < 5; i++) {
          const sink = new nonstandard.RTCAudioSink(track);
          sink.ondata = () => frames++;
          registry.register(sink, 0);
        }
      })();
      (async () => {
        await settle();
        feed();
        await sleep(100);
        const whileLive = { frames, collected };
        track.stop();
        await settle();
        console.log(JSON.stringify({ whileLive, afterEnd: { collected } }));
        process.exit(0);
      })().catch((e) => { console.error(e); process.exit(2); });
    `;
    const res = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 60_000 });
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    const { whileLive, afterEnd } = JSON.parse(res.stdout.trim().split('\n').pop());
    expect(whileLive).toEqual({ frames: 5, collected: 0 });
    expect(afterEnd).toEqual({ collected: 5 });
  });
});
