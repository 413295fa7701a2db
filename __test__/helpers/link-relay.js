'use strict';

// An impaired link between two ICE agents, in a process of its own (so the test process's
// event loop adds no jitter), standing in for `tc netem` (this kernel has no sch_netem; see
// udp-relay.js). Two sockets, A and B: each peer is told (by rewriting its candidates in the
// SDP, see impaired-link.js) that the other lives at the relay's socket for it. What arrives at
// B (sent by peer a) leaves from A to peer b; what arrives at A leaves from B to peer a — so each
// peer sees datagrams from exactly the address it was given, and ICE connects through the relay.
//
// Impairments, per direction, netem's way:
// - loss: each datagram dropped with probability `loss` (netem `loss random P%`);
// - delay: `delayMs` plus a uniform deviate in [−jitterMs, +jitterMs) (netem `delay D J`: without
//   a distribution table it draws uniformly), each datagram independently, so packets whose
//   delays differ by more than their spacing overtake one another as netem's tfifo does;
// - reorder: with probability `reorder`, a datagram is held `reorderMs` longer than its delay
//   says, so the next packets overtake it;
// - down: everything is dropped (the link is cut), until up again.
//
// Protocol: argv[2] is JSON {seed}. Prints {"ports":{"a":PA,"b":PB}}: PA stands for peer a (give
// it to b), PB for peer b. Then reads JSON lines on stdin:
//   {"peers":{"a":"127.0.0.1:port","b":"127.0.0.1:port"}}  the real addresses
//   {"impair":{loss, delayMs, jitterMs, reorder, reorderMs}} (both directions)
//   {"down":true|false}
//   {"stats":true} → prints {"stats":{"ab":{…},"ba":{…}}}
// Exits when stdin closes.

const dgram = require('dgram');
const readline = require('readline');

const cfg = JSON.parse(process.argv[2] || '{}');
const uniform = require('./mulberry32').mulberry32(cfg.seed ?? 1);

let impair = { loss: 0, delayMs: 0, jitterMs: 0, reorder: 0, reorderMs: 0 };
let down = false;
const peers = { a: null, b: null };
const stats = () => ({ received: 0, forwarded: 0, lost: 0, cut: 0, held: 0 });
const counts = { ab: stats(), ba: stats() };

const sockA = dgram.createSocket('udp4'); // stands for peer a, towards peer b
const sockB = dgram.createSocket('udp4'); // stands for peer b, towards peer a

function forward(msg, out, to, c) {
  c.received++;
  if (!to) return;
  if (down) return void c.cut++;
  if (impair.loss && uniform() < impair.loss) return void c.lost++;
  let delay = impair.delayMs + (impair.jitterMs ? impair.jitterMs * (2 * uniform() - 1) : 0);
  if (impair.reorder && uniform() < impair.reorder) {
    delay += impair.reorderMs;
    c.held++;
  }
  c.forwarded++;
  const send = () => out.send(msg, to.port, to.host);
  if (delay < 0.5) send();
  else setTimeout(send, delay);
}

// From peer a (it sent to B, "peer b") → out of A to peer b; and the reverse.
sockB.on('message', (msg) => forward(msg, sockA, peers.b, counts.ab));
sockA.on('message', (msg) => forward(msg, sockB, peers.a, counts.ba));

function parseAddress(s) {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)) };
}

Promise.all([sockA, sockB].map((s) => new Promise((resolve) => s.bind(0, '127.0.0.1', resolve)))).then(() => {
  process.stdout.write(JSON.stringify({ ports: { a: sockA.address().port, b: sockB.address().port } }) + '\n');
});

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  if (cmd.peers) {
    peers.a = parseAddress(cmd.peers.a);
    peers.b = parseAddress(cmd.peers.b);
  }
  if (cmd.impair) impair = { loss: 0, delayMs: 0, jitterMs: 0, reorder: 0, reorderMs: 0, ...cmd.impair };
  if (cmd.down !== undefined) down = Boolean(cmd.down);
  if (cmd.stats) process.stdout.write(JSON.stringify({ stats: counts }) + '\n');
  if (cmd.ack) process.stdout.write(JSON.stringify({ ack: cmd.ack }) + '\n');
});
process.stdin.on('end', () => process.exit(0));
