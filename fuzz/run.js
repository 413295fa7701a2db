'use strict';

// npm run fuzz: the structure-aware fuzzer's parent. Options (args or environment):
//   --seconds N   FUZZ_SECONDS   how long to run (default 1800; stops early at --inputs)
//   --inputs N    FUZZ_INPUTS    total inputs to run (default: unlimited within --seconds)
//   --seed S      FUZZ_SEED      seed of the input streams (default: the time)
//   --targets a,b FUZZ_TARGETS   remote-sdp,local-sdp,candidate,ice-spray,rtp (default: all)
//   --workers N   FUZZ_WORKERS   worker children (default: one per core)
//   --hang-ms N   FUZZ_HANG_MS   per-message progress limit (default 20000)
//   --stall-ms N  FUZZ_STALL_MS  event-loop stall limit in a worker (default 3000)
// Every target gets an equal share of worker time. Prints a summary line
// `fuzz: N inputs (per target …), F findings, T s` and exits 1 when there are findings.

const os = require('node:os');
const { Pool } = require('./pool');
const { Findings } = require('./findings');
const { TARGETS, makeInput, inputsPerMessage } = require('./inputs');

/**
 * Runs the fuzzer. `messages`: optional per-target message counts (a fixed run: the same
 * inputs every time for a seed). Resolves { total, perTarget, findings, seconds }.
 */
async function fuzz({ seed = Date.now(), seconds = 1800, inputs = Infinity, targets = TARGETS, workers = os.availableParallelism?.() ?? os.cpus().length, hangMs = 20000, stallMs = 3000, messages, save = true, log = console.log } = {}) {
  const findings = new Findings({ seed: String(seed), save });
  const pool = new Pool({
    workers,
    hangMs,
    stallMs,
    onFinding: (f) => {
      if (findings.add(f)) log(`fuzz: FINDING ${f.kind} in ${f.target}: ${f.message}${f.stderr ? ` — ${f.stderr.split('\n').filter((l) => /CRITICAL|ERROR|assert/i.test(l))[0] ?? ''}` : ''}`);
    },
  });
  const started = Date.now();
  await pool.start();
  const corpus = await pool.corpus();
  const stats = Object.fromEntries(targets.map((t) => [t, { inputs: 0, messages: 0, ms: 0, next: 0 }]));
  let total = 0;
  const deadline = started + seconds * 1000;
  let lastLog = Date.now();

  function nextTarget() {
    let best = null;
    for (const t of targets) {
      const s = stats[t];
      if (messages && s.next >= (messages[t] ?? 0)) continue;
      if (best === null || s.ms < stats[best].ms) best = t;
    }
    return best;
  }

  async function loop(slot) {
    for (;;) {
      if (!messages && (Date.now() > deadline || total >= inputs)) return;
      const target = nextTarget();
      if (target === null) return;
      const s = stats[target];
      const index = s.next++;
      const input = makeInput(corpus, seed, target, index);
      const r = await pool.run(slot, input, { index });
      s.ms += r.ms;
      s.messages++;
      s.inputs += inputsPerMessage(target);
      total += inputsPerMessage(target);
      if (Date.now() - lastLog > 30000) {
        lastLog = Date.now();
        log(`fuzz: ${total} inputs, ${findings.list.length} findings, ${Math.round((Date.now() - started) / 1000)} s`);
      }
    }
  }

  try {
    await Promise.all(Array.from({ length: workers }, (_, slot) => loop(slot)));
  } finally {
    await pool.stop();
  }
  const elapsed = (Date.now() - started) / 1000;
  const perTarget = Object.fromEntries(
    targets.map((t) => [t, { inputs: stats[t].inputs, workerSeconds: stats[t].ms / 1000, perWorkerSecond: stats[t].ms ? stats[t].inputs / (stats[t].ms / 1000) : 0 }]),
  );
  return { seed, total, perTarget, findings: findings.list, seconds: elapsed, restarts: pool.restarts, workers };
}

function summary(r) {
  const per = Object.entries(r.perTarget)
    .map(([t, s]) => `${t} ${s.inputs} @ ${s.perWorkerSecond.toFixed(1)}/s/worker`)
    .join(', ');
  return `fuzz: ${r.total} inputs (per target ${per}), ${r.findings.length} findings, ${r.seconds.toFixed(0)} s (seed ${r.seed}, ${r.workers} workers, ${r.restarts} worker restarts)`;
}

function option(args, name, env, fallback) {
  const i = args.indexOf(`--${name}`);
  if (i >= 0 && args[i + 1] !== undefined) return args[i + 1];
  return process.env[env] ?? fallback;
}

async function main() {
  const args = process.argv.slice(2);
  const opts = {
    seed: option(args, 'seed', 'FUZZ_SEED', String(Date.now())),
    seconds: Number(option(args, 'seconds', 'FUZZ_SECONDS', 1800)),
    inputs: Number(option(args, 'inputs', 'FUZZ_INPUTS', Infinity)),
    targets: option(args, 'targets', 'FUZZ_TARGETS', TARGETS.join(',')).split(','),
    hangMs: Number(option(args, 'hang-ms', 'FUZZ_HANG_MS', 20000)),
    stallMs: Number(option(args, 'stall-ms', 'FUZZ_STALL_MS', 3000)),
  };
  const w = option(args, 'workers', 'FUZZ_WORKERS', undefined);
  if (w !== undefined) opts.workers = Number(w);
  for (const t of opts.targets) if (!TARGETS.includes(t)) throw new Error(`unknown target ${t} (one of ${TARGETS.join(', ')})`);
  const r = await fuzz(opts);
  for (const f of r.findings) console.log(`  ${f.kind} ×${f.count} ${f.target}: ${f.error.message} → ${f.file}`);
  console.log(summary(r));
  process.exit(r.findings.length ? 1 : 0);
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(2);
  });
}

module.exports = { fuzz, summary };
