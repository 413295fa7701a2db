'use strict';

// A small seeded generator (mulberry32) for deterministic impairments: uniform() in [0, 1).

function mulberry32(seed) {
  let state = seed >>> 0;
  return function uniform() {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

module.exports = { mulberry32 };
