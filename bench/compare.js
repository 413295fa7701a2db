'use strict';

// npm run bench: the same workloads on gst-peerconnection, @roamhq/wrtc and werift, side by
// side, each run in a fresh process (bench/run-stack.js), stacks interleaved round by round.
// Writes bench/RESULTS.md and bench/results.png. Exits non-zero if our addon crashes, leaks
// (threads/fds not back to baseline) or falls below 99 % audio continuity at N = 50.
//
// Knobs (environment): BENCH_ROUNDS (3), BENCH_NS ("10,50,100,200"), BENCH_SECONDS (10),
// BENCH_CYCLES (1000), BENCH_SPEECH_N (10), BENCH_STACKS ("gst,gst-plain,wrtc,werift"),
// BENCH_SKIP ("setup,concurrent,capacity,speech,latency,mixer,voice,sip,cycles", any of them),
// BENCH_SIP_CALLS (10).

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn, execFileSync } = require('node:child_process');
const { summary } = require('./stats');
const { plotPng } = require('./plot');

const ROUNDS = Number(process.env.BENCH_ROUNDS || 3);
const NS = (process.env.BENCH_NS || '10,50,100,200').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS || 10);
const CYCLES = Number(process.env.BENCH_CYCLES || 1000);
const SPEECH_N = Number(process.env.BENCH_SPEECH_N || 10);
const STACKS = (process.env.BENCH_STACKS || 'gst,gst-plain,wrtc,werift').split(',');
const SKIP = new Set((process.env.BENCH_SKIP || '').split(',').filter(Boolean));
const OURS = 'gst';
// Capacity is searched to this many pairs between the largest N that kept ≥ 99.9 % and the
// next N measured.
const CAPACITY_STEP = 5;
const CAPACITY_MIN = 0.999;
// A concurrent run is set-up (≤ 90 s) + 14 s of audio + teardown; cycles take the longest.
const CHILD_TIMEOUT_MS = { concurrent: 5 * 60 * 1000, default: 15 * 60 * 1000 };

const log = (...a) => console.log(`[${new Date().toISOString().slice(11, 19)}]`, ...a);

/** Runs one scenario in a child process; resolves its JSON, or {error} if it failed. */
function run(spec) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(__dirname, 'run-stack.js'), JSON.stringify(spec)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), CHILD_TIMEOUT_MS[spec.scenario] ?? CHILD_TIMEOUT_MS.default);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = out.trim().split('\n').pop();
      if (code === 0 && line) {
        resolve(JSON.parse(line));
      } else {
        // A signal is a crash; exit 1 is an error the scenario threw (e.g. a pair that could not
        // connect on an overloaded machine): its first line says which.
        const lines = err.trim().split('\n').filter((l) => !/^\s+at /.test(l));
        const error = `${signal ? `crashed (${signal})` : `exit ${code}`}: ${lines.slice(0, 2).join(' | ')}`;
        log(`  ${spec.stack} ${spec.scenario} ${spec.n ?? ''} FAILED ${error}`);
        resolve({ ...spec, error });
      }
    });
  });
}

/** A B C, then B C A, …: no stack always runs first (warm caches) or last (a hot machine). */
const rotate = (list, r) => list.map((_, i) => list[(i + r) % list.length]);

function median(values) {
  return values.length ? summary(values).median : NaN;
}

/** Least-squares slope of y over x. */
function slope(points) {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxy / sxx;
}

const ms = (s) => `${s.min.toFixed(0)} / **${s.median.toFixed(0)}** / ${s.max.toFixed(0)}`;
const ratio = (v, ours) => (Number.isFinite(v) && Number.isFinite(ours) && ours ? `${(v / ours).toFixed(2)}×` : '–');
const fmtNum = (v, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '–');

