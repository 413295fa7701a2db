'use strict';

// Bad input is rejected with the W3C error and leaves the connection usable.

const { ToneSource } = require('../dist');
const { connect } = require('./helpers/peers');
const { peer } = require('./helpers/later');

async function offerSdp() {
  const a = peer();
  a.addTransceiver('audio');
  return (await a.createOffer()).sdp;
}

test.each([
  ['garbage', 'hello world'],
  ['empty', ''],
  ['binary noise', '\u0000\u0001\u0002v=0'],
  ['v=0 then junk', 'v=0\r\nthis is not sdp\r\n'],
])('%s SDP → OperationError, connection still usable', async (_name, sdp) => {
  const pc = peer();
  await expect(pc.setRemoteDescription({ type: 'offer', sdp })).rejects.toMatchObject({ name: 'OperationError' });
  expect(pc.signalingState).toBe('stable');
  await pc.setRemoteDescription({ type: 'offer', sdp: await offerSdp() });
  expect(pc.signalingState).toBe('have-remote-offer');
});

test('SDP without a DTLS fingerprint → InvalidAccessError', async () => {
  const sdp = (await offerSdp()).replace(/^a=fingerprint:.*\r\n/gm, '');
  const pc = peer();
  await expect(pc.setRemoteDescription({ type: 'offer', sdp })).rejects.toMatchObject({ name: 'InvalidAccessError' });
  expect(pc.signalingState).toBe('stable');
});

test('SDP without ICE credentials → InvalidAccessError', async () => {
  const sdp = (await offerSdp()).replace(/^a=ice-(ufrag|pwd):.*\r\n/gm, '');
  await expect(peer().setRemoteDescription({ type: 'offer', sdp })).rejects.toMatchObject({ name: 'InvalidAccessError' });
});

test('an answer whose m-lines do not match the offer → InvalidAccessError', async () => {
  const a = peer();
  a.addTransceiver('audio');
  await a.setLocalDescription();
  const other = peer();
  other.addTransceiver('audio');
  other.addTransceiver('audio');
  const b = peer();
  await b.setRemoteDescription(await other.createOffer());
  const answer = await b.createAnswer();
  await expect(a.setRemoteDescription(answer)).rejects.toMatchObject({ name: 'InvalidAccessError' });
  expect(a.signalingState).toBe('have-local-offer');
});

test('bogus candidates are rejected, valid ones still work and the call connects', async () => {
  const a = peer();
  const b = peer();
  const tone = new ToneSource({ frequency: 500 });
  try {
    a.addTrack(tone.track);
    const candidates = [];
    a.onicecandidate = (ev) => ev.candidate && candidates.push(ev.candidate);
    await a.setLocalDescription();
    await b.setRemoteDescription(a.localDescription);
    for (const bogus of ['candidate:garbage', 'candidate:1 1 udp 1 not-an-ip 9 typ host', 'candidate:1 1 udp 1 127.0.0.1 70000 typ host', 'hello']) {
      await expect(b.addIceCandidate({ candidate: bogus, sdpMid: b.getTransceivers()[0].mid })).rejects.toMatchObject({ name: 'OperationError' });
    }
    await expect(b.addIceCandidate({ candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMid: 'no-such-mid' })).rejects.toMatchObject({ name: 'OperationError' });
    await expect(b.addIceCandidate({ candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host', sdpMLineIndex: 7 })).rejects.toMatchObject({ name: 'OperationError' });
    await expect(b.addIceCandidate({ candidate: 'candidate:1 1 udp 1 127.0.0.1 9 typ host' })).rejects.toMatchObject({ name: 'TypeError' });
    // End-of-candidates (empty candidate) and null are accepted.
    await b.addIceCandidate({ candidate: '', sdpMid: b.getTransceivers()[0].mid });
    await b.addIceCandidate(null);
    expect(b.signalingState).toBe('have-remote-offer');
    // The connection is still usable after every rejection.
    const bCands = [];
    b.onicecandidate = (ev) => ev.candidate && bCands.push(ev.candidate);
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    for (const c of candidates) await b.addIceCandidate(c);
    const connected = new Promise((r) => b.addEventListener('connectionstatechange', () => b.connectionState === 'connected' && r()));
    await new Promise((r) => setTimeout(r, 400));
    for (const c of bCands) await a.addIceCandidate(c);
    await connected;
    expect(b.remoteDescription.sdp).toContain(candidates[0].candidate);
  } finally {
    tone.stop();
  }
});

test('a peer survives a garbage re-offer mid-call', async () => {
  const a = peer();
  const b = peer();
  const tone = new ToneSource({ frequency: 500 });
  try {
    a.addTrack(tone.track);
    await connect(a, b);
    await expect(b.setRemoteDescription({ type: 'offer', sdp: 'v=0\r\nnonsense\r\n' })).rejects.toMatchObject({ name: 'OperationError' });
    expect(b.connectionState).toBe('connected');
    expect(b.signalingState).toBe('stable');
  } finally {
    tone.stop();
  }
});
