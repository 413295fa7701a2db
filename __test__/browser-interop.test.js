'use strict';

// Interop with Chromium's own WebRTC stack (Debian's chromium, headless, via playwright-core).
// Signalling runs over page.evaluate / exposeFunction; audio is verified in both directions:
// in the page with a Web Audio analyser, in Node with RTCAudioSink and a Goertzel detector.

const { ToneSource, nonstandard } = require('../dist');
const { browserForTests } = require('./helpers/browser');
const { FrameCollector, detectTone, goertzelPower } = require('./helpers/audio');
const { createPeer, once, waitState, waitGatheringComplete } = require('./helpers/peers');
const { waitFor, sleep } = require('./helpers/resources');
const { later, runLater } = require('./helpers/later');

const NODE_FREQ = 660;
const PAGE_FREQ = 1500;
const PROBES = [NODE_FREQ, PAGE_FREQ, 440, 1000, 2200];

const browser = browserForTests();

/**
 * A Node peer and a page peer wired for signalling. Candidates that arrive before the
 * remote description is set are held back, as a signalling server would.
 */
async function setup({ nodeConfig = {}, page: pageOpts = {}, trickle = true, nodeFreq = NODE_FREQ } = {}) {
  const node = createPeer(nodeConfig);
  const tone = new ToneSource({ frequency: nodeFreq, amplitude: 0.5 });
  const held = [];
  const page = await browser().page((c) => {
    if (node.remoteDescription) node.addIceCandidate(c).catch(() => {});
    else held.push(c);
  });
  later(async () => {
    node.close();
    tone.stop();
    await page.close();
  });
  await page.evaluate((o) => T.start(o), { frequency: PAGE_FREQ, trickle, ...pageOpts });
  await page.evaluate(() => {
    T.held = [];
    const add = T.addCandidate;
    T.addCandidate = async (c) => (T.pc.remoteDescription ? add(c) : T.held.push(c));
    const setRemote = T.setRemote;
    T.setRemote = async (d) => {
      await setRemote(d);
      for (const c of T.held.splice(0)) await add(c);
    };
  });
  if (trickle) {
    node.addEventListener('icecandidate', (ev) => {
      if (ev.candidate) page.evaluate((c) => T.addCandidate(c), ev.candidate.toJSON()).catch(() => {});
    });
  }
  const flushHeld = async () => {
    for (const c of held.splice(0)) await node.addIceCandidate(c);
  };
  const heard = new FrameCollector();
  const remoteTrack = once(node, 'track', () => true, 20000).then((ev) => {
    const sink = new nonstandard.RTCAudioSink(ev.track);
    sink.ondata = heard.push;
    later(() => sink.stop());
    return ev;
  });
  return { node, tone, page, heard, remoteTrack, flushHeld };
}

/** Node offers (its tone on a new transceiver), the page answers with its oscillator. */
async function nodeOffers(s, { direction = 'sendrecv', trickle = true, more = () => {} } = {}) {
  const transceiver = s.node.addTransceiver(s.tone.track, { direction });
  more();
  await s.node.setLocalDescription();
  if (!trickle) await waitGatheringComplete(s.node);
  const answer = await s.page.evaluate(async (offer) => {
    await T.pc.setRemoteDescription(offer);
    if (T.track) T.pc.getTransceivers()[0].sender.replaceTrack(T.track);
    if (T.track) T.pc.getTransceivers()[0].direction = 'sendrecv';
    for (const c of T.held.splice(0)) await T.pc.addIceCandidate(c);
    await T.pc.setLocalDescription();
    if (!T.trickle) await T.gathered();
    return T.pc.localDescription.toJSON();
  }, s.node.localDescription.toJSON());
  await s.node.setRemoteDescription(answer);
  await s.flushHeld();
  return { transceiver, answer };
}

/** The page offers its oscillator, Node answers with its tone (addTrack reuses the transceiver). */
async function pageOffers(s) {
  await s.page.evaluate(() => T.addTrack());
  const offer = await s.page.evaluate(() => T.offer());
  await s.node.setRemoteDescription(offer);
  await s.flushHeld();
  s.node.addTrack(s.tone.track);
  await s.node.setLocalDescription();
  return offer;
}

/** Send Node's answer to the page: at once with trickle, else the complete SDP after gathering. */
async function nodeAnswerComplete(s, trickle) {
  if (!trickle) await waitGatheringComplete(s.node);
  await s.page.evaluate((a) => T.setRemote(a), s.node.localDescription.toJSON());
}

/**
 * setup(opts), then the page offers and Node answers (trickle) until Node is connected;
 * `beforeOffer(s)` runs between the two. Resolves with setup's peers.
 */
