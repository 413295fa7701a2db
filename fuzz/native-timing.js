'use strict';

// Times every synchronous call into the native addon (constructors, methods, getters of the
// Native* classes) in a fuzz worker, so that an event-loop stall finding says whether a
// native call took the time (and which) or the loop was held up elsewhere (machine load,
// GC, JS). Must be required before ../dist, which reads the classes from the same module.
//
// slowCalls(since): the calls longer than SLOW_MS that ended after `since` (Date.now() ms),
// newest last: { name, ms, end }. max(): the longest call per name so far, ms.

const { performance } = require('node:perf_hooks');

const SLOW_MS = 20;
const KEEP = 64;

const slow = [];
const longest = new Map();

function record(name, t0) {
  const ms = performance.now() - t0;
  if (ms > (longest.get(name) ?? 0)) longest.set(name, ms);
  if (ms >= SLOW_MS) {
    slow.push({ name, ms: Math.round(ms), end: Date.now() });
    if (slow.length > KEEP) slow.shift();
  }
}

function timed(name, fn) {
  return function (...args) {
    const t0 = performance.now();
    try {
      return fn.apply(this, args);
    } finally {
      record(name, t0);
    }
  };
}

function wrapClass(cls, className) {
  const proto = cls.prototype;
  for (const key of Object.getOwnPropertyNames(proto)) {
    if (key === 'constructor') continue;
    const d = Object.getOwnPropertyDescriptor(proto, key);
    if (!d.configurable) continue;
    if (typeof d.value === 'function') d.value = timed(`${className}.${key}`, d.value);
    if (d.get) d.get = timed(`${className}.${key} (get)`, d.get);
    if (d.set) d.set = timed(`${className}.${key} (set)`, d.set);
    Object.defineProperty(proto, key, d);
  }
  return new Proxy(cls, {
    construct(target, args, newTarget) {
      const t0 = performance.now();
      try {
        return Reflect.construct(target, args, newTarget === cls ? target : newTarget);
      } finally {
        record(`new ${className}`, t0);
      }
    },
  });
}

// As js/internal/native.ts does when it loads the addon (GLib reads G_SLICE when it is loaded).
const sliceChosen = process.env.G_SLICE !== undefined;
if (!sliceChosen) process.env.G_SLICE = 'always-malloc';
const native = require('../index.js');
if (!sliceChosen) delete process.env.G_SLICE;

for (const name of Object.keys(native)) {
  const v = native[name];
  if (typeof v === 'function' && /^Native/.test(name) && v.prototype) native[name] = wrapClass(v, name);
}

const max = () => Object.fromEntries([...longest].sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, Math.round(v * 10) / 10]));

// FUZZ_TIMING_LOG=<prefix>: the longest call per name is written to <prefix>.<pid>.json every 2 s.
if (process.env.FUZZ_TIMING_LOG) {
  const fs = require('node:fs');
  setInterval(() => fs.writeFileSync(`${process.env.FUZZ_TIMING_LOG}.${process.pid}.json`, JSON.stringify(max(), null, 1)), 2000).unref();
}

module.exports = {
  slowCalls: (since) => slow.filter((c) => c.end >= since),
  max,
};
