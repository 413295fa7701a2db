'use strict';

// Descriptions, candidates and options crafted by a hostile or broken peer (docs/robustness.md):
// each is refused with the W3C error or normalised, never a crash, a GLib CRITICAL (jest runs
// with G_DEBUG=fatal-criticals), a stall or a call that silently stops working.

const { ToneSource, RtpForwarder } = require('../dist');
const { createPeer, waitState } = require('./helpers/peers');
const { expectToneFromNow } = require('./helpers/audio');
const { own, peer, toneCall } = require('./helpers/later');

const FREQ = 660;

/** A, sending a tone on `lines` transceivers, connected to B; B's sink collects what it hears. */
const establishedCall = (lines = 1) => toneCall({ frequency: FREQ }, lines);

const lines = (sdp) => sdp.split('\r\n');
const join = (ls) => ls.join('\r\n');

/** Rewrite the a=mid of m-line `idx` (and its BUNDLE entry). */
function setMid(sdp, idx, mid) {
  const ls = lines(sdp);
  let m = -1;
  let old = null;
  for (let i = 0; i < ls.length; i++) {
    if (ls[i].startsWith('m=')) m++;
    if (m === idx && ls[i].startsWith('a=mid:')) {
      old = ls[i].slice(6);
      ls[i] = `a=mid:${mid}`;
    }
  }
  return { sdp: join(ls), old };
}

test('a re-offer that moves a mid to another m-line is refused, and the call plays on', async () => {
  // The probe's abort: m-line 0 gets a new mid and m-line 1 takes m-line 0's old one. webrtcbin
  // 1.22 accepted it and then aborted the process in _create_answer_task (g_assert on the mid).
  const { a, b, collector } = await establishedCall(2);
  const reoffer = (await a.createOffer()).sdp;
  const first = setMid(reoffer, 0, 'moved');
  const swapped = setMid(first.sdp, 1, first.old).sdp.replace(/^a=group:BUNDLE .*$/m, 'a=group:BUNDLE moved ' + first.old);
  await expect(b.setRemoteDescription({ type: 'offer', sdp: swapped })).rejects.toMatchObject({ name: 'InvalidAccessError' });
  expect(b.signalingState).toBe('stable');
  // A changed mid on an m-line still in use, and a dropped m-line, are refused the same way.
  await expect(b.setRemoteDescription({ type: 'offer', sdp: setMid(reoffer, 1, 'new').sdp })).rejects.toMatchObject({ name: 'InvalidAccessError' });
  const oneLine = reoffer.slice(0, reoffer.indexOf('m=', reoffer.indexOf('m=') + 1));
  await expect(b.setRemoteDescription({ type: 'offer', sdp: oneLine })).rejects.toMatchObject({ name: 'InvalidAccessError' });
  // The unmodified re-offer still renegotiates, and the tone never stopped.
  await a.setLocalDescription({ type: 'offer', sdp: reoffer });
  await b.setRemoteDescription({ type: 'offer', sdp: reoffer });
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  expect(b.connectionState).toBe('connected');
  await expectToneFromNow(collector, FREQ); // the next second B hears carries the tone in every 200 ms window
});

test('duplicate mids in an offer are refused', async () => {
  const a = peer();
  a.addTransceiver('audio');
  a.addTransceiver('audio');
  const offer = (await a.createOffer()).sdp;
  const dup = setMid(offer, 1, setMid(offer, 0, 'x').old).sdp;
  await expect(peer().setRemoteDescription({ type: 'offer', sdp: dup })).rejects.toMatchObject({ name: 'InvalidAccessError' });
});

test('ICE ufrag at session level with the pwd at media level connects (RFC 8839 §5.4)', async () => {
  // Before: webrtcbin passed a NULL pwd to libnice (CRITICAL) and the call stayed 'checking'.
  const a = peer();
  const b = peer();
  const tone = own(new ToneSource({ frequency: FREQ }));
  a.addTrack(tone.track);
  const connected = Promise.all([waitState(a, 'connectionState', 'connected'), waitState(b, 'connectionState', 'connected')]);
  await a.setLocalDescription();
  await waitState(a, 'iceGatheringState', 'complete');
  const ls = lines(a.localDescription.sdp);
  const ufrag = ls.find((l) => l.startsWith('a=ice-ufrag:'));
  const moved = ls.filter((l) => !l.startsWith('a=ice-ufrag:'));
  moved.splice(moved.findIndex((l) => l.startsWith('t=')) + 1, 0, ufrag);
  await b.setRemoteDescription({ type: 'offer', sdp: join(moved) });
  await b.setLocalDescription();
  await waitState(b, 'iceGatheringState', 'complete');
  await a.setRemoteDescription(b.localDescription);
  await connected;
});

test('a=ssrc:0 is dropped, a malformed SSRC is a syntax error', async () => {
  const { a, b } = await establishedCall();
  const offer = (await a.createOffer()).sdp;
  const zero = offer.replace(/^a=ssrc:\d+ /gm, 'a=ssrc:0 ');
  await b.setRemoteDescription({ type: 'offer', sdp: zero });
  await b.setRemoteDescription({ type: 'rollback' });
  const bad = offer.replace(/^a=ssrc:\d+ /m, 'a=ssrc:12x ');
  await expect(b.setRemoteDescription({ type: 'offer', sdp: bad })).rejects.toMatchObject({ name: 'OperationError' });
});

