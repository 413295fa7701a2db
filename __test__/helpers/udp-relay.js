'use strict';

// UDP routes in a process of their own, so the test process's busy event loop adds neither
// jitter to what they forward nor error to the arrival times they measure. Each route binds a
// 127.0.0.1 port and either
// - forwards each datagram to `to` after an independent random delay (packets overtake one
//   another when their delays differ by more than their spacing — netem's tfifo reorders the
//   same way): with `jitterMs`, uniform in [meanMs − jitterMs, meanMs + jitterMs), as
//   `tc qdisc … netem delay MEAN JITTER` does (netem's tabledist() draws uniformly when no
//   distribution table is given); with `sdMs`, max(0, N(meanMs, sdMs)), as
//   `netem delay MEAN SD distribution normal` does; or
// - without `to`, only timestamps what arrives (a probe: a copy of a sender's packets).
// Every route reports its packet count, its arrival rate by this machine's clock (see rate())
// and the delays it applied.
//
// Why not netem itself: this machine's kernel is built without CONFIG_NET_SCH_NETEM
// ("Specified qdisc kind is unknown"), and none of the qdiscs it has (htb, tbf, pfifo) delays
// randomly.
//
// Usage: node udp-relay.js '{"seed":1,"routes":[{"to":"127.0.0.1:5004","meanMs":20,"jitterMs":15},{}]}'
// Prints one line to stdout: {"ports":[…]} (one per route, in order). On SIGTERM (or stdin
// closing) prints {"stats":[{packets, packetsPerSecond, meanDelayMs, sdDelayMs, maxDelayMs,
// reordered}, …]} and exits.

const dgram = require('dgram');

const cfg = JSON.parse(process.argv[2]);

// Deterministic deviates: mulberry32, and Box–Muller for normal ones.
const uniform = require('./mulberry32').mulberry32(cfg.seed ?? 1);
function normal() {
  const u = 1 - uniform();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
}

const now = () => Number(process.hrtime.bigint()) / 1e6;

const routes = cfg.routes.map((r) => {
  const socket = dgram.createSocket('udp4');
  const [host, port] = r.to ? r.to.split(':') : [null, 0];
  const route = { socket, host, port: Number(port), arrivals: [], sum: 0, sum2: 0, max: 0, reordered: 0, lastDue: -Infinity };
  socket.on('message', (msg) => {
    const t = now();
    route.arrivals.push(t);
    if (!host) return;
    const spread = r.jitterMs !== undefined ? r.jitterMs * (2 * uniform() - 1) : (r.sdMs ?? 0) * normal();
    const delay = Math.max(0, (r.meanMs ?? 0) + spread);
    route.sum += delay;
    route.sum2 += delay * delay;
    route.max = Math.max(route.max, delay);
    const due = t + delay;
    if (due < route.lastDue) route.reordered++; // due before a packet that arrived earlier
    route.lastDue = Math.max(route.lastDue, due);
    if (delay < 0.5) socket.send(msg, route.port, route.host);
    else setTimeout(() => socket.send(msg, route.port, route.host), delay);
  });
  return route;
});

Promise.all(routes.map((r) => new Promise((resolve) => r.socket.bind(0, '127.0.0.1', resolve)))).then(() => {
  process.stdout.write(JSON.stringify({ ports: routes.map((r) => r.socket.address().port) }) + '\n');
});

/**
 * Packets per second by this machine's clock. Late is all a packet can be (a busy machine
 * delays a sender, this process or the kernel, never the reverse), so the rate is taken from
 * the lower envelope of arrival time over packet index: the earliest-arriving packet (relative
 * to the current estimate of the period) in the first and in the last fifth of the run, refined
 * a few times, starting from the least-squares period. The first second (start-up) is left out.
 */
function rate(arrivals) {
  const t = arrivals.filter((x) => x - arrivals[0] >= 1000);
  const n = t.length;
  if (n < 10) return null;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const y = t[i] - t[0];
    sx += i;
    sy += y;
    sxx += i * i;
    sxy += i * y;
  }
  let period = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  const seg = Math.floor(n / 5);
  if (seg >= 20) {
    for (let iter = 0; iter < 4; iter++) {
      let a = 0;
      for (let i = 1; i < seg; i++) if (t[i] - i * period < t[a] - a * period) a = i;
      let b = n - seg;
      for (let i = n - seg + 1; i < n; i++) if (t[i] - i * period < t[b] - b * period) b = i;
      period = (t[b] - t[a]) / (b - a);
    }
  }
  return 1000 / period;
}

function finish() {
  const stats = routes.map((r) => {
    const packets = r.arrivals.length;
    const mean = packets ? r.sum / packets : 0;
    return {
      packets,
      packetsPerSecond: rate(r.arrivals),
      meanDelayMs: mean,
      sdDelayMs: packets ? Math.sqrt(Math.max(0, r.sum2 / packets - mean * mean)) : 0,
      maxDelayMs: r.max,
      reordered: r.reordered,
    };
  });
  process.stdout.write(JSON.stringify({ stats }) + '\n', () => process.exit(0));
}
process.on('SIGTERM', finish);
process.stdin.on('end', finish);
process.stdin.resume();
