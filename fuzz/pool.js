'use strict';

// The parent side: a pool of worker children (fuzz/worker.js), one per core by default,
// each running many inputs in sequence. Children start with G_DEBUG=fatal-criticals. The
// pool enforces a per-message time limit (no progress → killed as a hang), turns a child's
// death (signal or exit) into a finding for the input it was running, records the findings
// workers report, deduplicates them by signature and restarts dead children.

const { fork } = require('node:child_process');
const crypto = require('node:crypto');
const path = require('node:path');

const WORKER = path.join(__dirname, 'worker.js');
const STDERR_KEEP = 16384;

function normalize(text) {
  return String(text ?? '')
    .replace(/0x[0-9a-f]+/gi, '0x…')
    .replace(/'[^']*'|"[^"]*"/g, '"…"')
    .replace(/\d+/g, 'N')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

/** The line of a dead child's stderr that says why (GLib CRITICAL/ERROR, assertion, panic). */
function reasonLine(stderr) {
  const lines = String(stderr).split('\n');
  const hit = lines.filter((l) => /CRITICAL|ERROR|assert|panicked|Segmentation|Aborted|FATAL|fatal/i.test(l) && !/^\s*$/.test(l));
  return hit.length ? hit[0] : lines.filter((l) => l.trim()).slice(-1)[0] ?? '';
}

function signatureOf(f) {
  const basis = f.signal || f.exitCode !== undefined && f.kind !== 'hang'
    ? `${f.kind}|${normalize(reasonLine(f.stderr))}`
    : `${f.kind}|${f.target}|${f.name ?? ''}|${normalize(f.message)}|${f.operation ?? f.phase ?? ''}`;
  return { basis, hash: crypto.createHash('sha1').update(basis).digest('hex').slice(0, 10) };
}

class Pool {
  /**
   * @param {object} o
   * @param {number} o.workers children to run
   * @param {number} o.hangMs a message without progress for this long is a hang
   * @param {(f: object) => void} o.onFinding called once per finding (not deduplicated)
   * @param {boolean} o.fresh every input on fresh connections (replays, minimisation)
   */
  constructor({ workers = 2, hangMs = 20000, stallMs = 3000, onFinding = () => {}, fresh = false, quiet = false } = {}) {
    this.size = workers;
    this.hangMs = hangMs;
    this.stallMs = stallMs;
    this.onFinding = onFinding;
    this.fresh = fresh;
    this.quiet = quiet;
    this.children = [];
    this.nextId = 1;
    this.restarts = 0;
  }

  start() {
    return Promise.all(Array.from({ length: this.size }, (_, i) => this.#spawn(i)));
  }

  #spawn(slot) {
    return new Promise((resolve) => {
      const child = fork(WORKER, [], {
        env: { ...process.env, G_DEBUG: 'fatal-criticals', FUZZ_STALL_MS: String(this.stallMs) },
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      const w = { slot, child, stderr: '', inflight: null, timer: null, history: [], alive: true, waiters: new Map() };
      this.children[slot] = w;
      child.stderr.on('data', (d) => {
        w.stderr = (w.stderr + d.toString()).slice(-STDERR_KEEP);
      });
      child.on('message', (m) => this.#message(w, m, resolve));
      child.on('close', (code, signal) => this.#died(w, code, signal));
    });
  }

  #message(w, m, onReady) {
    if (m.type === 'ready') {
      onReady?.(w);
      return;
    }
    if (m.type === 'corpus') {
      w.waiters.get('corpus')?.(m.corpus);
      return;
    }
    const job = w.inflight;
    if (!job || (m.id !== undefined && m.id !== job.id && m.id !== 'corpus')) return;
    this.#arm(w);
    if (m.type === 'detail') {
      job.detail = m.detail;
      w.child.send({ type: 'ack' });
    } else if (m.type === 'finding') {
      this.#finding({ ...m, target: job.input.target, input: job.input, detail: job.detail, meta: job.meta, previous: w.history.slice(-2) });
    } else if (m.type === 'done') {
      this.#finish(w, m.outcome);
    }
  }

  #arm(w) {
    clearTimeout(w.timer);
    if (!w.inflight) return;
    w.timer = setTimeout(() => {
      const job = w.inflight;
      if (!job) return;
      job.hung = true;
      w.child.kill('SIGKILL');
    }, this.hangMs);
  }

  #finish(w, outcome) {
    clearTimeout(w.timer);
    const job = w.inflight;
    w.inflight = null;
    if (!job) return;
    w.history.push({ input: job.input, detail: job.detail });
    if (w.history.length > 3) w.history.shift();
    job.resolve({ outcome, ms: Date.now() - job.started, died: job.died ?? false });
  }

  #died(w, code, signal) {
    w.alive = false;
    clearTimeout(w.timer);
    const job = w.inflight;
    if (job) {
      const kind = job.hung ? 'hang' : /CRITICAL/.test(w.stderr) ? 'critical' : signal === 'SIGABRT' ? 'abort' : signal ? 'crash' : 'exit';
      this.#finding({
        kind,
        target: job.input.target,
        input: job.input,
        detail: job.detail,
        meta: job.meta,
        signal: job.hung ? undefined : signal,
        exitCode: job.hung ? undefined : code,
        message: job.hung ? `no progress within ${this.hangMs} ms` : `worker died (${signal ?? `exit ${code}`})`,
        stderr: w.stderr.slice(-4000),
        previous: w.history.slice(-2),
      });
      job.died = true;
    }
    if (this.stopping) {
      if (job) this.#finish(w, 'died');
      return;
    }
    this.restarts++;
    const pending = job;
    w.inflight = null;
    this.#spawn(w.slot).then(() => pending?.resolve({ outcome: 'died', ms: Date.now() - pending.started, died: true }));
  }

  #finding(f) {
    const sig = signatureOf(f);
    this.onFinding({ ...f, signature: sig.basis, hash: sig.hash });
  }

  /** Runs one message on the child in `slot`; resolves { outcome, ms, died }. */
  run(slot, input, meta = {}) {
    const w = this.children[slot];
    return new Promise((resolve) => {
      const job = { id: this.nextId++, input, meta, started: Date.now(), resolve };
      w.inflight = job;
      this.#arm(w);
      w.child.send({ type: 'run', id: job.id, input, fresh: this.fresh });
    });
  }

  /** The seed corpus, built by the child in slot 0. */
  corpus() {
    const w = this.children[0];
    return new Promise((resolve) => {
      w.waiters.set('corpus', resolve);
      w.child.send({ type: 'corpus' });
    });
  }

  async stop() {
    this.stopping = true;
    await Promise.all(
      this.children.map(
        (w) =>
          new Promise((resolve) => {
            if (!w.alive) return resolve();
            w.child.once('close', resolve);
            w.child.kill('SIGKILL');
          }),
      ),
    );
  }
}

module.exports = { Pool, signatureOf, normalize };
