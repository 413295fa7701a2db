'use strict';

// close() releases everything: repeated create → connect → close cycles do not grow the
// process's threads or file descriptors, and a process may exit with connections open.

const { spawnSync } = require('node:child_process');
const path = require('node:path');
const { ToneSource } = require('../dist');
const { createPeer, connect } = require('./helpers/peers');
const { threadCount, fdCount, waitFor } = require('./helpers/resources');

async function cycle(tone) {
  const a = createPeer();
  const b = createPeer();
  try {
    a.addTrack(tone.track);
    await connect(a, b);
  } finally {
    a.close();
    b.close();
  }
}

test('50 create/connect/close cycles leave no threads or fds behind', async () => {
  const tone = new ToneSource({ frequency: 440 });
  try {
    // Warm up GStreamer's lazily created threads (clock, task pools) and plugin loading.
    for (let i = 0; i < 3; i++) await cycle(tone);
    await new Promise((r) => setTimeout(r, 500));
    const threads0 = threadCount();
    const fds0 = fdCount();
    for (let i = 0; i < 50; i++) await cycle(tone);
    // Streaming threads exit asynchronously after the pipeline reaches NULL.
    await waitFor(() => threadCount() <= threads0 && fdCount() <= fds0, 10000, 100, `threads ≤ ${threads0} and fds ≤ ${fds0}`).catch(() => {});
    expect(threadCount()).toBeLessThanOrEqual(threads0);
    expect(fdCount()).toBeLessThanOrEqual(fds0);
  } finally {
    tone.stop();
  }
}, 180000);

test('a process exits cleanly with connections still open', () => {
  const script = `
    const { GstPeerConnection, ToneSource } = require(${JSON.stringify(path.join(__dirname, '..', 'dist'))});
    const { connect } = require(${JSON.stringify(path.join(__dirname, 'helpers', 'peers'))});
    (async () => {
      const tone = new ToneSource({ frequency: 440 });
      const a = new GstPeerConnection({ iceServers: [], localAddresses: ['127.0.0.1'] });
      const b = new GstPeerConnection({ iceServers: [], localAddresses: ['127.0.0.1'] });
      a.addTrack(tone.track);
      await connect(a, b);
      console.log('connected');
      setTimeout(() => process.exit(0), 300);
    })().catch((e) => { console.error(e); process.exit(2); });
  `;
  const res = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 });
  expect(res.signal).toBeNull();
  expect(res.stdout).toContain('connected');
  expect(res.status).toBe(0);
}, 40000);

test('loading the addon leaves the environment as it was (G_SLICE is set only while GLib loads)', () => {
  const dist = JSON.stringify(path.join(__dirname, '..', 'dist'));
  const script = `require(${dist}); console.log(JSON.stringify(process.env.G_SLICE ?? null));`;
  const run = (env) => spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000, env });
  const { G_SLICE, ...unset } = process.env;
  const plain = run(unset);
  expect(plain.status).toBe(0);
  expect(JSON.parse(plain.stdout.trim())).toBeNull();
  // A value the user chose is theirs to keep (and GLib's to honour).
  const chosen = run({ ...unset, G_SLICE: 'debug-blocks' });
  expect(chosen.status).toBe(0);
  expect(JSON.parse(chosen.stdout.trim())).toBe('debug-blocks');
}, 40000);
