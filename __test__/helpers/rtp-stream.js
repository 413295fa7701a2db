'use strict';

// Crafted RTP for the ingress tests: real codec payloads with headers we write ourselves, sent
// at the real packet rate, so that a test can inject a hostile header (sequence jump, SSRC
// change, duplicate …) in the middle of an otherwise well-formed stream.
//
// - Opus payloads are encoded by libopus itself (gst-launch-1.0 audiotestsrc ! opusenc), framed
//   with RFC 4571 length prefixes (rtpstreampay) into a temporary file, so no packet can be lost
//   on the way to the test.
// - PCMU is G.711 µ-law (ITU-T G.711, RFC 3551 §4.5.14), encoded here.

const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

/** Offset of the payload in an RTP packet (RFC 3550 §5.1, §5.3.1: CSRCs, header extension). */
function payloadOffset(packet) {
  let offset = 12 + 4 * (packet[0] & 0x0f);
  if (packet[0] & 0x10) offset += 4 + 4 * packet.readUInt16BE(offset + 2);
  return offset;
}

/**
 * `count` Opus payloads of 20 ms (mono, 32 kbit/s, as browsers send) of a `freq` Hz sine at
 * half scale, as libopus encodes them.
 */
function opusPayloads(freq, count) {
  const file = path.join(os.tmpdir(), `rtp-ingress-${process.pid}-${freq}-${count}.rtps`);
  const pipeline = `audiotestsrc freq=${freq} volume=0.5 samplesperbuffer=960 num-buffers=${count} ! audio/x-raw,rate=48000,channels=1 ! opusenc frame-size=20 bitrate=32000 ! rtpopuspay pt=111 ! rtpstreampay ! filesink location=${file}`;
  execFileSync('gst-launch-1.0', ['-q', ...pipeline.split(' ')], { stdio: 'ignore' });
  const data = fs.readFileSync(file);
  fs.unlinkSync(file);
  const payloads = [];
  for (let o = 0; o + 2 <= data.length; ) {
    const len = data.readUInt16BE(o);
    const packet = data.subarray(o + 2, o + 2 + len);
    o += 2 + len;
    payloads.push(Buffer.from(packet.subarray(payloadOffset(packet))));
  }
  return payloads;
}

