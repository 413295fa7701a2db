'use strict';

// webrtc-pc state machine: event order and the errors browsers throw, on real webrtcbin.

const { GstPeerConnection, RTCSessionDescription, ToneSource } = require('../dist');
const { connect, negotiate, once, waitGatheringComplete } = require('./helpers/peers');
const { peer } = require('./helpers/later');

function record(pc) {
  const events = [];
  for (const type of ['signalingstatechange', 'icegatheringstatechange', 'iceconnectionstatechange', 'connectionstatechange', 'negotiationneeded', 'track']) {
    pc.addEventListener(type, () => {
      const value = {
        signalingstatechange: pc.signalingState,
        icegatheringstatechange: pc.iceGatheringState,
        iceconnectionstatechange: pc.iceConnectionState,
        connectionstatechange: pc.connectionState,
      }[type];
      events.push(value === undefined ? type : `${type}:${value}`);
    });
  }
  pc.addEventListener('icecandidate', (ev) => events.push(ev.candidate ? 'icecandidate' : 'icecandidate:null'));
  return events;
}

async function expectReject(promise, name) {
  let error;
  try {
    await promise;
  } catch (e) {
    error = e;
  }
  expect(error).toBeDefined();
  expect(error.name).toBe(name);
  if (name !== 'TypeError') expect(error).toBeInstanceOf(DOMException);
  return error;
}

let tone;
beforeAll(() => {
  tone = new ToneSource({ frequency: 440 });
});
afterAll(() => tone.stop());

describe('initial state', () => {
  test('attributes of a new connection', () => {
    const pc = peer();
    expect(pc.signalingState).toBe('stable');
    expect(pc.iceGatheringState).toBe('new');
    expect(pc.iceConnectionState).toBe('new');
    expect(pc.connectionState).toBe('new');
    expect(pc.localDescription).toBeNull();
    expect(pc.remoteDescription).toBeNull();
    expect(pc.currentLocalDescription).toBeNull();
    expect(pc.pendingRemoteDescription).toBeNull();
    expect(pc.canTrickleIceCandidates).toBeNull();
    expect(pc.getTransceivers()).toEqual([]);
  });

  test('invalid configuration is rejected at construction', () => {
    expect(() => new GstPeerConnection({ bundlePolicy: 'bogus' })).toThrow(TypeError);
    expect(() => new GstPeerConnection({ iceServers: [{ urls: 'http://example.org' }] })).toThrow(expect.objectContaining({ name: 'SyntaxError' }));
    expect(() => new GstPeerConnection({ iceServers: [{ urls: 'turn:127.0.0.1:3478' }] })).toThrow(expect.objectContaining({ name: 'InvalidAccessError' }));
  });
});

