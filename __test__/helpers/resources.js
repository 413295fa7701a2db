'use strict';

// Process resource probes for leak / cost tests (Linux /proc). Every probe
// takes an optional pid (default: this process).

const dgram = require('dgram');
const net = require('net');
const fs = require('fs');
const { execFileSync } = require('child_process');

function procPath(pid, file) {
  return `/proc/${pid == null ? 'self' : pid}/${file}`;
}

function statusField(pid, name) {
  const text = fs.readFileSync(procPath(pid, 'status'), 'utf8');
  const m = text.match(new RegExp(`^${name}:\\s*(\\d+)`, 'm'));
  if (!m) throw new Error(`${name} not found in ${procPath(pid, 'status')}`);
  return Number(m[1]);
}

/** Number of threads (Threads: in /proc/<pid>/status). */
function threadCount(pid) {
  return statusField(pid, 'Threads');
}

/** Number of open file descriptors (entries of /proc/<pid>/fd). */
function fdCount(pid) {
  // Includes the fd used to read the directory itself: a constant offset
  // that cancels out when comparing counts.
  return fs.readdirSync(procPath(pid, 'fd')).length;
}

/** Resident set size in bytes (VmRSS: in /proc/<pid>/status, reported in kB). */
function rssBytes(pid) {
  return statusField(pid, 'VmRSS') * 1024;
}

/** Resolve after `ms` milliseconds. */
function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

let clkTck;
function clockTicks() {
  if (clkTck === undefined) {
    clkTck = 100;
    try {
      const v = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
      if (Number.isFinite(v) && v > 0) clkTck = v;
    } catch {
      // keep the default
    }
  }
  return clkTck;
}

/** CPU time used so far (user + system) in seconds, from /proc/<pid>/stat. */
function cpuTimes(pid) {
  const stat = fs.readFileSync(procPath(pid, 'stat'), 'utf8');
  // The command name (field 2) is in parentheses and may contain spaces.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state): utime is field 14, stime field 15.
  const utime = Number(rest[11]);
  const stime = Number(rest[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`cannot parse ${procPath(pid, 'stat')}`);
  }
  return (utime + stime) / clockTicks();
}

/**
 * Poll `predicate` (sync or async) every `intervalMs` until it returns a
 * truthy value, which the promise resolves with. Rejects after `timeoutMs`
 * with a message naming the condition (`description`, or the predicate's
 * source) and the last error the predicate threw, if any.
 */
function waitFor(predicate, timeoutMs = 5000, intervalMs = 20, description) {
  const what = description || String(predicate).replace(/\s+/g, ' ').slice(0, 200);
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    let lastError;
    const attempt = async () => {
      let value;
      try {
        value = await predicate();
        lastError = undefined;
      } catch (e) {
        lastError = e;
      }
      if (value) return resolve(value);
      if (Date.now() >= deadline) {
        const why = lastError ? ` (last error: ${lastError && lastError.message ? lastError.message : lastError})` : '';
        return reject(new Error(`waitFor: timed out after ${timeoutMs} ms waiting for: ${what}${why}`));
      }
      setTimeout(attempt, Math.max(0, Math.min(intervalMs, deadline - Date.now())));
    };
    attempt();
  });
}

/** A loopback port free at the time of asking ('udp' or 'tcp'), for a peer the test starts. */
async function freePort(kind = 'udp') {
  if (kind === 'tcp') {
    const server = net.createServer();
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address();
    await new Promise((r) => server.close(r));
    return port;
  }
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * The first of `count` consecutive loopback ports free for both UDP and TCP, for a peer that
 * binds several ports from one setting (baresip's `sip_listen P`: UDP and TCP on P, TLS on
 * P + 1). Taken below the kernel's ephemeral range, where no process binding port 0 (a browser's
 * or Kamailio's outgoing connection, an RTP socket) can take one of them before the peer binds.
 */
async function freePortBlock(count) {
  const [ephemeralLow] = fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const bindBoth = async (port) => {
    const udp = dgram.createSocket('udp4');
    const tcp = net.createServer();
    const ok = await Promise.all([
      new Promise((r) => udp.once('error', () => r(false)).bind(port, '127.0.0.1', () => r(true))),
      new Promise((r) => tcp.once('error', () => r(false)).listen(port, '127.0.0.1', () => r(true))),
    ]);
    return { ok: ok.every(Boolean), release: () => Promise.all([new Promise((r) => udp.close(() => r())).catch(() => {}), new Promise((r) => tcp.close(() => r()))]) };
  };
  for (;;) {
    const base = 20000 + Math.floor(Math.random() * (ephemeralLow - 20000 - count));
    const held = [];
    for (let p = base; p < base + count; p++) {
      const b = await bindBoth(p);
      held.push(b);
      if (!b.ok) break;
    }
    await Promise.all(held.map((b) => b.release().catch(() => {})));
    if (held.length === count && held.every((b) => b.ok)) return base;
  }
}

module.exports = { threadCount, fdCount, rssBytes, cpuTimes, waitFor, clockTicks, sleep, freePort, freePortBlock };
