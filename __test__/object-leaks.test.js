'use strict';

// Every GstObject a create → connect → close cycle makes (webrtcbin and its transports,
// our send/receive chains, pads, buses, tasks) is finalized: counted with GStreamer's
// leaks tracer between two checkpoints (SIGUSR2 with GST_LEAKS_TRACER_SIG set), in a child
// process so the tracer is loaded before GStreamer initializes. A connection that keeps an
// element, a pad or a GstObject reference alive after close() fails this; memory growth
// that is not ours (glibc arenas, libnice/GnuTLS per-thread state, docs/performance.md)
// does not.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const CYCLES = 20;

const script = `
  const { ToneSource } = require(${JSON.stringify(path.join(__dirname, '..', 'dist'))});
  const { createPeer, connect } = require(${JSON.stringify(path.join(__dirname, 'helpers', 'peers'))});
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const { nonstandard } = require(${JSON.stringify(path.join(__dirname, '..', 'dist'))});
  // Every cycle runs the whole media path (B decodes audio) before closing, so the warm-up
  // cycles instantiate every element class a measured cycle uses: a class's pad templates,
  // made once when the class is first instantiated, then live for the process, and a
  // decoder first made in a measured cycle (when close() came before any audio in the
  // warm-up) read as 2–9 "leaked" GstPadTemplates in about half the runs.
  async function cycle(tone) {
    const a = createPeer();
    const b = createPeer();
    let sink;
    try {
      a.addTrack(tone.track);
      const heard = new Promise((resolve) => {
        b.ontrack = ({ track }) => {
          sink = new nonstandard.RTCAudioSink(track);
          sink.ondata = () => resolve();
        };
      });
      await connect(a, b);
      await heard;
    } finally {
      sink?.stop();
      a.close();
      b.close();
    }
  }
  async function settle() {
    for (let i = 0; i < 3; i++) { global.gc(); await sleep(300); }
  }
  (async () => {
    const tone = new ToneSource({ frequency: 440 });
    // Objects made once per process (plugin features, the clock, pad templates) come first.
    for (let i = 0; i < 3; i++) await cycle(tone);
    await settle();
    process.kill(process.pid, 'SIGUSR2');
    await sleep(500);
    for (let i = 0; i < ${CYCLES}; i++) await cycle(tone);
    tone.stop();
    await settle();
    process.kill(process.pid, 'SIGUSR2');
    // Objects freed after that checkpoint (DTLS connections are finalized a little later)
    // are listed as removed at the next one.
    await sleep(2000);
    await settle();
    process.kill(process.pid, 'SIGUSR2');
    await sleep(500);
    process.exit(0);
  })().catch((e) => { console.error(e); process.exit(2); });
`;

test(`${CYCLES} create/connect/close cycles leave no GstObject alive (leaks tracer)`, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gst-leaks-'));
  const log = path.join(dir, 'leaks.log');
  try {
    const res = spawnSync(process.execPath, ['--expose-gc', '-e', script], {
      encoding: 'utf8',
      timeout: 120000,
      env: {
        ...process.env,
        GST_TRACERS: 'leaks(filters=GstObject)',
        GST_LEAKS_TRACER_SIG: '1',
        GST_DEBUG: 'GST_TRACER:7,leaks:7',
        GST_DEBUG_FILE: log,
        GST_DEBUG_NO_COLOR: '1',
      },
    });
    expect(res.signal).toBeNull();
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
    // Each checkpoint lists the objects created since the previous one, then those removed.
    const added = new Map();
    const removed = new Map();
    let checkpoints = 0;
    let created = 0;
    for (const line of fs.readFileSync(log, 'utf8').split('\n')) {
      if (line.includes('listing objects created since last checkpoint')) checkpoints++;
      const m = /object-(added|removed), type-name=\(string\)(\w+), address=\(gpointer\)(0x[0-9a-f]+)/.exec(line);
      if (!m) continue;
      const key = `${m[2]} ${m[3]}`;
      // Objects created after the second checkpoint are not the cycles' (there are none).
      if (m[1] === 'added' && checkpoints === 1) {
        added.set(key, (added.get(key) ?? 0) + 1);
        created++;
      } else if (m[1] === 'removed') {
        removed.set(key, (removed.get(key) ?? 0) + 1);
      }
    }
    expect(checkpoints).toBe(2);
    // A few hundred objects per cycle: the tracer really saw the connections.
    expect(created).toBeGreaterThan(CYCLES * 100);
    const alive = {};
    for (const [key, n] of added) {
      const left = n - (removed.get(key) ?? 0);
      const type = key.split(' ')[0];
      if (left > 0) alive[type] = (alive[type] ?? 0) + left;
    }
    expect(alive).toEqual({});
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 150000);
