'use strict';

// Datagrams for an established connection's ICE port: STUN (RFC 5389/8445: binding
// requests/responses/indications with USERNAME, MESSAGE-INTEGRITY, FINGERPRINT, PRIORITY,
// USE-CANDIDATE, ICE-CONTROLLING/-CONTROLLED, XOR-MAPPED-ADDRESS, ERROR-CODE, unknown
// attributes; lengths, cookie and class/method mutated; sometimes the real username and a
// correct MESSAGE-INTEGRITY), DTLS records (RFC 6347), RTP/RTCP-looking (SRTP) packets, random
// bytes. `creds` = { ufrag, pwd, remoteUfrag } of the connection under attack (from its SDP).

const crypto = require('node:crypto');
const bytes = require('./bytes');

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function attr(type, value, declaredLen = value.length) {
  const pad = (4 - (value.length % 4)) % 4;
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(declaredLen & 0xffff, 2);
  return Buffer.concat([h, value, Buffer.alloc(pad)]);
}

function stun(rng, creds) {
  const METHODS_CLASSES = [0x0001, 0x0101, 0x0111, 0x0011, 0x0003, 0x0004, 0x0006, 0x0007, 0x0008, 0x0009, 0x000a];
  const type = rng.chance(0.8) ? rng.pick(METHODS_CLASSES) : rng.int(0x4000);
  const cookie = rng.chance(0.9) ? 0x2112a442 : rng.u32();
  const tid = rng.bytes(12);
  const attrs = [];
  const user = rng.weighted([
    [4, `${creds.ufrag}:${creds.remoteUfrag}`],
    [1, `${creds.remoteUfrag}:${creds.ufrag}`],
    [1, creds.ufrag],
    [1, ':'],
    [1, 'x'.repeat(rng.int(600))],
    [1, null],
  ]);
  if (user !== null) attrs.push(attr(0x0006, Buffer.from(user)));
  if (rng.chance(0.7)) attrs.push(attr(0x0024, rng.bytes(4))); // PRIORITY
  if (rng.chance(0.3)) attrs.push(attr(0x0025, Buffer.alloc(0))); // USE-CANDIDATE
  if (rng.chance(0.5)) attrs.push(attr(rng.pick([0x8029, 0x802a]), rng.bytes(8))); // ICE-CONTROLLED/-CONTROLLING
  if (rng.chance(0.2)) { // XOR-MAPPED-ADDRESS, maybe malformed family
    const v = Buffer.from([0, rng.pick([1, 2, 0, 3]), ...rng.bytes(2), ...rng.bytes(rng.pick([4, 16, 0, 3]))]);
    attrs.push(attr(0x0020, v));
  }
  if (rng.chance(0.15)) attrs.push(attr(0x0009, Buffer.concat([Buffer.from([0, 0, rng.int(8), rng.int(100)]), Buffer.from('fuzz')]))); // ERROR-CODE
  for (let k = rng.chance(0.3) ? rng.count(6) : 0; k > 0; k--) {
    const v = rng.bytes(rng.int(40));
    attrs.push(attr(rng.int(65536), v, rng.chance(0.3) ? rng.int(65536) : v.length));
  }
  const build = (list, extraLen = 0) => {
    const body = Buffer.concat(list);
    const h = Buffer.alloc(20);
    h.writeUInt16BE(type, 0);
    h.writeUInt16BE((body.length + extraLen) & 0xffff, 2);
    h.writeUInt32BE(cookie, 4);
    tid.copy(h, 8);
    return Buffer.concat([h, body]);
  };
  if (rng.chance(0.7)) { // MESSAGE-INTEGRITY: correct (over the length including it) or random
    const key = rng.chance(0.5) ? creds.pwd : rng.pick([creds.remotePwd ?? '', 'wrong', '']);
    const mi = crypto.createHmac('sha1', key).update(build(attrs, 24)).digest();
    attrs.push(attr(0x0008, rng.chance(0.8) ? mi : rng.bytes(rng.pick([20, 0, 19, 64]))));
  }
  if (rng.chance(0.7)) { // FINGERPRINT: correct or not
    const fp = Buffer.alloc(4);
    fp.writeUInt32BE((crc32(build(attrs, 8)) ^ 0x5354554e) >>> 0);
    attrs.push(attr(0x8028, rng.chance(0.8) ? fp : rng.bytes(4)));
  }
  let msg = build(attrs);
  if (rng.chance(0.15)) msg.writeUInt16BE(rng.pick([0, 1, 4, 0xffff, msg.length]), 2); // length lies
  if (rng.chance(0.1)) msg = msg.subarray(0, rng.int(msg.length));
  return msg;
}

