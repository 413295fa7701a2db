'use strict';

// transceiver.stop() (webrtc-pc §5.4): the m-section is rejected (port 0) by the next offer
// or answer, the transceiver leaves the connection on both sides once the answer is applied,
// and the other m-sections, including one that moves the BUNDLE tag, keep carrying audio.

const { ToneSource, nonstandard } = require('../dist');
const { FrameCollector, expectToneFromNow } = require('./helpers/audio');
const { negotiate, waitState } = require('./helpers/peers');
const { own, peer } = require('./helpers/later');

const FIRST = 440;
const SECOND = 1250;

/** A sends FIRST and SECOND on two transceivers; B collects each by mid. */
async function twoLineCall() {
  const a = peer();
  const b = peer();
  const first = own(new ToneSource({ frequency: FIRST, amplitude: 0.5 }));
  const second = own(new ToneSource({ frequency: SECOND, amplitude: 0.5 }));
  a.addTrack(first.track);
  a.addTrack(second.track);
  const heard = new Map();
  b.addEventListener('track', (ev) => {
    const collector = new FrameCollector();
    own(new nonstandard.RTCAudioSink(ev.track)).ondata = collector.push;
    heard.set(ev.transceiver.mid, { collector, track: ev.track });
  });
  await negotiate(a, b);
  await waitState(a, 'connectionState', 'connected');
  return { a, b, heard };
}

for (const [who, stopper] of [
  ['the offerer', (call) => call.a],
  ['the answerer', (call) => call.b],
]) {
  test(`${who} stops the BUNDLE-tagged transceiver: both sides reject and remove it, the other line keeps its audio`, async () => {
    const call = await twoLineCall();
    const { a, b, heard } = call;
    const [tagMid, otherMid] = a.getTransceivers().map((t) => t.mid);
    expect(a.localDescription.sdp).toContain(`a=group:BUNDLE ${tagMid} ${otherMid}`);
    await expectToneFromNow(heard.get(otherMid).collector, SECOND, 1000, [FIRST]);

    const side = stopper(call);
    const stopped = side.getTransceivers()[0];
    const ended = new Promise((r) => stopped.receiver.track.addEventListener('ended', r, { once: true }));
    stopped.stop();
    expect(stopped.direction).toBe('stopped');
    expect(stopped.currentDirection).not.toBe('stopped');
    expect(stopped.receiver.track.readyState).toBe('live'); // it ends in a queued task
    await ended;

    // An answer has a stopping transceiver inactive (webrtc-pc §5.4): the answerer then needs
    // to negotiate, and its own offer rejects the m-section.
    if (side === b) {
      const needed = new Promise((r) => b.addEventListener('negotiationneeded', r, { once: true }));
      await negotiate(a, b);
      expect(b.localDescription.sdp).not.toMatch(/m=audio 0 /);
      expect(stopped.currentDirection).toBe('inactive');
      expect(b.getTransceivers()).toHaveLength(2);
      await needed;
      await negotiate(b, a);
    } else {
      await negotiate(a, b);
    }
    // The offer rejects it; so does the answer, which also takes it out of the BUNDLE group
    // (RFC 3264 §6, RFC 8843 §7.3.3).
    const answerer = side === a ? b : a;
    expect(side.localDescription.sdp).toMatch(/m=audio 0 /);
    expect(answerer.localDescription.sdp).toMatch(/m=audio 0 /);
    expect(answerer.localDescription.sdp).toContain(`a=group:BUNDLE ${otherMid}\r\n`);
    for (const pc of [a, b]) {
      expect(pc.getTransceivers().map((t) => t.mid)).toEqual([otherMid]);
      expect(pc.getSenders()).toHaveLength(1);
    }
    expect(stopped.mid).toBeNull();
    expect(stopped.currentDirection).toBe('stopped');
    expect(heard.get(tagMid).track.readyState).toBe('ended');
    await expectToneFromNow(heard.get(otherMid).collector, SECOND, 1000, [FIRST]);

    // And the call renegotiates again from the other side; the section stays rejected.
    await negotiate(answerer, side);
    expect(answerer.localDescription.sdp).toMatch(/m=audio 0 /);
    await expectToneFromNow(heard.get(otherMid).collector, SECOND, 1000, [FIRST]);
  });
}

test('stopping the only transceiver leaves no transport (states "new"); a new track then gets a new m-line and is heard', async () => {
  const a = peer();
  const b = peer();
  const first = own(new ToneSource({ frequency: FIRST, amplitude: 0.5 }));
  a.addTrack(first.track);
  await negotiate(a, b);
  await waitState(a, 'connectionState', 'connected');

  a.getTransceivers()[0].stop();
  await negotiate(a, b);
  for (const pc of [a, b]) {
    expect(pc.getTransceivers()).toHaveLength(0);
    expect([pc.iceGatheringState, pc.iceConnectionState, pc.connectionState]).toEqual(['new', 'new', 'new']);
  }

  const second = own(new ToneSource({ frequency: SECOND, amplitude: 0.5 }));
  a.addTrack(second.track);
  const heard = new Promise((r) => b.addEventListener('track', (ev) => r(ev.track), { once: true }));
  await negotiate(a, b);
  expect(a.localDescription.sdp.match(/^m=audio/gm)).toHaveLength(2);
  expect(a.localDescription.sdp).toMatch(/^m=audio 0 /m);
  await waitState(a, 'connectionState', 'connected');
  const collector = new FrameCollector();
  own(new nonstandard.RTCAudioSink(await heard)).ondata = collector.push;
  await expectToneFromNow(collector, SECOND, 1000, [FIRST]);
});