describe('event sequences', () => {
  test('offerer and answerer see the spec order of events', async () => {
    const a = peer();
    const b = peer();
    const ea = record(a);
    const eb = record(b);
    a.addTrack(tone.track);
    await once(a, 'negotiationneeded');
    await connect(a, b);
    await new Promise((r) => setTimeout(r, 200));

    expect(ea[0]).toBe('negotiationneeded');
    const sigA = ea.filter((e) => e.startsWith('signalingstatechange'));
    expect(sigA).toEqual(['signalingstatechange:have-local-offer', 'signalingstatechange:stable']);
    const sigB = eb.filter((e) => e.startsWith('signalingstatechange'));
    expect(sigB).toEqual(['signalingstatechange:have-remote-offer', 'signalingstatechange:stable']);
    for (const ev of [ea, eb]) {
      const gathering = ev.filter((e) => e.startsWith('icegatheringstatechange'));
      expect(gathering).toEqual(['icegatheringstatechange:gathering', 'icegatheringstatechange:complete']);
      // The null candidate comes last, after gathering completed.
      const nullIdx = ev.indexOf('icecandidate:null');
      expect(nullIdx).toBeGreaterThan(ev.indexOf('icegatheringstatechange:complete'));
      expect(ev.indexOf('icecandidate')).toBeLessThan(nullIdx);
      expect(ev.filter((e) => e.startsWith('connectionstatechange'))).toEqual(['connectionstatechange:connecting', 'connectionstatechange:connected']);
      const ice = ev.filter((e) => e.startsWith('iceconnectionstatechange'));
      expect(ice[0]).toBe('iceconnectionstatechange:checking');
      expect(ice).toContain('iceconnectionstatechange:connected');
    }
    // The answerer's track event fires during setRemoteDescription, before it is stable again.
    expect(eb.indexOf('track')).toBeGreaterThan(eb.indexOf('signalingstatechange:have-remote-offer'));
    expect(eb.indexOf('track')).toBeLessThan(eb.indexOf('signalingstatechange:stable'));
    expect(a.currentLocalDescription.type).toBe('offer');
    expect(a.currentRemoteDescription.type).toBe('answer');
    expect(a.pendingLocalDescription).toBeNull();
    expect(b.currentRemoteDescription.type).toBe('offer');
    expect(a.canTrickleIceCandidates).toBe(true);
  });

  test('pending descriptions during negotiation and the implicit setLocalDescription', async () => {
    const a = peer();
    const b = peer();
    a.addTransceiver('audio', { direction: 'sendrecv' });
    await a.setLocalDescription();
    expect(a.signalingState).toBe('have-local-offer');
    expect(a.pendingLocalDescription.type).toBe('offer');
    expect(a.currentLocalDescription).toBeNull();
    await b.setRemoteDescription(a.localDescription);
    expect(b.pendingRemoteDescription.type).toBe('offer');
    expect(b.getTransceivers()).toHaveLength(1);
    expect(b.getTransceivers()[0].mid).toBeTruthy();
    await b.setLocalDescription();
    expect(b.localDescription.type).toBe('answer');
    expect(b.signalingState).toBe('stable');
    await a.setRemoteDescription(b.localDescription);
    expect(a.signalingState).toBe('stable');
    // b has nothing to send, so it answers recvonly: seen from a, the negotiated direction is sendonly.
    expect(a.getTransceivers()[0].currentDirection).toBe('sendonly');
    expect(b.getTransceivers()[0].currentDirection).toBe('recvonly');
  });
});

test('a locally modified SDP is accepted, as Chromium does (SIP.js hold modifiers rely on it)', async () => {
  const a = peer();
  const b = peer();
  a.addTransceiver('audio');
  const offer = await a.createOffer();
  const held = offer.sdp.replace('a=sendrecv', 'a=sendonly');
  await a.setLocalDescription({ type: 'offer', sdp: held });
  expect(a.localDescription.sdp).toContain('a=sendonly');
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  expect(b.localDescription.sdp).toMatch(/a=(recvonly|inactive)/);
});

