'use strict';

// Calls over an impaired link (helpers/link-relay.js: netem's loss, delay, jitter and
// reordering, in a process of its own — this kernel has no sch_netem), Node↔Node and
// Node↔Chromium; the link cut for 5 s and for good; a DTLS fingerprint that does not match.
//
// Audio is judged as the receiver hears it: the far end's tone in every 200 ms window, frames
// arriving without a gap. Each scenario prints `impairment: …` with the packets the receiver's
// jitter buffer gave up on (concealed by Opus FEC or PLC) in ms per minute, and the end-to-end
// delay: from replacing the sender's 440 Hz tone by an 880 Hz one to the first 20 ms the
// receiver's sink delivers that is 880 Hz.

const { ToneSource, nonstandard } = require('../dist');
const { FrameCollector, detectTone } = require('./helpers/audio');
const { createPeer, waitGatheringComplete, waitState, once } = require('./helpers/peers');
const { ImpairedLink } = require('./helpers/impaired-link');
const { browserForTests } = require('./helpers/browser');
const { later, own } = require('./helpers/later');
const { sleep, waitFor } = require('./helpers/resources');

const A_FREQ = 440;
const SWITCH_FREQ = 880;
const B_FREQ = 660;
const PROBES = [A_FREQ, B_FREQ, SWITCH_FREQ, 1000, 1500];
const MEASURE_MS = 10000;

const IMPAIRMENTS = {
  'loss 5 %': { loss: 0.05 },
  'jitter 30 ms': { delayMs: 30, jitterMs: 30 },
  'reordering 2 %': { delayMs: 5, reorder: 0.02, reorderMs: 45 },
  'delay 150 ms': { delayMs: 150 },
  'all together': { loss: 0.05, delayMs: 150, jitterMs: 30, reorder: 0.02, reorderMs: 45 },
};

async function startLink(seed) {
  const link = await ImpairedLink.start({ seed });
  later(() => link.close());
  return link;
}

/** a offers, b answers, each complete SDP through the link's rewriting (as a SIP peer would send it). */
async function connectThrough(link, a, b) {
  await a.setLocalDescription(await a.createOffer());
  await waitGatheringComplete(a);
  await b.setRemoteDescription({ type: 'offer', sdp: await link.rewrite('a', a.localDescription.sdp) });
  await b.setLocalDescription(await b.createAnswer());
  await waitGatheringComplete(b);
  const connected = Promise.all([waitState(a, 'connectionState', 'connected', 15000), waitState(b, 'connectionState', 'connected', 15000)]);
  await a.setRemoteDescription({ type: 'answer', sdp: await link.rewrite('b', b.localDescription.sdp) });
  await connected;
}

function hear(pc) {
  const heard = new FrameCollector();
  const ready = once(pc, 'track', () => true, 15000).then((ev) => {
    const sink = new nonstandard.RTCAudioSink(ev.track);
    sink.ondata = heard.push;
    later(() => sink.stop());
  });
  return { heard, ready };
}

function tone(frequency) {
  const t = new ToneSource({ frequency, amplitude: 0.5 });
  later(() => t.stop());
  return t;
}

async function inbound(pc) {
  for (const s of (await pc.getStats()).values()) if (s.type === 'inbound-rtp') return s;
  return {};
}

/** Windows of the last `ms` without the tone (against the other probes), and the longest arrival gap. */
function judge(heard, freq, ms) {
  const w = heard.toneOverWindows(freq, 200, PROBES.filter((f) => f !== freq), ms);
  // A window without the tone says why: a level under the floor (a hole) or another probe
  // within 10 dB (noise, a click).
  const missing = w.windows.filter((x) => !x.present).map((x) => `${Math.round(x.startMs)} ms: rms ${x.rms.toFixed(4)}, SNR ${x.snrDb.toFixed(1)} dB`);
  return { windows: w.windows.length, missing, maxGapMs: Math.round(heard.continuity(1000).maxGapMs) };
}

/** ms from `t0` (hrtime ns) to the first 20 ms delivered after it that carries `freq`. */
function arrivalOf(heard, freq, t0) {
  const sr = heard.sampleRate;
  const all = heard.samples();
  for (const f of heard.frames) {
    if (f.t < t0) continue;
    const from = Math.max(0, f.offset + f.length - Math.round(sr * 0.02));
    const d = detectTone(all.subarray(from, f.offset + f.length), sr, freq, { otherFreqs: [A_FREQ] });
    if (d.present) return Number(f.t - t0) / 1e6 - 20; // the 20 ms window ends at this frame's end
  }
  return NaN;
}