async function pageCall(opts, beforeOffer = async () => {}) {
  const s = await setup(opts);
  await beforeOffer(s);
  await pageOffers(s);
  await nodeAnswerComplete(s, true);
  await waitState(s.node, 'connectionState', 'connected', 15000);
  return s;
}

/** What the page hears: dB at each probe frequency. */
async function pageSpectrum(page, ms = 800) {
  return page.evaluate(([f, t]) => T.spectrum(f, t), [PROBES, ms]);
}

function expectPageHears(spectrum, freq) {
  expect(spectrum).not.toBeNull();
  for (const f of PROBES) {
    if (f !== freq) expect(spectrum[freq] - spectrum[f]).toBeGreaterThan(20);
  }
}

function expectPageSilent(spectrum, freq) {
  // No remote audio at all, or nothing at the frequency Node sends.
  if (spectrum === null) return;
  expect(spectrum[freq]).toBeLessThan(-70);
}

/** After a second of call: 1.5 s of the page's tone at Node (> 100 frames), and Node's tone in the page. */
async function expectBothWays(s) {
  await sleep(1000);
  const atNode = await nodeHears(s.heard, PAGE_FREQ, 1500);
  expect(atNode.frames).toBeGreaterThan(100);
  expect(atNode.tone.present).toBe(true);
  expectPageHears(await pageSpectrum(s.page), NODE_FREQ);
}

async function nodeHears(heard, freq, ms = 1000) {
  heard.reset();
  await sleep(ms);
  const samples = heard.samples();
  return { frames: heard.frameCount, tone: detectTone(samples, 48000, freq, { otherFreqs: PROBES.filter((f) => f !== freq) }) };
}

describe.each([
  ['trickle ICE', true],
  ['complete SDP (no trickle)', false],
])('audio both ways, %s', (_name, trickle) => {
  test('Chromium offers, Node answers', async () => {
    const s = await setup({ trickle });
    const t0 = performance.timeOrigin + performance.now();
    const offer = await pageOffers(s);
    expect(offer.sdp).toMatch(/a=group:BUNDLE/);
    await nodeAnswerComplete(s, trickle);
    if (!trickle) expect(s.node.localDescription.sdp).toContain('a=end-of-candidates');
    await waitState(s.node, 'connectionState', 'connected', 15000);
    const connectedAt = performance.timeOrigin + performance.now();
    await s.remoteTrack;
    // First audio at each end: Node's first decoded frame, the page analyser's first energy at NODE_FREQ.
    await waitFor(() => s.heard.frameCount > 0, 5000);
    // FrameCollector stamps frames with hrtime; convert the first one to epoch ms.
    const nodeFirst = performance.timeOrigin + performance.now() - Number(process.hrtime.bigint() - s.heard.frames[0].t) / 1e6;
    const pageFirst = await s.page.evaluate(async (f) => {
      while (!T.analyser) await new Promise((r) => setTimeout(r, 5));
      const bins = new Float32Array(T.analyser.frequencyBinCount);
      const k = Math.round(f / (T.ctx.sampleRate / T.analyser.fftSize));
      for (;;) {
        T.analyser.getFloatFrequencyData(bins);
        if (bins[k] > -60) return performance.timeOrigin + performance.now();
        await new Promise((r) => setTimeout(r, 5));
      }
    }, NODE_FREQ);
    console.log(`Chromium offers (${trickle ? 'trickle' : 'complete SDP'}): offer → connected ${(connectedAt - t0).toFixed(0)} ms, first audio at Node ${(nodeFirst - t0).toFixed(0)} ms, in Chromium ${(pageFirst - t0).toFixed(0)} ms`);
    await expectBothWays(s);
  }, 60000);

  test('Node offers, Chromium answers', async () => {
    const s = await setup({ trickle });
    await nodeOffers(s, { trickle });
    await waitState(s.node, 'connectionState', 'connected', 15000);
    await s.remoteTrack;
    await expectBothWays(s);
  }, 60000);
});

