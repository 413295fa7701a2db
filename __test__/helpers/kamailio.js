'use strict';

// Start a throw-away Kamailio (registrar + proxy) on two free loopback ports for a test.
//
//   const { startKamailio } = require('./helpers/kamailio');
//   const k = await startKamailio();   // { wsUrl, udpPort, wsPort, pid, stop(), log() }
//   ...
//   await k.stop();
//
// Config: __test__/fixtures/kamailio/kamailio.cfg; the ports are injected with
// `-A UDP_PORT=… -A WS_PORT=…`. Kamailio runs in the foreground (-DD), logs to stderr (-E),
// and keeps its runtime files in a temp dir (-Y), so it needs nothing under /var/run.

const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { sleep } = require('./resources');

const KAMAILIO_BIN = process.env.KAMAILIO_BIN || '/usr/sbin/kamailio';
const CONFIG = path.join(__dirname, '..', 'fixtures', 'kamailio', 'kamailio.cfg');
const HOST = '127.0.0.1';
const MAX_LOG = 4 * 1024 * 1024;

/**
 * SIGKILL for an instance and its worker processes: its process group (it is spawned as the
 * group's leader). Kamailio's workers outlive a SIGKILLed main process (only its SIGTERM
 * shutdown stops them), and would go on holding the ports.
 */
function killAll(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    try {
      child.kill('SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Instances still running, with their runtime directories: SIGKILLed, workers and all, and
 * their directories removed when the process exits. */
const running = new Map();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const [child, runDir] of running) {
      killAll(child);
      fs.rmSync(runDir, { recursive: true, force: true });
    }
  });
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
function freeTcpPort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** A port free for both UDP and TCP (Kamailio listens on UDP only, but be safe). */
async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freeTcpPort());
  return [...ports];
}

function canConnect(port) {
  return new Promise((resolve) => {
    const sock = net.connect({ host: HOST, port });
    const done = (ok) => {
      sock.removeAllListeners();
      sock.destroy();
      resolve(ok);
    };
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
    sock.setTimeout(500, () => done(false));
  });
}

/**
 * @param {object} [opts]
 * @param {number} [opts.timeoutMs=10000] how long to wait for the WS port
 * @param {number} [opts.logLevel] Kamailio `debug` level (default 1 = errors; 3 = debug)
 * @param {string[]} [opts.defines] extra `-A` defines (e.g. ['FOO=1'])
 * @param {{cert: string, key: string}} [opts.tls] PEM files: also listen for SIP over TLS (tlsPort)
 * @param {string} [opts.password] challenge every REGISTER (digest); every user has this password
 * @param {string} [opts.config] another configuration file (it must listen for SIP over TCP on
 *   UDP_PORT: readiness is checked there instead of on WS_PORT)
 * @returns {Promise<{wsUrl: string, udpPort: number, wsPort: number, tlsPort?: number, pid: number,
 *   stop: () => Promise<void>, log: () => string}>}
 */
async function startKamailio(opts = {}) {
  const timeoutMs = opts.timeoutMs ?? 10000;
  if (!fs.existsSync(KAMAILIO_BIN)) {
    throw new Error(`${KAMAILIO_BIN} not found: apt-get install kamailio kamailio-websocket-modules`);
  }
  installExitHook();

  const [udpPort, wsPort, tlsPort] = await freePorts(opts.tls ? 3 : 2);
  const runDir = fs.mkdtempSync(path.join(os.tmpdir(), 'kamailio-'));
  const defines = [...(opts.defines ?? [])];
  if (opts.tls) {
    // The server presents opts.tls; clients are not asked for a certificate.
    const tlsConfig = path.join(runDir, 'tls.cfg');
    fs.writeFileSync(
      tlsConfig,
      `[server:default]\nmethod = TLSv1.2+\nverify_certificate = no\nrequire_certificate = no\nprivate_key = ${opts.tls.key}\ncertificate = ${opts.tls.cert}\n\n[client:default]\nverify_certificate = no\nrequire_certificate = no\n`,
    );
    defines.push(`TLS_PORT=${tlsPort}`, `TLS_CONFIG="${tlsConfig}"`);
  }
  if (opts.password) defines.push(`AUTH_PASSWORD="${opts.password}"`);
  const args = [
    '-DD', // foreground, no fork of the main process
    '-E', // log to stderr
    '-f', opts.config ?? CONFIG,
    '-Y', runDir, // runtime dir (instead of /var/run/kamailio)
    '-P', path.join(runDir, 'kamailio.pid'),
    '-w', runDir, // working dir (core files etc.)
    '-m', '32', // shared memory, MB
    '-M', '8', // private memory per process, MB
    '-A', `UDP_PORT=${udpPort}`,
    '-A', `WS_PORT=${wsPort}`,
  ];
  if (opts.logLevel != null) args.push('-A', `LOG_LEVEL=${opts.logLevel}`);
  for (const d of defines) args.push('-A', d);

  // Its own process group, so that killAll reaches its workers.
  const child = spawn(KAMAILIO_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  running.set(child, runDir);

  let logBuf = '';
  const append = (chunk) => {
    logBuf += chunk.toString();
    if (logBuf.length > MAX_LOG) logBuf = logBuf.slice(-MAX_LOG);
  };
  child.stdout.on('data', append);
  child.stderr.on('data', append);

  let exited = false;
  let exitInfo = null;
  let spawnError = null;
  const exitPromise = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      exited = true;
      exitInfo = { code, signal };
      running.delete(child);
      fs.rm(runDir, { recursive: true, force: true }, () => {});
      resolve();
    });
    child.once('error', (err) => {
      // spawn failure: 'exit' may not follow
      spawnError = err;
      exited = true;
      running.delete(child);
      resolve();
    });
  });

  const stop = async () => {
    if (!exited) {
      try {
        child.kill('SIGTERM');
      } catch {
        // already gone
      }
      const killTimer = setTimeout(() => {
        if (!exited) killAll(child);
      }, 2000);
      await exitPromise;
      clearTimeout(killTimer);
    }
  };

  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (exited) {
      const why = spawnError ? `spawn error: ${spawnError.message}` : `exit ${JSON.stringify(exitInfo)}`;
      throw new Error(`kamailio exited during startup (${why}); args: ${args.join(' ')}\n${logBuf}`);
    }
    if (await canConnect(opts.config ? udpPort : wsPort)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(
        `kamailio did not accept connections on ${HOST}:${wsPort} within ${timeoutMs} ms; ` +
          `args: ${args.join(' ')}\n${logBuf}`,
      );
    }
    await sleep(25);
  }

  return {
    wsUrl: `ws://${HOST}:${wsPort}`,
    udpPort,
    wsPort,
    tlsPort: opts.tls ? tlsPort : undefined,
    pid: child.pid,
    stop,
    log: () => logBuf,
  };
}

module.exports = { startKamailio, KAMAILIO_CONFIG: CONFIG };
