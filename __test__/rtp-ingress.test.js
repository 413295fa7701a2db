'use strict';

// Hostile RTP at ingress (issue 14): sequence number and timestamp jumps, SSRC changes,
// duplicates, reordering, empty/truncated/garbage payloads and wrong payload types, injected in
// the middle of a real Opus or PCMU stream of a 1000 Hz tone sent at the real packet rate.
// Each case is judged by what reaches an RTCAudioSink: no more audio than the time that passed
// (a +1000 sequence jump used to deliver 2,098 10-ms frames in one second), the tone in every
// window once the event is over, and stats that count what happened. Loopback only.

const dgram = require('dgram');

const { UdpRtpSource, GstPeerConnection } = require('../dist');
// FREQ, PTIME, LATENCY (the UdpRtpSource's jitter buffer), AFTER_MS, MAX_LEAD_MS and the
// real-time checks are shared with rtp-ingress-connection.test.js.
const {
  opusPayloads,
  pcmuPayloads,
  rtpPacket,
  PacedRtpStream,
  FREQ,
  PTIME,
  LATENCY,
  AFTER_MS,
  MAX_LEAD_MS,
  deliveredSince,
  expectRealTime,
} = require('./helpers/rtp-stream');

jest.setTimeout(30000);

// Packet index of the event, and how long (packets) a hostile pattern lasts from there.
const EVENT = 50;
const BURST = 25;

const { later, sleep, collect } = require('./helpers/later');

const PAYLOADS = {};
beforeAll(() => {
  PAYLOADS.opus = opusPayloads(FREQ, 500);
  PAYLOADS.pcmu = pcmuPayloads(FREQ, 500);
});

const CODEC = {
  opus: { pt: 111, clockRate: 48000, samplesPerPacket: 960 },
  pcmu: { pt: 0, clockRate: 8000, samplesPerPacket: 160 },
};


/**
 * Streams `codec` into a new UdpRtpSource; `plan(i, stream)` may rewrite packet i. Returns the
 * delivery after the event, the source's stats and the collector.
 */
async function run(codec, plan) {
  const src = new UdpRtpSource({ address: '127.0.0.1', port: 0, codec, latency: LATENCY });
  later(() => src.stop());
  const collector = collect(src.track);
  const sock = dgram.createSocket('udp4');
  later(() => sock.close());
  const stream = new PacedRtpStream(sock, src.port, { ...CODEC[codec], payloads: PAYLOADS[codec] });
  later(() => stream.stop());
  let eventNs = null;
  stream.start((i, s) => {
    if (i === EVENT) eventNs = process.hrtime.bigint();
    return (i >= EVENT && plan(i - EVENT, s)) || [s.packet()];
  });
  await sleep(EVENT * PTIME + AFTER_MS);
  stream.stop();
  const delivered = deliveredSince(collector, eventNs);
  return { delivered, stats: src.stats, collector };
}

// A renumbering: the packets go on (timestamps continuous), only the numbers jump.
const renumber = (delta) => (k, s) => {
  if (k === 0) s.seq = (s.seq + delta) & 0xffff;
};

describe('UdpRtpSource: sequence number jumps are resyncs, not loss (RFC 3550 §A.1)', () => {
  test.each([
    ['opus', 1000],
    ['opus', -1000],
    ['opus', 50],
    ['opus', -50],
    ['opus', 30000],
    ['pcmu', 1000],
    ['pcmu', -50],
  ])('%s: a jump of %i with continuous timestamps', async (codec, delta) => {
    const r = await run(codec, renumber(delta));
    expectRealTime(r);
    // The packet held in probation is the only one missing (before: +1000 counted 1000 lost
    // and delivered 21,960 ms of audio in 1,991 ms; −50 stalled for a second).
    expect(r.stats.sequenceResyncs).toBe(1);
    expect(r.stats.packetsLost).toBeLessThanOrEqual(1);
    expect(r.stats.packetsDiscarded).toBe(1);
    expect(r.collector.continuity(500).maxGapMs).toBeLessThan(100);
  });

  test('opus: numbers and timestamps jumping together by 1000 packets (20 s claimed in 20 ms)', async () => {
    const r = await run('opus', (k, s) => {
      if (k === 0) {
        s.seq = (s.seq + 1000) & 0xffff;
        s.ts = (s.ts + 1000 * 960) >>> 0;
      }
    });
    expectRealTime(r);
    expect(r.stats.sequenceResyncs).toBe(1);
    expect(r.stats.packetsLost).toBeLessThanOrEqual(1);
  });

  test('a new SSRC with unrelated numbers and timestamps takes over after probation', async () => {
    const r = await run('opus', (k, s) => {
      if (k === 0) {
        s.ssrc = 0x5eed;
        s.seq = (s.seq - 30) & 0xffff; // just behind: looks like reordering by number alone
        s.ts = (s.ts + 7777777) >>> 0;
      }
    });
    expectRealTime(r);
    expect(r.stats.ssrcChanges).toBe(1);
    expect(r.stats.packetsLost).toBeLessThanOrEqual(1);
    expect(r.collector.continuity(500).maxGapMs).toBeLessThan(100);
  });
});

