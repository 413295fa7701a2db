'use strict';

// Who offers can change during a call: glare resolved by an implicit rollback (webrtc-pc
// §4.4.1.6, "perfect negotiation"), and an answerer that later re-offers. Both must keep
// media flowing in both directions, judged by the tones each side hears.

const { waitState, trickle } = require('./helpers/peers');
const { twoTonePeers } = require('./helpers/later');
const { expectToneFromNow } = require('./helpers/audio');

const FREQ_A = 440;
const FREQ_B = 1250;

const connected = (...pcs) => Promise.all(pcs.map((pc) => waitState(pc, 'connectionState', 'connected')));

/** Both sides hear the other's tone in every 200 ms window of the next second. */
async function expectTwoWayAudio(atA, atB) {
  const [{ sink: sinkA }, { sink: sinkB }] = await Promise.all([atA.ready, atB.ready]);
  try {
    await Promise.all([
      expectToneFromNow(atA.collector, FREQ_B, 1000, [FREQ_A]),
      expectToneFromNow(atB.collector, FREQ_A, 1000, [FREQ_B]),
    ]);
  } finally {
    sinkA.stop();
    sinkB.stop();
  }
}

test('glare on the first offer: the polite side rolls back implicitly, answers, and the call carries audio both ways', async () => {
  const { a, b, atA, atB } = twoTonePeers(FREQ_A, FREQ_B);
  await Promise.all([a.setLocalDescription(), b.setLocalDescription()]);
  expect([a.signalingState, b.signalingState]).toEqual(['have-local-offer', 'have-local-offer']);
  // A is polite: taking B's offer rolls its own back (webrtc-pc §4.4.1.6 step "rollback").
  trickle(a, b);
  trickle(b, a);
  await a.setRemoteDescription(b.localDescription);
  expect(a.signalingState).toBe('have-remote-offer');
  expect(a.pendingLocalDescription).toBeNull();
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  expect([a.signalingState, b.signalingState]).toEqual(['stable', 'stable']);
  await connected(a, b);
  await expectTwoWayAudio(atA, atB);
});

test('the answerer re-offers: roles switch and audio keeps flowing both ways', async () => {
  const { a, b, atA, atB } = twoTonePeers(FREQ_A, FREQ_B);
  trickle(a, b);
  trickle(b, a);
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  await connected(a, b);
  const answeredPt = /m=audio \d+ \S+ (\d+)/.exec(b.localDescription.sdp)[1];
  await b.setLocalDescription();
  expect(b.signalingState).toBe('have-local-offer');
  // A subsequent offer keeps the negotiated payload type (RFC 3264 §8.3.2).
  expect(/m=audio \d+ \S+ (\d+)/.exec(b.localDescription.sdp)[1]).toBe(answeredPt);
  await a.setRemoteDescription(b.localDescription);
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  expect([a.signalingState, b.signalingState]).toEqual(['stable', 'stable']);
  expect([a.connectionState, b.connectionState]).toEqual(['connected', 'connected']);
  await expectTwoWayAudio(atA, atB);
});
