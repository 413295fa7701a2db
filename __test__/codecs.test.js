'use strict';

// Codec negotiation and real audio for Opus and the RFC 3551 telephony codecs
// (G.722, PCMU, PCMA), between two GstPeerConnections on loopback.

const { ToneSource } = require('../dist');
const { expectContinuousTone } = require('./helpers/audio');
const { connectWith, createPeer } = require('./helpers/peers');
const { audioFormats } = require('./helpers/sdp');
const { twoTonePeers } = require('./helpers/later');
const { sleep } = require('./helpers/resources');

// ≤ 3 kHz so that narrowband G.711 carries them.
const FREQ_A = 440;
const FREQ_B = 1250;
const OTHERS = [FREQ_A, FREQ_B, 700, 2000];

const assertHears = (collector, freq, ms) => expectContinuousTone(collector, freq, ms, OTHERS);

async function codecMimeTypes(pc) {
  const report = await pc.getStats();
  const types = [];
  report.forEach((s) => {
    if (s.type === 'codec' && s.mimeType) types.push(s.mimeType.toLowerCase());
  });
  return types;
}

describe('our offer', () => {
  test('lists Opus, G722, PCMU, PCMA and telephone-event at 48000 and 8000', async () => {
    const a = createPeer();
    const tone = new ToneSource({ frequency: FREQ_A });
    try {
      a.addTrack(tone.track);
      const { sdp } = await a.createOffer();
      const names = audioFormats(sdp).map((f) => f.name);
      expect(names.slice(0, 4)).toEqual(['OPUS', 'G722', 'PCMU', 'PCMA']);
      expect(sdp).toMatch(/a=rtpmap:\d+ telephone-event\/48000/);
      expect(sdp).toMatch(/a=rtpmap:\d+ telephone-event\/8000/);
      expect(sdp).toMatch(/a=fmtp:\d+ 0-15/);
      expect(sdp).toMatch(/a=rtpmap:0 PCMU\/8000/);
      expect(sdp).toMatch(/a=rtpmap:9 G722\/8000/);
    } finally {
      a.close();
      tone.stop();
    }
  });
});

describe.each([
  ['opus', 'OPUS', 'audio/opus'],
  ['G722', 'G722', 'audio/g722'],
  ['PCMU', 'PCMU', 'audio/pcmu'],
  ['PCMA', 'PCMA', 'audio/pcma'],
])('offer restricted to %s', (codec, encodingName, mime) => {
  test('the answer negotiates exactly it and each side hears the other tone', async () => {
    const { a, b, atA, atB } = twoTonePeers(FREQ_A, FREQ_B);
    const answer = await connectWith(a, b, [codec]);
    const answered = audioFormats(answer).filter((f) => f.name !== 'TELEPHONE-EVENT');
    expect(answered.map((f) => f.name)).toEqual([encodingName]);
    const [{ sink: sinkA }, { sink: sinkB }] = await Promise.all([atA.ready, atB.ready]);
    await sleep(2800);
    sinkA.stop();
    sinkB.stop();
    assertHears(atB.collector, FREQ_A, 2000);
    assertHears(atA.collector, FREQ_B, 2000);
    const mimes = await codecMimeTypes(a);
    if (mimes.length) expect(mimes).toContain(mime);
  });
});

describe('offer order', () => {
  test('PCMU before Opus in the offer: the answer picks PCMU, and audio flows', async () => {
    const { a, b, atA, atB } = twoTonePeers(FREQ_A, FREQ_B);
    const answer = await connectWith(a, b, ['PCMU', 'opus', 'telephone-event']);
    const answered = audioFormats(answer).filter((f) => f.name !== 'TELEPHONE-EVENT');
    expect(answered[0].name).toBe('PCMU');
    const [{ sink: sinkA }, { sink: sinkB }] = await Promise.all([atA.ready, atB.ready]);
    await sleep(2000);
    sinkA.stop();
    sinkB.stop();
    assertHears(atB.collector, FREQ_A, 1200);
    assertHears(atA.collector, FREQ_B, 1200);
  });
});
