'use strict';

// Replays a datagram-target finding (rtp, ice-spray) with its history: every batch the
// source/connection took before (error.history) and then the finding's own batch, in one
// fresh worker, in order. Usage: node fuzz/replay-history.js fuzz/findings/<file>.json
// Prints whether the finding's kind comes back.

const fs = require('node:fs');
const { Pool } = require('./pool');

async function main() {
  const record = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
  const history = record.error.history ?? record.detail?.history ?? [];
  const got = [];
  const pool = new Pool({ workers: 1, onFinding: (f) => got.push(f) });
  await pool.start();
  try {
    for (const index of [...history, record.input.index]) {
      await pool.run(0, { ...record.input, index });
      if (got.length) break;
    }
  } finally {
    await pool.stop();
  }
  const same = got.filter((f) => f.kind === record.kind);
  console.log(`replay of ${history.length} earlier batches + the finding's: ${same.length ? `REPRODUCED (${same[0].message})` : `not reproduced (${got.map((f) => f.kind).join(', ') || 'no finding'})`}`);
  process.exit(same.length ? 1 : 0);
}

main().catch((e) => (console.error(e), process.exit(2)));
