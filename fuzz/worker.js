'use strict';

// A fuzz worker: a child process (started by fuzz/pool.js with G_DEBUG=fatal-criticals, so a
// GLib CRITICAL aborts it) that runs inputs one after another, as the parent sends them over
// IPC, and reports each outcome. Connections are reused while the state allows (a rejected
// setRemoteDescription leaves the connection as it was) and replaced otherwise.
//
// What it reports as a finding (the parent also sees aborts, crashes and hangs):
// - a rejection that is not a DOMException with a W3C name or a TypeError ('non-w3c-error'),
// - a rejected operation that changed the signaling state ('state'),
// - an uncaught exception or unhandled rejection ('uncaught'; the worker then exits),
// - the event loop stalled longer than FUZZ_STALL_MS ('stall'),
// - an established call that no longer carries its tone after datagrams were sprayed at its
//   ICE ports ('media-lost'), a UdpRtpSource that no longer receives valid RTP ('rtp-dead').

const dgram = require('node:dgram');
const timing = require('./native-timing'); // before ../dist: it wraps the native classes
const { GstPeerConnection, ToneSource, UdpRtpSource, nonstandard } = require('../dist');
const { Rng } = require('./rng');
const { decode } = require('./mutate/candidate');
const { datagram } = require('./mutate/datagram');
const rtp = require('./mutate/rtp');
const { ToneMonitor } = require('./tone');

const CONFIG = { iceServers: [], localAddresses: ['127.0.0.1'] };
const STALL_MS = Number(process.env.FUZZ_STALL_MS || 3000);
const W3C_NAMES = new Set([
  'InvalidStateError', 'InvalidAccessError', 'OperationError', 'InvalidModificationError', 'NotSupportedError',
  'SyntaxError', 'NotFoundError', 'InvalidCharacterError', 'DataError', 'NotAllowedError', 'AbortError', 'TimeoutError',
  'NotReadableError', 'RangeError', 'IndexSizeError', 'DataCloneError', 'EncodingError', 'QuotaExceededError',
]);

let current = null; // { id, phase }

function send(msg) {
  if (process.connected) process.send(msg);
}

function finding(kind, err, extra = {}) {
  send({
    type: 'finding',
    id: current?.id,
    kind,
    phase: current?.phase,
    name: err?.name ?? (err?.constructor?.name),
    message: String(err?.message ?? err),
    stack: err?.stack ? String(err.stack).split('\n').slice(0, 6).join('\n') : undefined,
    // For the long-lived datagram targets: the batches this connection/source took before.
    extra: { ...extra, history: current?.history },
  });
}

process.on('uncaughtException', (err) => {
  finding('uncaught', err);
  setTimeout(() => process.exit(70), 50);
});
process.on('unhandledRejection', (err) => {
  finding('uncaught', err, { unhandledRejection: true });
  setTimeout(() => process.exit(70), 50);
});

// Event-loop stall watchdog. Where the main thread's time went over the stalled interval
// (/proc): `mainThread.cpuMs` on a CPU (JS, GC, or a native call computing), `runQueueMs`
// runnable but waiting for a CPU (machine load), the rest asleep (blocked: a lock, a join,
// I/O; `majorFaults`: page faults that read the disk); `stealMs`: time the hypervisor gave
// the VM's CPUs to others (all CPUs summed). `nativeCalls`: the synchronous native calls
// over 20 ms that ended in it (from ./native-timing).
const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;
const STAT = `/proc/self/task/${process.pid}/stat`;
function schedstat() {
  try {
    const fs = require('node:fs');
    const [run, wait] = fs.readFileSync(SCHEDSTAT, 'utf8').split(' ').map(Number);
    const stat = fs.readFileSync(STAT, 'utf8');
    const majflt = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[9]);
    const steal = Number(fs.readFileSync('/proc/stat', 'utf8').split('\n', 1)[0].trim().split(/\s+/)[8]) * 10;
    return { run, wait, majflt, steal };
  } catch {
    return null;
  }
}
let lastTick = Date.now();
let lastSched = schedstat();
setInterval(() => {
  const now = Date.now();
  const lag = now - lastTick - 100;
  const sched = schedstat();
  const mainThread = sched && lastSched ? { cpuMs: Math.round((sched.run - lastSched.run) / 1e6), runQueueMs: Math.round((sched.wait - lastSched.wait) / 1e6), majorFaults: sched.majflt - lastSched.majflt } : undefined;
  const stealMs = sched && lastSched ? sched.steal - lastSched.steal : undefined;
  lastTick = now;
  lastSched = sched;
  if (lag > STALL_MS) finding('stall', new Error(`event loop stalled ${lag} ms`), { lagMs: lag, mainThread, stealMs, nativeCalls: timing.slowCalls(now - lag - 200) });
}, 100).unref();

