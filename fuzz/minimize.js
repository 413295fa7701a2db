'use strict';

// Replays a finding in a fresh worker and shrinks its input (delta debugging, ddmin, over SDP
// lines, candidates or datagrams) to the smallest one that still gives the same finding
// (same kind and signature). Usage: node fuzz/minimize.js fuzz/findings/<file>.json [--write]
// (--write stores the result as fuzz/regressions/<kind>-<hash>.json).

const fs = require('node:fs');
const path = require('node:path');
const { Pool } = require('./pool');
const { Rng } = require('./rng');
const rtp = require('./mutate/rtp');

/** The finding's input as a self-contained replay (datagrams made explicit). */
function replayInput(record) {
  const input = { ...record.input };
  if ((input.target === 'ice-spray' || input.target === 'rtp') && record.detail?.datagrams) input.datagrams = record.detail.datagrams;
  if (input.target === 'rtp') {
    // The batches the source took before (history, or the worker's previous inputs for a
    // death) are regenerated and put in front: one explicit datagram list.
    const before = record.error?.history ?? record.detail?.history ?? (record.previous ?? []).filter((p) => p.input.target === 'rtp' && p.input.codec === input.codec).map((p) => p.input.index);
    const earlier = [];
    for (const index of before) {
      const rng = new Rng(input.seed, `rtp/${index}`);
      const stream = new rtp.Stream(rng, input.codec);
      for (let i = 0; i < input.count; i++) earlier.push(rtp.packet(rng, stream).toString('base64'));
    }
    input.datagrams = [...earlier, ...(input.datagrams ?? [])];
  }
  return input;
}

function parts(input) {
  if (input.target === 'remote-sdp' || input.target === 'local-sdp') {
    const eol = input.sdp.includes('\r\n') ? '\r\n' : input.sdp.includes('\n') ? '\n' : '\r';
    return { items: input.sdp.split(eol), rebuild: (items) => ({ ...input, sdp: items.join(eol) }) };
  }
  if (input.target === 'candidate') return { items: input.inits, rebuild: (items) => ({ ...input, inits: items }) };
  return { items: input.datagrams, rebuild: (items) => ({ ...input, datagrams: items, count: items.length }) };
}

/** Runs `input` once in a fresh worker; resolves the findings it produced. */
async function replay(pool, input) {
  const got = [];
  pool.onFinding = (f) => got.push(f);
  await pool.run(0, input);
  return got;
}

async function minimize(record, { log = console.log, maxTests = 300 } = {}) {
  const pool = new Pool({ workers: 1, fresh: true, hangMs: 20000 });
  await pool.start();
  const same = (fs_) => fs_.some((f) => f.kind === record.kind && f.signature === record.signature);
  let tests = 0;
  try {
    const input = replayInput(record);
    const first = await replay(pool, input);
    if (!same(first)) {
      log(`minimize: does not reproduce on its own (got ${first.map((f) => f.kind).join(', ') || 'nothing'})`);
      return { reproduced: false, input };
    }
    const { items, rebuild } = parts(input);
    let cur = items;
    let n = 2;
    while (cur.length >= 2 && tests < maxTests) {
      const chunk = Math.ceil(cur.length / n);
      let reduced = false;
      for (let i = 0; i < n && tests < maxTests; i++) {
        const complement = [...cur.slice(0, i * chunk), ...cur.slice((i + 1) * chunk)];
        if (!complement.length) continue;
        tests++;
        if (same(await replay(pool, rebuild(complement)))) {
          cur = complement;
          n = Math.max(n - 1, 2);
          reduced = true;
          break;
        }
      }
      if (!reduced) {
        if (n >= cur.length) break;
        n = Math.min(cur.length, n * 2);
      }
    }
    log(`minimize: ${items.length} → ${cur.length} items in ${tests} replays`);
    return { reproduced: true, input: rebuild(cur), tests };
  } finally {
    await pool.stop();
  }
}

async function main() {
  const file = process.argv[2];
  const record = JSON.parse(fs.readFileSync(file, 'utf8'));
  const r = await minimize(record);
  const out = { target: record.input.target, kind: record.kind, signature: record.signature, expect: 'reject with a W3C error or succeed; no crash, abort, CRITICAL, hang or non-W3C error', input: r.input };
  console.log(JSON.stringify(out, null, 1));
  if (process.argv.includes('--write') && r.reproduced) {
    const dest = path.join(__dirname, 'regressions', path.basename(file));
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    fs.writeFileSync(dest, JSON.stringify(out, null, 1) + '\n');
    console.log(`minimize: wrote ${dest}`);
  }
}

if (require.main === module) main().catch((e) => (console.error(e), process.exit(2)));

module.exports = { minimize, replayInput, replay };