function machine() {
  const cpu = os.cpus();
  let gst = '?';
  try {
    gst = execFileSync('gst-launch-1.0', ['--version'], { encoding: 'utf8' }).split('\n')[1] || '?';
  } catch {
    // reported as unknown
  }
  return {
    cpu: `${cpu[0]?.model ?? '?'} × ${cpu.length}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    gstreamer: gst.trim(),
  };
}

async function main() {
  const results = { setup: {}, concurrent: {}, concurrentErrors: {}, speech: {}, cycles: {}, latency: null, labels: {}, audio: {} };
  const failures = [];

  if (!SKIP.has('setup')) {
    log('1. setup: new pair → connected → first audio both ways');
    for (let r = 0; r < ROUNDS; r++) {
      for (const stack of rotate(STACKS, r)) {
        const res = await run({ stack, scenario: 'setup', count: 7 });
        if (res.error) {
          if (stack === OURS) failures.push(`setup failed: ${res.error}`);
          continue;
        }
        results.labels[stack] = res.label;
        results.audio[stack] = res.audio;
        const acc = (results.setup[stack] ??= { connected: [], firstAudio: [] });
        acc.connected.push(...res.result.connected);
        acc.firstAudio.push(...res.result.firstAudio);
      }
    }
  }

  if (!SKIP.has('concurrent')) {
    const broken = new Set();
    for (const n of NS) {
      log(`2. concurrent: N = ${n} pairs (${2 * n} connections), ${SECONDS} s of two-way audio`);
      for (let r = 0; r < ROUNDS; r++) {
        for (const stack of rotate(STACKS, r)) {
          if (broken.has(stack)) continue;
          const res = await run({ stack, scenario: 'concurrent', n, seconds: SECONDS });
          if (res.error) {
            if (stack === OURS) failures.push(`N=${n} failed: ${res.error}`);
            (results.concurrentErrors[stack] ??= {})[n] = res.error;
            broken.add(stack); // larger N would fail too: spend the time elsewhere
            continue;
          }
          results.labels[stack] = res.label;
          results.audio[stack] = res.audio;
          ((results.concurrent[stack] ??= {})[n] ??= []).push(res.result);
          if (r === ROUNDS - 1 && median(results.concurrent[stack][n].map((x) => x.continuity)) < 0.9) {
            // Saturated: a larger N only takes longer to set up and fails harder.
            log(`  ${stack}: saturated at N = ${n} (median continuity < 90 %), larger N skipped`);
            broken.add(stack);
          }
          const x = res.result;
          log(`  ${stack}: cpu ${x.cpu.toFixed(0)} %, ${fmtNum(x.cpuPerConnection)} %/conn, ${(x.rssPerConnection / 1e6).toFixed(2)} MB/conn, ${x.threadsPerConnection.toFixed(1)} threads/conn, continuity ${(100 * x.continuity).toFixed(2)} %`);
          if (stack === OURS && (x.after.threads > x.base.threads || x.after.fds > x.base.fds)) {
            failures.push(`N=${n}: threads ${x.base.threads}→${x.after.threads}, fds ${x.base.fds}→${x.after.fds} after closing all`);
          }
        }
      }
    }
  }

  if (!SKIP.has('concurrent') && !SKIP.has('capacity')) {
    log(`2c. capacity: largest N with ≥ ${100 * CAPACITY_MIN} % continuity, to ${CAPACITY_STEP} pairs, one round per probe`);
    for (const stack of STACKS) {
      const found = await searchCapacity(results, stack);
      if (found) (results.capacity ??= {})[stack] = found;
    }
  }

  if (!SKIP.has('speech')) {
    // The same calls carrying a voice (bench/speech.js) instead of a sine: an Opus encoder
    // spends three to four times as much on speech, so this is the CPU a voice call costs.
    log(`2b. concurrent, speech: N = ${SPEECH_N} pairs, ${SECONDS} s of two-way speech`);
    for (let r = 0; r < ROUNDS; r++) {
      for (const stack of rotate(STACKS, r)) {
        const res = await run({ stack, scenario: 'concurrent', n: SPEECH_N, seconds: SECONDS, signal: 'speech' });
        if (res.error) {
          if (stack === OURS) failures.push(`speech N=${SPEECH_N} failed: ${res.error}`);
          (results.speech[stack] ??= []).push({ error: res.error });
          continue;
        }
        results.labels[stack] = res.label;
        (results.speech[stack] ??= []).push(res.result);
        const x = res.result;
        log(`  ${stack}: cpu ${x.cpu.toFixed(0)} %, ${fmtNum(x.cpuPerConnection)} %/conn, continuity ${(100 * x.continuity).toFixed(2)} %`);
      }
    }
  }

  if (!SKIP.has('cycles')) {
    log(`5. leak cycles: ${CYCLES} × create → connect → close`);
    for (const stack of STACKS) {
      const res = await run({ stack, scenario: 'cycles', count: CYCLES });
      if (res.error) {
        if (stack === OURS) failures.push(`cycles failed: ${res.error}`);
        continue;
      }
      results.cycles[stack] = res.result;
      const { start, end } = res.result;
      log(`  ${stack}: threads ${start.threads}→${end.threads}, fds ${start.fds}→${end.fds}, RSS ${mb(start.rss)}→${mb(end.rss)} MB, outside V8's heap ${mb(native(start))}→${mb(native(end))} MB`);
      if (stack === OURS && (end.threads > start.threads || end.fds > start.fds)) {
        failures.push(`cycles: threads ${start.threads}→${end.threads}, fds ${start.fds}→${end.fds}`);
      }
    }
  }

  if (!SKIP.has('latency')) {
    log('4. bridge latency (our addon only)');
    try {
      results.latency = await require('./latency').main();
    } catch (e) {
      failures.push(`latency bench failed: ${e.message}`);
    }
  }

  if (!SKIP.has('mixer')) {
    log('mixer: CPU of N inputs → full mix + N mix-minus outputs');
    results.mixer = await require('./mixer').main();
  }

  if (!SKIP.has('voice')) {
    log('voice agents: VoiceProcessor CPU per call; AudioPlayer clear() and mark timings at the wire');
    try {
      results.voice = await require('./voice').main();
    } catch (e) {
      failures.push(`voice bench failed: ${e.message}`);
    }
  }

  if (!SKIP.has('sip')) {
    log('SIP calls: INVITE → first audio both ways, plain RTP and WebRTC (our addon only)');
    try {
      results.sip = await require('./sip-call').main();
    } catch (e) {
      failures.push(`SIP call bench failed: ${e.message}`);
    }
  }

  // Continuity gate at N = 50 (median over rounds).
  const at50 = results.concurrent[OURS]?.[50];
  if (at50 && median(at50.map((x) => x.continuity)) < 0.99) failures.push(`continuity at N=50 below 99 %`);

  const md = report(results, failures);
  fs.writeFileSync(path.join(__dirname, 'RESULTS.md'), md);
  writePlot(results);
  log('wrote bench/RESULTS.md and bench/results.png');
  if (failures.length) {
    console.error(`bench FAILED:\n- ${failures.join('\n- ')}`);
    process.exitCode = 1;
  }
}

