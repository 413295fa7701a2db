'use strict';

// Hostile RTP at ingress on a connection (issue 14): a real WebRTC peer (werift) sends crafted
// RTP over SRTP to a GstPeerConnection — real Opus packets of a 1000 Hz tone at 20 ms pacing —
// and injects, mid-stream, a sequence number jump, duplicates, truncated/garbage Opus payloads,
// a timestamp jump and an SSRC change. Each case is judged at an RTCAudioSink on the
// GstPeerConnection side: no more audio than the time that passed, the tone in every 200 ms
// window of the last second, no CRITICAL (G_DEBUG=fatal-criticals). The same checks as
// __test__/rtp-ingress.test.js makes of UdpRtpSource. Loopback only.

const { RTCPeerConnection } = require('werift');

const { GstPeerConnection, nonstandard } = require('../dist');
const { FrameCollector } = require('./helpers/audio');
// FREQ, LATENCY (the GstPeerConnection's jitterBufferLatency), AFTER_MS and the real-time checks
// are rtp-ingress.test.js's (helpers/rtp-stream.js), with the bound raised by the playout headroom.
const { opusPayloads, PacedRtpStream, FREQ, LATENCY, AFTER_MS, deliveredSince, realTimeBoundMs, expectRealTime: expectRealTimeAfter } = require('./helpers/rtp-stream');
const { localOnly } = require('../bench/stacks/loopback');
// werift on 127.0.0.1 only, Opus on PT; `connected` rejects on 'failed'.
const { CONFIG: WERIFT, PT, loopback, connected: weriftConnected } = require('../bench/stacks/werift');

jest.setTimeout(30000);

// The connection's pipeline latency is the jitter buffer's plus this playout headroom
// (src/peer_connection/mod.rs PLAYOUT_HEADROOM_MS).
const PLAYOUT_HEADROOM_MS = 10;
// Packet index of the event (counted from the first packet sent once connected), and how long
// (packets) a hostile pattern lasts from there.
const EVENT = 100;
const BURST = 25;

const { later, sleep } = require('./helpers/later');

let PAYLOADS;
beforeAll(() => {
  PAYLOADS = opusPayloads(FREQ, 500);
});

/** werift → GstPeerConnection, connected on loopback; resolves with the werift sender and the sink's collector. */
async function connect() {
  const w = new RTCPeerConnection(WERIFT);
  later(() => w.close());
  const g = new GstPeerConnection({ iceServers: [], localAddresses: ['127.0.0.1'], jitterBufferLatency: LATENCY });
  later(() => g.close());
  const collector = new FrameCollector();
  const gotTrack = new Promise((resolve) => {
    g.ontrack = (ev) => {
      const sink = new nonstandard.RTCAudioSink(ev.track);
      sink.ondata = collector.push;
      later(() => sink.stop());
      resolve();
    };
  });
  const connected = weriftConnected(w);
  // werift → gst: only loopback candidates; gst → werift: everything gst gathers (loopback only).
  w.onicecandidate = ({ candidate }) => {
    if (candidate && loopback(candidate.candidate)) g.addIceCandidate(candidate).catch(() => {});
  };
  g.addEventListener('icecandidate', (ev) => {
    if (ev.candidate) w.addIceCandidate(ev.candidate).catch(() => {});
  });
  const transceiver = w.addTransceiver('audio', { direction: 'sendonly' });
  await w.setLocalDescription(await w.createOffer());
  await g.setRemoteDescription(localOnly(w.localDescription, loopback));
  await g.setLocalDescription(await g.createAnswer());
  await w.setRemoteDescription(g.localDescription);
  await connected;
  return { sender: transceiver.sender, collector, gotTrack };
}

/**
 * Streams the tone from werift; `plan(k, stream)` may rewrite packet EVENT + k (return the
 * datagrams to send, or null for the normal packet). Returns the delivery after the event.
 */