function phase(p) {
  if (current) current.phase = p;
}

function isW3C(e) {
  if (e instanceof TypeError || e?.constructor?.name === 'TypeError') return true;
  return (e instanceof DOMException || e?.constructor?.name === 'DOMException') && W3C_NAMES.has(e.name);
}

let dirty = false; // an unexpected error: replace every reused connection

/** Awaits `fn()`; true if it succeeded, false if it rejected with a W3C error; reports the rest. */
async function attempt(name, fn) {
  phase(name);
  try {
    await fn();
    return true;
  } catch (e) {
    if (!isW3C(e)) {
      finding('non-w3c-error', e, { operation: name });
      dirty = true;
    }
    return false;
  }
}

/**
 * attempt(name, fn) against the rule that a rejected call leaves `pc`'s signalingState as it
 * was (`anyOutcome`: a call that may never change it, accepted or not). A change is a 'state'
 * finding (`extra` added to it). Resolves with whether the call was accepted and whether the
 * state changed against the rule.
 */
async function attemptKeepingState(pc, name, fn, { anyOutcome = false, extra } = {}) {
  const before = pc.signalingState;
  const ok = await attempt(name, fn);
  const changed = (anyOutcome || !ok) && pc.signalingState !== before;
  if (changed) finding('state', new Error(`${anyOutcome ? '' : 'rejected '}${name} changed signalingState ${before} → ${pc.signalingState}`), extra);
  return { ok, changed };
}

function creds(sdp) {
  return {
    ufrag: /a=ice-ufrag:(\S+)/.exec(sdp)?.[1],
    pwd: /a=ice-pwd:(\S+)/.exec(sdp)?.[1],
    fingerprint: /a=fingerprint:(\S+ \S+)/.exec(sdp)?.[1],
  };
}

/** `text` with the seed's credentials replaced by the live peer's (`from` → `to`). */
function rebase(text, from, to) {
  let out = text;
  for (const k of ['ufrag', 'pwd', 'fingerprint']) {
    if (from?.[k] && to?.[k]) out = out.split(from[k]).join(to[k]);
  }
  return out;
}

// ------------------------------------------------------------------ connection pools

const live = new Map(); // key → { pcs: [...], uses, ...extra }

function drop(key) {
  const e = live.get(key);
  if (!e) return;
  live.delete(key);
  phase('close');
  for (const pc of e.pcs) pc.close();
  for (const s of e.stops ?? []) s();
}

function dropAll() {
  for (const k of [...live.keys()]) drop(k);
  dirty = false;
}

async function reuse(key, make, maxUses = 200) {
  if (dirty) dropAll();
  let e = live.get(key);
  if (e && e.uses >= maxUses) {
    drop(key);
    e = undefined;
  }
  if (!e) {
    phase(`setup ${key}`);
    e = await make();
    e.uses = 0;
    live.set(key, e);
  }
  e.uses++;
  return e;
}

function peer(n) {
  const pc = new GstPeerConnection(CONFIG);
  for (let i = 0; i < n; i++) pc.addTransceiver('audio');
  return pc;
}

async function established(k) {
  const a = peer(k);
  const t = new GstPeerConnection(CONFIG);
  await a.setLocalDescription();
  await t.setRemoteDescription(a.localDescription);
  await t.setLocalDescription();
  await a.setRemoteDescription(t.localDescription);
  return { pcs: [a, t], a, t };
}

