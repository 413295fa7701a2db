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
