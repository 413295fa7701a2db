'use strict';

// Closing many connections with operations still queued inside webrtcbin: GLib stays quiet
// and every operation's promise settles (rejected with InvalidStateError), none unhandled.
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
    const ops = [];
    for (let i = 0; i < ${N}; i++) {
      const pc = new GstPeerConnection({ iceServers: [], localAddresses: ['127.0.0.1'] });
      pc.addTransceiver('audio');
      ops.push(pc.createOffer().then(() => 'ok', (e) => e.name));
      ops.push(pc.getStats().then(() => 'ok', (e) => e.name));
      pc.close();
    }
    const outcomes = {};
    for (const r of await Promise.all(ops)) outcomes[r] = (outcomes[r] || 0) + 1;
    // Let anything GLib or Node would report late happen: unhandled rejections, and the
    // finalizers of the closed connections, which drop whatever promises they still hold.
    for (let i = 0; i < 3; i++) {
      global.gc();
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log(JSON.stringify({ outcomes, unhandled }));
    process.exit(unhandled ? 3 : 0);
  })().catch((e) => { console.error(e); process.exit(2); });
`;

test(`closing ${N} connections with createOffer and getStats in flight is silent and settles every operation`, () => {
  const res = spawnSync(process.execPath, ['--expose-gc', '-e', script], { encoding: 'utf8', timeout: 120000 });
  expect(res.signal).toBeNull();
  const glib = res.stderr.split('\n').filter((l) => /runtime check failed|CRITICAL|WARNING/.test(l));
  expect(glib).toEqual([]);
  expect(res.status).toBe(0);
  const { outcomes, unhandled } = JSON.parse(res.stdout.trim().split('\n').pop());
  expect(unhandled).toBe(0);
  // close() comes right after each request: JS rejects whatever has not completed.
  expect(Object.values(outcomes).reduce((a, b) => a + b, 0)).toBe(2 * N);
  expect(Object.keys(outcomes).filter((k) => k !== 'ok' && k !== 'InvalidStateError')).toEqual([]);
}, 150000);