// ------------------------------------------------------------------ targets

const targets = {
  // Remote SDP into setRemoteDescription, then (when accepted) setLocalDescription().
  async 'remote-sdp'(input) {
    const k = input.transceivers ?? 1;
    const key = `remote/${input.setup}/${k}`;
    const e = await reuse(key, async () => {
      if (input.setup === 'fresh') {
        const t = new GstPeerConnection(CONFIG);
        return { pcs: [t], t };
      }
      if (input.setup === 'local-offer') {
        const t = peer(k);
        await t.setLocalDescription();
        return { pcs: [t], t };
      }
      return established(k);
    });
    const { t } = e;
    let sdp = input.sdp;
    if (input.rebase && e.a) sdp = rebase(sdp, input.rebase, creds(e.a.localDescription.sdp));
    const { ok, changed } = await attemptKeepingState(t, 'setRemoteDescription', () => t.setRemoteDescription({ type: input.type, sdp }));
    if (!ok) {
      if (changed) drop(key);
      return 'rejected';
    }
    let outcome = 'accepted';
    if (t.signalingState === 'have-remote-offer') {
      const answered = await attempt('setLocalDescription(answer)', () => t.setLocalDescription());
      outcome = answered ? 'answered' : 'answer-rejected';
      if (answered) {
        await attempt('getStats', () => t.getStats());
        // A renegotiation from our side reads the accepted description again (webrtcbin 1.22
        // asserted in sdp_media_from_transceiver on an accepted offer with duplicate mids).
        await attempt('createOffer', () => t.createOffer());
      }
    }
    drop(key);
    return outcome;
  },

  // Munged local SDP into setLocalDescription; an accepted offer is then answered by a peer.
  async 'local-sdp'(input) {
    const k = input.transceivers ?? 1;
    const key = `local/${input.setup}/${k}/${input.remoteKey ?? ''}`;
    const e = await reuse(key, async () => {
      const t = peer(k);
      if (input.setup === 'answer') await t.setRemoteDescription({ type: 'offer', sdp: input.remoteOffer });
      const own = input.setup === 'answer' ? await t.createAnswer() : await t.createOffer();
      return { pcs: [t], t, own: creds(own.sdp) };
    });
    const { t } = e;
    const sdp = rebase(input.sdp, input.rebase, e.own);
    const { ok, changed } = await attemptKeepingState(t, 'setLocalDescription', () => t.setLocalDescription({ type: input.setup, sdp }));
    if (!ok) {
      if (changed) drop(key);
      return 'rejected';
    }
    let outcome = 'accepted';
    if (input.setup === 'offer') {
      const b = new GstPeerConnection(CONFIG);
      e.pcs.push(b);
      if (await attempt('peer setRemoteDescription', () => b.setRemoteDescription(t.localDescription))) {
        if (await attempt('peer setLocalDescription', () => b.setLocalDescription())) {
          outcome = (await attempt('setRemoteDescription(answer)', () => t.setRemoteDescription(b.localDescription))) ? 'negotiated' : 'answer-rejected';
        }
      }
    }
    drop(key);
    return outcome;
  },

  // addIceCandidate with hostile candidates and init dictionaries.
  async candidate(input) {
    const key = `cand/${input.setup}/${input.remoteKey}`;
    const e = await reuse(key, async () => {
      const t = new GstPeerConnection(CONFIG);
      await t.setRemoteDescription({ type: 'offer', sdp: input.remoteOffer });
      if (input.setup === 'stable') await t.setLocalDescription();
      return { pcs: [t], t };
    }, 20);
    const { t } = e;
    let accepted = 0;
    for (let i = 0; i < input.inits.length; i++) {
      current.index = i;
      const init = decode(input.inits[i]);
      const { ok } = await attemptKeepingState(t, 'addIceCandidate', () => t.addIceCandidate(init), { anyOutcome: true, extra: { candidateIndex: i } });
      if (ok) accepted++;
    }
    return `accepted ${accepted}/${input.inits.length}`;
  },

  // Datagrams sprayed at an established call's ICE ports while it carries a tone.
  async 'ice-spray'(input) {
    const e = await reuse('spray', async () => {
      const tone = new ToneSource({ frequency: 600, amplitude: 0.5 });
      const a = new GstPeerConnection(CONFIG);
      const b = new GstPeerConnection(CONFIG);
      a.addTrack(tone.track);
      const monitor = new ToneMonitor(600);
      let sink;
      b.ontrack = ({ track }) => {
        sink = new nonstandard.RTCAudioSink(track);
        sink.ondata = monitor.ondata;
      };
      a.onicecandidate = ({ candidate }) => candidate && b.addIceCandidate(candidate).catch(() => {});
      b.onicecandidate = ({ candidate }) => candidate && a.addIceCandidate(candidate).catch(() => {});
      const connected = new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('spray setup: not connected in 10 s')), 10000);
        b.onconnectionstatechange = () => b.connectionState === 'connected' && (clearTimeout(timer), resolve());
      });
      await a.setLocalDescription();
      await b.setRemoteDescription(a.localDescription);
      await b.setLocalDescription();
      await a.setRemoteDescription(b.localDescription);
      await connected;
      await waitTone(monitor, Date.now(), 5000, 'spray setup');
      const socket = dgram.createSocket('udp4');
      await new Promise((r) => socket.bind(0, '127.0.0.1', r));
      const ports = async (pc) => {
        const stats = await pc.getStats();
        const out = [];
        for (const s of stats.values()) if (s.type === 'local-candidate' && s.port) out.push(s.port);
        return out;
      };
      const portOf = (sdp) => [...sdp.matchAll(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/gi)].map((m) => Number(m[1]));
      const aPorts = [...new Set([...portOf(a.localDescription.sdp), ...(await ports(a))])];
      const bPorts = [...new Set([...portOf(b.localDescription.sdp), ...(await ports(b))])];
      const ca = creds(a.localDescription.sdp);
      const cb = creds(b.localDescription.sdp);
      return {
        pcs: [a, b],
        stops: [() => sink?.stop(), () => tone.stop(), () => socket.close()],
        monitor,
        socket,
        victims: [
          { port: aPorts, creds: { ufrag: ca.ufrag, pwd: ca.pwd, remoteUfrag: cb.ufrag, remotePwd: cb.pwd } },
          { port: bPorts, creds: { ufrag: cb.ufrag, pwd: cb.pwd, remoteUfrag: ca.ufrag, remotePwd: ca.pwd } },
        ],
      };
    }, 400);
    if (!e.victims.every((v) => v.port.length)) throw new Error('spray: no ICE port found');
    e.history ??= [];
    current.history = [...e.history];
    e.history.push(input.index);
    let batch;
    if (input.datagrams) {
      // A replay: the recorded datagrams, at the same victim (0: the sender, 1: the receiver).
      batch = input.datagrams.map((d) => ({ victim: d.victim, port: e.victims[d.victim].port[0], data: Buffer.from(d.data, 'base64') }));
    } else {
      const rng = new Rng(input.seed, `ice-spray/${input.index}`);
      batch = [];
      for (let i = 0; i < input.count; i++) {
        const victim = rng.int(2);
        const v = e.victims[victim];
        batch.push({ victim, port: rng.pick(v.port), data: datagram(rng, v.creds) });
      }
      phase('detail');
      await detail({ history: current.history, datagrams: batch.map((d) => ({ victim: d.victim, data: d.data.toString('base64') })) });
    }
    phase('spray');
    const start = Date.now();
    for (let i = 0; i < batch.length; i++) {
      await new Promise((r) => e.socket.send(batch[i].data, batch[i].port, '127.0.0.1', () => r()));
    }
    phase('tone check');
    await new Promise((r) => setTimeout(r, 60));
    await waitTone(e.monitor, start + 40, 3000, 'after spray');
    return 'tone ok';
  },

  // RTP into a UdpRtpSource.
  async rtp(input) {
    const codec = input.codec;
    const e = await reuse(`rtp/${codec}`, async () => {
      const src = new UdpRtpSource({ address: '127.0.0.1', port: 0, codec });
      const sink = new nonstandard.RTCAudioSink(src.track);
      sink.ondata = () => {};
      const socket = dgram.createSocket('udp4');
      await new Promise((r) => socket.bind(0, '127.0.0.1', r));
      return { pcs: [], src, socket, stops: [() => sink.stop(), () => src.stop(), () => socket.close()], stream: new rtp.Stream(new Rng(input.seed, `rtp-base/${codec}`), codec), t0: Date.now() };
    }, 300);
    e.history ??= [];
    current.history = [...e.history];
    e.history.push(input.index);
    let batch;
    if (input.datagrams) batch = input.datagrams.map((d) => Buffer.from(d, 'base64'));
    else {
      const rng = new Rng(input.seed, `rtp/${input.index}`);
      const stream = new rtp.Stream(rng, codec);
      batch = [];
      for (let i = 0; i < input.count; i++) batch.push(rtp.packet(rng, stream));
      phase('detail');
      await detail({ history: current.history, datagrams: batch.map((d) => d.toString('base64')) });
    }
    phase('send');
    for (const d of batch) await new Promise((r) => e.socket.send(d, e.src.port, '127.0.0.1', () => r()));
    // Liveness: valid packets of one stream are still received.
    phase('liveness');
    const before = e.src.stats.packetsReceived;
    const deadline = Date.now() + 3000;
    for (;;) {
      // The valid stream's timestamps follow the wall clock, as a real sender's do.
      e.stream.ts = (e.stream.ts0 + Math.round(((Date.now() - e.t0) * rtp.CODECS[codec].clock) / 1000)) >>> 0;
      for (const d of rtp.valid(e.stream, 3)) await new Promise((r) => e.socket.send(d, e.src.port, '127.0.0.1', () => r()));
      await new Promise((r) => setTimeout(r, 20));
      if (e.src.stats.packetsReceived > before) break;
      if (Date.now() > deadline) {
        finding('rtp-dead', new Error(`UdpRtpSource(${codec}) received no valid packet within 3 s after the batch`), { stats: e.src.stats, batchesBefore: e.uses - 1 });
        drop(`rtp/${codec}`);
        break;
      }
    }
    return 'alive';
  },
};