/** Whether `stack` kept CAPACITY_MIN continuity (median over rounds) at every round of N = `n`. */
function keptUp(results, stack, n) {
  const runs = results.concurrent[stack]?.[n];
  return Boolean(runs) && !results.concurrentErrors[stack]?.[n] && median(runs.map((x) => x.continuity)) >= CAPACITY_MIN;
}

/**
 * Bisects between the largest measured N that kept up and the next N measured above it (which
 * failed, saturated or fell short): the N list is coarse (10, 50, …) and capacity is the number
 * users size machines by. One round per probe, so the answer is good to about a step.
 */
async function searchCapacity(results, stack) {
  const passed = NS.filter((n) => keptUp(results, stack, n));
  if (!passed.length) return null;
  let lo = Math.max(...passed);
  let hi = NS.find((n) => n > lo);
  const probes = [];
  while (hi !== undefined && hi - lo > CAPACITY_STEP) {
    const mid = Math.min(hi - CAPACITY_STEP, Math.max(lo + CAPACITY_STEP, Math.round((lo + hi) / 2 / CAPACITY_STEP) * CAPACITY_STEP));
    const res = await run({ stack, scenario: 'concurrent', n: mid, seconds: SECONDS });
    const continuity = res.error ? null : res.result.continuity;
    probes.push({ n: mid, continuity, error: res.error });
    log(`  ${stack}: N = ${mid}: ${res.error ? `failed (${res.error})` : `continuity ${(100 * continuity).toFixed(2)} %, ${fmtNum(res.result.cpuPerConnection)} %/conn`}`);
    if (continuity !== null && continuity >= CAPACITY_MIN) lo = mid;
    else hi = mid;
  }
  return { n: lo, above: hi, probes };
}

function perStack(results, fn) {
  return STACKS.filter((s) => results.concurrent[s]).map((s) => [s, fn(results.concurrent[s])]);
}

