'use strict';

// Byte-level mutation (AFL-style havoc): bit flips, interesting values, inserted, deleted,
// duplicated and overwritten chunks, truncation. Works on Buffers; `text()` wraps it for strings.

const INTERESTING8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 0x0a, 0x0d, 0x3a, 0x3d];
const INTERESTING32 = [0, 1, 0x7fffffff, 0x80000000, 0xffffffff, 0xfffffffe, 0x10000, 0xffff, 0x8000];

function havoc(rng, input, rounds = rng.count(8)) {
  let b = Buffer.from(input);
  for (let r = 0; r < rounds; r++) {
    const op = rng.int(9);
    const at = rng.int(b.length + 1);
    switch (op) {
      case 0: // bit flip
        if (b.length) b[rng.int(b.length)] ^= 1 << rng.int(8);
        break;
      case 1: // interesting byte
        if (b.length) b[rng.int(b.length)] = rng.pick(INTERESTING8);
        break;
      case 2: // interesting uint32, either endianness
        if (b.length >= 4) {
          const i = rng.int(b.length - 3);
          const v = rng.pick(INTERESTING32);
          rng.chance(0.5) ? b.writeUInt32BE(v, i) : b.writeUInt32LE(v, i);
        }
        break;
      case 3: // random byte
        if (b.length) b[rng.int(b.length)] = rng.int(256);
        break;
      case 4: // insert random bytes
        b = Buffer.concat([b.subarray(0, at), rng.bytes(rng.count(16) * (rng.chance(0.1) ? 64 : 1)), b.subarray(at)]);
        break;
      case 5: // delete a chunk
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + rng.count(32)))]);
        break;
      case 6: { // duplicate a chunk
        const len = rng.count(64);
        const from = rng.int(Math.max(1, b.length - len));
        const chunk = b.subarray(from, from + len);
        b = Buffer.concat([b.subarray(0, at), chunk, b.subarray(at)]);
        break;
      }
      case 7: // truncate
        b = b.subarray(0, rng.int(b.length + 1));
        break;
      case 8: { // add or subtract a small number
        if (b.length) {
          const i = rng.int(b.length);
          b[i] = (b[i] + rng.range(-35, 35)) & 0xff;
        }
        break;
      }
    }
  }
  return b;
}

/** Byte-level havoc on a string (latin1 round trip keeps every byte). */
function text(rng, s, rounds) {
  return havoc(rng, Buffer.from(s, 'latin1'), rounds).toString('latin1');
}

module.exports = { havoc, text, INTERESTING32 };