async function run(plan) {
  const { sender, collector, gotTrack } = await connect();
  // PacedRtpStream writes to a "socket": here werift's sender, which SRTP-protects the packet
  // as it is (it sets only its own SSRC — unless the plan changes sender.ssrc — and the PT).
  const socket = { send: (d) => sender.sendRtp(Buffer.from(d)).catch(() => {}) };
  const stream = new PacedRtpStream(socket, 0, { pt: PT, clockRate: 48000, samplesPerPacket: 960, payloads: PAYLOADS });
  later(() => stream.stop());
  let eventNs = null;
  stream.start((i, s) => {
    if (i === EVENT) eventNs = process.hrtime.bigint();
    return (i >= EVENT && plan(i - EVENT, s, sender)) || [s.packet()];
  });
  await gotTrack;
  while (eventNs === null) await sleep(50);
  const left = AFTER_MS - Number(process.hrtime.bigint() - eventNs) / 1e6;
  if (left > 0) await sleep(left);
  stream.stop();
  return { delivered: deliveredSince(collector, eventNs), collector };
}

/** rtp-ingress.test.js's checks, the bound raised by the connection's playout headroom. */
const expectRealTime = (r) => expectRealTimeAfter(r, PLAYOUT_HEADROOM_MS);

describe('GstPeerConnection: hostile RTP from a WebRTC peer stays within real time', () => {
  test('no event: the tone in real time (baseline)', async () => {
    expectRealTime(await run(() => null));
  });

  test.each([1000, 50])('a sequence number jump of %i with continuous timestamps', async (delta) => {
    expectRealTime(await run((k, s) => {
      if (k === 0) s.seq = (s.seq + delta) & 0xffff;
    }));
  });

  // Over SRTP the sequence number is part of the packet index (RFC 3711 §3.3.1): 1000 back
  // under the same key is 1000 indexes already used, older than the replay window (srtpdec's
  // 128), so every such packet is a replay and dropped (§3.3.2) until the numbers pass the
  // highest index received — 20 s here. Nothing of it may turn into audio.
  test('a sequence number jump of -1000: SRTP replays, dropped, no audio out of them', async () => {
    const { delivered } = await run((k, s) => {
      if (k === 0) s.seq = (s.seq - 1000) & 0xffff;
    });
    // Only what was already in the pipeline when the jump came (see realTimeBoundMs).
    expect(delivered.audioMs).toBeLessThanOrEqual(realTimeBoundMs(0, PLAYOUT_HEADROOM_MS));
  });

  test('every packet sent three times', async () => {
    expectRealTime(await run((k, s) => {
      if (k >= BURST) return null;
      const p = s.packet();
      return [p, p, p];
    }));
  });

  test.each([
    ['truncated Opus packets (2 bytes of payload)', (s) => s.packet().subarray(0, 14)],
    ['garbage Opus payloads (TOC claiming 6 × 20 ms)', (s) => s.packet({ payload: Buffer.from([0xfb, 0x06, ...Buffer.alloc(42, 0xa5)]) })],
    ['a bad Opus TOC (code 3 without its count byte)', (s) => s.packet({ payload: Buffer.from([0xfb]) })],
  ])('every third packet replaced: %s', async (_, make) => {
    expectRealTime(await run((k, s) => (k < BURST && k % 3 === 0 ? [make(s)] : null)));
  });

  test.each([
    ['forward 5 s', 5 * 48000],
    ['backward 2 s', -2 * 48000],
  ])('an RTP timestamp jump %s', async (_, delta) => {
    expectRealTime(await run((k, s) => {
      if (k === 0) s.ts = (s.ts + delta) >>> 0;
    }));
  });

  test('numbers and timestamps jumping together by 1000 packets', async () => {
    expectRealTime(await run((k, s) => {
      if (k === 0) {
        s.seq = (s.seq + 1000) & 0xffff;
        s.ts = (s.ts + 1000 * 960) >>> 0;
      }
    }));
  });

  test('a new SSRC with unrelated numbers and timestamps', async () => {
    const r = await run((k, s, sender) => {
      if (k === 0) {
        sender.ssrc = 0x5eed; // werift writes its sender's SSRC into every packet
        s.seq = (s.seq - 30) & 0xffff;
        s.ts = (s.ts + 7777777) >>> 0;
      }
    });
    expectRealTime(r);
    // The new stream plays on at once: rtpbin's lip sync against the old SSRC's last sender
    // report (same CNAME) held it back 80–720 ms (src/receive_start.rs).
    expect(r.collector.continuity(500).maxGapMs).toBeLessThan(100);
  });
});
