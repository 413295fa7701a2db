'use strict';

// AudioMixer cost: N inputs (ToneSources) → one full mix + N mix-minus outputs (each without
// its own input), the shape of an N-party conference bridge. Every mixing tick runs on
// GStreamer's clock thread ("GstSystemClock"), so that thread's CPU time is the mixer's cost,
// measured without the noise of the N tone pipelines; the process-wide delta (with the tones'
// own cost subtracted) is printed too.
//   node bench/mixer.js            (BENCH_RUNS=5 BENCH_SECONDS=3 by default)

// GSTPC_DIST=/path/to/dist measures another build (a before/after comparison in one session).
const { ToneSource, AudioMixer, nonstandard } = require(process.env.GSTPC_DIST || '..');
const { cpuTimes } = require('../__test__/helpers/resources');

const RUNS = Number(process.env.BENCH_RUNS || 5);
const SECONDS = Number(process.env.BENCH_SECONDS || 3);
const SIZES = (process.env.BENCH_INPUTS || '3,8,32,64').split(',').map(Number);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fs = require('fs');

/** CPU seconds of this process's threads named `name` (schedstat: ns resolution, unlike stat's 10 ms ticks). */
function threadCpu(name) {
  let total = 0;
  for (const tid of fs.readdirSync('/proc/self/task')) {
    try {
      if (fs.readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim() !== name) continue;
      total += Number(fs.readFileSync(`/proc/self/task/${tid}/schedstat`, 'utf8').split(' ')[0]) / 1e9;
    } catch {
      // thread exited meanwhile
    }
  }
  return total;
}

const { summary: stats } = require('./stats');

/** % of one core used by this process, and by the clock thread, over `seconds`. */
async function cpuPercent(seconds) {
  const c0 = cpuTimes();
  const k0 = threadCpu('GstSystemClock');
  const t0 = performance.now();
  await sleep(seconds * 1000);
  const wall = (performance.now() - t0) / 1000;
  return { process: ((cpuTimes() - c0) / wall) * 100, clock: ((threadCpu('GstSystemClock') - k0) / wall) * 100 };
}

async function main() {
  const max = Math.max(...SIZES);
  const tones = Array.from({ length: max }, (_, i) => new ToneSource({ frequency: 200 + 37 * i, amplitude: 0.02 }));
  await sleep(500);
  const rows = [];
  for (const n of SIZES) {
    const results = [];
    const processDelta = [];
    for (let run = 0; run < RUNS; run++) {
      // Baseline: the n tone pipelines alone (their cost is not the mixer's).
      const base = await cpuPercent(SECONDS);
      const mixer = new AudioMixer();
      const inputs = tones.slice(0, n).map((t) => mixer.addInput(t.track));
      const outputs = [mixer.createTrack(), ...inputs.map((input) => mixer.createTrack({ exclude: [input] }))];
      // One consumer per output, as a sender would be: a native sink with no JS callback work.
      const sinks = outputs.map((track) => new nonstandard.RTCAudioSink(track));
      sinks.forEach((s) => s.stop()); // detach: measure mixing, not frame delivery to JS
      await sleep(300);
      const loaded = await cpuPercent(SECONDS);
      results.push(loaded.clock - base.clock);
      processDelta.push(loaded.process - base.process);
      mixer.stop();
      await sleep(100);
    }
    const s = stats(results);
    rows.push({ inputs: n, outputs: n + 1, ...s, perInput: s.median / n, process: stats(processDelta).median });
  }
  tones.forEach((t) => t.stop());
  return rows;
}

function print(rows) {
  console.log(`AudioMixer CPU, % of one core on the mixing (clock) thread; ${RUNS} runs × ${SECONDS} s`);
  console.log('inputs  outputs     min   median      max   median/input   process Δ (median, noisy)');
  for (const r of rows) {
    console.log(
      `${String(r.inputs).padStart(6)}  ${String(r.outputs).padStart(7)}  ${r.min.toFixed(3).padStart(6)}  ${r.median.toFixed(3).padStart(7)}  ${r.max.toFixed(3).padStart(7)}  ${r.perInput.toFixed(4).padStart(13)}  ${r.process.toFixed(2).padStart(12)}`,
    );
  }
}

module.exports = { main, RUNS, SECONDS };

if (require.main === module) {
  main().then(print, (e) => {
    console.error(e);
    process.exit(1);
  });
}