/** G.711 µ-law encoding of one 16-bit linear sample (the classic Sun g711.c algorithm). */
function linearToMulaw(sample) {
  const BIAS = 0x84;
  const CLIP = 32635;
  let s = Math.max(-32768, Math.min(32767, Math.round(sample)));
  const sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > CLIP) s = CLIP;
  s += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (s & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (s >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** `count` PCMU payloads of 20 ms (160 samples at 8 kHz) of a continuous `freq` Hz sine at half scale. */
function pcmuPayloads(freq, count) {
  const payloads = [];
  for (let p = 0; p < count; p++) {
    const b = Buffer.alloc(160);
    for (let i = 0; i < 160; i++) b[i] = linearToMulaw(0.5 * 32767 * Math.sin((2 * Math.PI * freq * (p * 160 + i)) / 8000));
    payloads.push(b);
  }
  return payloads;
}

/** An RTP packet (RFC 3550 §5.1). `csrcs`: CSRC list; `extension`: {profile, words: Buffer} (§5.3.1). */
function rtpPacket({ pt, seq, ts, ssrc, marker = false, payload, csrcs = [], extension = null }) {
  const ext = extension ? Buffer.concat([Buffer.from([extension.profile >> 8, extension.profile & 0xff, 0, extension.words.length / 4]), extension.words]) : Buffer.alloc(0);
  const header = Buffer.alloc(12 + 4 * csrcs.length);
  header[0] = 0x80 | (extension ? 0x10 : 0) | csrcs.length;
  header[1] = (marker ? 0x80 : 0) | pt;
  header.writeUInt16BE(seq & 0xffff, 2);
  header.writeUInt32BE(ts >>> 0, 4);
  header.writeUInt32BE(ssrc >>> 0, 8);
  csrcs.forEach((c, i) => header.writeUInt32BE(c >>> 0, 12 + 4 * i));
  return Buffer.concat([header, ext, payload]);
}

/**
 * A sender of one RTP stream, one packet per `ptimeMs` on a drift-free schedule (each packet is
 * due at start + i·ptime; a late timer sends what is due at once, never more).
 *
 * Each tick calls `plan(i, stream)`, which returns the datagrams to send for packet i; the
 * default plan sends `stream.packet()` (the next packet in sequence: seq, timestamp and payload
 * advance by one). A test changes `stream.seq`, `stream.ts`, `stream.ssrc` … in its plan to
 * inject an event.
 */
class PacedRtpStream {
  constructor(socket, port, { pt, clockRate, samplesPerPacket, payloads, ssrc = 0x1234abcd, seq = 1000, ts = 5000, ptimeMs = 20 }) {
    Object.assign(this, { socket, port, pt, clockRate, samplesPerPacket, payloads, ssrc, seq, ts, ptimeMs });
    this.index = 0; // payload index
    this.sent = 0;
    this.timer = null;
  }

  /** The next packet in sequence (advances seq, timestamp and payload). */
  packet(overrides = {}) {
    const payload = this.payloads[this.index % this.payloads.length];
    const p = rtpPacket({ pt: this.pt, seq: this.seq, ts: this.ts, ssrc: this.ssrc, payload, ...overrides });
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + this.samplesPerPacket) >>> 0;
    this.index++;
    return p;
  }

  start(plan = (i, s) => [s.packet()]) {
    const t0 = process.hrtime.bigint();
    let i = 0;
    const tick = () => {
      const due = Number(process.hrtime.bigint() - t0) / 1e6;
      while (i * this.ptimeMs <= due) {
        for (const d of plan(i, this)) {
          this.socket.send(d, this.port, '127.0.0.1');
          this.sent++;
        }
        i++;
      }
      this.timer = setTimeout(tick, Math.max(0, i * this.ptimeMs - due));
    };
    tick();
    return t0;
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }
}

// What rtp-ingress.test.js (UdpRtpSource) and rtp-ingress-connection.test.js (a GstPeerConnection)
// both stream and judge: a 1000 Hz tone in 20 ms packets, measured for AFTER_MS after the event.
const FREQ = 1000;
const OTHERS = [440, 660, 1500];
const PTIME = 20; // ms per packet
const LATENCY = 40; // jitter buffer latency (ms) given to the receiver
// After the event: how long the audio is measured for, and the tail judged for the tone.
const AFTER_MS = 2000;
const TONE_MS = 1000;
// Longest audio a decoder may emit ahead of its timestamps (src/media/playout.rs MAX_LEAD,
// one 120 ms Opus packet, RFC 6716 §3.2.5).
const MAX_LEAD_MS = 120;

/** Audio (ms) that arrived at the sink from `sinceNs` on, and the wall time (ms) it spans. */
function deliveredSince(collector, sinceNs) {
  const frames = collector.frames.filter((f) => f.t >= sinceNs);
  const audioMs = (frames.reduce((a, f) => a + f.length, 0) * 1000) / collector.sampleRate;
  const wallMs = frames.length ? Number(frames[frames.length - 1].t - sinceNs) / 1e6 : 0;
  return { audioMs, wallMs, frames: frames.length, sinceNs };
}

/**
 * The real-time bound for audio delivered over `wallMs` after an event: the sink plays each
 * buffer at its timestamp, so it can be ahead of a strictly paced delivery only by what was
 * already buffered when the window opened — the jitter buffer's latency (plus `headroomMs`, a
 * connection's playout headroom), one packet (decoders emit a packet's audio as one unit) and
 * what a decoder may emit ahead of its timestamps (MAX_LEAD) — and by the 5 % the JS event
 * loop's timestamps of the frames may stretch a 2 s window (frames are stamped when the ondata
 * callback runs, not when they were made).
 */
function realTimeBoundMs(wallMs, headroomMs = 0) {
  return 1.05 * wallMs + LATENCY + headroomMs + PTIME + MAX_LEAD_MS;
}

/**
 * Jest: the checks every ingress case shares — audio delivered after the event within real
 * time (realTimeBoundMs with `headroomMs`) and the tone back in every 200 ms window of the last
 * TONE_MS. With RTP_INGRESS_DEBUG set, logs the numbers behind the verdict first.
 */
function expectRealTime({ delivered, collector }, headroomMs = 0) {
  const { expectToneWindows } = require('./audio');
  if (process.env.RTP_INGRESS_DEBUG) {
    // Delivery after the event and the arrival gaps over 40 ms ([ms after the event, gap ms]).
    const f = collector.frames;
    const gaps = [];
    for (let i = 1; i < f.length; i++) {
      const gap = Number(f[i].t - f[i - 1].t) / 1e6;
      if (gap > 40) gaps.push([Math.round(Number(f[i - 1].t - delivered.sinceNs) / 1e6), Math.round(gap)]);
    }
    const { audioMs, wallMs } = delivered;
    console.log(expect.getState().currentTestName, JSON.stringify({ audioMs, wallMs, bound: realTimeBoundMs(wallMs, headroomMs), gaps }));
  }
  expect(delivered.wallMs).toBeGreaterThan(AFTER_MS - 200);
  expect(delivered.audioMs).toBeLessThanOrEqual(realTimeBoundMs(delivered.wallMs, headroomMs));
  expectToneWindows(collector, FREQ, OTHERS, TONE_MS);
}

module.exports = {
  opusPayloads,
  pcmuPayloads,
  linearToMulaw,
  rtpPacket,
  payloadOffset,
  PacedRtpStream,
  FREQ,
  OTHERS,
  PTIME,
  LATENCY,
  AFTER_MS,
  TONE_MS,
  MAX_LEAD_MS,
  deliveredSince,
  realTimeBoundMs,
  expectRealTime,
};
