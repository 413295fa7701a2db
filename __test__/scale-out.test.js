'use strict';

// Scale-out (docs/scale-out.md): bridge workers (examples/worker, each a separate Node process)
// behind a real Kamailio with the dispatcher module (examples/worker/kamailio/kamailio.cfg,
// OPTIONS probes every second), called by SIP.js phones on SipTransport over UDP with plain-RTP
// media. Each worker plays its own tone, so a phone tells by ear which worker answered.

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const http = require('http');

const { ToneSource, nonstandard } = require('../dist');
const { startKamailio } = require('./helpers/kamailio');
const { loadSip } = require('./helpers/sip');
const { FrameCollector } = require('./helpers/audio');
const { freePort, sleep, waitFor } = require('./helpers/resources');
const { later } = require('./helpers/later');

const ROOT = path.join(__dirname, '..');
const WORKER = path.join(ROOT, 'examples', 'worker', 'worker.mjs');
const KAMAILIO_CFG = path.join(ROOT, 'examples', 'worker', 'kamailio', 'kamailio.cfg');
const TONES = { w1: 440, w2: 660, w3: 880, w4: 1500 };
const PHONE_TONE = 1250;
const PROBES = [440, 660, 880, 1250, 1500, 2000];
const PLAIN = { rtpProfile: 'RTP/AVP', localAddresses: ['127.0.0.1'] };

let sip;
let gstSip;
let kamailio;
let dir;
const workers = {};
let phoneTone;

/** A PID-tracked worker process; its JSON log lines are kept in `events`. */
async function startWorker(id, { port, env = {} }) {
  const child = spawn(process.execPath, [WORKER], {
    cwd: ROOT,
    env: {
      ...process.env,
      WORKER_ID: id,
      WORKER_SIP_PORT: String(port),
      WORKER_HTTP_PORT: '0',
      WORKER_PROXY: `sip:127.0.0.1:${kamailio.udpPort};transport=udp`,
      WORKER_TONE: String(TONES[id]),
      WORKER_MAX_CALLS: '20',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const w = { id, port, child, events: [], stderr: '' };
  child.stderr.on('data', (d) => (w.stderr = (w.stderr + d).slice(-4000)));
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    try {
      w.events.push({ ...JSON.parse(line), at: Date.now() });
    } catch {
      w.stderr += line;
    }
  });
  w.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })));
  const ready = await waitFor(() => w.events.find((e) => e.event === 'worker.ready'), 20000, 20, `${id} ready (${w.stderr})`);
  w.httpPort = ready.http;
  workers[id] = w;
  return w;
}

function kill(w, signal = 'SIGKILL') {
  try {
    process.kill(w.child.pid, signal);
  } catch {
    // gone
  }
}

function get(w, urlPath) {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: w.httpPort, path: urlPath }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body, type: res.headers['content-type'] }));
    }).on('error', reject);
  });
}

function request(w, method, urlPath, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request({ host: '127.0.0.1', port: w.httpPort, path: urlPath, method, headers: data ? { 'content-type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, body: text }));
    });
    req.on('error', reject);
    req.end(data);
  });
}

/** Prometheus text exposition format: every sample line parsed, a malformed one throws. */
function parsePrometheus(text) {
  const samples = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('# HELP ') || line.startsWith('# TYPE ')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (!m) throw new Error(`not Prometheus text: ${line}`);
    const labels = {};
    for (const [, k, v] of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
    samples.push({ name: m[1], labels, value: Number(m[4]) });
  }
  return samples;
}

function metric(samples, name, labels = {}) {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((n, s) => n + s.value, 0);
}

beforeAll(async () => {
  sip = await loadSip();
  gstSip = await import('../dist/sip/index.mjs');
  phoneTone = new ToneSource({ frequency: PHONE_TONE, amplitude: 0.5 });
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gstpc-scale-'));
  const ports = { w1: await freePort('tcp'), w2: await freePort('tcp') };
  const list = path.join(dir, 'dispatcher.list');
  fs.writeFileSync(list, Object.entries(ports).map(([id, p]) => `1 sip:127.0.0.1:${p} 0 0 duid=${id};maxload=20\n`).join(''));
  kamailio = await startKamailio({ config: KAMAILIO_CFG, defines: [`DISPATCHER_LIST="${list}"`, 'PING_INTERVAL=1', 'INVITE_TIMEOUT=2000'] });
  await Promise.all(Object.entries(ports).map(([id, port]) => startWorker(id, { port })));
  // Both in rotation: the first probes answered 200.
  await sleep(2500);
}, 60000);