function report(results, failures) {
  const m = machine();
  const label = (s) => results.labels[s] ?? s;
  const lines = [];
  lines.push('# Benchmark results', '');
  lines.push(`Written by \`npm run bench\` (bench/compare.js) on ${new Date().toISOString()}. Same machine, same run, stacks interleaved round by round, each scenario in a fresh process; loopback only. Numbers are min / **median** / max over rounds; ratios are the other stack's median over ours (> 1: we are better for times, CPU, memory and threads).`, '');
  lines.push(`- Machine: ${m.cpu}, ${m.memory}, ${m.kernel}`);
  lines.push(`- Node ${m.node}; ${m.gstreamer}`);
  for (const s of STACKS) if (results.labels[s]) lines.push(`- **${label(s)}** — audio: ${results.audio[s]}`);
  lines.push(`- Rounds: ${ROUNDS}; concurrent window ${SECONDS} s; N = ${NS.join(', ')}`, '');
  if (failures.length) lines.push('**Gate failures:**', '', ...failures.map((f) => `- ${f}`), '');

  if (Object.keys(results.setup).length) {
    lines.push('## 1. Setup (one pair at a time, idle process)', '');
    lines.push('| stack | samples | new → connected (ms) | new → first audio both ways (ms) | first audio vs ours |', '|---|---|---|---|---|');
    const ours = results.setup[OURS] && summary(results.setup[OURS].firstAudio).median;
    for (const s of STACKS) {
      const x = results.setup[s];
      if (!x) continue;
      const fa = summary(x.firstAudio);
      lines.push(`| ${label(s)} | ${x.firstAudio.length} | ${ms(summary(x.connected))} | ${ms(fa)} | ${ratio(fa.median, ours)} |`);
    }
    lines.push('');
  }

  if (Object.keys(results.concurrent).length) {
    lines.push('## 2. Concurrent two-way audio calls', '');
    lines.push('Process CPU (user+sys from /proc, % of one core; the machine has ' + os.cpus().length + '), RSS and threads while N pairs (2N connections) send 20 ms Opus audio both ways; continuity = fraction of audio received on time (bench/meter.js). Per-connection figures subtract the idle process measured before the calls.', '');
    lines.push('| stack | N | CPU % | CPU %/conn | RSS MB | MB/conn | threads | threads/conn | continuity | first audio at this N (ms, median) |', '|---|---|---|---|---|---|---|---|---|---|');
    for (const s of STACKS) {
      for (const n of NS) {
        const runs = results.concurrent[s]?.[n];
        const error = results.concurrentErrors[s]?.[n];
        if (!runs || error) {
          // A run that failed is reported as such, also where other rounds at this N passed.
          const what = error ? `failed (${runs ? `${runs.length} of ${ROUNDS} rounds passed; ` : ''}${error.replace(/\|/g, '/')})` : 'not run: failed or saturated at a smaller N';
          if (results.concurrent[s] || results.labels[s]) lines.push(`| ${label(s)} | ${n} | ${what} | | | | | | | |`);
          continue;
        }
        const med = (k) => median(runs.map((x) => x[k]));
        lines.push(`| ${label(s)} | ${n} | ${med('cpu').toFixed(0)} | ${med('cpuPerConnection').toFixed(2)} | ${(med('rss') / 1e6).toFixed(0)} | ${(med('rssPerConnection') / 1e6).toFixed(2)} | ${med('threads').toFixed(0)} | ${med('threadsPerConnection').toFixed(1)} | ${(100 * med('continuity')).toFixed(2)} % | ${median(runs.flatMap((x) => x.firstAudio)).toFixed(0)} |`);
      }
    }
    lines.push('');
    lines.push(`**Capacity** (largest N with ≥ ${100 * CAPACITY_MIN} % continuity; between the N above, searched to ${CAPACITY_STEP} pairs, one round per probe):`, '');
    for (const s of STACKS.filter((x) => results.concurrent[x] || results.concurrentErrors[x])) {
      const c = results.capacity?.[s];
      const ok = NS.filter((n) => keptUp(results, s, n));
      const n = c ? c.n : ok.length ? Math.max(...ok) : null;
      const probes = c?.probes.map((p) => `N = ${p.n} ${p.error ? 'failed' : `${(100 * p.continuity).toFixed(2)} %`}`).join(', ');
      const atLeast = c && c.above === undefined ? ' or more: the largest N measured' : '';
      lines.push(`- ${label(s)}: ${n ? `**N = ${n}** (${2 * n} connections${atLeast})` : 'none of the N measured'}${probes ? ` — probes: ${probes}` : ''}`);
    }
    lines.push('');
    if (Object.keys(results.speech).length) {
      lines.push(`### 2b. The same calls carrying speech (N = ${SPEECH_N})`, '');
      lines.push('A spoken paragraph (espeak-ng, bench/speech.js) looped instead of the sine, the same file for every stack: what a voice call costs. werift relays packets pre-encoded from it (no codec).', '');
      lines.push('| stack | CPU % | CPU %/conn | CPU/conn vs ours | continuity | failed rounds |', '|---|---|---|---|---|---|');
      // Median of `k` over the rounds of stack `s` that passed.
      const med = (s, k) => median((results.speech[s] ?? []).filter((x) => !x.error).map((x) => x[k]));
      for (const s of STACKS) {
        const runs = results.speech[s];
        if (!runs) continue;
        const failed = runs.filter((x) => x.error).length;
        const continuity = failed < runs.length ? `${(100 * med(s, 'continuity')).toFixed(2)} %` : '–';
        lines.push(`| ${label(s)} | ${fmtNum(med(s, 'cpu'), 0)} | ${fmtNum(med(s, 'cpuPerConnection'))} | ${ratio(med(s, 'cpuPerConnection'), med(OURS, 'cpuPerConnection'))} | ${continuity} | ${failed} of ${runs.length} |`);
      }
      lines.push('');
    }
    lines.push('## 3. Memory per connection (RSS slope over N)', '');
    lines.push('| stack | MB per connection (slope) | vs ours |', '|---|---|---|');
    const slopes = Object.fromEntries(perStack(results, (byN) => slope(NS.filter((n) => byN[n]).map((n) => [2 * n, median(byN[n].map((x) => x.rss)) / 1e6]))));
    for (const s of Object.keys(slopes)) lines.push(`| ${label(s)} | ${fmtNum(slopes[s])} | ${ratio(slopes[s], slopes[OURS])} |`);
    lines.push('');
  }

  if (results.latency) {
    lines.push('## 4. Bridge latency (our addon): SFU RTP in → SIP-side RTP out', '');
    lines.push('bench/latency.js: chirps through UdpRtpSource → AudioMixer → egress, located by cross-correlation, per-chirp delay from the input packet\'s send time to the output packet\'s arrival. Floor: a 20 ms output frame + 2.5–6.5 ms Opus algorithmic delay ≈ 22.5–26.5 ms.', '');
    lines.push('| setting | chirps | latency ms (min / median / max) | FIFO underruns |', '|---|---|---|---|');
    for (const r of results.latency) lines.push(`| ${r.label} | ${r.n} | ${r.min.toFixed(1)} / **${r.median.toFixed(1)}** / ${r.max.toFixed(1)} | ${r.underruns} |`);
    lines.push('');
  }

  if (results.mixer) {
    const { RUNS, SECONDS: S } = require('./mixer');
    lines.push('## Mixer cost (our addon): N inputs → one full mix + N mix-minus outputs', '');
    lines.push(`bench/mixer.js: CPU of the mixing thread, % of one core, ${RUNS} runs × ${S} s (the N tone sources' own cost excluded).`, '');
    lines.push('| inputs | outputs | CPU % (min / median / max) | median per input |', '|---|---|---|---|');
    for (const r of results.mixer) lines.push(`| ${r.inputs} | ${r.outputs} | ${r.min.toFixed(2)} / **${r.median.toFixed(2)}** / ${r.max.toFixed(2)} | ${r.perInput.toFixed(3)} |`);
    lines.push('');
  }

  if (results.voice) {
    const { cpu, wire } = results.voice;
    const row = (name, v) => `| ${name} | ${v.min.toFixed(1)} / **${v.median.toFixed(1)}** / ${v.max.toFixed(1)} |`;
    lines.push('## Voice agents (our addon): VoiceProcessor cost, AudioPlayer timings at the wire', '');
    lines.push(`bench/voice.js: ${cpu.calls} calls at once, each a looped speech file as the caller and another as the agent (the reference); CPU over ${cpu.seconds} s, % of one core per call, above the same calls with no processor (${cpu.none.toFixed(1)} % in all).`, '');
    lines.push('| VoiceProcessor | CPU % per call |', '|---|---|');
    lines.push(`| everything off (its pipeline alone) | ${cpu.offPerCall.toFixed(2)} |`);
    lines.push(`| echo cancellation + noise suppression (moderate) + voice activity | **${cpu.fullPerCall.toFixed(2)}** |`, '');
    lines.push(`AudioPlayer over plain RTP (PCMU, 20 ms packets) to a phone made of a UDP socket, ${wire.trials} trials: clear() → the last packet with sound at the phone; a mark event → the first packet of the audio after the mark (negative: the event came first).`, '');
    lines.push('| timing | ms (min / median / max) |', '|---|---|');
    lines.push(row('clear() → silence at the phone', wire.clear));
    lines.push(row('mark event − its audio at the wire', wire.mark), '');
  }

  if (results.sip) {
    const { calls, kinds, results: r } = results.sip;
    lines.push('## SIP calls (our addon): INVITE → first audio both ways', '');
    lines.push(`bench/sip-call.js: Kamailio on loopback, two SIP.js user agents in one process, ${calls} calls of each kind one after another; from the caller's invite() to the first audible 10 ms frame at each end.`, '');
    lines.push('| call | codec answered | at the caller, ms (min / median / max) | at the callee, ms (min / median / max) |', '|---|---|---|---|');
    const cell = (s) => `${s.min.toFixed(0)} / **${s.median.toFixed(0)}** / ${s.max.toFixed(0)}`;
    for (const k of Object.keys(r)) lines.push(`| ${kinds[k]} | ${r[k].codec} | ${cell(r[k].caller)} | ${cell(r[k].callee)} |`);
    lines.push('');
  }

  if (Object.keys(results.cycles).length) {
    lines.push(`## 5. Leak cycles: ${CYCLES} × create → connect (audio both ways) → close`, '');
    lines.push('RSS includes V8\'s heap, which stays grown after bursts of short-lived objects (PCM frames) even after a forced collection; "outside V8" is RSS minus V8\'s heapTotal: the native side (libraries, malloc arenas).', '');
    lines.push('| stack | time per cycle (ms) | threads start → end | fds start → end | RSS MB start → end | outside V8 MB start → half-way → end | outside V8, second half (KB per cycle) |', '|---|---|---|---|---|---|---|');
    for (const s of STACKS) {
      const c = results.cycles[s];
      if (!c) continue;
      const half = c.mid ? ` → ${mb(native(c.mid))}` : '';
      const late = c.mid ? ((native(c.end) - native(c.mid)) / 1e3 / (c.count - Math.floor(c.count / 2))).toFixed(1) : '–';
      lines.push(`| ${label(s)} | ${(c.ms / c.count).toFixed(0)} | ${c.start.threads} → ${c.end.threads} | ${c.start.fds} → ${c.end.fds} | ${mb(c.start.rss)} → ${mb(c.end.rss)} | ${mb(native(c.start))}${half} → ${mb(native(c.end))} | ${late} |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

const mb = (bytes) => (bytes / 1e6).toFixed(1);
/** RSS outside V8's heap (older result files have no heapTotal: then all of RSS). */
const native = (r) => r.rss - (r.heapTotal ?? 0);

function writePlot(results) {
  const series = (fn) => STACKS.filter((s) => results.concurrent[s]).map((s) => ({
    name: results.labels[s] ?? s,
    points: NS.filter((n) => results.concurrent[s][n]).map((n) => [n, fn(results.concurrent[s][n])]),
  }));
  if (!Object.keys(results.concurrent).length) return;
  plotPng(path.join(__dirname, 'results.png'), {
    title: `Concurrent two-way Opus calls, ${os.cpus().length} cores (median of ${ROUNDS} rounds)`,
    panels: [
      { title: 'Process CPU (% of one core)', xLabel: 'peer pairs N (2N connections)', yLabel: '%', series: series((runs) => median(runs.map((x) => x.cpu))) },
      { title: 'Process RSS (MB)', xLabel: 'peer pairs N (2N connections)', yLabel: 'MB', series: series((runs) => median(runs.map((x) => x.rss)) / 1e6) },
    ],
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