describe('bundle policies', () => {
  test("Chromium's max-bundle offer", async () => {
    const s = await pageCall({ page: { bundlePolicy: 'max-bundle' } });
    await s.remoteTrack;
    await sleep(800);
    expect((await nodeHears(s.heard, PAGE_FREQ)).tone.present).toBe(true);
    expectPageHears(await pageSpectrum(s.page), NODE_FREQ);
  }, 60000);

  test.each(['balanced', 'max-bundle'])('a GstPeerConnection offering with bundlePolicy %s (two audio m-lines)', async (bundlePolicy) => {
    const s = await setup({ nodeConfig: { bundlePolicy } });
    const second = new ToneSource({ frequency: 440 });
    later(() => second.stop());
    const { answer } = await nodeOffers(s, { more: () => s.node.addTransceiver(second.track, { direction: 'sendonly' }) });
    expect(s.node.localDescription.sdp.match(/^m=audio/gm)).toHaveLength(2);
    expect(s.node.localDescription.sdp).toMatch(/a=group:BUNDLE \S+ \S+/);
    // max-bundle marks the second m-line bundle-only (port 0); balanced offers it on its own port.
    const ports = [...s.node.localDescription.sdp.matchAll(/^m=audio (\d+)/gm)].map((m) => Number(m[1]));
    if (bundlePolicy === 'max-bundle') expect(ports[1]).toBe(0);
    else expect(ports[1]).toBeGreaterThan(0);
    expect(answer.sdp).toMatch(/a=group:BUNDLE \S+ \S+/);
    await waitState(s.node, 'connectionState', 'connected', 15000);
    await s.remoteTrack;
    await sleep(800);
    expect((await nodeHears(s.heard, PAGE_FREQ)).tone.present).toBe(true);
    const spectrum = await pageSpectrum(s.page);
    expect(spectrum[NODE_FREQ] - spectrum[PAGE_FREQ]).toBeGreaterThan(20);
  }, 60000);
});

describe('renegotiation', () => {
  test('recvonly → sendrecv → hold (sendonly, inactive) → resume, with negotiationneeded', async () => {
    const s = await setup();
    const { transceiver } = await nodeOffers(s, { direction: 'recvonly' });
    await waitState(s.node, 'connectionState', 'connected', 15000);
    await s.remoteTrack;
    await sleep(1000);
    // recvonly: Node hears the page, the page hears nothing from Node.
    expect((await nodeHears(s.heard, PAGE_FREQ)).tone.present).toBe(true);
    expectPageSilent(await pageSpectrum(s.page), NODE_FREQ);

    const renegotiate = async (direction) => {
      const needed = once(s.node, 'negotiationneeded');
      transceiver.direction = direction;
      await needed;
      await s.node.setLocalDescription();
      const answer = await s.page.evaluate((o) => T.answer(o), s.node.localDescription.toJSON());
      await s.node.setRemoteDescription(answer);
      expect(s.node.signalingState).toBe('stable');
      await sleep(1200);
    };

    await renegotiate('sendrecv');
    expect(transceiver.currentDirection).toBe('sendrecv');
    expect((await nodeHears(s.heard, PAGE_FREQ)).tone.present).toBe(true);
    expectPageHears(await pageSpectrum(s.page), NODE_FREQ);

    await renegotiate('sendonly'); // Node puts the page on hold
    expect(transceiver.currentDirection).toBe('sendonly');
    const onHold = await nodeHears(s.heard, PAGE_FREQ);
    expect(onHold.frames === 0 || !onHold.tone.present).toBe(true);
    expectPageHears(await pageSpectrum(s.page), NODE_FREQ);

    await renegotiate('inactive');
    expect(transceiver.currentDirection).toBe('inactive');
    const inactive = await nodeHears(s.heard, PAGE_FREQ);
    expect(inactive.frames === 0 || !inactive.tone.present).toBe(true);
    await sleep(500);
    expectPageSilent(await pageSpectrum(s.page), NODE_FREQ);

    await renegotiate('sendrecv');
    expect((await nodeHears(s.heard, PAGE_FREQ)).tone.present).toBe(true);
    expectPageHears(await pageSpectrum(s.page), NODE_FREQ);
  }, 90000);
});