async function waitTone(monitor, since, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const p = monitor.power(100, since);
    if (p !== null && p > 0.01) return;
    if (Date.now() > deadline) {
      finding('media-lost', new Error(`${what}: no 600 Hz tone in the received audio for ${timeoutMs} ms (power ${p})`));
      dirty = true;
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Sends the concrete datagrams to the parent (they are the input on record) before they are used. */
let ackWaiter = null;
function detail(d) {
  return new Promise((resolve) => {
    ackWaiter = resolve;
    send({ type: 'detail', id: current.id, detail: d });
  });
}

process.on('message', async (msg) => {
  if (msg.type === 'ack') {
    const w = ackWaiter;
    ackWaiter = null;
    w?.();
    return;
  }
  if (msg.type === 'corpus') {
    current = { id: 'corpus', phase: 'corpus' };
    send({ type: 'corpus', corpus: await require('./corpus').build() });
    current = null;
    return;
  }
  if (msg.type === 'fresh') {
    dropAll();
    send({ type: 'fresh-done' });
    return;
  }
  if (msg.type !== 'run') return;
  current = { id: msg.id, phase: 'start' };
  if (msg.fresh) dropAll();
  let outcome;
  try {
    outcome = await targets[msg.input.target](msg.input);
  } catch (err) {
    // Setup failed (not an input's fault unless it is not W3C): report and start over.
    if (!isW3C(err)) finding('harness-error', err);
    dropAll();
    outcome = 'setup-failed';
  }
  const id = current.id;
  current = null;
  send({ type: 'done', id, outcome });
});

send({ type: 'ready' });
