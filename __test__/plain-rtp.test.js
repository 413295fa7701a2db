'use strict';

// The plain RTP/AVP backend (rtpProfile 'RTP/AVP', src/rtp_session/): real rtpbin, real UDP
// sockets on loopback, audio judged by its tone in every 200 ms window.

const dgram = require('dgram');
const { AudioMixer, RTCPeerConnection, RTCRtpReceiver, ToneSource, checkOffer, nonstandard } = require('../dist');
const { FrameCollector, expectContinuousTone, expectToneFromNow } = require('./helpers/audio');
const { collectRemote, connect, waitState, once } = require('./helpers/peers');
const { restrictCodecs } = require('./helpers/sdp');
const { later, own, peer } = require('./helpers/later');
const { fdCount, sleep, threadCount, waitFor } = require('./helpers/resources');
const { rawPhone, rtpPacket } = require('./helpers/rtp-phone');
const { analyzeFidelity, describeFidelity } = require('./helpers/fidelity');

const FREQ_A = 440;
const FREQ_B = 1250;
const PROBES = [FREQ_A, FREQ_B, 700, 2000];
const PLAIN = { rtpProfile: 'RTP/AVP', localAddresses: ['127.0.0.1'] };

function plainPeer(extra) {
  return own(new RTCPeerConnection({ ...PLAIN, ...extra }));
}

function tonePeers(extra) {
  const a = plainPeer(extra);
  const b = plainPeer(extra);
  const toneA = own(new ToneSource({ frequency: FREQ_A, amplitude: 0.5 }));
  const toneB = own(new ToneSource({ frequency: FREQ_B, amplitude: 0.5 }));
  a.addTrack(toneA.track);
  b.addTrack(toneB.track);
  return { a, b, toneA, toneB, atA: collectRemote(a), atB: collectRemote(b) };
}

/** Offer/answer; `munge` rewrites the offer B sees. Resolves with both SDPs once connected. */
async function call(a, b, munge = (sdp) => sdp) {
  const connected = Promise.all([waitState(a, 'connectionState', 'connected'), waitState(b, 'connectionState', 'connected')]);
  const offer = await a.createOffer();
  await a.setLocalDescription(offer);
  await b.setRemoteDescription({ type: 'offer', sdp: munge(offer.sdp) });
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  await connected;
  return { offer: a.localDescription.sdp, answer: b.localDescription.sdp };
}

/** Each side hears the other's tone in every 200 ms window of 2 s. */
async function expectBothTones(atA, atB) {
  const [{ sink: sinkA }, { sink: sinkB }] = await Promise.all([atA.ready, atB.ready]);
  await sleep(2600);
  sinkA.stop();
  sinkB.stop();
  expectContinuousTone(atB.collector, FREQ_A, 2000, PROBES);
  expectContinuousTone(atA.collector, FREQ_B, 2000, PROBES);
}

const portOf = (sdp) => Number(/^m=audio (\d+) /m.exec(sdp)[1]);

/** pc's stats once the peer has reported on our stream by RTCP (RFC 3550 §6.4), else undefined. */
async function withPeerReport(pc) {
  const report = [...(await pc.getStats()).values()];
  return report.some((s) => s.type === 'remote-inbound-rtp' && s.roundTripTime !== undefined) ? report : undefined;
}

describe.each([
  ['PCMU', 0],
  ['PCMA', 8],
  ['G722', 9],
  ['OPUS', 111],
])('two plain RTP sessions, %s', (codec, pt) => {
  test('each side hears the other tone in every window for 2 s', async () => {
    const { a, b, atA, atB } = tonePeers();
    const { offer, answer } = await call(a, b, (sdp) => restrictCodecs(sdp, [codec, 'telephone-event']));
    expect(offer).toMatch(/^m=audio \d+ RTP\/AVP /m);
    expect(offer).toMatch(/^c=IN IP4 127\.0\.0\.1$/m);
    expect(offer).not.toMatch(/a=(fingerprint|ice-ufrag|candidate)/);
    expect(answer).toMatch(new RegExp(`^m=audio \\d+ RTP/AVP ${pt}( |\\r)`, 'm'));
    expect(portOf(offer) % 2).toBe(0); // RFC 3550 §11: RTP on an even port, RTCP on the next
    expect(a.iceGatheringState).toBe('complete');
    await expectBothTones(atA, atB);
  });
});

test('a re-offer that changes the codec mid-call (PCMU → G.722, 8 → 16 kHz) is followed both ways', async () => {
  const { a, b, atA, atB } = tonePeers();
  const reoffer = async (codec) => {
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription({ type: 'offer', sdp: restrictCodecs(a.localDescription.sdp, [codec, 'telephone-event']) });
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
  };
  await call(a, b, (sdp) => restrictCodecs(sdp, ['PCMU', 'telephone-event']));
  await Promise.all([atA.ready, atB.ready]);
  await reoffer('G722');
  expect(b.localDescription.sdp).toMatch(/^m=audio \d+ RTP\/AVP 9 /m);
  await sleep(300);
  await Promise.all([expectToneFromNow(atB.collector, FREQ_A, 1500, PROBES.filter((f) => f !== FREQ_A)), expectToneFromNow(atA.collector, FREQ_B, 1500, PROBES.filter((f) => f !== FREQ_B))]);
  for (const pc of [a, b]) {
    const stats = [...(await pc.getStats()).values()];
    expect(stats.filter((st) => st.type === 'codec').map((st) => st.mimeType)).toEqual(['audio/G722']);
  }
});