describe('jitterBufferLatency', () => {
  /** Delay from the page switching its tone on to Node decoding it, median of `n`. */
  async function measureDelay(latency, n = 4) {
    const silent = (s) => s.page.evaluate(() => T.gain.gain.setValueAtTime(0, T.ctx.currentTime));
    const s = await pageCall({ nodeConfig: { jitterBufferLatency: latency } }, silent);
    const { receiver } = await s.remoteTrack;
    // A new stream starts playing with a short delay that grows to the full latency at 1 %
    // of real time (src/media/playout.rs): measure once it has.
    await sleep(1000 + latency * 100);
    expect(receiver.jitterBufferTarget).toBe(latency);
    let onsetAt = null;
    const track = receiver.track;
    const sink = new nonstandard.RTCAudioSink(track);
    later(() => sink.stop());
    sink.ondata = ({ samples }) => {
      if (onsetAt === null && goertzelPower(samples, 48000, PAGE_FREQ) > 0.005) onsetAt = performance.timeOrigin + performance.now();
    };
    const delays = [];
    for (let i = 0; i < n; i++) {
      await sleep(400);
      onsetAt = null;
      const startedAt = await s.page.evaluate(() => T.setToneGain(0.5));
      const t0 = Date.now();
      while (onsetAt === null && Date.now() - t0 < 3000) await sleep(5);
      expect(onsetAt).not.toBeNull();
      delays.push(onsetAt - startedAt);
      await s.page.evaluate(() => T.setToneGain(0));
    }
    delays.sort((a, b) => a - b);
    return delays[Math.floor(delays.length / 2)];
  }

  test('is applied to the receiving jitter buffer and shows in end-to-end delay', async () => {
    const low = await measureDelay(20);
    await runLater();
    const high = await measureDelay(120);
    console.log(`end-to-end delay Chromium → Node: ${low.toFixed(0)} ms at jitterBufferLatency 20, ${high.toFixed(0)} ms at 120 (difference ${(high - low).toFixed(0)} ms)`);
    expect(high - low).toBeGreaterThan(60);
    expect(high - low).toBeLessThan(170);
  }, 90000);
});

describe('getStats against Chromium', () => {
  test('reports the W3C stats types with live counters', async () => {
    const s = await pageCall();
    await s.remoteTrack;
    await sleep(2500);
    const report = await s.node.getStats();
    expect(report).toBeInstanceOf(Map);
    const byType = (t) => [...report.values()].filter((s) => s.type === t);
    for (const t of ['peer-connection', 'transport', 'candidate-pair', 'local-candidate', 'remote-candidate', 'inbound-rtp', 'outbound-rtp', 'codec']) {
      expect(byType(t).length).toBeGreaterThan(0);
    }
    const inbound = byType('inbound-rtp')[0];
    expect(inbound.packetsReceived).toBeGreaterThan(50);
    expect(typeof inbound.packetsLost).toBe('number');
    expect(inbound.jitter).toBeGreaterThanOrEqual(0);
    expect(inbound.bytesReceived).toBeGreaterThan(0);
    const outbound = byType('outbound-rtp')[0];
    expect(outbound.packetsSent).toBeGreaterThan(50);
    expect(outbound.bytesSent).toBeGreaterThan(0);
    expect(byType('candidate-pair').find((p) => p.nominated)).toBeDefined();
    expect(byType('codec').some((c) => c.mimeType.toLowerCase() === 'audio/opus')).toBe(true);
    // currentRoundTripTime is the RTCP round-trip time (libnice exposes no STUN one): it needs
    // one of our sender reports answered by a receiver report, and both sides send RTCP at a
    // randomised 5 s interval (RFC 3550 §6.2), so it can take a few seconds to appear.
    let pair;
    for (let i = 0; i < 60 && typeof pair?.currentRoundTripTime !== 'number'; i++) {
      if (i) await sleep(250);
      pair = [...(await s.node.getStats()).values()].find((p) => p.type === 'candidate-pair' && p.nominated);
    }
    expect(typeof pair.currentRoundTripTime).toBe('number');
  }, 60000);
});

describe('teardown', () => {
  test('the page closes its connection → Node leaves connected within the consent timeout', async () => {
    const s = await pageCall();
    await sleep(500);
    const t0 = Date.now();
    const gone = once(s.node, 'iceconnectionstatechange', () => ['disconnected', 'failed', 'closed'].includes(s.node.iceConnectionState), 35000);
    const connGone = once(s.node, 'connectionstatechange', () => ['disconnected', 'failed'].includes(s.node.connectionState), 35000);
    await s.page.evaluate(() => T.close());
    await Promise.all([gone, connGone]);
    const ms = Date.now() - t0;
    console.log(`Node saw iceConnectionState '${s.node.iceConnectionState}' ${ms} ms after the page closed; connectionState '${s.node.connectionState}'`);
    expect(ms).toBeLessThan(35000);
  }, 60000);

  test('Node closes → the page sees its connection go down', async () => {
    const s = await pageCall();
    await sleep(500);
    const t0 = Date.now();
    s.node.close();
    const state = await s.page.evaluate(
      () =>
        new Promise((resolve) => {
          const check = () => ['disconnected', 'failed', 'closed'].includes(T.pc.iceConnectionState) && resolve(T.pc.iceConnectionState);
          T.pc.addEventListener('iceconnectionstatechange', check);
          check();
        }),
    );
    const ms = Date.now() - t0;
    console.log(`the page saw iceConnectionState '${state}' ${ms} ms after Node closed`);
    expect(ms).toBeLessThan(35000);
  }, 60000);
});
