'use strict';

// werift (pure TypeScript WebRTC) as a bench stack; same interface as bench/stacks/gst.js.
//
// werift has no audio codec, so each side sends a relay of a pre-encoded Opus stream (RTP packets
// made once by gst-launch in setup()) and the receiving side counts RTP packets: werift's share
// of the work is ICE/DTLS/SRTP and RTP routing only — no encoding, decoding or jitter buffer.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { encodeOpusRtp } = require('../opus-rtp');
const { speechWav } = require('../speech');
const { localOnly, trickleKept } = require('./loopback');
const { startClock } = require('./clock');
const { RTCPeerConnection, MediaStreamTrack, RtpPacket, RtpHeader, useOPUS } = require('werift');

// werift's "exports" hide its package.json: find it above the resolved entry point.
const pkg = (function packageJson(dir) {
  const file = path.join(dir, 'package.json');
  return fs.existsSync(file) && require(file).name === 'werift' ? require(file) : packageJson(path.dirname(dir));
})(path.dirname(require.resolve('werift')));

const PT = 111; // what gst's rtpopuspay writes; werift is told to negotiate Opus on it too
const FRAME_MS = 20;
const SECONDS = 10; // length of the looped stream

const CONFIG = {
  // werift's default is iceServers: [google STUN]: [] replaces it (a shallow merge), so no
  // server-reflexive gathering, no DNS lookup and no STUN timeout.
  iceServers: [],
  // Host candidates: werift takes the non-internal addresses of os.networkInterfaces() (never
  // 127.0.0.1) and falls back to all of them if iceInterfaceAddresses matches none. Turning both
  // families off leaves only iceAdditionalHostAddresses, and the socket is bound to 127.0.0.1.
  iceUseIpv4: false,
  iceUseIpv6: false,
  iceAdditionalHostAddresses: ['127.0.0.1'],
  iceInterfaceAddresses: { udp4: '127.0.0.1' },
  // Opus only, on the payload type of the pre-encoded packets (no PCMU, no VP8 offered).
  codecs: { audio: [useOPUS({ payloadType: PT })], video: [] },
};

const loopback = (line) => / 127\.0\.0\.1 \d+ typ host/.test(line);

/** Opus payloads, one 20 ms frame each: SECONDS of a 440 Hz tone, or the bench's speech. */
function encode(signal) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-werift-'));
  try {
    const source = signal === 'speech'
      ? `filesrc location=${speechWav()} ! wavparse`
      : `audiotestsrc num-buffers=${(SECONDS * 1000) / FRAME_MS} samplesperbuffer=960 freq=440`;
    return encodeOpusRtp(dir, source, PT).map((p) => RtpPacket.deSerialize(p).payload);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Resolves when werift's `pc` reaches 'connected'; rejects on 'failed'. */
function connected(pc) {
  return new Promise((resolve, reject) => {
    pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') resolve();
      if (state === 'failed') reject(new Error('werift: connection failed'));
    });
  });
}

module.exports = {
  name: 'werift',
  label: `werift ${pkg.version}`,
  version: pkg.version,
  audio: 'RTP relay of pre-encoded Opus 20 ms (werift has no codec); RTP packets counted on receipt',
  // For other werift peers on loopback (__test__/rtp-ingress-connection.test.js): the
  // configuration (Opus on PT), the candidate filter and the 'connected' promise used here.
  CONFIG,
  PT,
  loopback,
  connected,

  /** `signal`: 'tone' (default) or 'speech' (bench/speech.js, looped). */
  async setup({ signal } = {}) {
    const payloads = encode(signal);
    if (!payloads.length) throw new Error('gst-launch produced no Opus packets');
    const ctx = { payloads, tracks: new Set(), n: 0, timer: null };
    // One timer for every sender: each tick writes the next packet (looped stream, fresh
    // sequence number/timestamp so the loop is seamless) to all registered tracks. Deadline
    // corrected: a late tick sends every packet owed since the start.
    startClock(ctx, FRAME_MS, (n) => {
      const packet = new RtpPacket(new RtpHeader({
        payloadType: PT,
        sequenceNumber: n & 0xffff,
        timestamp: (n * 960) >>> 0,
        marker: n === 0,
      }), payloads[n % payloads.length]);
      // writeRtp clones the packet; the sender sets its own SSRC and the negotiated PT.
      for (const track of ctx.tracks) track.writeRtp(packet);
    });
    return ctx;
  },

  async pair(ctx, meter) {
    const t0 = performance.now();
    const a = new RTCPeerConnection(CONFIG);
    const b = new RTCPeerConnection(CONFIG);
    const tracks = [0, 1].map(() => new MediaStreamTrack({ kind: 'audio' }));
    const subs = [];
    const heard = [a, b].map((pc) => new Promise((resolve) => {
      pc.onTrack.subscribe((track) => {
        const frame = meter.receiver(FRAME_MS);
        subs.push(track.onReceiveRtp.subscribe(() => {
          frame();
          resolve(performance.now() - t0);
        }).unSubscribe);
      });
    }));
    const up = Promise.all([connected(a), connected(b)]).then(() => performance.now() - t0);
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      tracks.forEach((t) => ctx.tracks.delete(t));
      subs.forEach((unsubscribe) => unsubscribe());
      tracks.forEach((t) => t.stop());
      await Promise.all([a.close(), b.close()]);
    };
    // A rejected addIceCandidate fails the pair rather than vanishing.
    const failed = trickleKept(a, b, loopback);
    try {
      // Feeding starts now, as with a live source: werift drops what is written before DTLS is up.
      tracks.forEach((t) => ctx.tracks.add(t));
      a.addTransceiver(tracks[0], { direction: 'sendrecv' });
      await a.setLocalDescription(await a.createOffer());
      await b.setRemoteDescription(localOnly(a.localDescription, loopback));
      b.addTrack(tracks[1]); // takes over the recvonly transceiver made for the offer → sendrecv
      await b.setLocalDescription(await b.createAnswer());
      await a.setRemoteDescription(localOnly(b.localDescription, loopback));
      const [connectedMs, firstAudio] = await Promise.race([Promise.all([up, Promise.all(heard)]), failed]);
      return { connectedMs, firstAudioMs: Math.max(...firstAudio), close };
    } catch (e) {
      await close();
      throw e;
    }
  },

  async teardown(ctx) {
    clearTimeout(ctx.timer);
    ctx.tracks.clear();
  },
};
