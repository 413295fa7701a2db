'use strict';

// The short soak: bench/soak.js (npm run soak runs it for 60 minutes) for 3 minutes with
// calls ending and starting continuously, in a process of its own so its RSS, threads and
// fds are the calls' alone. Its gates: 0 dropped calls, every call's tone right at its end,
// on-time audio ≥ 99.9 %, threads and fds back to idle after the last call, RSS after warm-up
// growing by less than a leaked call would cost. 8 calls at once, npm run soak's default (10 held
// 99.99 % on this machine: docs/performance.md).

const { spawn } = require('child_process');
const path = require('path');
const { later } = require('./helpers/later');

test('3 minutes of calls ending and starting: none dropped, audio on time, no growth', async () => {
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'bench', 'soak.js')], {
    env: { ...process.env, SOAK_MINUTES: '3', SOAK_PAIRS: '8', SOAK_WARMUP_S: '60', SOAK_SEED: '7', G_DEBUG: 'fatal-criticals' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  later(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const [status, signal] = await new Promise((resolve) => child.on('exit', (...r) => resolve(r)));
  const result = JSON.parse(stdout.trim().split('\n').at(-1) || '{}');
  console.log(`soak: ${JSON.stringify(result)}`);
  expect(stderr).not.toMatch(/CRITICAL|Segmentation|panicked/);
  expect({ status, signal, failures: result.failures }).toEqual({ status: 0, signal: null, failures: [] });
  expect(result.calls).toBeGreaterThanOrEqual(30);
}, 300000);