describe('Node ↔ Node over an impaired link', () => {
  test.each(Object.entries(IMPAIRMENTS))('%s: both ends hear their tone in every 200 ms window', async (name, impairment) => {
    const link = await startLink(7);
    await link.impair(impairment);
    const a = own(createPeer());
    const b = own(createPeer());
    const [ta, tb, tswitch] = [tone(A_FREQ), tone(B_FREQ), tone(SWITCH_FREQ)];
    const senderA = a.addTrack(ta.track);
    b.addTrack(tb.track);
    const atA = hear(a);
    const atB = hear(b);
    await connectThrough(link, a, b);
    await Promise.all([atA.ready, atB.ready]);
    await sleep(1000);
    const before = [await inbound(a), await inbound(b)];
    atA.heard.reset();
    atB.heard.reset();
    await sleep(MEASURE_MS);
    const after = [await inbound(a), await inbound(b)];
    const results = { atB: judge(atB.heard, A_FREQ, MEASURE_MS - 200), atA: judge(atA.heard, B_FREQ, MEASURE_MS - 200) };
    const concealedMsPerMin = after.map((s, i) => Math.round(((s.packetsLost - before[i].packetsLost) * 20 * 60000) / MEASURE_MS));
    const received = after.map((s, i) => s.packetsReceived - before[i].packetsReceived);

    // End-to-end delay a → b: the 880 Hz tone replaces the 440 Hz one.
    const t0 = process.hrtime.bigint();
    await senderA.replaceTrack(tswitch.track);
    await sleep(1500);
    const delayMs = Math.round(arrivalOf(atB.heard, SWITCH_FREQ, t0));
    const relay = await link.stats();
    console.log(
      `impairment: ${name} Node↔Node: windows ${results.atB.windows}/${results.atA.windows} (b/a), missing ${results.atB.missing.length}/${results.atA.missing.length}, ` +
        `max frame gap ${results.atB.maxGapMs}/${results.atA.maxGapMs} ms, packets received ${received[1]}/${received[0]}, ` +
        `relay lost ${relay.ab.lost}/${relay.ba.lost} held ${relay.ab.held}/${relay.ba.held}, concealed ${concealedMsPerMin[1]}/${concealedMsPerMin[0]} ms/min, a→b delay ${delayMs} ms`,
    );
    expect(results.atB.missing).toEqual([]);
    expect(results.atA.missing).toEqual([]);
    expect(results.atB.windows).toBeGreaterThanOrEqual(45);
    expect(results.atA.windows).toBeGreaterThanOrEqual(45);
    // Frames reach the sink as the jitter buffer releases them: a missing packet is concealed
    // at its deadline, never left as a hole. The longest wait between two frames is a frame
    // (20 ms) plus the buffer's latency (40 ms) plus the spread of the path's delay (2 × jitter,
    // the first packet may have come at either end of it), plus 40 ms for the event loop.
    const maxGapMs = 20 + 40 + 2 * (impairment.jitterMs ?? 0) + 40;
    expect(results.atB.maxGapMs).toBeLessThan(maxGapMs);
    expect(results.atA.maxGapMs).toBeLessThan(maxGapMs);
    expect(delayMs).toBeGreaterThan(impairment.delayMs ?? 0);
  }, 60000);

  test('the link goes down for 5 s: disconnected, then connected again, and the tone resumes', async () => {
    const link = await startLink(3);
    const a = own(createPeer());
    const b = own(createPeer());
    a.addTrack(tone(A_FREQ).track);
    b.addTrack(tone(B_FREQ).track);
    const atB = hear(b);
    await connectThrough(link, a, b);
    await atB.ready;
    await sleep(2000);
    const seen = { a: [], b: [] };
    const t0 = Date.now();
    for (const [k, pc] of Object.entries({ a, b })) pc.addEventListener('connectionstatechange', () => seen[k].push([pc.connectionState, Date.now() - t0]));
    await link.setDown(true);
    await sleep(5000);
    await link.setDown(false);
    await Promise.all([waitState(a, 'connectionState', 'connected', 5000), waitState(b, 'connectionState', 'connected', 5000)]);
    console.log(`impairment: link down 5 s: a ${JSON.stringify(seen.a)}, b ${JSON.stringify(seen.b)} (state, ms after the cut)`);
    for (const k of ['a', 'b']) {
      expect(seen[k].map((s) => s[0])).toEqual(['disconnected', 'connected']);
      // disconnected 2.5–3.5 s after the last packet (the check runs once a second)
      expect(seen[k][0][1]).toBeGreaterThanOrEqual(2400);
      expect(seen[k][0][1]).toBeLessThan(4000);
    }
    atB.heard.reset();
    await sleep(1200);
    expect(judge(atB.heard, A_FREQ, 1000).missing).toEqual([]);
  }, 60000);

  test('a DTLS fingerprint that does not match the certificate: the connection fails and no media flows either way', async () => {
    const a = own(createPeer());
    const b = own(createPeer());
    a.addTrack(tone(A_FREQ).track);
    b.addTrack(tone(B_FREQ).track);
    const atA = hear(a);
    const atB = hear(b);
    const errors = [];
    await a.setLocalDescription(await a.createOffer());
    await waitGatheringComplete(a);
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await waitGatheringComplete(b);
    // One bit of b's certificate fingerprint flipped: a signalling path that swapped the
    // certificate would look like this to a.
    const sdp = b.localDescription.sdp.replace(/(a=fingerprint:sha-256 )(.)/, (m, p, c) => p + (c === '0' ? '1' : '0'));
    expect(sdp).not.toBe(b.localDescription.sdp);
    const failed = waitState(a, 'connectionState', 'failed', 10000);
    await a.setRemoteDescription({ type: 'answer', sdp });
    a.getSenders()[0].transport.addEventListener('error', (ev) => errors.push(ev.error));
    await failed;
    expect(a.getSenders()[0].transport.state).toBe('failed');
    expect(errors.map((e) => [e.name, e.errorDetail])).toEqual([['OperationError', 'fingerprint-failure']]);
    await sleep(3000);
    expect(atA.heard.frameCount).toBe(0);
    expect(atB.heard.frameCount).toBe(0);
    const inA = await inbound(a);
    expect(inA.packetsReceived ?? 0).toBe(0);
    const transport = [...(await a.getStats()).values()].find((s) => s.type === 'transport');
    expect(transport.dtlsState).toBe('failed');
    // Final: silence afterwards does not turn it into disconnected.
    await sleep(1500);
    expect(a.connectionState).toBe('failed');
  }, 30000);
});