test('our offers carry each a=ssrc line once', async () => {
  const a = peer();
  a.addTrack(own(new ToneSource({ frequency: FREQ })).track);
  const offer = lines((await a.createOffer()).sdp);
  const ssrcLines = offer.filter((l) => l.startsWith('a=ssrc:'));
  expect(ssrcLines).toEqual([expect.stringMatching(/^a=ssrc:\d+ cname:/)]); // the msid is an a=msid line (RFC 8830)
  expect(offer.filter((l) => l.startsWith('a=msid:')).length).toBe(1);
});

test('candidates: TCP without tcptype and dangling extensions are OperationErrors; sdpMLineIndex is converted as WebIDL says', async () => {
  const { b } = await establishedCall();
  const mid = b.getTransceivers()[0].mid;
  for (const candidate of [
    'candidate:1 1 tcp 1 127.0.0.1 9 typ host',
    'candidate:1 1 tcp 1 127.0.0.1 9 typ host tcptype sideways',
    'candidate:1 1 udp 1 127.0.0.1 9 typ srflx raddr',
  ]) {
    await expect(b.addIceCandidate({ candidate, sdpMid: mid })).rejects.toMatchObject({ name: 'OperationError' });
  }
  await b.addIceCandidate({ candidate: 'candidate:1 1 tcp 1 127.0.0.1 9 typ host tcptype passive', sdpMid: mid });
  // '0' is m-line 0 (ToNumber), as in a browser; a Symbol cannot be converted.
  await b.addIceCandidate({ candidate: 'candidate:2 1 udp 1 127.0.0.1 9 typ host', sdpMLineIndex: '0' });
  await expect(b.addIceCandidate({ candidate: 'candidate:3 1 udp 1 127.0.0.1 9 typ host', sdpMLineIndex: Symbol('x') })).rejects.toBeInstanceOf(TypeError);
  expect(b.remoteDescription.sdp).toContain('candidate:2 1 udp 1 127.0.0.1 9 typ host');
});

test('remote candidates are limited per connection', async () => {
  const a = peer();
  a.addTransceiver('audio');
  const b = peer({ limits: { maxRemoteCandidates: 3 } });
  await b.setRemoteDescription(await a.createOffer());
  for (let i = 0; i < 3; i++) await b.addIceCandidate({ candidate: `candidate:${i} 1 udp 1 127.0.0.1 ${9 + i} typ host`, sdpMLineIndex: 0 });
  await expect(b.addIceCandidate({ candidate: 'candidate:9 1 udp 1 127.0.0.1 99 typ host', sdpMLineIndex: 0 })).rejects.toMatchObject({ name: 'OperationError' });
});

test('floods are refused at once: 1,000 m-lines, a 272 KB description, and configured limits', async () => {
  const a = peer();
  a.addTransceiver('audio');
  const offer = (await a.createOffer()).sdp;
  const start = offer.indexOf('m=');
  const section = offer.slice(start);
  const head = offer.slice(0, start).replace(/^a=group:BUNDLE .*\r\n/m, '');
  const many = head + Array.from({ length: 1000 }, (_, i) => setMid(section, 0, `m${i}`).sdp).join('');
  const b = peer();
  // Before: 5 s in setRemoteDescription, 5 s more answering, 3,000 threads.
  let stalled = 0;
  let last = Date.now();
  const tick = setInterval(() => {
    stalled = Math.max(stalled, Date.now() - last);
    last = Date.now();
  }, 10);
  const t0 = Date.now();
  await expect(b.setRemoteDescription({ type: 'offer', sdp: many })).rejects.toMatchObject({ name: 'OperationError' });
  const wide = head + section.replace(/^(m=audio \d+ \S+) (.*)$/m, (_, m) => `${m} ${Array.from({ length: 96 }, (_, i) => 32 + i).join(' ')}`)
    + Array.from({ length: 12000 }, (_, i) => `a=fmtp:${32 + (i % 96)} x=${i}\r\n`).join('');
  expect(wide.length).toBeGreaterThan(200_000);
  await expect(b.setRemoteDescription({ type: 'offer', sdp: wide })).rejects.toMatchObject({ name: 'OperationError' });
  const elapsed = Date.now() - t0;
  clearInterval(tick);
  expect(elapsed).toBeLessThan(1000);
  expect(stalled).toBeLessThan(500);
  expect(b.signalingState).toBe('stable');
  // A connection configured for fewer m-lines refuses a two-line offer the default accepts.
  a.addTransceiver('audio');
  const two = await a.createOffer();
  await expect(peer({ limits: { maxMediaSections: 1 } }).setRemoteDescription(two)).rejects.toMatchObject({ name: 'OperationError' });
  await peer().setRemoteDescription(two);
  expect(() => createPeer({ limits: { maxSdpBytes: 0 } })).toThrow(TypeError);
});

test('configuration and option values that are not addresses are TypeErrors', async () => {
  expect(() => createPeer({ localAddresses: ['999.1.1.1'] })).toThrow(TypeError);
  expect(() => createPeer({ localAddresses: ['localhost'] })).toThrow(TypeError);
  const tone = own(new ToneSource({ frequency: FREQ }));
  for (const address of ['not-an-ip', '255.255.255.255', '0.0.0.0', '::']) {
    expect(() => new RtpForwarder(tone.track, { address, port: 5004 })).toThrow(TypeError);
  }
  own(new RtpForwarder(tone.track, { address: '127.0.0.1', port: 5004 }));
});