describe('wrong-state calls reject like browsers', () => {
  test('createAnswer in stable', async () => {
    await expectReject(peer().createAnswer(), 'InvalidStateError');
  });

  test('setRemoteDescription(answer) in stable', async () => {
    const a = peer();
    a.addTransceiver('audio');
    const offer = await a.createOffer();
    await expectReject(peer().setRemoteDescription({ type: 'answer', sdp: offer.sdp }), 'InvalidStateError');
  });

  test('setLocalDescription(answer) in stable and createOffer in have-remote-offer', async () => {
    const a = peer();
    const b = peer();
    a.addTransceiver('audio');
    const offer = await a.createOffer();
    await expectReject(b.setLocalDescription({ type: 'answer', sdp: offer.sdp }), 'InvalidStateError');
    await b.setRemoteDescription(offer);
    await expectReject(b.createOffer(), 'InvalidStateError');
    await expectReject(b.setRemoteDescription({ type: 'answer', sdp: offer.sdp }), 'InvalidStateError');
    expect(b.signalingState).toBe('have-remote-offer');
  });

  test('addIceCandidate before a remote description', async () => {
    await expectReject(peer().addIceCandidate({ candidate: 'candidate:1 1 udp 1 127.0.0.1 5000 typ host', sdpMid: '0' }), 'InvalidStateError');
  });

  test('an invalid type is a TypeError', async () => {
    await expectReject(peer().setRemoteDescription({ type: 'bogus', sdp: '' }), 'TypeError');
  });

  test('everything after close() is InvalidStateError', async () => {
    const pc = peer();
    pc.addTransceiver('audio');
    const offer = await pc.createOffer();
    pc.close();
    pc.close(); // idempotent
    expect(pc.signalingState).toBe('closed');
    expect(pc.connectionState).toBe('closed');
    expect(pc.iceConnectionState).toBe('closed');
    await expectReject(pc.createOffer(), 'InvalidStateError');
    await expectReject(pc.createAnswer(), 'InvalidStateError');
    await expectReject(pc.setLocalDescription(offer), 'InvalidStateError');
    await expectReject(pc.setRemoteDescription(offer), 'InvalidStateError');
    await expectReject(pc.addIceCandidate({ candidate: '', sdpMid: '0' }), 'InvalidStateError');
    expect(() => pc.addTrack(tone.track)).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
    expect(() => pc.addTransceiver('audio')).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
    expect(() => pc.restartIce()).not.toThrow();
  });

  test('close() mid-negotiation leaves what is in flight unsettled (webrtc-pc §4.4.1.2) and fires no state events', async () => {
    const a = peer();
    const b = peer();
    a.addTrack(tone.track);
    const events = record(a);
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    const answer = b.createAnswer();
    const pending = a.createOffer();
    b.close();
    a.close();
    const settled = [];
    answer.then(() => settled.push('answer'), () => settled.push('answer'));
    pending.then(() => settled.push('offer'), () => settled.push('offer'));
    const before = events.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(settled).toEqual([]);
    expect(events.slice(before)).toEqual([]);
    expect(a.signalingState).toBe('closed');
  });
});

describe('negotiationneeded', () => {
  test('fires once for addTrack, again for a direction change the last answer does not cover', async () => {
    const a = peer();
    const b = peer();
    let count = 0;
    a.onnegotiationneeded = () => count++;
    a.addTrack(tone.track);
    a.addTransceiver('audio');
    await new Promise((r) => setTimeout(r, 50));
    expect(count).toBe(1);
    await negotiate(a, b);
    await new Promise((r) => setTimeout(r, 50));
    expect(count).toBe(1);
    a.getTransceivers()[0].direction = 'inactive';
    await once(a, 'negotiationneeded');
    expect(count).toBe(2);
  });
});

describe('RTCSessionDescription', () => {
  test('round-trips through toJSON', () => {
    const d = new RTCSessionDescription({ type: 'offer', sdp: 'v=0\r\n' });
    expect(d.toJSON()).toEqual({ type: 'offer', sdp: 'v=0\r\n' });
  });
});

test('complete SDP mode: gathering completes and carries end-of-candidates', async () => {
  const pc = peer();
  pc.addTransceiver('audio');
  await pc.setLocalDescription();
  await waitGatheringComplete(pc);
  expect(pc.localDescription.sdp).toMatch(/a=end-of-candidates/);
});

describe('rollback', () => {
  test('a re-offer rolled back (as after a rejected re-INVITE) leaves the call working, and the next re-offer succeeds', async () => {
    const { nonstandard } = require('../dist');
    const { FrameCollector, detectTone } = require('./helpers/audio');
    const a = peer();
    const b = peer();
    a.addTrack(tone.track);
    const trackAtB = once(b, 'track');
    await connect(a, b);
    const collector = new FrameCollector();
    const sink = new nonstandard.RTCAudioSink((await trackAtB).track);
    sink.ondata = collector.push;
    try {
      const before = a.currentLocalDescription.sdp;
      a.getTransceivers()[0].direction = 'sendonly';
      await a.setLocalDescription();
      expect(a.signalingState).toBe('have-local-offer');
      await a.setLocalDescription({ type: 'rollback' });
      expect(a.signalingState).toBe('stable');
      expect(a.pendingLocalDescription).toBeNull();
      expect(a.currentLocalDescription.sdp).toBe(before);
      collector.reset();
      await new Promise((r) => setTimeout(r, 600));
      expect(detectTone(collector.samples(), 48000, 440, { otherFreqs: [880, 1250] }).present).toBe(true);
      // The next re-offer negotiates normally: hold, then resume.
      await negotiate(a, b);
      expect(a.getTransceivers()[0].currentDirection).toBe('sendonly');
      a.getTransceivers()[0].direction = 'sendrecv';
      await negotiate(a, b);
      expect(a.getTransceivers()[0].currentDirection).toBe('sendonly'); // b has nothing to send
      expect(a.connectionState).toBe('connected');
      collector.reset();
      await new Promise((r) => setTimeout(r, 600));
      expect(detectTone(collector.samples(), 48000, 440, { otherFreqs: [880, 1250] }).present).toBe(true);
    } finally {
      sink.stop();
    }
  });
});

