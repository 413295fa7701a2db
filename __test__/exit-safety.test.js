'use strict';

// Ending a busy process, and the addon in worker_threads, in child processes of their own (a
// crash there fails the test, not jest). G_DEBUG=fatal-criticals turns any GLib CRITICAL into
// a crash (SIGTRAP), so "no CRITICAL" is checked by the exit status too.

const { spawn } = require('child_process');
const path = require('path');
const { later } = require('./helpers/later');

const FIXTURES = path.join(__dirname, 'fixtures', 'exit');

/**
 * Runs fixtures/exit/`script` with `args`; `onReady(child)` is called when it prints "ready".
 * Resolves with { status, signal, stdout, stderr, afterReadyMs }.
 */
function run(script, args = [], onReady = () => {}) {
  const child = spawn(process.execPath, [path.join(FIXTURES, script), ...args], {
    env: { ...process.env, G_DEBUG: 'fatal-criticals' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  later(() => child.exitCode === null && child.signalCode === null && child.kill('SIGKILL'));
  let stdout = '';
  let stderr = '';
  let readyAt = null;
  child.stdout.on('data', (d) => {
    stdout += d;
    if (readyAt === null && stdout.includes('ready\n')) {
      readyAt = performance.now();
      onReady(child);
    }
  });
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((resolve) => {
    child.on('exit', (status, signal) =>
      resolve({ status, signal, stdout, stderr, afterReadyMs: readyAt === null ? null : performance.now() - readyAt }),
    );
  });
}

const noNativeTrouble = (stderr) => expect(stderr).not.toMatch(/CRITICAL|WARNING \*\*|Segmentation|Aborted|panicked|double free|corrupted/);

describe('a process with 100 connections open, 5 negotiating, DTMF being sent and a mixer mixing ends cleanly', () => {
  test('process.exit(0)', async () => {
    const r = await run('busy-process.js', ['exit']);
    expect({ status: r.status, signal: r.signal, stdout: r.stdout }).toEqual({ status: 0, signal: null, stdout: 'ready\n' });
    expect(r.afterReadyMs).toBeLessThan(10000);
    noNativeTrouble(r.stderr);
  }, 90000);

  test('closing everything, then process.exit(0) while the pipelines are torn down', async () => {
    const r = await run('busy-process.js', ['close']);
    expect({ status: r.status, signal: r.signal, stdout: r.stdout }).toEqual({ status: 0, signal: null, stdout: 'ready\n' });
    expect(r.afterReadyMs).toBeLessThan(10000);
    noNativeTrouble(r.stderr);
  }, 90000);

  test('an uncaught exception', async () => {
    const r = await run('busy-process.js', ['throw']);
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 1, signal: null });
    expect(r.stderr).toContain('Error: uncaught on purpose');
    expect(r.afterReadyMs).toBeLessThan(10000);
    noNativeTrouble(r.stderr);
  }, 90000);

  test('an unhandled rejection', async () => {
    const r = await run('busy-process.js', ['reject']);
    expect({ status: r.status, signal: r.signal }).toEqual({ status: 1, signal: null });
    expect(r.stderr).toContain('Error: unhandled on purpose');
    noNativeTrouble(r.stderr);
  }, 90000);

  test('SIGTERM', async () => {
    const r = await run('busy-process.js', ['signal'], (child) => child.kill('SIGTERM'));
    expect({ status: r.status, signal: r.signal }).toEqual({ status: null, signal: 'SIGTERM' });
    expect(r.afterReadyMs).toBeLessThan(10000);
    noNativeTrouble(r.stderr);
  }, 90000);
});

test('the addon in 8 worker_threads beside the main thread: each call hears its tone; terminating workers mid-call and mid-set-up leaves the main call going', async () => {
  const r = await run('workers.js');
  noNativeTrouble(r.stderr);
  expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
  const report = JSON.parse(r.stdout.trim().split('\n').at(-1));
  expect(report).toEqual({
    main: { before: true, after: true },
    workers: [0, 1, 2, 3].map((i) => ({ i, heard: true })),
    terminated: 8,
  });
}, 90000);