afterAll(async () => {
  for (const w of Object.values(workers)) kill(w);
  phoneTone?.stop();
  await kamailio?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

/** A SIP.js phone on SipTransport (UDP) whose calls go through Kamailio (or, `direct`, to their Request-URI), plain RTP. */
async function phone(name, { direct = false } = {}) {
  const handlers = new Map();
  const ua = new sip.UserAgent({
    uri: sip.UserAgent.makeURI(`sip:${name}@127.0.0.1`),
    transportConstructor: gstSip.SipTransport,
    transportOptions: {
      ...(direct ? {} : { server: `sip:127.0.0.1:${kamailio.udpPort};transport=udp` }),
      listen: { udp: { host: '127.0.0.1', port: 0 } },
    },
    logLevel: 'error',
    sessionDescriptionHandlerFactory: gstSip.sessionDescriptionHandlerFactory({ media: () => phoneTone.track, peerConnectionConfiguration: PLAIN }),
  });
  await ua.start();
  later(() => ua.stop());
  return { ua, handlers };
}

function established(session, ms = 15000) {
  return new Promise((resolve, reject) => {
    if (session.state === sip.SessionState.Established) return resolve();
    const timer = setTimeout(() => reject(new Error(`session ${session.state} after ${ms} ms`)), ms);
    session.stateChange.addListener((s) => {
      if (s === sip.SessionState.Established) {
        clearTimeout(timer);
        resolve();
      } else if (s === sip.SessionState.Terminated) {
        clearTimeout(timer);
        reject(Object.assign(new Error('session terminated before it was established'), { terminated: true }));
      }
    });
  });
}

function terminated(session, ms) {
  return waitFor(() => session.state === sip.SessionState.Terminated, ms, 50, 'session terminated');
}

/** A call to the bridge service through Kamailio; resolves with the inviter once established. */
async function callBridge(p, number = '+15550100') {
  const inviter = new sip.Inviter(p.ua, sip.UserAgent.makeURI(`sip:${number}@127.0.0.1:${kamailio.udpPort}`));
  let response;
  await inviter.invite({ requestDelegate: { onReject: (r) => (response = r.message) } });
  try {
    await established(inviter);
  } catch (e) {
    e.response = response;
    throw e;
  }
  return inviter;
}

/** Which worker's tone the phone hears on this call (null when it hears none of them in the second after). */
async function whoAnswered(inviter) {
  const collector = new FrameCollector();
  const sink = new nonstandard.RTCAudioSink(await inviter.sessionDescriptionHandler.waitForRemoteTrack());
  sink.ondata = collector.push;
  try {
    await waitFor(() => collector.durationMs >= 1200, 10000, 50, '1.2 s of audio');
    // The worker whose tone is in every 200 ms window of the last second, against the others.
    for (const [id, f] of Object.entries(TONES)) {
      const r = collector.toneOverWindows(f, 200, PROBES.filter((x) => x !== f), 1000);
      if (r.ok && r.windows.length >= 5) return id;
    }
    return null;
  } finally {
    sink.stop();
  }
}

function callsOf(w) {
  return get(w, '/calls').then((r) => JSON.parse(r.body));
}

async function hangUpAll(sessions) {
  await Promise.all(sessions.filter((s) => s.state === sip.SessionState.Established).map((s) => s.bye().catch(() => {})));
  await Promise.all(sessions.map((s) => terminated(s, 10000).catch(() => {})));
}

test('20 calls through the dispatcher are spread over both workers; a sample carries each worker’s audio; /metrics counts them', async () => {
  const p = await phone('alice');
  const before = { w1: parsePrometheus((await get(workers.w1, '/metrics')).body), w2: parsePrometheus((await get(workers.w2, '/metrics')).body) };
  const sessions = [];
  for (let i = 0; i < 20; i++) sessions.push(await callBridge(p));
  const [c1, c2] = [await callsOf(workers.w1), await callsOf(workers.w2)];
  console.log(`scale-out: 20 calls → w1 ${c1.length}, w2 ${c2.length}`);
  expect(c1.length + c2.length).toBe(20);
  expect(c1.length).toBeGreaterThan(0);
  expect(c2.length).toBeGreaterThan(0);
  // Least load (algorithm 10): no worker gets more than two calls over half.
  expect(Math.abs(c1.length - c2.length)).toBeLessThanOrEqual(4);

  // Audio on a sample: the first four calls, each hearing exactly the worker that has it.
  const byId = new Map([...c1.map((c) => [c.id, 'w1']), ...c2.map((c) => [c.id, 'w2'])]);
  for (const s of sessions.slice(0, 4)) {
    expect(await whoAnswered(s)).toBe(byId.get(s.request.callId));
  }

  const metrics = await get(workers.w1, '/metrics');
  expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
  const after = { w1: parsePrometheus(metrics.body), w2: parsePrometheus((await get(workers.w2, '/metrics')).body) };
  for (const [id, n] of [['w1', c1.length], ['w2', c2.length]]) {
    const m = after[id];
    expect(metric(m, 'bridge_calls_active', { direction: 'inbound' })).toBe(n);
    expect(metric(m, 'bridge_calls_total', { direction: 'inbound', result: 'answered' }) - metric(before[id], 'bridge_calls_total', { direction: 'inbound', result: 'answered' })).toBe(n);
    expect(metric(m, 'bridge_call_setup_seconds_count', { direction: 'inbound' }) - metric(before[id], 'bridge_call_setup_seconds_count', { direction: 'inbound' })).toBe(n);
    expect(metric(m, 'bridge_rtp_packets_total', { direction: 'out' })).toBeGreaterThan(n * 20);
    expect(metric(m, 'bridge_rtp_packets_total', { direction: 'in' })).toBeGreaterThan(n * 20);
    expect(metric(m, 'bridge_mixer_inputs')).toBe(1);
    expect(metric(m, 'process_resident_memory_bytes')).toBeGreaterThan(10e6);
    expect(metric(m, 'process_cpu_seconds_total')).toBeGreaterThan(0);
  }
  await hangUpAll(sessions);
  await waitFor(async () => (await callsOf(workers.w1)).length + (await callsOf(workers.w2)).length === 0, 10000, 100, 'both workers empty');
}, 120000);

test('POST /calls dials out through Kamailio to a phone, with the worker’s audio; DELETE /calls/:id hangs up with BYE', async () => {
  const invitations = [];
  const port = await freePort('udp');
  const erin = new sip.UserAgent({
    uri: sip.UserAgent.makeURI('sip:erin@127.0.0.1'),
    transportConstructor: gstSip.SipTransport,
    transportOptions: { listen: { udp: { host: '127.0.0.1', port } } },
    logLevel: 'error',
    sessionDescriptionHandlerFactory: gstSip.sessionDescriptionHandlerFactory({ media: () => phoneTone.track, peerConnectionConfiguration: PLAIN }),
    delegate: { onInvite: (inv) => invitations.push(inv) },
  });
  await erin.start();
  later(() => erin.stop());
  const t0 = Date.now();
  const posted = await request(workers.w1, 'POST', '/calls', { to: `sip:erin@127.0.0.1:${port}` });
  expect(posted.status).toBe(202);
  const { id } = JSON.parse(posted.body);
  const invitation = await waitFor(() => invitations[0], 10000, 20, 'the dial-out INVITE');
  // It came through Kamailio (Record-Route), so the dialog stays in Kamailio's path.
  expect(invitation.request.getHeader('Record-Route')).toContain(`127.0.0.1:${kamailio.udpPort}`);
  await invitation.accept();
  await established(invitation);
  const setupMs = Date.now() - t0;
  expect(await whoAnswered(invitation)).toBe('w1');
  expect((await callsOf(workers.w1)).map((c) => [c.id, c.direction, c.state])).toEqual([[id, 'outbound', 'established']]);
  const deleted = await request(workers.w1, 'DELETE', `/calls/${encodeURIComponent(id)}`);
  expect(deleted.status).toBe(204);
  await terminated(invitation, 5000);
  expect(await callsOf(workers.w1)).toEqual([]);
  expect((await request(workers.w1, 'DELETE', `/calls/${encodeURIComponent(id)}`)).status).toBe(404);
  expect((await request(workers.w1, 'POST', '/calls', { to: 'not a uri' })).status).toBe(400);
  const m = parsePrometheus((await get(workers.w1, '/metrics')).body);
  expect(metric(m, 'bridge_calls_total', { direction: 'outbound', result: 'answered' })).toBe(1);
  expect(metric(m, 'bridge_call_setup_seconds_count', { direction: 'outbound' })).toBe(1);
  console.log(`scale-out: dial-out through Kamailio: POST /calls → established ${setupMs} ms`);
}, 60000);

test('a worker at its call limit answers OPTIONS, INVITE and /health with 503 and Retry-After', async () => {
  const w3 = await startWorker('w3', { port: await freePort('tcp'), env: { WORKER_MAX_CALLS: '1', WORKER_RETRY_AFTER: '7' } });
  later(() => kill(w3));
  const p = await phone('bob', { direct: true });
  expect((await get(w3, '/health')).status).toBe(200);
  const direct = () => new sip.Inviter(p.ua, sip.UserAgent.makeURI(`sip:bridge@127.0.0.1:${w3.port}`));
  const first = direct();
  await first.invite();
  await established(first);
  expect(JSON.parse((await get(w3, '/health')).body)).toEqual({ status: 'full', calls: 1 });
  expect((await get(w3, '/health')).status).toBe(503);
  let refusal;
  const second = direct();
  await second.invite({ requestDelegate: { onReject: (r) => (refusal = r.message) } });
  await terminated(second, 10000);
  expect(refusal.statusCode).toBe(503);
  expect(refusal.getHeader('Retry-After')).toBe('7');
  // OPTIONS, as the dispatcher's probe sends it.
  const options = await new Promise((resolve) => {
    const req = p.ua.userAgentCore.request(p.ua.userAgentCore.makeOutgoingRequestMessage('OPTIONS', sip.UserAgent.makeURI(`sip:127.0.0.1:${w3.port}`), p.ua.configuration.uri, sip.UserAgent.makeURI(`sip:127.0.0.1:${w3.port}`), {}), {
      onAccept: (r) => resolve(r.message),
      onReject: (r) => resolve(r.message),
    });
    return req;
  });
  expect(options.statusCode).toBe(503);
  expect(options.getHeader('Retry-After')).toBe('7');
  const m = parsePrometheus((await get(w3, '/metrics')).body);
  expect(metric(m, 'bridge_calls_total', { direction: 'inbound', result: 'rejected_limit' })).toBe(1);
  await first.bye();
  await terminated(first, 10000);
  await waitFor(async () => (await get(w3, '/health')).status === 200, 5000, 50, 'w3 healthy again');
}, 60000);

test('kill -9 a worker mid-run: its calls end, the other worker’s calls are untouched, new calls succeed on the survivor', async () => {
  const p = await phone('carol');
  const sessions = [];
  for (let i = 0; i < 4; i++) sessions.push(await callBridge(p));
  const ids = { w1: new Set((await callsOf(workers.w1)).map((c) => c.id)), w2: new Set((await callsOf(workers.w2)).map((c) => c.id)) };
  expect(ids.w1.size).toBeGreaterThan(0);
  expect(ids.w2.size).toBeGreaterThan(0);
  const onW1 = sessions.filter((s) => ids.w1.has(s.request.callId));
  const onW2 = sessions.filter((s) => ids.w2.has(s.request.callId));

  const killedAt = Date.now();
  kill(workers.w2);
  await workers.w2.exited;
  // New calls until one is up: until the 1 s probe has marked the dead worker inactive, a call
  // may still be dispatched to it, and fails over to w1 after the INVITE timeout.
  let firstNew;
  const attempts = [];
  for (;;) {
    const t = Date.now();
    try {
      firstNew = await callBridge(p);
      attempts.push({ ok: true, ms: Date.now() - t });
      break;
    } catch (e) {
      attempts.push({ ok: false, ms: Date.now() - t, status: e.response?.statusCode });
      if (Date.now() - killedAt > 20000) throw e;
    }
  }
  const recoveryMs = Date.now() - killedAt;
  sessions.push(firstNew);
  // Kamailio failed the INVITE over to w1 after its INVITE timeout (2 s): no call was lost.
  expect(attempts.every((a) => a.ok)).toBe(true);
  expect(recoveryMs).toBeLessThan(2000 + 1500);
  expect(await whoAnswered(firstNew)).toBe('w1');
  // By now the dead worker is out of rotation: the next call goes straight to w1.
  const t1 = Date.now();
  const next = await callBridge(p);
  const nextSetupMs = Date.now() - t1;
  sessions.push(next);
  expect(nextSetupMs).toBeLessThan(1000);
  // The survivor's calls carry on.
  for (const s of onW1) {
    expect(s.state).toBe(sip.SessionState.Established);
    expect(await whoAnswered(s)).toBe('w1');
  }
  // The dead worker's calls: no audio, then the phone's connection fails (30 s of silence) and
  // the phone ends the call itself (BYE; the dead worker never answers it).
  const t = Date.now();
  await Promise.all(onW2.map((s) => terminated(s, 45000)));
  console.log(
    `scale-out: kill -9 w2 with ${onW2.length} of its calls up: first new call up ${recoveryMs} ms after the kill (attempts ${JSON.stringify(attempts)}), the next set up in ${nextSetupMs} ms; ` +
      `its calls ended ${Date.now() - t + (t - killedAt)} ms after the kill (phone media timeout)`,
  );
  await hangUpAll(sessions);
  // Restart w2 on its port: the probe takes it back into rotation.
  await startWorker('w2', { port: workers.w2.port });
  await sleep(2500);
}, 120000);

test('SIGTERM drains a worker: its calls continue, no new call reaches it, the call left at the deadline gets BYE, it exits when empty', async () => {
  // w2 with a short deadline for the test.
  kill(workers.w2);
  await workers.w2.exited;
  const w2 = await startWorker('w2', { port: workers.w2.port, env: { WORKER_DRAIN_MS: '6000' } });
  await sleep(2500);
  const p = await phone('dave');
  const sessions = [];
  for (let i = 0; i < 4; i++) sessions.push(await callBridge(p));
  const onW2Ids = new Set((await callsOf(w2)).map((c) => c.id));
  const onW2 = sessions.filter((s) => onW2Ids.has(s.request.callId));
  expect(onW2.length).toBeGreaterThanOrEqual(1);
  const byeAt = new Map();
  for (const s of onW2) s.delegate = { onBye: () => byeAt.set(s, Date.now()) };

  const termAt = Date.now();
  kill(w2, 'SIGTERM');
  // New calls during the drain all go to w1.
  await sleep(1500);
  const during = [];
  for (let i = 0; i < 4; i++) during.push(await callBridge(p));
  for (const s of during.slice(0, 2)) expect(await whoAnswered(s)).toBe('w1');
  expect(w2.events.filter((e) => e.event === 'call.setup' && e.at > termAt)).toEqual([]);
  // w2's calls still carry its audio.
  expect(await whoAnswered(onW2[0])).toBe('w2');
  // One ends normally; the others are still up at the deadline and get BYE from the worker.
  await onW2[0].bye();
  await terminated(onW2[0], 5000);
  const exit = await w2.exited;
  for (const s of onW2.slice(1)) expect(s.state).toBe(sip.SessionState.Terminated);
  const deadlineByes = onW2.slice(1).map((s) => byeAt.get(s) - termAt);
  console.log(`scale-out: SIGTERM w2 with ${onW2.length} calls: BYE at the 6 s deadline after ${JSON.stringify(deadlineByes)} ms, exit after ${exit.at - termAt} ms (code ${exit.code})`);
  expect(exit.code).toBe(0);
  for (const ms of deadlineByes) {
    expect(ms).toBeGreaterThanOrEqual(6000);
    expect(ms).toBeLessThan(8000);
  }
  const events = w2.events.map((e) => e.event);
  expect(events).toEqual(expect.arrayContaining(['worker.signal', 'worker.draining', 'worker.deadline', 'worker.exit']));
  await hangUpAll([...sessions, ...during]);
  delete workers.w2;
}, 120000);

test('a worker that registers (WORKER_REGISTER=1) is reachable through a registrar, and unregisters when it exits', async () => {
  const registrar = await startKamailio();
  later(() => registrar.stop());
  const w4 = await startWorker('w4', {
    port: await freePort('tcp'),
    env: { WORKER_PROXY: `sip:127.0.0.1:${registrar.udpPort};transport=udp`, WORKER_REGISTER: '1', WORKER_USER: 'bridge-w4' },
  });
  later(() => kill(w4));
  const ua = new sip.UserAgent({
    uri: sip.UserAgent.makeURI('sip:frank@127.0.0.1'),
    transportConstructor: gstSip.SipTransport,
    transportOptions: { server: `sip:127.0.0.1:${registrar.udpPort};transport=udp`, listen: { udp: { host: '127.0.0.1', port: 0 } } },
    logLevel: 'error',
    sessionDescriptionHandlerFactory: gstSip.sessionDescriptionHandlerFactory({ media: () => phoneTone.track, peerConnectionConfiguration: PLAIN }),
  });
  await ua.start();
  later(() => ua.stop());
  const call = async () => {
    const inviter = new sip.Inviter(ua, sip.UserAgent.makeURI('sip:bridge-w4@127.0.0.1'));
    let response;
    await inviter.invite({ requestDelegate: { onReject: (r) => (response = r.message) } });
    await established(inviter).catch(() => {});
    return { inviter, response };
  };
  const first = await call();
  expect(first.inviter.state).toBe(sip.SessionState.Established);
  expect(await whoAnswered(first.inviter)).toBe('w4');
  await first.inviter.bye();
  await waitFor(async () => (await callsOf(w4)).length === 0, 5000, 50, 'w4 empty');
  kill(w4, 'SIGTERM');
  const exit = await w4.exited;
  expect(exit.code).toBe(0);
  // The registrar no longer knows it: a call gets 404.
  const second = await call();
  expect(second.inviter.state).toBe(sip.SessionState.Terminated);
  expect(second.response?.statusCode).toBe(404);
}, 60000);
