'use strict';

// Closing many connections with operations still queued inside webrtcbin: GLib stays quiet,
// nothing is left unhandled, createOffer (a chained operation) never settles (webrtc-pc
// §4.4.1.2) and getStats settles.
// Runs in a child process because GLib prints its warnings to the process's stderr.

const { spawnSync } = require('node:child_process');
const path = require('node:path');

const N = 200;

// createOffer and getStats are queued on webrtcbin's operation thread, then close() stops
// that thread at once; before src/in_flight.rs webrtcbin freed the queued operations'
// promises unanswered and GLib printed `gst_promise_free: runtime check failed` (41 times
// in 400 operations on the 2-core VM).
const script = `
  const { GstPeerConnection } = require(${JSON.stringify(path.join(__dirname, '..', 'dist'))});
  let unhandled = 0;
  process.on('unhandledRejection', (e) => { unhandled++; console.log('unhandled: ' + (e && e.message)); });
  (async () => {
    const stats = [];
    let offersSettled = 0;
    for (let i = 0; i < ${N}; i++) {
      const pc = new GstPeerConnection({ iceServers: [], localAddresses: ['127.0.0.1'] });
      pc.addTransceiver('audio');
      pc.createOffer().then(() => offersSettled++, () => offersSettled++);
      stats.push(pc.getStats().then(() => 'ok', (e) => e.name));
      pc.close();
    }
    const outcomes = {};
    for (const r of await Promise.all(stats)) outcomes[r] = (outcomes[r] || 0) + 1;
    // Let anything GLib or Node would report late happen: unhandled rejections, and the
    // finalizers of the closed connections, which drop whatever promises they still hold.
    for (let i = 0; i < 3; i++) {
      global.gc();
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log(JSON.stringify({ outcomes, offersSettled, unhandled }));
    process.exit(unhandled ? 3 : 0);
  })().catch((e) => { console.error(e); process.exit(2); });
`;

test(`closing ${N} connections with createOffer and getStats in flight is silent; createOffer never settles, getStats does`, () => {
  const res = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 120000 });
  expect(res.signal).toBeNull();
  const glib = res.stderr.split('\n').filter((l) => /runtime check failed|CRITICAL|WARNING/.test(l));
  expect(glib).toEqual([]);
  expect(res.status).toBe(0);
  const { outcomes, offersSettled, unhandled } = JSON.parse(res.stdout.trim().split('\n').pop());
  expect(unhandled).toBe(0);
  expect(offersSettled).toBe(0);
  // close() comes right after each request: getStats rejects unless it has completed.
  expect(Object.values(outcomes).reduce((a, b) => a + b, 0)).toBe(N);
  expect(Object.keys(outcomes).filter((k) => k !== 'ok' && k !== 'InvalidStateError')).toEqual([]);
}, 150000);
