'use strict';

// One scenario on one stack, in a process of its own (so that RSS, threads and CPU are that
// stack's alone): `node bench/run-stack.js '<json>'` prints one JSON line with the result.
//   {stack, scenario: 'setup', count}      — `count` pairs one after another: setup times
//   {stack, scenario: 'concurrent', n, seconds} — n live pairs: CPU, RSS, threads, continuity
//   {stack, scenario: 'cycles', count}     — create → connect → close, `count` times: leaks
// bench/compare.js drives it.

const v8 = require('node:v8');
const vm = require('node:vm');
const { threadCount, fdCount, rssBytes, cpuTimes } = require('../__test__/helpers/resources');

// Leak figures compare memory after collecting garbage, for every stack alike: JS wrappers
// that nothing references but the collector has not visited yet are not a leak.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc');
async function collect() {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50)); // finalizers run a tick later
  }
}
const { Meter } = require('./meter');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const SETUP_BUDGET_MS = 90_000;
const PAIR_TIMEOUT_MS = 30_000;

/** `promise`, or an error after `ms`: a pair that never connects must not hang the bench. */
function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not done after ${(ms / 1000).toFixed(0)} s`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** One pair, set up within PAIR_TIMEOUT_MS. */
const pairWithin = (stack, ctx, meter) => within(stack.pair(ctx, meter), PAIR_TIMEOUT_MS, 'pair set-up');

/** Process CPU over `ms` of wall time, in % of one core. */
async function cpuPercent(ms) {
  const c0 = cpuTimes();
  const t0 = performance.now();
  await sleep(ms);
  return ((cpuTimes() - c0) * 1000 * 100) / (performance.now() - t0);
}

// heapTotal is part of rss: V8 keeps its young generation grown (up to 2 × 16 MB semi-spaces
// in Node 20) after a burst of short-lived objects such as PCM frames, and a forced gc()
// does not shrink it. RSS minus heapTotal is the native side's share.
function resources() {
  const { heapTotal, heapUsed } = process.memoryUsage();
  return { rss: rssBytes(), threads: threadCount(), fds: fdCount(), heapTotal, heapUsed };
}

async function setupTimes(stack, ctx, { count }) {
  const meter = new Meter();
  (await pairWithin(stack, ctx, meter)).close(); // warm-up: plugin loading, first certificate
  const connected = [];
  const firstAudio = [];
  for (let i = 0; i < count; i++) {
    const p = await pairWithin(stack, ctx, meter);
    connected.push(p.connectedMs);
    firstAudio.push(p.firstAudioMs);
    await p.close();
    await sleep(50);
  }
  return { connected, firstAudio };
}

async function concurrent(stack, ctx, { n, seconds = 10 }) {
  const meter = new Meter();
  (await pairWithin(stack, ctx, meter)).close();
  const meterLive = new Meter();
  await sleep(1000);
  const base = resources();
  const baseCpu = await cpuPercent(2000);
  const pairs = [];
  const firstAudio = [];
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    // An overloaded stack sets up ever slower: give up rather than run for many minutes.
    const left = SETUP_BUDGET_MS - (performance.now() - t0);
    const overloaded = `overloaded: only ${i} of ${n} pairs set up in ${SETUP_BUDGET_MS / 1000} s`;
    if (left <= 0) throw new Error(overloaded);
    const p = await within(stack.pair(ctx, meterLive), Math.min(left, PAIR_TIMEOUT_MS), overloaded);
    pairs.push(p);
    firstAudio.push(p.firstAudioMs);
  }
  await sleep(2000); // let the last calls settle before measuring
  meterLive.start();
  const cpu = await cpuPercent(seconds * 1000);
  const live = resources();
  const audio = meterLive.stop();
  for (const p of pairs) await p.close();
  await sleep(2000);
  const after = resources();
  const connections = 2 * n;
  return {
    n,
    connections,
    cpu,
    baseCpu,
    cpuPerConnection: (cpu - baseCpu) / connections,
    rss: live.rss,
    rssPerConnection: (live.rss - base.rss) / connections,
    threads: live.threads,
    threadsPerConnection: (live.threads - base.threads) / connections,
    continuity: audio.continuity,
    frames: audio.frames,
    firstAudio,
    base,
    after,
  };
}

/** Resources once teardown that finishes asynchronously is done and garbage is collected. */
async function settled() {
  await sleep(3000);
  await collect();
  return resources();
}

async function cycles(stack, ctx, { count }) {
  const meter = new Meter();
  for (let i = 0; i < 10; i++) await (await pairWithin(stack, ctx, meter)).close(); // warm-up
  await sleep(1000);
  await collect();
  const start = resources();
  const t0 = performance.now();
  let mid;
  let paused = 0;
  for (let i = 0; i < count; i++) {
    if (i === Math.floor(count / 2)) {
      // Half-way: a leak grows as fast in the second half as in the first; caches and
      // allocator pools that are still filling up grow in the first half only.
      const p0 = performance.now();
      mid = await settled();
      paused = performance.now() - p0;
    }
    const p = await pairWithin(stack, ctx, new Meter());
    await p.close();
  }
  const ms = performance.now() - t0 - paused;
  const end = await settled();
  return { count, ms, start, mid, end };
}

const SCENARIOS = { setup: setupTimes, concurrent, cycles };

async function main() {
  const spec = JSON.parse(process.argv[2]);
  const stack = require(`./stacks/${spec.stack}`);
  const scenario = SCENARIOS[spec.scenario];
  if (!scenario) throw new TypeError(`unknown scenario ${spec.scenario}`);
  const ctx = await stack.setup(spec);
  const result = await scenario(stack, ctx, spec);
  await stack.teardown(ctx);
  process.stdout.write(`${JSON.stringify({ stack: stack.name, label: stack.label, audio: stack.audio, ...spec, result })}\n`);
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
