'use strict';

// getStats() and RTCRtpReceiver.jitterBufferTarget with real audio between two
// GstPeerConnections on loopback (real GStreamer webrtcbin).

const { ToneSource, RTCStatsReport } = require('../dist');
const { connect, once } = require('./helpers/peers');
const { own, peer } = require('./helpers/later');
const { sleep } = require('./helpers/resources');

function ofType(report, type) {
  return [...report.values()].filter((s) => s.type === type);
}

function only(report, type) {
  const all = ofType(report, type);
  expect(all.map((s) => s.type)).toEqual([type]);
  return all[0];
}

function expectUint(v) {
  expect(Number.isInteger(v)).toBe(true);
  expect(v).toBeGreaterThanOrEqual(0);
}

/** webrtc-stats §3.1: every object has id, type and an epoch-based timestamp. */
function expectWellFormed(report, before, after) {
  expect(report).toBeInstanceOf(Map);
  expect(report).toBeInstanceOf(RTCStatsReport);
  expect(report.size).toBeGreaterThan(0);
  for (const [key, s] of report) {
    expect(typeof s.id).toBe('string');
    expect(s.id).toBe(key);
    expect(typeof s.type).toBe('string');
    expect(typeof s.timestamp).toBe('number');
    expect(s.timestamp).toBeGreaterThanOrEqual(before - 1);
    expect(s.timestamp).toBeLessThanOrEqual(after + 1);
    // No webrtcbin spelling leaks through.
    for (const member of Object.keys(s)) expect(member).not.toMatch(/-/);
  }
}

function expectCandidate(c, type) {
  expect(c.type).toBe(type);
  expect(c.address).toBe('127.0.0.1');
  expectUint(c.port);
  expect(c.port).toBeGreaterThan(0);
  expect(c.protocol).toBe('udp');
  expect(c.candidateType).toBe('host');
  expectUint(c.priority);
  expect(c.priority).toBeGreaterThan(0);
}

function expectOpus(codec) {
  expect(codec.type).toBe('codec');
  expect(codec.mimeType).toBe('audio/opus');
  expect(codec.clockRate).toBe(48000);
  expectUint(codec.payloadType);
  expect(codec.payloadType).toBeGreaterThanOrEqual(96);
  expect(codec.payloadType).toBeLessThanOrEqual(127);
  expect(codec.channels).toBe(2);
  expect(typeof codec.sdpFmtpLine).toBe('string');
  expect(codec.sdpFmtpLine).toMatch(/useinbandfec=1/);
  expect(codec.sdpFmtpLine).not.toMatch(/^\d+ /);
}

/** The selected (nominated) pair and its candidates; the local one is the one our SDP carries. */
function expectIce(report, pc) {
  const transport = only(report, 'transport');
  expect(transport.dtlsState).toBe('connected');
  expect(['connected', 'completed']).toContain(transport.iceState);
  expect(['client', 'server']).toContain(transport.dtlsRole);
  const pair = report.get(transport.selectedCandidatePairId);
  expect(pair).toBeDefined();
  expect(pair.type).toBe('candidate-pair');
  expect(pair.nominated).toBe(true);
  expect(pair.state).toBe('succeeded');
  expect(pair.transportId).toBe(transport.id);
  const local = report.get(pair.localCandidateId);
  const remote = report.get(pair.remoteCandidateId);
  expectCandidate(local, 'local-candidate');
  expectCandidate(remote, 'remote-candidate');
  expect(local.transportId).toBe(transport.id);
  expect(pc.localDescription.sdp).toContain(` 127.0.0.1 ${local.port} typ host`);
  expect(pc.remoteDescription.sdp).toContain(` 127.0.0.1 ${remote.port} typ host`);
  expect(local.port).not.toBe(remote.port);
  return { transport, pair };
}