test('session refreshes mid-call (re-offers with the same SDP or a new version, as SIP session timers send) are seamless both ways', async () => {
  const { a, b, atA, atB } = tonePeers();
  await call(a, b);
  const [{ sink: sinkA }, { sink: sinkB }] = await Promise.all([atA.ready, atB.ready]);
  await sleep(1000);
  for (const same of [true, false, true]) {
    await a.setLocalDescription(same ? { type: 'offer', sdp: a.localDescription.sdp } : await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
    await sleep(400);
  }
  await sleep(800);
  sinkA.stop();
  sinkB.stop();
  for (const [collector, freq] of [[atB.collector, FREQ_A], [atA.collector, FREQ_B]]) {
    expectContinuousTone(collector, freq, 2500, PROBES);
    // Nothing restarted: one continuous sine at its pitch, no click.
    const fidelity = analyzeFidelity(collector.samples(500), 48000, [freq]);
    expect(describeFidelity(fidelity)).toBe(describeFidelity({ ...fidelity, clicks: [], offPitch: [], offPitchWindows: 0 }));
  }
});

test('a pranswer (early media) sets the media up both ways; the media timeout waits for the final answer', async () => {
  const { a, b, atA, atB } = tonePeers({ mediaTimeout: 1000 });
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  const { sdp } = await b.createAnswer();
  await b.setLocalDescription({ type: 'pranswer', sdp });
  await a.setRemoteDescription({ type: 'pranswer', sdp });
  expect([a.signalingState, b.signalingState]).toEqual(['have-remote-pranswer', 'have-local-pranswer']);
  await Promise.all([waitState(a, 'connectionState', 'connected'), waitState(b, 'connectionState', 'connected')]);
  await Promise.all([atA.ready, atB.ready]);
  await Promise.all([expectToneFromNow(atB.collector, FREQ_A, 1000, [FREQ_B]), expectToneFromNow(atA.collector, FREQ_B, 1000, [FREQ_A])]);
  // A callee that rings without sending: no timeout before the call is answered.
  const sender = b.getSenders()[0];
  const track = sender.track;
  await sender.replaceTrack(null);
  await sleep(2500);
  expect(a.connectionState).toBe('connected');
  // Answered (the same SDP, final), still silent: now the timeout runs.
  const disconnected = waitState(a, 'connectionState', 'disconnected', 3000);
  await b.setLocalDescription({ type: 'answer', sdp });
  await a.setRemoteDescription({ type: 'answer', sdp });
  expect([a.signalingState, b.signalingState]).toEqual(['stable', 'stable']);
  await disconnected;
  const back = waitState(a, 'connectionState', 'connected');
  await sender.replaceTrack(track);
  await back;
});

test("the peer's a=ptime sets the audio per packet we send (RFC 8866 §6.4)", async () => {
  const { a, b, atB } = tonePeers();
  const connected = Promise.all([waitState(a, 'connectionState', 'connected'), waitState(b, 'connectionState', 'connected')]);
  const offer = await a.createOffer();
  await a.setLocalDescription(offer);
  await b.setRemoteDescription({ type: 'offer', sdp: restrictCodecs(offer.sdp, ['PCMU', 'telephone-event']) });
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription({ type: 'answer', sdp: b.localDescription.sdp.replace('a=ptime:20', 'a=ptime:40') });
  await connected;
  const [{ sink }] = await Promise.all([atB.ready]);
  await expectToneFromNow(atB.collector, FREQ_A, 1000, [FREQ_B]);
  sink.stop();
  const transport = [...(await b.getStats()).values()].find((s) => s.type === 'transport');
  // PCMU at 8 kHz: 40 ms is 320 bytes of payload, plus the 12-byte RTP header.
  expect(transport.bytesReceived / transport.packetsReceived).toBe(332);
});

test('getStats: codec, outbound-rtp, inbound-rtp, and remote-inbound-rtp once the peer reported on our stream', async () => {
  const { a, b } = tonePeers();
  await call(a, b, (sdp) => restrictCodecs(sdp, ['PCMU', 'telephone-event']));
  const report = await waitFor(() => withPeerReport(a), 10000, 100);
  const of = (type) => report.filter((s) => s.type === type);
  const [codec] = of('codec');
  expect(codec).toMatchObject({ mimeType: 'audio/PCMU', clockRate: 8000, payloadType: 0 });
  const [out] = of('outbound-rtp');
  const [inb] = of('inbound-rtp');
  const [remote] = of('remote-inbound-rtp');
  expect(out.packetsSent).toBeGreaterThan(50);
  expect(out.bytesSent).toBe(out.packetsSent * 160); // RTP payload octets (RFC 3550 §6.4.1): 20 ms of PCMU
  expect(out.codecId).toBe(codec.id);
  expect(inb.packetsReceived).toBeGreaterThan(50);
  expect(inb.packetsLost).toBe(0);
  expect(remote.localId).toBe(out.id);
  expect(remote.ssrc).toBe(out.ssrc);
  expect(remote.roundTripTime).toBeGreaterThan(0);
  expect(remote.roundTripTime).toBeLessThan(0.5);
  expect(remote.packetsLost).toBe(0);
  const ids = new Set(report.map((s) => s.id));
  for (const s of report) for (const key of ['transportId', 'codecId', 'localId']) if (s[key] !== undefined) expect(ids.has(s[key])).toBe(true);
});

describe('profiles', () => {
  test('a default (WebRTC) connection still refuses a plain RTP offer; checkOffer says how an offer is keyed', async () => {
    const a = plainPeer();
    a.addTransceiver('audio');
    const plainOffer = await a.createOffer();
    const webrtc = own(new RTCPeerConnection());
    await expect(webrtc.setRemoteDescription(plainOffer)).rejects.toMatchObject({ name: 'InvalidAccessError' });
    webrtc.addTransceiver('audio');
    const dtlsOffer = await webrtc.createOffer();
    expect(checkOffer(dtlsOffer.sdp)).toBe('dtls');
    expect(checkOffer(dtlsOffer.sdp, { rtpProfile: 'RTP/AVP' })).toBe('dtls');
    expect(checkOffer(plainOffer.sdp, { rtpProfile: 'RTP/AVP' })).toBe('plain');
    expect(() => checkOffer(plainOffer.sdp, { rtpProfile: 'RTP/SAVP' })).toThrow(expect.objectContaining({ name: 'InvalidAccessError' }));
    expect(() => new RTCPeerConnection({ rtpProfile: 'RTP/AVPF' })).toThrow(TypeError);
    expect(plainPeer().getConfiguration().rtpProfile).toBe('RTP/AVP');
    // No SDP at all is a syntax error (RTCError 'sdp-syntax-error'), before and when applied.
    for (const sdp of ['', 'garbage']) {
      expect(() => checkOffer(sdp, PLAIN)).toThrow(expect.objectContaining({ name: 'OperationError', errorDetail: 'sdp-syntax-error' }));
      await expect(plainPeer().setRemoteDescription({ type: 'offer', sdp })).rejects.toMatchObject({ name: 'OperationError', errorDetail: 'sdp-syntax-error' });
    }
  });

  test.each(['RTP/AVP', 'RTP/SAVP'])('rtpProfile %s also takes a WebRTC offer: applied first, it is answered on webrtcbin, tones both ways', async (rtpProfile) => {
    const browser = peer();
    const bridge = own(new RTCPeerConnection({ ...PLAIN, rtpProfile }));
    browser.addTrack(own(new ToneSource({ frequency: FREQ_A, amplitude: 0.5 })).track);
    const atBrowser = collectRemote(browser);
    const atBridge = collectRemote(bridge);
    // The W3C answerer's order: the offer first, then the tracks (webrtc-pc §4.4.1.6 made the transceiver).
    await connect(browser, bridge, { beforeAnswer: () => bridge.addTrack(own(new ToneSource({ frequency: FREQ_B, amplitude: 0.5 })).track) });
    expect(bridge.localDescription.sdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m);
    expect(bridge.localDescription.sdp).toMatch(/^a=fingerprint:/m);
    expect(bridge.getConfiguration().rtpProfile).toBe(rtpProfile);
    await expectBothTones(atBrowser, atBridge);
  });

  test('tracks, encodings and codec preferences set before a WebRTC offer move with the connection; a sink on its receiver track before negotiation hears the peer', async () => {
    const browser = peer();
    browser.addTrack(own(new ToneSource({ frequency: FREQ_A, amplitude: 0.5 })).track);
    const bridge = own(new RTCPeerConnection({ ...PLAIN, rtpProfile: 'RTP/AVP' }));
    // The SIP.js order: the bridge's track and settings first, then the offer.
    const sender = bridge.addTrack(own(new ToneSource({ frequency: FREQ_B, amplitude: 0.5 })).track);
    const [transceiver] = bridge.getTransceivers();
    const pcmu = RTCRtpReceiver.getCapabilities('audio').codecs.filter((c) => c.mimeType === 'audio/PCMU');
    transceiver.setCodecPreferences(pcmu);
    await sender.setParameters({ ...sender.getParameters(), encodings: [{ active: true, maxBitrate: 32000 }] });
    const early = new FrameCollector();
    const earlySink = own(new nonstandard.RTCAudioSink(transceiver.receiver.track));
    earlySink.ondata = early.push;
    const atBrowser = collectRemote(browser);
    let moved;
    await connect(browser, bridge, { beforeAnswer: () => (moved = { transceivers: bridge.getTransceivers(), track: transceiver.receiver.track.readyState }) });
    expect(moved).toEqual({ transceivers: [transceiver], track: 'live' });
    // The browser offered Opus first; the preference the bridge set before the move answers PCMU.
    expect(bridge.localDescription.sdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF 0( |\r)/m);
    expect(sender.getParameters().encodings[0].maxBitrate).toBe(32000);
    const { sink } = await atBrowser.ready;
    await sleep(2600);
    sink.stop();
    earlySink.stop();
    expectContinuousTone(atBrowser.collector, FREQ_B, 2000, PROBES);
    expectContinuousTone(early, FREQ_A, 2000, PROBES);
  });

  test('once a description is applied the backend stays: a WebRTC re-offer to a plain call is refused and the call goes on', async () => {
    const { a, b, atA, atB } = tonePeers();
    await call(a, b);
    const webrtc = peer();
    webrtc.addTransceiver('audio');
    const dtlsOffer = await webrtc.createOffer();
    await expect(b.setRemoteDescription(dtlsOffer)).rejects.toMatchObject({ name: 'InvalidAccessError' });
    expect(b.signalingState).toBe('stable');
    expect(b.localDescription.sdp).toMatch(/^m=audio \d+ RTP\/AVP /m);
    await expectBothTones(atA, atB);
  });

  test('no codec in common fails setting the answer up with an OperationError (SIP.js answers 488)', async () => {
    const b = plainPeer();
    b.addTransceiver('audio');
    const offer = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 18\r\na=rtpmap:18 G729/8000\r\n';
    await b.setRemoteDescription({ type: 'offer', sdp: offer });
    await expect(b.createAnswer()).rejects.toMatchObject({ name: 'OperationError' });
  });
});

describe('symmetric RTP and latching', () => {
  test('a peer that advertises an address it is not at is reached where its packets come from', async () => {
    const { a, b, atA } = tonePeers();
    // A claims 192.0.2.1 (TEST-NET-1, unreachable here): B sends there until A's first packet.
    await call(a, b, (sdp) => sdp.replace(/^c=IN IP4 127\.0\.0\.1$/m, 'c=IN IP4 192.0.2.1'));
    const [{ sink }] = await Promise.all([atA.ready]);
    await expectToneFromNow(atA.collector, FREQ_B, 1500, PROBES.filter((f) => f !== FREQ_B));
    sink.stop();
  });

  test('over IPv6 (localAddresses ::1): c=IN IP6, latched and heard both ways', async () => {
    const { a, b, atA, atB } = tonePeers({ localAddresses: ['::1'] });
    const { offer, answer } = await call(a, b);
    for (const sdp of [offer, answer]) expect(sdp).toMatch(/^c=IN IP6 ::1$/m);
    await expectBothTones(atA, atB);
  });

  test('after latching, packets from anyone else are dropped and counted, and the call goes on', async () => {
    const { a, b, atB } = tonePeers();
    const { answer } = await call(a, b);
    const [{ sink }] = await Promise.all([atB.ready]);
    const stranger = dgram.createSocket('udp4');
    await new Promise((r) => stranger.bind(0, '127.0.0.1', r));
    // RTP headers with B's payload types and a 1250 Hz-free payload: noise if it got through.
    const spray = setInterval(() => {
      for (let i = 0; i < 5; i++) {
        stranger.send(rtpPacket(0, 0x55555555, 0x5555, 0x55555555, 160, 0x55), portOf(answer), '127.0.0.1');
      }
    }, 10);
    try {
      await expectToneFromNow(atB.collector, FREQ_A, 1500, PROBES.filter((f) => f !== FREQ_A));
    } finally {
      clearInterval(spray);
      stranger.close();
    }
    const transport = [...(await b.getStats()).values()].find((s) => s.type === 'transport');
    expect(transport.packetsDiscarded).toBeGreaterThan(100);
    expect(transport.packetsReceived).toBeGreaterThan(50);
    sink.stop();
  });

  test('a flood of packets at two sessions does not disturb them or another call: every socket of the shared readers is served', async () => {
    // The sockets of all plain calls share one reader thread per core (src/rtp_session/socket/):
    // 5000 datagrams a second at each of the first call's ports must neither starve the
    // readers' other sockets nor those ports' own peers.
    const calls = [tonePeers(), tonePeers()];
    const sdps = [];
    for (const c of calls) sdps.push(await call(c.a, c.b));
    const sinks = await Promise.all(calls.flatMap((c) => [c.atA.ready, c.atB.ready]));
    const stranger = dgram.createSocket('udp4');
    await new Promise((r) => stranger.bind(0, '127.0.0.1', r));
    const flooded = [portOf(sdps[0].offer), portOf(sdps[0].answer)];
    const flood = setInterval(() => {
      for (let i = 0; i < 50; i++) for (const port of flooded) stranger.send(rtpPacket(0, 0x55555555, i, 0x55555555, 160, 0x55), port, '127.0.0.1');
    }, 10);
    try {
      await Promise.all(
        calls.flatMap((c) => [
          expectToneFromNow(c.atB.collector, FREQ_A, 2000, PROBES.filter((f) => f !== FREQ_A)),
          expectToneFromNow(c.atA.collector, FREQ_B, 2000, PROBES.filter((f) => f !== FREQ_B)),
        ]),
      );
    } finally {
      clearInterval(flood);
      stranger.close();
    }
    for (const pc of [calls[0].a, calls[0].b]) {
      const transport = [...(await pc.getStats()).values()].find((s) => s.type === 'transport');
      expect(transport.packetsDiscarded).toBeGreaterThan(5000);
    }
    for (const { sink } of sinks) sink.stop();
  });

  test("a re-offer that moves the peer's media (a transfer) latches anew: we reach and hear the new endpoint, never the one it replaced, which still sends", async () => {
    const b = plainPeer();
    b.addTrack(own(new ToneSource({ frequency: FREQ_B })).track);
    const atB = collectRemote(b);
    const offer = (address, port, version) => `v=0\r\no=pbx 1 ${version} IN IP4 ${address}\r\ns=-\r\nc=IN IP4 ${address}\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=sendrecv\r\n`;
    const phones = [rawPhone(FREQ_A), rawPhone(700)];
    const got = [0, 0];
    for (const [n, p] of phones.entries()) {
      await new Promise((r) => p.socket.bind(0, '127.0.0.1', r));
      p.socket.on('message', () => got[n]++);
      later(() => p.socket.close());
    }
    await b.setRemoteDescription({ type: 'offer', sdp: offer('127.0.0.1', phones[0].socket.address().port, 1) });
    await b.setLocalDescription(await b.createAnswer());
    const bPort = portOf(b.localDescription.sdp);
    // Each phone sends from the start to the end: the first one goes on after it was replaced.
    const sending = [];
    const send = (n) => {
      let seq = 0;
      sending.push(setInterval(() => phones[n].socket.send(phones[n].packet(0x1111 + n, seq, seq++ * 160), bPort, '127.0.0.1'), 20));
    };
    later(() => sending.forEach(clearInterval));
    send(0);
    const [{ sink }] = await Promise.all([atB.ready]);
    await waitFor(() => got[0] > 10, 3000, 20, 'b sending to the first phone');
    // The transfer: the new endpoint is behind NAT (its description names an address it is not
    // at), so only its packets can say where it is.
    send(1);
    await b.setRemoteDescription({ type: 'offer', sdp: offer('192.0.2.1', phones[1].socket.address().port, 2) });
    await b.setLocalDescription(await b.createAnswer());
    await waitFor(() => got[1] > 5, 3000, 20, 'b sending to the new phone');
    await expectToneFromNow(atB.collector, 700, 1500, PROBES.filter((f) => f !== 700));
    const toFirst = got[0];
    await sleep(500);
    expect(got[0]).toBe(toFirst);
    expect(got[1]).toBeGreaterThan(75);
    const transport = [...(await b.getStats()).values()].find((st) => st.type === 'transport');
    expect(transport.packetsDiscarded).toBeGreaterThan(75);
    sink.stop();
  });
});

/**
 * A raw-socket phone sending tone A offers PCMU (and the `extra` formats: SDP lines after the
 * payload types) to `b`, which answers: the phone and b's RTP port.
 */
async function rawPhoneCalls(b, extra = '') {
  const phone = rawPhone(FREQ_A);
  await new Promise((r) => phone.socket.bind(0, '127.0.0.1', r));
  const port = phone.socket.address().port;
  const offer = `v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0${extra}\r\na=sendrecv\r\n`;
  await b.setRemoteDescription({ type: 'offer', sdp: offer });
  await b.setLocalDescription(await b.createAnswer());
  return { phone, bPort: portOf(b.localDescription.sdp) };
}

test('a phone that changes its SSRC mid-call is followed without a gap; garbage and oversized datagrams from it are dropped and counted', async () => {
  const b = plainPeer();
  b.addTrack(own(new ToneSource({ frequency: FREQ_B })).track);
  const atB = collectRemote(b);
  const { phone, bPort } = await rawPhoneCalls(b);
  let i = 0;
  const timer = setInterval(() => {
    // 1.5 s from one SSRC, then another with its own sequence and timestamp bases.
    const second = i >= 75;
    const ssrc = second ? 0x2222 : 0x1111;
    phone.socket.send(phone.packet(ssrc, (second ? 40000 : 100) + i, (second ? 9e6 : 1000) + i * 160), bPort, '127.0.0.1');
    if (i % 5 === 0) phone.socket.send(Buffer.from([0x80, 0, 1]), bPort, '127.0.0.1'); // truncated
    if (i % 7 === 0) phone.socket.send(Buffer.alloc(40, 0x11), bPort, '127.0.0.1'); // not RTP (version 0)
    // Longer than any audio packet (1500 bytes): dropped whole, never cut into a stream of its own.
    if (i % 25 === 0) phone.socket.send(rtpPacket(0, 0x3333, i, i * 160, 3000, 0x55), bPort, '127.0.0.1');
    i++;
  }, 20);
  try {
    const [{ sink }] = await Promise.all([atB.ready]);
    // 3 s of packets at least, and as long as it takes the sink, which starts with the first
    // decoded audio, to collect the 2.5 s judged below after its first 500 ms (bounded at 5 s).
    while (i < 150 || (atB.collector.durationMs < 3200 && i < 250)) await sleep(50);
    sink.stop();
    expectContinuousTone(atB.collector, FREQ_A, 2500, PROBES);
  } finally {
    clearInterval(timer);
    phone.socket.close();
  }
  const transport = [...(await b.getStats()).values()].find((s) => s.type === 'transport');
  expect(transport.packetsDiscarded).toBeGreaterThanOrEqual(30 + 21 + 6);
  const inbound = [...(await b.getStats()).values()].filter((s) => s.type === 'inbound-rtp').map((s) => s.ssrc);
  expect(inbound.sort()).toEqual([0x1111, 0x2222]);
});

test('payload types the phone was not given (comfort noise with VAD, a refused G.729) are dropped and the stream goes on', async () => {
  const b = plainPeer();
  b.addTrack(own(new ToneSource({ frequency: FREQ_B })).track);
  const atB = collectRemote(b);
  const { phone, bPort } = await rawPhoneCalls(b, ' 18 13\r\na=rtpmap:18 G729/8000\r\na=rtpmap:13 CN/8000');
  expect(b.localDescription.sdp).toMatch(/^m=audio \d+ RTP\/AVP 0\r$/m);
  // One sequence for all of them, as a sender numbers what it sends (RFC 3550 §5.1).
  let i = 0;
  let seq = 100;
  // Their own payloads: the phone's tone runs on unbroken across them.
  const other = (pt, bytes) => phone.socket.send(rtpPacket(pt, 0x1111, seq++, i * 160, bytes, 0x55), bPort, '127.0.0.1');
  const timer = setInterval(() => {
    phone.socket.send(phone.packet(0x1111, seq++, i * 160), bPort, '127.0.0.1');
    if (i % 10 === 5) other(13, 1);
    if (i % 10 === 7) other(18, 20);
    i++;
  }, 20);
  try {
    const [{ sink }] = await Promise.all([atB.ready]);
    while (atB.collector.durationMs < 3200 && i < 250) await sleep(50);
    sink.stop();
    expectContinuousTone(atB.collector, FREQ_A, 2500, PROBES);
  } finally {
    clearInterval(timer);
    phone.socket.close();
  }
  const inbound = [...(await b.getStats()).values()].find((st) => st.type === 'inbound-rtp');
  expect(inbound.packetsLost).toBe(0);
  expect(b.connectionState).toBe('connected');
});

test('packets that arrive out of order are put back in order: the tone is heard whole, without a click', async () => {
  const b = plainPeer();
  const atB = collectRemote(b);
  const { phone, bPort } = await rawPhoneCalls(b);
  // Every 40 ms two packets, the second first (made in order: the tone runs on across them),
  // after a first packet alone: a stream whose first packet is overtaken counts one packet
  // lost fewer than none (RFC 3550 §A.3 counts from the first sequence number received).
  let seq = 1000;
  phone.socket.send(phone.packet(0x3333, seq, seq * 160), bPort, '127.0.0.1');
  seq++;
  const timer = setInterval(() => {
    const first = phone.packet(0x3333, seq, seq * 160);
    const second = phone.packet(0x3333, seq + 1, (seq + 1) * 160);
    phone.socket.send(second, bPort, '127.0.0.1');
    phone.socket.send(first, bPort, '127.0.0.1');
    seq += 2;
  }, 40);
  try {
    const { sink } = await atB.ready;
    await waitFor(() => atB.collector.durationMs >= 2700, 6000);
    sink.stop();
    expectContinuousTone(atB.collector, FREQ_A, 2000, PROBES);
    // Every packet was played, in order: one continuous sine at its pitch, no click.
    const fidelity = analyzeFidelity(atB.collector.samples(500), 48000, [FREQ_A]);
    expect(describeFidelity(fidelity)).toBe(describeFidelity({ ...fidelity, clicks: [], offPitch: [], offPitchWindows: 0 }));
    expect(fidelity.analysedMs).toBeGreaterThan(2000);
  } finally {
    clearInterval(timer);
    phone.socket.close();
  }
  const inbound = [...(await b.getStats()).values()].find((s) => s.type === 'inbound-rtp');
  expect(inbound.packetsLost).toBe(0);
});

describe('rtcp-mux (RFC 5761)', () => {
  const PHONE_SSRC = 0x1111;
  const isRtcp = (m) => m.length >= 8 && m[1] >= 192 && m[1] <= 223;

  /** A compound RTCP packet from `ssrc`: a receiver report on `about` and an SDES CNAME (RFC 3550 §6.4.2, §6.5). */
  function receiverReport(ssrc, about) {
    const rr = Buffer.alloc(32);
    rr[0] = 0x81;
    rr[1] = 201;
    rr.writeUInt16BE(7, 2);
    rr.writeUInt32BE(ssrc, 4);
    rr.writeUInt32BE(about, 8);
    const cname = Buffer.from('phone@127.0.0.1');
    const chunk = Math.ceil((4 + 2 + cname.length + 1) / 4) * 4;
    const sdes = Buffer.alloc(4 + chunk);
    sdes[0] = 0x81;
    sdes[1] = 202;
    sdes.writeUInt16BE(chunk / 4, 2);
    sdes.writeUInt32BE(ssrc, 4);
    sdes[8] = 1;
    sdes[9] = cname.length;
    cname.copy(sdes, 10);
    return Buffer.concat([rr, sdes]);
  }

  /**
   * A phone on `rtp` (and `rtcp`, a second socket, unless it muxes) calling a plain session
   * that sends tone B: it sends tone A and, once it knows our SSRC, a receiver report on it
   * every 200 ms to `reportTo(ourPort)`. Resolves once `until` holds (by default: each side
   * got the other's RTCP), or after 10 s, with what each socket received and our stats.
   */
  const reportedBothWays = ({ got, remote }) => remote !== undefined && got.rtcpOnRtp + got.rtcpOnRtcp > 0;
  async function phoneCall({ mux, reportTo, until = reportedBothWays }) {
    const phone = rawPhone(FREQ_A);
    const rtcpSocket = mux ? null : dgram.createSocket('udp4');
    await new Promise((r) => phone.socket.bind(0, '127.0.0.1', r));
    if (rtcpSocket) await new Promise((r) => rtcpSocket.bind(0, '127.0.0.1', r));
    const got = { rtp: 0, rtcpOnRtp: 0, rtcpOnRtcp: 0, ours: undefined };
    phone.socket.on('message', (m) => {
      if (isRtcp(m)) got.rtcpOnRtp++;
      else if (m.length >= 12) {
        got.rtp++;
        got.ours = m.readUInt32BE(8);
      }
    });
    rtcpSocket?.on('message', (m) => isRtcp(m) && got.rtcpOnRtcp++);
    const b = plainPeer();
    b.addTrack(own(new ToneSource({ frequency: FREQ_B })).track);
    const port = phone.socket.address().port;
    const lines = mux ? 'a=rtcp-mux\r\n' : `a=rtcp:${rtcpSocket.address().port}\r\n`;
    const offer = `v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${port} RTP/AVP 0\r\na=sendrecv\r\n${lines}`;
    await b.setRemoteDescription({ type: 'offer', sdp: offer });
    await b.setLocalDescription(await b.createAnswer());
    const bPort = portOf(b.localDescription.sdp);
    const to = reportTo(bPort);
    let i = 0;
    const timer = setInterval(() => {
      phone.socket.send(phone.packet(PHONE_SSRC, 100 + i, 1000 + i * 160), bPort, '127.0.0.1');
      if (i % 10 === 0 && got.ours !== undefined) (to === bPort ? phone.socket : rtcpSocket ?? phone.socket).send(receiverReport(PHONE_SSRC, got.ours), to, '127.0.0.1');
      i++;
    }, 20);
    later(() => {
      clearInterval(timer);
      phone.socket.close();
      rtcpSocket?.close();
    });
    const state = { b, got };
    for (let n = 0; n < 100 && !until(state); n++) {
      await sleep(100);
      const report = [...(await b.getStats()).values()];
      state.remote = report.find((s) => s.type === 'remote-inbound-rtp');
      state.transport = report.find((s) => s.type === 'transport');
    }
    return state;
  }

  test('a phone that offers it: its RTCP reaches us on the RTP port, and ours reaches it there', async () => {
    const { b, got, remote } = await phoneCall({ mux: true, reportTo: (bPort) => bPort });
    expect(b.localDescription.sdp).toMatch(/^a=rtcp-mux\r$/m);
    expect(got.rtcpOnRtp).toBeGreaterThan(0);
    expect(got.rtp).toBeGreaterThan(50);
    expect(remote).toMatchObject({ ssrc: got.ours, packetsLost: 0 });
  });

  test('without it, RTCP stays on port + 1 both ways, and RTCP on the RTP port is dropped and counted', async () => {
    // Ten reports to the RTP port (2 s), any of which taken would have made a remote-inbound-rtp.
    const strays = await phoneCall({ mux: false, reportTo: (bPort) => bPort, until: ({ transport }) => transport?.packetsDiscarded >= 10 });
    expect(strays.b.localDescription.sdp).not.toMatch(/a=rtcp-mux/);
    expect(strays.remote).toBeUndefined();
    expect(strays.transport.packetsDiscarded).toBeGreaterThanOrEqual(10);
    expect(strays.got.rtcpOnRtp).toBe(0);
    const { got, remote } = await phoneCall({ mux: false, reportTo: (bPort) => bPort + 1 });
    expect(got.rtcpOnRtcp).toBeGreaterThan(0);
    expect(got.rtcpOnRtp).toBe(0);
    expect(remote).toMatchObject({ ssrc: got.ours, packetsLost: 0 });
  }, 30000);

  test('SDES-SRTP sessions mux SRTCP on the RTP port: each side gets the other reports', async () => {
    const { a, b } = tonePeers({ rtpProfile: 'RTP/SAVP' });
    const { offer, answer } = await call(a, b);
    expect(offer).toMatch(/^a=rtcp-mux\r$/m);
    expect(answer).toMatch(/^a=rtcp-mux\r$/m);
    for (const pc of [a, b]) {
      let remote;
      for (let n = 0; n < 100 && remote?.roundTripTime === undefined; n++) {
        await sleep(100);
        remote = [...(await pc.getStats()).values()].find((s) => s.type === 'remote-inbound-rtp');
      }
      expect(remote.roundTripTime).toBeGreaterThan(0);
      expect(remote.roundTripTime).toBeLessThan(0.5);
    }
  });
});

describe('DTMF and hold', () => {
  test('RFC 4733 digits both ways', async () => {
    const { a, b } = tonePeers();
    await call(a, b, (sdp) => restrictCodecs(sdp, ['PCMU', 'telephone-event']));
    const got = { a: [], b: [] };
    a.addEventListener('dtmf', (ev) => got.a.push(ev.tone));
    b.addEventListener('dtmf', (ev) => got.b.push(ev.tone));
    const senderA = a.getSenders()[0];
    const senderB = b.getSenders()[0];
    expect(senderA.dtmf.canInsertDTMF).toBe(true);
    senderA.dtmf.insertDTMF('19#', 100, 70);
    senderB.dtmf.insertDTMF('*4', 100, 70);
    const deadline = Date.now() + 5000;
    while ((got.a.length < 2 || got.b.length < 3) && Date.now() < deadline) await sleep(50);
    expect(got.b).toEqual(['1', '9', '#']);
    expect(got.a).toEqual(['*', '4']);
  });

  test('hold (sendonly → recvonly) stops what the held side sends; resume brings the tone back', async () => {
    const { a, b, atA } = tonePeers();
    await call(a, b);
    const [{ sink }] = await Promise.all([atA.ready]);
    await expectToneFromNow(atA.collector, FREQ_B, 600, [FREQ_A]);
    // A puts B on hold: A sends, B must not.
    a.getTransceivers()[0].direction = 'sendonly';
    await call(a, b);
    expect(b.getTransceivers()[0].currentDirection).toBe('recvonly');
    await sleep(300);
    atA.collector.reset();
    await sleep(800);
    const held = atA.collector.toneOverWindows(FREQ_B, 200, [FREQ_A], 600);
    expect(held.windows.filter((w) => w.present)).toEqual([]);
    a.getTransceivers()[0].direction = 'sendrecv';
    await call(a, b);
    await sleep(300);
    await expectToneFromNow(atA.collector, FREQ_B, 1000, [FREQ_A]);
    sink.stop();
  });
});

describe('SDES-SRTP (rtpProfile RTP/SAVP)', () => {
  const SECURE = { rtpProfile: 'RTP/SAVP' };

  const securePeers = () => tonePeers(SECURE);

  const cryptoLines = (sdp) => [...sdp.matchAll(/^a=crypto:(\d+) (\S+) inline:(\S+)\r$/gm)].map((m) => ({ tag: m[1], suite: m[2], key: m[3] }));

  test.each([
    ['AES_CM_128_HMAC_SHA1_80', (sdp) => sdp],
    ['AES_CM_128_HMAC_SHA1_32', (sdp) => sdp.replace(/^a=crypto:1 .*\r\n/m, '')],
  ])('%s: each side hears the other, with its own key in each direction', async (suite, munge) => {
    const { a, b, atA, atB } = securePeers();
    const { offer, answer } = await call(a, b, munge);
    expect(offer).toMatch(/^m=audio \d+ RTP\/SAVP /m);
    expect(cryptoLines(offer).map((c) => c.suite)).toEqual(['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32']);
    const [ours] = cryptoLines(answer);
    expect(ours.suite).toBe(suite);
    expect(cryptoLines(answer)).toHaveLength(1);
    // RFC 4568 §6.1: the answerer's own key, never the offerer's.
    expect(cryptoLines(offer).map((c) => c.key)).not.toContain(ours.key);
    await expectBothTones(atA, atB);
    const transport = [...(await a.getStats()).values()].find((s) => s.type === 'transport');
    expect(transport.srtpCipher).toBe(suite);
  });

  test('a re-offer re-keys both directions and the call goes on', async () => {
    const { a, b, atA, atB } = securePeers();
    const first = await call(a, b);
    const [{ sink: sinkA }, { sink: sinkB }] = await Promise.all([atA.ready, atB.ready]);
    const second = await call(a, b);
    expect(cryptoLines(second.offer).map((c) => c.key)).not.toContain(cryptoLines(first.offer)[0].key);
    expect(cryptoLines(second.answer)[0].key).not.toBe(cryptoLines(first.answer)[0].key);
    await expectToneFromNow(atB.collector, FREQ_A, 1000, [FREQ_B]);
    await expectToneFromNow(atA.collector, FREQ_B, 1000, [FREQ_A]);
    sinkA.stop();
    sinkB.stop();
  });

  test('what is not protected with the negotiated key is dropped and counted, never heard', async () => {
    const { a, b, atA } = securePeers();
    // A gets an answer whose key is not the one B sends with: nothing B sends decrypts at A.
    const connected = waitState(b, 'connectionState', 'connected');
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    await b.setLocalDescription(await b.createAnswer());
    const forged = b.localDescription.sdp.replace(/inline:(\S+)\r/, (_, k) => `inline:${k.startsWith('A') ? 'B' : 'A'}${k.slice(1)}\r`);
    await a.setRemoteDescription({ type: 'answer', sdp: forged });
    await connected;
    await sleep(1500);
    expect(atA.collector.frameCount ?? 0).toBe(0);
    const transport = [...(await a.getStats()).values()].find((s) => s.type === 'transport');
    expect(transport.packetsReceived).toBeGreaterThan(30);
    expect(transport.srtpPacketsDropped).toBeGreaterThan(30);
  });

  test('profiles: SAVP refuses plain RTP, takes best-effort SDES on RTP/AVP, and RTP/AVP takes SDES', async () => {
    const plainOffer = await (async () => {
      const p = plainPeer();
      p.addTransceiver('audio');
      return p.createOffer();
    })();
    const secure = plainPeer(SECURE);
    await expect(secure.setRemoteDescription(plainOffer)).rejects.toMatchObject({ name: 'InvalidAccessError' });
    const s = plainPeer(SECURE);
    s.addTransceiver('audio');
    const sdesOffer = await s.createOffer();
    // Asterisk's best-effort SDES: a=crypto on an RTP/AVP m-line, answered with SDES on RTP/AVP.
    const bestEffort = sdesOffer.sdp.replace('RTP/SAVP', 'RTP/AVP');
    for (const profile of ['RTP/SAVP', 'RTP/AVP']) {
      const answerer = plainPeer({ rtpProfile: profile });
      await answerer.setRemoteDescription({ type: 'offer', sdp: bestEffort });
      const answer = await answerer.createAnswer();
      expect(answer.sdp).toMatch(/^m=audio \d+ RTP\/AVP /m);
      expect(cryptoLines(answer.sdp)).toHaveLength(1);
    }
    // An offer whose only a=crypto has an MKI is refused with a clear error.
    const mki = sdesOffer.sdp.replace(/^a=crypto:2 .*\r\n/m, '').replace(/(a=crypto:1 \S+ inline:\S+)\r/, '$1|1:4\r');
    const refusing = plainPeer(SECURE);
    await refusing.setRemoteDescription({ type: 'offer', sdp: mki });
    await expect(refusing.createAnswer()).rejects.toMatchObject({ name: 'InvalidAccessError' });
  });

  test('srtpCryptoSuites: what we offer, in our order, and what we accept; anything else is a TypeError', async () => {
    const only32 = { ...SECURE, srtpCryptoSuites: ['AES_CM_128_HMAC_SHA1_32'] };
    const o = plainPeer(only32);
    expect(o.getConfiguration().srtpCryptoSuites).toEqual(['AES_CM_128_HMAC_SHA1_32']);
    o.addTransceiver('audio');
    expect(cryptoLines((await o.createOffer()).sdp).map((l) => l.suite)).toEqual(['AES_CM_128_HMAC_SHA1_32']);
    const both = plainPeer({ ...SECURE, srtpCryptoSuites: ['AES_CM_128_HMAC_SHA1_32', 'AES_CM_128_HMAC_SHA1_80'] });
    both.addTransceiver('audio');
    const offer = await both.createOffer();
    expect(cryptoLines(offer.sdp).map((l) => l.suite)).toEqual(['AES_CM_128_HMAC_SHA1_32', 'AES_CM_128_HMAC_SHA1_80']);
    // An offer of _80 only: refused by a _32-only connection, before (checkOffer) and when answering.
    const only80 = offer.sdp.replace(/^a=crypto:1 .*\r\n/m, '');
    expect(() => checkOffer(only80, only32)).toThrow(expect.objectContaining({ name: 'InvalidAccessError' }));
    expect(checkOffer(only80, SECURE)).toBe('sdes');
    const refusing = plainPeer(only32);
    await refusing.setRemoteDescription({ type: 'offer', sdp: only80 });
    await expect(refusing.createAnswer()).rejects.toMatchObject({ name: 'InvalidAccessError' });
    expect(() => new RTCPeerConnection({ ...SECURE, srtpCryptoSuites: ['AES_256_CM_HMAC_SHA1_80'] })).toThrow(TypeError);
    expect(() => new RTCPeerConnection({ ...SECURE, srtpCryptoSuites: [] })).toThrow(TypeError);
    expect(() => new RTCPeerConnection({ ...SECURE, srtpCryptoSuites: 'AES_CM_128_HMAC_SHA1_80' })).toThrow(TypeError);
  });
});

test('both backends in one process: a WebRTC call and a plain-RTP call mixed into each other (mix-minus)', async () => {
  // A browser-like peer (tone A) and a phone (tone B), each on its own leg of the bridge.
  const browser = peer();
  const browserLeg = peer();
  const phone = plainPeer();
  const phoneLeg = plainPeer();
  browser.addTrack(own(new ToneSource({ frequency: FREQ_A, amplitude: 0.5 })).track);
  phone.addTrack(own(new ToneSource({ frequency: FREQ_B, amplitude: 0.5 })).track);
  const mixer = new AudioMixer();
  const fromBrowser = once(browserLeg, 'track');
  const fromPhone = once(phoneLeg, 'track');
  const atBrowser = collectRemote(browser);
  const atPhone = collectRemote(phone);
  // Each leg sends the mix without its own caller: the browser hears the phone and vice versa.
  const inputs = {};
  // The legs send a placeholder until the mixer's tracks replace it.
  const placeholder = own(new ToneSource({ frequency: 2000, amplitude: 0.01 })).track;
  browserLeg.addTrack(placeholder);
  phoneLeg.addTrack(placeholder);
  await connect(browser, browserLeg);
  await call(phone, phoneLeg);
  inputs.browser = mixer.addInput((await fromBrowser).track);
  inputs.phone = mixer.addInput((await fromPhone).track);
  await browserLeg.getSenders()[0].replaceTrack(mixer.createTrack({ exclude: [inputs.browser] }));
  await phoneLeg.getSenders()[0].replaceTrack(mixer.createTrack({ exclude: [inputs.phone] }));
  const [{ sink: s1 }, { sink: s2 }] = await Promise.all([atBrowser.ready, atPhone.ready]);
  await sleep(800);
  try {
    await expectToneFromNow(atBrowser.collector, FREQ_B, 1500, [FREQ_A, 700, 2000]);
    await expectToneFromNow(atPhone.collector, FREQ_A, 1500, [FREQ_B, 700, 2000]);
    expect(atBrowser.collector.toneOverWindows(FREQ_A, 200, [FREQ_B], 1500).windows.filter((w) => w.present)).toEqual([]);
    expect(atPhone.collector.toneOverWindows(FREQ_B, 200, [FREQ_A], 1500).windows.filter((w) => w.present)).toEqual([]);
  } finally {
    s1.stop();
    s2.stop();
    mixer.stop();
  }
});

test('close() releases what a call holds at once, while the application still holds the connections', async () => {
  // Held references keep every wrapper alive, so nothing here can be released by V8
  // collecting a connection: what close() does not free shows up as a surplus.
  const toneA = own(new ToneSource({ frequency: FREQ_A, amplitude: 0.5 }));
  const toneB = own(new ToneSource({ frequency: FREQ_B, amplitude: 0.5 }));
  async function calls(n, { untilReported }) {
    const held = Array.from({ length: n }, () => {
      const a = plainPeer();
      const b = plainPeer();
      a.addTrack(toneA.track);
      b.addTrack(toneB.track);
      return { a, b, atA: collectRemote(a), atB: collectRemote(b) };
    });
    await Promise.all(held.map(({ a, b }) => call(a, b)));
    const sinks = await Promise.all(held.flatMap(({ atA, atB }) => [atA.ready, atB.ready]));
    // Measured calls last until every session has the peer's RTCP report: rtpbin holds more
    // once reports flow, so an rtpbin kept past close() shows only then.
    if (untilReported) for (const pc of held.flatMap(({ a, b }) => [a, b])) await waitFor(() => withPeerReport(pc), 15000, 100);
    else await sleep(1000);
    for (const { sink } of sinks) sink.stop();
    for (const { a, b } of held) {
      a.close();
      b.close();
    }
    return held;
  }
  // The first round loads plugins and starts GStreamer's and the media workers' shared threads.
  await calls(4, { untilReported: false });
  await sleep(500);
  const fds0 = fdCount();
  const threads0 = threadCount();
  const held = await calls(4, { untilReported: true });
  // Streaming threads and sockets go asynchronously once a pipeline reaches NULL.
  await waitFor(() => fdCount() <= fds0 && threadCount() <= threads0, 5000, 50).catch(() => {});
  expect(fdCount()).toBeLessThanOrEqual(fds0);
  expect(threadCount()).toBeLessThanOrEqual(threads0);
  expect(held.flatMap(({ a, b }) => [a.connectionState, b.connectionState])).toEqual(Array(8).fill('closed'));
});

describe('media timeout (mediaTimeout: 1000 ms)', () => {
  test('silence makes the session disconnected; not on hold; a peer that comes back reconnects it', async () => {
    const { a, b } = tonePeers({ mediaTimeout: 1000 });
    await call(a, b);
    // A makes the call inactive (a hold) and sends nothing: B expects nothing, so stays connected.
    a.getTransceivers()[0].direction = 'inactive';
    await call(a, b);
    await sleep(2500);
    expect(b.connectionState).toBe('connected');
    // Resumed, then A goes silent without a word: B is disconnected after about a second.
    a.getTransceivers()[0].direction = 'sendrecv';
    await call(a, b);
    await sleep(500);
    const sender = a.getSenders()[0];
    const track = sender.track;
    const disconnected = waitState(b, 'connectionState', 'disconnected');
    await sender.replaceTrack(null);
    const silentAt = Date.now();
    await disconnected;
    expect(b.iceConnectionState).toBe('disconnected');
    expect(Date.now() - silentAt).toBeGreaterThanOrEqual(900);
    const back = waitState(b, 'connectionState', 'connected');
    await sender.replaceTrack(track);
    await back;
  });

  test('a peer that goes silent for good: disconnected after the timeout, failed after twice it', async () => {
    const { a, b } = tonePeers({ mediaTimeout: 1000 });
    await call(a, b);
    await sleep(500);
    const states = [];
    let silentAt = 0;
    b.addEventListener('connectionstatechange', () => states.push([b.connectionState, Date.now() - silentAt]));
    await a.getSenders()[0].replaceTrack(null);
    silentAt = Date.now();
    await waitState(b, 'connectionState', 'failed', 5000);
    expect(states.map((s) => s[0])).toEqual(['disconnected', 'failed']);
    expect(states[0][1]).toBeGreaterThanOrEqual(900);
    expect(states[1][1]).toBeGreaterThanOrEqual(1900);
    expect(states[1][1]).toBeLessThan(3500);
    expect(b.iceConnectionState).toBe('failed');
  });

  test('no first packet within twice the timeout fails the session', async () => {
    const a = plainPeer({ mediaTimeout: 1000 });
    a.addTransceiver('audio');
    await a.setLocalDescription(await a.createOffer());
    // A peer that answers and never sends (its port is a socket nobody reads).
    const mute = dgram.createSocket('udp4');
    await new Promise((r) => mute.bind(0, '127.0.0.1', r));
    const port = mute.address().port;
    const answer = a.localDescription.sdp.replace(/^m=audio \d+ /m, `m=audio ${port} `).replace(/^o=- (\d+)/m, 'o=- 9');
    const failed = waitState(a, 'connectionState', 'failed');
    const started = Date.now();
    await a.setRemoteDescription({ type: 'answer', sdp: answer });
    await failed;
    mute.close();
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(a.iceConnectionState).toBe('failed');
  });
});
