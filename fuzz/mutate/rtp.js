'use strict';

// RTP packets for a UdpRtpSource: a valid Opus or PCMU stream (seq/timestamp advancing,
// one SSRC) with mutated headers — seq/ts/ssrc/pt jumps, version, padding, CSRC count,
// header extensions, marker — truncation, empty and random payloads, a little havoc.

const fs = require('node:fs');
const path = require('node:path');
const bytes = require('./bytes');

const OPUS = JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'seeds', 'opus-rtp.json'), 'utf8')).payloads.map((b) => Buffer.from(b, 'base64'));

function linearToMulaw(sample) {
  const BIAS = 0x84;
  let sign = (sample >> 8) & 0x80;
  if (sign) sample = -sample;
  if (sample > 32635) sample = 32635;
  sample += BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (sample & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (sample >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** 20 ms of a 600 Hz tone in PCMU (160 bytes), starting at sample `n`. */
function pcmuFrame(n) {
  const b = Buffer.alloc(160);
  for (let i = 0; i < 160; i++) b[i] = linearToMulaw(Math.round(16000 * Math.sin((2 * Math.PI * 600 * (n + i)) / 8000)));
  return b;
}

const CODECS = {
  opus: { pt: 111, tsStep: 960, clock: 48000, payload: (k) => OPUS[k % OPUS.length] },
  pcmu: { pt: 0, tsStep: 160, clock: 8000, payload: (k) => pcmuFrame(k * 160) },
};

function header({ version = 2, padding = 0, ext = 0, cc = 0, marker = 0, pt, seq, ts, ssrc }) {
  const h = Buffer.alloc(12);
  h[0] = ((version & 3) << 6) | ((padding & 1) << 5) | ((ext & 1) << 4) | (cc & 0x0f);
  h[1] = ((marker & 1) << 7) | (pt & 0x7f);
  h.writeUInt16BE(seq & 0xffff, 2);
  h.writeUInt32BE(ts >>> 0, 4);
  h.writeUInt32BE(ssrc >>> 0, 8);
  return h;
}

/** The state of one valid stream: the next valid packet continues it. */
class Stream {
  constructor(rng, codec) {
    this.codec = CODECS[codec];
    this.seq = rng.int(65536);
    this.ts = rng.u32();
    this.ts0 = this.ts;
    this.ssrc = rng.u32() || 1;
    this.k = 0;
  }

  next() {
    const p = { pt: this.codec.pt, seq: this.seq, ts: this.ts, ssrc: this.ssrc, payload: this.codec.payload(this.k) };
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + this.codec.tsStep) >>> 0;
    this.k++;
    return p;
  }
}

const U32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe];

/** One datagram: valid most of the time early in a stream, mutated otherwise. */
function packet(rng, stream) {
  const p = stream.next();
  const h = { ...p };
  let payload = p.payload;
  let extBlock = Buffer.alloc(0);
  let csrcs = Buffer.alloc(0);
  let padBytes = Buffer.alloc(0);
  if (rng.chance(0.3)) return Buffer.concat([header(h), payload]);
  const n = rng.count(4);
  for (let k = 0; k < n; k++) {
    switch (rng.int(14)) {
      case 0: h.seq = rng.chance(0.5) ? rng.int(65536) : (p.seq + rng.pick([-1, -2, 0, 1000, 32768, 65535])) & 0xffff; break;
      case 1: h.ts = rng.chance(0.5) ? rng.pick(U32) : (p.ts + rng.pick([-960, 0, 1, 0x7fffffff, 48000 * 60])) >>> 0; break;
      case 2: h.ssrc = rng.chance(0.5) ? rng.pick(U32) : rng.u32(); break;
      case 3: h.pt = rng.chance(0.5) ? rng.int(128) : rng.pick([0, 8, 9, 13, 72, 73, 76, 77, 96, 101, 111, 126, 127]); break;
      case 4: h.version = rng.pick([0, 1, 3]); break;
      case 5: { // padding: a length byte that fits, is 0, or exceeds the packet
        h.padding = 1;
        const len = rng.pick([0, 1, 4, 255, payload.length + 1, payload.length + 12]);
        padBytes = rng.chance(0.5) ? Buffer.concat([Buffer.alloc(Math.max(0, Math.min(len, 255) - 1)), Buffer.from([len & 0xff])]) : Buffer.from([len & 0xff]);
        break;
      }
      case 6: { // CSRCs: as many as announced, fewer, or none
        h.cc = rng.range(1, 15);
        const have = rng.chance(0.6) ? h.cc : rng.int(h.cc);
        csrcs = rng.bytes(4 * have);
        break;
      }
      case 7: { // header extension: one-byte (0xBEDE), two-byte (0x100x) or unknown profile, any length
        h.ext = 1;
        const profile = rng.pick([0xbede, 0x1000, 0x1001, 0x0000, 0xffff, rng.int(65536)]);
        const words = rng.pick([0, 1, 2, 3, 0xffff, rng.int(16)]);
        const have = rng.chance(0.6) ? Math.min(words, 64) : rng.int(4);
        const body = rng.bytes(4 * have);
        if (profile === 0xbede && body.length && rng.chance(0.5)) body[0] = (rng.int(16) << 4) | rng.int(16);
        extBlock = Buffer.concat([Buffer.from([profile >> 8, profile & 0xff, words >> 8, words & 0xff]), body]);
        break;
      }
      case 8: h.marker = 1; break;
      case 9: payload = Buffer.alloc(0); break;
      case 10: payload = rng.bytes(rng.chance(0.9) ? rng.int(400) : rng.int(1500)); break;
      case 11: { // Opus TOC byte / frame count code damage
        payload = Buffer.from(payload);
        if (payload.length) payload[0] = rng.chance(0.5) ? rng.int(256) : (payload[0] & 0xfc) | 3;
        if (payload.length > 1 && rng.chance(0.5)) payload[1] = rng.pick([0, 0x3f, 0x7f, 0xff, 0xbf]);
        break;
      }
      case 12: payload = bytes.havoc(rng, payload, rng.count(4)); break;
      case 13: break; // the final truncation below
    }
  }
  let pkt = Buffer.concat([header(h), csrcs, extBlock, payload, padBytes]);
  if (rng.chance(0.1)) pkt = pkt.subarray(0, rng.int(Math.min(pkt.length, 24) + 1));
  if (rng.chance(0.05)) pkt = bytes.havoc(rng, pkt, rng.count(4));
  return pkt;
}

/** `n` valid packets continuing `stream`. */
function valid(stream, n) {
  const out = [];
  for (let k = 0; k < n; k++) {
    const p = stream.next();
    out.push(Buffer.concat([header(p), p.payload]));
  }
  return out;
}

module.exports = { Stream, packet, valid, header, CODECS };