function dtls(rng) {
  const records = [];
  for (let k = rng.count(4); k > 0; k--) {
    const type = rng.chance(0.85) ? rng.pick([20, 21, 22, 23]) : rng.int(256);
    const version = rng.pick([[0xfe, 0xff], [0xfe, 0xfd], [0x03, 0x03], [rng.int(256), rng.int(256)]]);
    let body;
    if (type === 22 && rng.chance(0.7)) { // a handshake message header
      const msgType = rng.pick([1, 2, 3, 11, 12, 13, 14, 15, 16, 20, rng.int(256)]);
      const len = rng.int(1200);
      const fragLen = rng.chance(0.7) ? Math.min(len, 300) : rng.int(2000);
      const h = Buffer.alloc(12);
      h[0] = msgType;
      h.writeUIntBE(len, 1, 3);
      h.writeUInt16BE(rng.int(10), 4);
      h.writeUIntBE(rng.chance(0.8) ? 0 : rng.int(1 << 24), 6, 3);
      h.writeUIntBE(fragLen, 9, 3);
      body = Buffer.concat([h, rng.bytes(Math.min(fragLen, rng.int(400)))]);
      if (msgType === 1 && rng.chance(0.5)) body = Buffer.concat([body, Buffer.from([0xfe, 0xfd]), rng.bytes(32), Buffer.from([0, 0, 0, 2, 0xc0, 0x2b, 1, 0])]);
    } else if (type === 21) body = Buffer.from([rng.pick([1, 2]), rng.int(256)]);
    else if (type === 20) body = Buffer.from([1]);
    else body = rng.bytes(rng.int(300));
    const h = Buffer.alloc(13);
    h[0] = type;
    h[1] = version[0];
    h[2] = version[1];
    h.writeUInt16BE(rng.chance(0.8) ? rng.int(3) : rng.int(65536), 3);
    h.writeUIntBE(rng.chance(0.8) ? rng.int(100) : rng.int(2 ** 48), 5, 6);
    h.writeUInt16BE(rng.chance(0.8) ? body.length : rng.int(65536), 11);
    records.push(h, body);
  }
  return Buffer.concat(records);
}

function rtpLike(rng) {
  if (rng.chance(0.4)) { // RTCP (SR/RR/SDES/BYE/APP/RTPFB/PSFB), compound sometimes
    const parts = [];
    for (let k = rng.count(3); k > 0; k--) {
      const pt = rng.chance(0.9) ? rng.range(200, 206) : rng.int(256);
      const words = rng.int(20);
      const h = Buffer.alloc(4);
      h[0] = 0x80 | rng.int(32);
      h[1] = pt;
      h.writeUInt16BE(rng.chance(0.8) ? words : rng.int(65536), 2);
      parts.push(h, rng.bytes(4 * words));
    }
    return Buffer.concat(parts);
  }
  const h = Buffer.alloc(12);
  h[0] = 0x80 | rng.int(64);
  h[1] = rng.chance(0.5) ? rng.pick([111, 0, 8, 9, 101, 126]) : rng.int(256);
  h.writeUInt16BE(rng.int(65536), 2);
  h.writeUInt32BE(rng.u32(), 4);
  h.writeUInt32BE(rng.u32(), 8);
  return Buffer.concat([h, rng.bytes(rng.int(200)), rng.bytes(10)]); // payload + SRTP auth tag
}

function datagram(rng, creds) {
  let d = rng.weighted([
    [4, () => stun(rng, creds)],
    [3, () => dtls(rng)],
    [2, () => rtpLike(rng)],
    [1, () => rng.bytes(rng.chance(0.97) ? rng.int(1500) : rng.int(65000))],
  ])();
  if (rng.chance(0.15)) d = bytes.havoc(rng, d, rng.count(4));
  return d;
}

module.exports = { datagram, stun, dtls, rtpLike, crc32 };