describe('getStats', () => {
  test('reports RTP, codec, ICE and transport stats of a live call, and the jitter buffer target', async () => {
    const tone = own(new ToneSource({ frequency: 440, amplitude: 0.5 }));
    const a = peer();
    const b = peer({ jitterBufferLatency: 120 });
    a.addTrack(tone.track);
    const track = once(b, 'track');
    await connect(a, b);
    const { receiver, transceiver } = await track;
    await sleep(1500);

    // The round-trip time needs a receiver report from B sent after B had A's first sender
    // report (a DLSR other than 0), 1-4 s into the call (RFC 3550 §6.2 randomised
    // interval); B's first report can precede it and carries no round trip. Wait for it.
    const deadline = Date.now() + 8000;
    let before, after, ra, rb;
    do {
      before = Date.now();
      [ra, rb] = await Promise.all([a.getStats(), b.getStats()]);
      after = Date.now();
      if (ofType(ra, 'remote-inbound-rtp').some((r) => r.roundTripTime !== undefined) && ofType(rb, 'remote-outbound-rtp').length > 0) break;
      await sleep(200);
    } while (Date.now() < deadline);
    expectWellFormed(ra, before, after);
    expectWellFormed(rb, before, after);
    expect(Object.prototype.toString.call(ra)).toBe('[object RTCStatsReport]');
    expect(() => ra.set('x', {})).toThrow(TypeError);
    expect(() => ra.delete(ra.keys().next().value)).toThrow(TypeError);
    expect(() => ra.clear()).toThrow(TypeError);

    for (const report of [ra, rb]) {
      const pcStats = only(report, 'peer-connection');
      expect(pcStats.dataChannelsOpened).toBe(0);
    }

    // Sender side.
    const out = only(ra, 'outbound-rtp');
    expectUint(out.ssrc);
    expect(out.kind).toBe('audio');
    expect(out.mid).toBe(a.getTransceivers()[0].mid);
    expect(out.packetsSent).toBeGreaterThan(50);
    expect(out.bytesSent).toBeGreaterThan(out.packetsSent);
    expectOpus(ra.get(out.codecId));
    const iceA = expectIce(ra, a);
    expect(out.transportId).toBe(iceA.transport.id);
    // webrtcbin's round-trip time comes from RTCP receiver reports about what A sends.
    const rin = ra.get(out.remoteId);
    expect(rin.type).toBe('remote-inbound-rtp');
    expect(rin.localId).toBe(out.id);
    expect(rin.ssrc).toBe(out.ssrc);
    expect(typeof rin.roundTripTime).toBe('number');
    expect(rin.roundTripTime).toBeGreaterThanOrEqual(0);
    expect(rin.roundTripTime).toBeLessThan(1);
    expect(typeof iceA.pair.currentRoundTripTime).toBe('number');
    expect(iceA.pair.currentRoundTripTime).toBeGreaterThanOrEqual(0);
    expect(iceA.pair.currentRoundTripTime).toBeLessThan(1);
    // A receives nothing: no inbound stream.
    expect(ofType(ra, 'inbound-rtp')).toEqual([]);

    // Receiver side.
    const inb = only(rb, 'inbound-rtp');
    expect(inb.ssrc).toBe(out.ssrc);
    expect(inb.kind).toBe('audio');
    expect(inb.mid).toBe(transceiver.mid);
    expect(typeof inb.mid).toBe('string');
    expect(inb.packetsReceived).toBeGreaterThan(50);
    expect(inb.packetsReceived).toBeLessThanOrEqual(out.packetsSent + 10);
    expect(inb.bytesReceived).toBeGreaterThan(0);
    expect(Number.isInteger(inb.packetsLost)).toBe(true);
    expect(inb.packetsLost).toBeLessThan(10);
    expect(typeof inb.jitter).toBe('number');
    expect(inb.jitter).toBeGreaterThanOrEqual(0);
    expect(inb.jitter).toBeLessThan(0.5);
    const codec = rb.get(inb.codecId);
    expect(codec).toBeDefined();
    expectOpus(codec);
    expect(codec.payloadType).toBe(ra.get(out.codecId).payloadType);
    const iceB = expectIce(rb, b);
    expect(rb.get(inb.transportId)).toBe(iceB.transport);
    expect(codec.transportId).toBe(iceB.transport.id);
    expect(ofType(rb, 'outbound-rtp')).toEqual([]);
    const rout = rb.get(inb.remoteId);
    expect(rout.type).toBe('remote-outbound-rtp');
    expect(rout.localId).toBe(inb.id);
    expect(rout.packetsSent).toBeGreaterThan(0);
    expect(Math.abs(rout.remoteTimestamp - Date.now())).toBeLessThan(10000);

    // The peers see the same candidate pair from both ends.
    expect(ra.get(iceA.pair.localCandidateId).port).toBe(rb.get(iceB.pair.remoteCandidateId).port);
    expect(ra.get(iceA.pair.remoteCandidateId).port).toBe(rb.get(iceB.pair.localCandidateId).port);

    // Sender/receiver selection (webrtc-pc §8.5).
    const sel = await receiver.getStats();
    expect(ofType(sel, 'inbound-rtp').map((s) => s.id)).toEqual([inb.id]);
    expect(sel.has(inb.codecId)).toBe(true);
    expect(sel.has(inb.transportId)).toBe(true);
    expect(ofType(sel, 'peer-connection')).toEqual([]);
    const bySelector = await b.getStats(receiver.track);
    expect(ofType(bySelector, 'inbound-rtp').map((s) => s.id)).toEqual([inb.id]);
    const sender = a.getSenders()[0];
    const senderSel = await sender.getStats();
    expect(ofType(senderSel, 'outbound-rtp').map((s) => s.ssrc)).toEqual([out.ssrc]);
    expect(ofType(senderSel, 'inbound-rtp')).toEqual([]);
    await expect(a.getStats({})).rejects.toThrow(TypeError);
    // A track that is no sender's nor receiver's track.
    await expect(b.getStats(tone.track)).rejects.toMatchObject({ name: 'InvalidAccessError' });

    // webrtc-extensions jitterBufferTarget: the actual rtpjitterbuffer's latency.
    expect(receiver.jitterBufferTarget).toBe(120);
    // A has a receiver but nothing arrives on it, so there is no jitter buffer.
    expect(a.getReceivers()[0].jitterBufferTarget).toBeNull();

    a.close();
    await expect(a.getStats()).rejects.toMatchObject({ name: 'InvalidStateError' });
    await expect(sender.getStats()).rejects.toMatchObject({ name: 'InvalidStateError' });
    expect(receiver.jitterBufferTarget).toBe(120);
    b.close();
    expect(receiver.jitterBufferTarget).toBeNull();
  });

  test('the default jitter buffer target is the bridge default (40 ms)', async () => {
    const tone = own(new ToneSource({ frequency: 440 }));
    const a = peer();
    const b = peer();
    a.addTrack(tone.track);
    const track = once(b, 'track');
    await connect(a, b);
    const { receiver } = await track;
    expect(b.getReceivers()).toContain(receiver);
    // The jitter buffer appears with the first packet.
    const deadline = Date.now() + 3000;
    while (receiver.jitterBufferTarget === null && Date.now() < deadline) await sleep(50);
    expect(receiver.jitterBufferTarget).toBe(40);
  });
});