test('description attributes change when the operation settles, each read giving the same object (webrtc-pc §4.4.1.5)', async () => {
  const a = peer();
  a.addTransceiver('audio');
  const offer = await a.createOffer();
  const applied = a.setLocalDescription(offer);
  applied.catch(() => {}); // a failed expectation below must not leave it unhandled at close()
  // Hold the JS thread while webrtcbin applies the offer on its own: until the promise
  // settles the attributes must not show it.
  const until = Date.now() + 300;
  while (Date.now() < until);
  expect(a.pendingLocalDescription).toBeNull();
  expect(a.localDescription).toBeNull();
  expect(a.signalingState).toBe('stable');
  await applied;
  expect(a.signalingState).toBe('have-local-offer');
  expect(a.pendingLocalDescription).not.toBeNull();
  expect(a.localDescription).toBe(a.localDescription);
  expect(a.pendingLocalDescription).toBe(a.pendingLocalDescription);
  expect(a.currentLocalDescription).toBeNull();
});

test('RTCPeerConnection.length is 0 (WebIDL: its one argument is optional, and optional arguments do not count)', () => {
  expect(GstPeerConnection.length).toBe(0);
});

test('setLocalDescription(offer) gives each transceiver the mid of its m-section; a rollback takes it back (webrtc-pc §4.4.1.6)', async () => {
  const a = peer();
  const t = a.addTransceiver('audio');
  expect(t.mid).toBeNull();
  await a.setLocalDescription(await a.createOffer());
  expect(t.mid).not.toBeNull();
  expect(t.mid).toBe(/a=mid:(\S+)/.exec(a.localDescription.sdp)[1]);
  await a.setLocalDescription({ type: 'rollback' });
  expect(t.mid).toBeNull();
});

test('a remote track starts muted and is unmuted when its media arrives (webrtc-pc §5.3.1)', async () => {
  const a = peer();
  const b = peer();
  a.addTrack(tone.track);
  const fired = new Promise((r) => b.addEventListener('track', (ev) => r({ track: ev.track, mutedAtEvent: ev.track.muted }), { once: true }));
  await connect(a, b);
  const { track, mutedAtEvent } = await fired;
  expect(mutedAtEvent).toBe(true);
  if (track.muted) await new Promise((r) => track.addEventListener('unmute', r, { once: true }));
  expect(track.muted).toBe(false);
});

test('pranswer then answer, on both sides; an answer that differs from the pranswer is an OperationError (webrtcbin 1.22 limit)', async () => {
  const a = peer();
  const b = peer();
  a.addTransceiver('audio');
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  const { sdp } = await b.createAnswer();
  await b.setLocalDescription({ type: 'pranswer', sdp });
  expect(b.signalingState).toBe('have-local-pranswer');
  expect(b.pendingLocalDescription.type).toBe('pranswer');
  await a.setRemoteDescription({ type: 'pranswer', sdp });
  expect(a.signalingState).toBe('have-remote-pranswer');
  const different = sdp.replace(/a=ice-pwd:\S+/g, `a=ice-pwd:${'x'.repeat(24)}`);
  expect(different).not.toBe(sdp);
  await expectReject(b.setLocalDescription({ type: 'answer', sdp: different }), 'OperationError');
  expect(b.signalingState).toBe('have-local-pranswer');
  await b.setLocalDescription({ type: 'answer', sdp });
  expect(b.signalingState).toBe('stable');
  expect(b.currentLocalDescription.type).toBe('answer');
  await a.setRemoteDescription({ type: 'answer', sdp });
  expect(a.signalingState).toBe('stable');
  expect(a.currentRemoteDescription.type).toBe('answer');
});

