'use strict';

// The fuzzer's short run (fuzz/README.md): a fixed seed and a fixed number of inputs per
// target, in worker children started with G_DEBUG=fatal-criticals, must give no finding
// (no abort, crash, CRITICAL, hang, event-loop stall, non-W3C error, lost call audio or dead
// UdpRtpSource). Then every kept regression input (fuzz/regressions/*.json) is replayed on
// fresh connections through the same child-process harness and must give no finding either.
// A finding's input is saved under fuzz/findings/ (see fuzz/minimize.js to shrink it).

const fs = require('node:fs');
const path = require('node:path');
const { fuzz, summary } = require('../fuzz/run');
const { Pool } = require('../fuzz/pool');

// Fixed: the same inputs on every run (about a minute on two cores).
const SEED = 'npm-test-1';
const MESSAGES = { 'remote-sdp': 3000, 'local-sdp': 2000, candidate: 4000, 'ice-spray': 120, rtp: 200 };

const describeFinding = (f) => `${f.kind} in ${f.target}: ${f.error.message} (${f.file})`;

test('fixed-seed fuzz run finds nothing', async () => {
  const r = await fuzz({ seed: SEED, messages: MESSAGES, workers: 2, log: () => {} });
  console.log(summary(r));
  expect(r.total).toBeGreaterThan(50000);
  expect(r.findings.map(describeFinding)).toEqual([]);
}, 400000);

const REGRESSIONS = path.join(__dirname, '..', 'fuzz', 'regressions');
const files = fs.existsSync(REGRESSIONS) ? fs.readdirSync(REGRESSIONS).filter((f) => f.endsWith('.json')).sort() : [];

// Kept inputs that reproduced on their own before their fix (fuzz/minimize.js --write, or
// written by hand from a finding; each file says why in `why`).
describe('fuzz regressions replay without a finding', () => {
  test('the regression inputs are there', () => expect(files.length).toBeGreaterThan(0));

  let pool;
  const found = [];
  beforeAll(async () => {
    pool = new Pool({ workers: 1, fresh: true, onFinding: (f) => found.push(f) });
    await pool.start();
  });
  afterAll(() => pool?.stop());

  test.each(files)('%s', async (file) => {
    const { input, history = [] } = JSON.parse(fs.readFileSync(path.join(REGRESSIONS, file), 'utf8'));
    found.length = 0;
    // A datagram finding that needs the batches its source took before (fuzz/replay-history.js:
    // each batch followed by the worker's check, on one source) replays them in order on a
    // pool of its own that keeps the source between inputs.
    if (history.length) {
      const own = new Pool({ workers: 1, onFinding: (f) => found.push(f) });
      await own.start();
      try {
        for (const index of [...history, input.index]) {
          const r = await own.run(0, { ...input, index });
          expect(r.died).toBe(false);
          if (found.length) break;
        }
      } finally {
        await own.stop();
      }
      expect(found.map((f) => `${f.kind}: ${f.message}`)).toEqual([]);
      return;
    }
    const r = await pool.run(0, input);
    expect(found.map((f) => `${f.kind}: ${f.message}${f.stderr ? ` — ${f.stderr.split('\n').find((l) => /CRITICAL|ERROR|assert/i.test(l)) ?? ''}` : ''}`)).toEqual([]);
    expect(r.died).toBe(false);
  }, 60000);
});