describe('Node ↔ Chromium over an impaired link', () => {
  const browser = browserForTests();

  test.each([['loss 5 %'], ['all together']])('%s: Node hears the page, the page hears Node', async (name) => {
    const link = await startLink(11);
    await link.impair(IMPAIRMENTS[name]);
    const node = own(createPeer());
    node.addTrack(tone(A_FREQ).track);
    const atNode = hear(node);
    const page = await browser().page();
    later(() => page.close());
    await page.evaluate((o) => T.start(o), { frequency: 1500, trickle: false });
    await page.evaluate(() => T.addTrack());
    const offer = await page.evaluate(() => T.offer());
    await node.setRemoteDescription({ type: 'offer', sdp: await link.rewrite('b', offer.sdp) });
    await node.setLocalDescription(await node.createAnswer());
    await waitGatheringComplete(node);
    const connected = waitState(node, 'connectionState', 'connected', 15000);
    await page.evaluate((a) => T.setRemote(a), { type: 'answer', sdp: await link.rewrite('a', node.localDescription.sdp) });
    await connected;
    await atNode.ready;
    await sleep(1000);
    const before = await inbound(node);
    atNode.heard.reset();
    await sleep(MEASURE_MS);
    const after = await inbound(node);
    const r = judge(atNode.heard, 1500, MEASURE_MS - 200);
    const spectrum = await page.evaluate(([f, t]) => T.spectrum(f, t), [PROBES, 800]);
    const fec = after.fecPacketsReceived !== undefined ? `, FEC packets ${after.fecPacketsReceived - (before.fecPacketsReceived ?? 0)}` : '';
    console.log(
      `impairment: ${name} Chromium→Node: windows ${r.windows}, missing ${r.missing.length}, max frame gap ${r.maxGapMs} ms, ` +
        `concealed ${Math.round(((after.packetsLost - before.packetsLost) * 20 * 60000) / MEASURE_MS)} ms/min${fec}; page hears ${JSON.stringify(spectrum)}`,
    );
    expect(r.missing).toEqual([]);
    expect(r.windows).toBeGreaterThanOrEqual(45);
    expect(r.maxGapMs).toBeLessThan(20 + 40 + 2 * (IMPAIRMENTS[name].jitterMs ?? 0) + 40); // as for Node↔Node
    // The page hears Node's 440 Hz above every other probe by 10 dB.
    for (const f of PROBES.filter((x) => x !== A_FREQ && x !== 1500)) expect(spectrum[A_FREQ]).toBeGreaterThan(spectrum[f] + 10);
  }, 60000);
});