test("our descriptions carry the application's streams in a=msid (RFC 8830), the far end's track event shows them, and setStreams needs negotiation", async () => {
  const { MediaStream } = require('../dist');
  const a = peer();
  const b = peer();
  const s1 = new MediaStream([tone.track]);
  const s2 = new MediaStream();
  a.addTrack(tone.track, s1, s2);
  a.addTransceiver('audio');
  a.addTransceiver('audio', { direction: 'recvonly' });
  await a.setLocalDescription();
  const sections = a.localDescription.sdp.split(/^m=/m).slice(1);
  const msids = sections.map((m) => m.match(/^a=msid:.*$/gm) ?? []);
  expect(msids[0]).toEqual([`a=msid:${s1.id} ${tone.track.id}`, `a=msid:${s2.id} ${tone.track.id}`]);
  expect(msids[1]).toEqual([expect.stringMatching(/^a=msid:- \S+$/)]);
  expect(msids[2]).toEqual([]);
  // webrtcbin's own `a=ssrc:… msid:<cname> webrtctransceiverN` is gone.
  expect(a.localDescription.sdp).not.toMatch(/^a=ssrc:\d+ msid:/m);
  const streams = [];
  b.ontrack = (ev) => streams.push(ev.streams.map((s) => s.id));
  await b.setRemoteDescription(a.localDescription);
  expect(streams).toEqual([[s1.id, s2.id], []]);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  await new Promise((r) => setTimeout(r, 20));
  let needed = 0;
  a.onnegotiationneeded = () => needed++;
  a.getSenders()[0].setStreams(s2);
  await new Promise((r) => setTimeout(r, 20));
  expect(needed).toBe(1);
  await a.setLocalDescription();
  expect(a.localDescription.sdp.split(/^m=/m)[1].match(/^a=msid:.*$/gm)).toEqual([`a=msid:${s2.id} ${tone.track.id}`]);
});

test('senders and receivers share one RTCDtlsTransport once negotiated; its and its RTCIceTransport\'s events come before the connection\'s (webrtc-pc §5.5, §5.6)', async () => {
  const { RTCDtlsTransport, RTCIceTransport } = require('../dist');
  const a = peer();
  const b = peer();
  a.addTrack(tone.track);
  a.addTransceiver('audio');
  expect(a.getSenders()[0].transport).toBeNull();
  const order = [];
  a.addEventListener('connectionstatechange', () => order.push(`pc:${a.connectionState}`));
  a.addEventListener('iceconnectionstatechange', () => order.push(`pc-ice:${a.iceConnectionState}`));
  await a.setLocalDescription();
  const dtls = a.getSenders()[0].transport;
  expect(dtls).toBeInstanceOf(RTCDtlsTransport);
  expect(dtls.iceTransport).toBeInstanceOf(RTCIceTransport);
  dtls.onstatechange = () => order.push(`dtls:${dtls.state}`);
  dtls.iceTransport.onstatechange = () => order.push(`ice:${dtls.iceTransport.state}`);
  expect(new Set([...a.getSenders(), ...a.getReceivers()].map((x) => x.transport))).toEqual(new Set([dtls]));
  expect(dtls.iceTransport.role).toBe('unknown');
  await connect(a, b);
  expect(dtls.state).toBe('connected');
  expect(['connected', 'completed']).toContain(dtls.iceTransport.state);
  expect(dtls.iceTransport.component).toBe('rtp');
  expect(dtls.iceTransport.role).toBe('controlling');
  expect(b.getReceivers()[0].transport.iceTransport.role).toBe('controlled');
  expect(order.indexOf('dtls:connected')).toBe(order.indexOf('pc:connected') - 1);
  expect(order.indexOf('ice:connected')).toBe(order.indexOf('pc-ice:connected') - 1);
  a.close();
  expect([dtls.state, dtls.iceTransport.state]).toEqual(['closed', 'closed']);
});
