'use strict';

// RFC 4733 DTMF between two GstPeerConnections: W3C RTCDTMFSender on one side, the
// non-standard `dtmf` event on the other.

const { ToneSource, nonstandard } = require('../dist');
const { connectWith, once, negotiate } = require('./helpers/peers');
const { own, peer } = require('./helpers/later');
const { sleep } = require('./helpers/resources');

describe.each([
  ['opus', ['opus', 'telephone-event']],
  ['PCMU', ['PCMU', 'telephone-event']],
])('DTMF over %s', (_name, codecs) => {
  test("insertDTMF('123#') arrives as 1, 2, 3, # with ~100 ms each", async () => {
    const toneA = own(new ToneSource({ frequency: 440 }));
    const toneB = own(new ToneSource({ frequency: 1250 }));
    const a = peer();
    const b = peer();
    const sender = a.addTrack(toneA.track);
    b.addTrack(toneB.track);
    const track = once(b, 'track');
    await connectWith(a, b, codecs);
    const { receiver } = await track;
    expect(b.localDescription.sdp).toMatch(/a=rtpmap:\d+ telephone-event\//);
    await sleep(300);

    const received = [];
    const onConnection = [];
    receiver.addEventListener('dtmf', (ev) => received.push({ tone: ev.tone, duration: ev.duration }));
    b.ondtmf = (ev) => onConnection.push(ev.tone);
    const changes = [];
    const dtmf = sender.dtmf;
    expect(dtmf).not.toBeNull();
    expect(dtmf.canInsertDTMF).toBe(true);
    const done = new Promise((resolve) => {
      dtmf.ontonechange = (ev) => {
        changes.push(ev.tone);
        if (ev.tone === '') resolve();
      };
    });
    dtmf.insertDTMF('123#', 100, 70);
    expect(dtmf.toneBuffer).toBe('123#');
    await done;
    await sleep(500);

    expect(changes).toEqual(['1', '2', '3', '#', '']);
    expect(dtmf.toneBuffer).toBe('');
    expect(received.map((r) => r.tone)).toEqual(['1', '2', '3', '#']);
    expect(onConnection).toEqual(['1', '2', '3', '#']);
    for (const r of received) {
      expect(r.duration).toBeGreaterThanOrEqual(60);
      expect(r.duration).toBeLessThanOrEqual(140);
    }
  });
});

describe('DTMF at the start of a call', () => {
  // Regression: events sent the moment DTMF can be sent reach the far end right after its
  // first audio packet, so the telephone-event pad appears while the audio decoder's sink is
  // still joining the pipeline. The chain behind that pad once missed PLAYING and blocked
  // the jitter buffer's thread: no digits, and no more audio either (SIP.js calls did this).
  test('digits sent as soon as canInsertDTMF arrive, and the audio keeps flowing after them', async () => {
    const toneA = own(new ToneSource({ frequency: 440 }));
    const a = peer();
    const b = peer();
    const sender = a.addTrack(toneA.track);
    const received = [];
    b.ondtmf = (ev) => received.push(ev.tone);
    let frames = 0;
    b.ontrack = (ev) => {
      const sink = own(new nonstandard.RTCAudioSink(ev.track));
      sink.ondata = () => frames++;
    };
    await negotiate(a, b);
    const ready = Date.now() + 5000;
    while (!sender.dtmf.canInsertDTMF && Date.now() < ready) await sleep(1);
    sender.dtmf.insertDTMF('12', 100, 70);
    const deadline = Date.now() + 3000;
    while (received.length < 2 && Date.now() < deadline) await sleep(20);
    expect(received).toEqual(['1', '2']);
    const before = frames;
    await sleep(500);
    expect(frames - before).toBeGreaterThan(15); // 10 ms frames: ≥ 150 of 500 ms
  });
});

describe('insertDTMF errors', () => {
  test('a recvonly-negotiated sender throws InvalidStateError; bad tones InvalidCharacterError', async () => {
    const tone = own(new ToneSource({ frequency: 440 }));
    const a = peer();
    const b = peer();
    const sender = a.addTrack(tone.track);
    b.addTrack(tone.track);
    // Before any negotiation: currentDirection is null.
    expect(() => sender.dtmf.insertDTMF('1')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
    const [transceiver] = a.getTransceivers();
    transceiver.direction = 'recvonly';
    await connectWith(a, b);
    expect(transceiver.currentDirection).toBe('recvonly');
    expect(sender.dtmf.canInsertDTMF).toBe(false);
    expect(() => sender.dtmf.insertDTMF('1')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));

    // Bad characters: reported once the transceiver can send.
    transceiver.direction = 'sendrecv';
    await connectWith(a, b);
    expect(transceiver.currentDirection).toBe('sendrecv');
    for (const bad of ['12E', 'x', '1 2', '#!']) {
      expect(() => sender.dtmf.insertDTMF(bad)).toThrow(expect.objectContaining({ name: 'InvalidCharacterError' }));
    }
    expect(sender.dtmf.toneBuffer).toBe('');

    transceiver.stop();
    expect(() => sender.dtmf.insertDTMF('1')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
  });
});