describe('UdpRtpSource: timestamp jumps, duplicates, reordering', () => {
  test.each([
    ['forward 5 s', 5 * 48000],
    ['forward 300 ms', 0.3 * 48000],
    ['backward 2 s', -2 * 48000],
  ])('opus: an RTP timestamp jump %s is rebased', async (_, delta) => {
    const r = await run('opus', (k, s) => {
      if (k === 0) s.ts = (s.ts + delta) >>> 0;
    });
    expectRealTime(r);
    expect(r.stats.timestampResyncs).toBe(1);
    expect(r.stats.packetsLost).toBe(0);
  });

  test.each(['opus', 'pcmu'])('%s: every packet sent three times', async (codec) => {
    const r = await run(codec, (k, s) => {
      if (k >= BURST) return null;
      const p = s.packet();
      return [p, p, p];
    });
    expectRealTime(r);
    expect(r.stats.packetsDuplicated).toBe(2 * BURST);
    expect(r.stats.packetsLost).toBe(0);
  });

  test('opus: pairs of packets swapped', async () => {
    const r = await run('opus', (k, s) => {
      if (k >= BURST) return null;
      if (k % 2 === 1) return [];
      const a = s.packet();
      return [s.packet(), a];
    });
    expectRealTime(r);
    expect(r.stats.packetsLost).toBe(0);
    expect(r.stats.packetsDuplicated).toBe(0);
  });
});

describe('UdpRtpSource: malformed packets become (time-bounded) losses', () => {
  // Every third packet of a burst replaced by a broken one with the packet's own header.
  const broken = (make) => (k, s) => (k < BURST && k % 3 === 0 ? [make(s)] : null);
  // [case, packet maker, what it must count: 'discarded' (dropped before the jitter buffer),
  //  'trimmed' (decoded audio cut back to real time) or null (decodes as what it is)]
  const cases = [
    ['empty payload', (s) => s.packet({ payload: Buffer.alloc(0) }), 'discarded'],
    ['bad Opus TOC (code 3 without its frame count byte)', (s) => s.packet({ payload: Buffer.from([0xfb]) }), 'discarded'],
    ['Opus TOC claiming 6 × 20 ms = 120 ms of garbage per 20 ms packet', (s) => s.packet({ payload: Buffer.from([0xfb, 0x06, ...Buffer.alloc(42, 0xa5)]) }), 'trimmed'],
    ['truncated Opus packet (2 of its bytes)', (s) => s.packet().subarray(0, 14), null],
    ['CSRC count pointing past the end', (s) => { const p = s.packet(); p[0] |= 0x0f; return p.subarray(0, 30); }, 'discarded'],
    ['extension length pointing past the end', (s) => { const p = s.packet(); p[0] |= 0x10; p.writeUInt16BE(0xffff, 14); return p; }, 'discarded'],
    ['padding longer than the packet', (s) => { const p = Buffer.from(s.packet()); p[0] |= 0x20; p[p.length - 1] = 0xff; return p; }, 'discarded'],
    ['wrong payload type', (s) => { const p = s.packet(); p[1] = (p[1] & 0x80) | 96; return p; }, 'discarded'],
  ];
  test.each(cases)('opus: %s', async (_, make, counted) => {
    const r = await run('opus', broken(make));
    expectRealTime(r);
    if (counted === 'discarded') expect(r.stats.packetsDiscarded).toBe(Math.ceil(BURST / 3));
    if (counted === 'trimmed') expect(r.stats.trimmedMs).toBeGreaterThanOrEqual(Math.ceil(BURST / 3) * 100 - MAX_LEAD_MS);
  });

  test('opus: header-only packets (no payload at all)', async () => {
    const r = await run('opus', broken((s) => s.packet().subarray(0, 12)));
    expectRealTime(r);
    expect(r.stats.packetsDiscarded).toBe(Math.ceil(BURST / 3));
  });

  test('opus: 60 ms Opus packets (three 20 ms frames) every 20 ms are cut to real time', async () => {
    // RFC 6716 §3.2.3 code 1/§3.2.5: a TOC with code 3 and three frames of the stream's own
    // mode: the sender claims 60 ms of audio per 20 ms of timestamps.
    const r = await run('opus', (k, s) => {
      if (k >= BURST) return null;
      const p = s.payloads[s.index % s.payloads.length];
      const frame = p.subarray(1);
      // Code 3, CBR, 3 frames: TOC (code bits 11), count byte, then three equal frames.
      const payload = Buffer.concat([Buffer.from([(p[0] & 0xfc) | 3, 3]), frame, frame, frame]);
      return [s.packet({ payload })];
    });
    expectRealTime(r);
    expect(r.stats.trimmedMs).toBeGreaterThan(0);
  });

  test.each([
    ['odd-length (77-byte) payloads', (p) => p.subarray(0, 77)],
    ['oversized (1400-byte, 175 ms) payloads', (p) => Buffer.concat(Array(9).fill(p)).subarray(0, 1400)],
  ])('pcmu: %s', async (_, shape) => {
    const r = await run('pcmu', (k, s) => (k < BURST && k % 3 === 0 ? [s.packet({ payload: shape(s.payloads[s.index % s.payloads.length]) })] : null));
    expectRealTime(r);
  });
});
