'use strict';

// Findings: deduplicated by signature (kind + normalized reason), the first input of each
// saved as fuzz/findings/<kind>-<hash>.json (target, input, seed, error).

const fs = require('node:fs');
const path = require('node:path');

const DIR = path.join(__dirname, 'findings');

class Findings {
  constructor({ dir = DIR, save = true, seed } = {}) {
    this.dir = dir;
    this.save = save;
    this.seed = seed;
    this.bySignature = new Map();
  }

  add(f) {
    const known = this.bySignature.get(f.signature);
    if (known) {
      known.count++;
      return false;
    }
    const record = {
      kind: f.kind,
      target: f.target,
      signature: f.signature,
      seed: this.seed,
      index: f.meta?.index,
      input: f.input,
      detail: f.detail,
      error: {
        name: f.name,
        message: f.message,
        operation: f.operation,
        phase: f.phase,
        signal: f.signal,
        exitCode: f.exitCode,
        stack: f.stack,
        stderr: f.stderr,
        ...f.extra,
      },
      previous: f.previous,
      count: 1,
    };
    record.file = path.join(this.dir, `${f.kind}-${f.hash}.json`);
    this.bySignature.set(f.signature, record);
    if (this.save) {
      fs.mkdirSync(this.dir, { recursive: true });
      fs.writeFileSync(record.file, JSON.stringify(record, null, 1) + '\n');
    }
    return true;
  }

  get list() {
    return [...this.bySignature.values()];
  }
}

module.exports = { Findings, DIR };
