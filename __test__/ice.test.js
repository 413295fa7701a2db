'use strict';

// ICE configuration: gathering confined to localAddresses, no hidden STUN, ICE restart.

const fs = require('node:fs');
const { ToneSource, nonstandard } = require('../dist');
const { FrameCollector, detectTone } = require('./helpers/audio');
const { connect, negotiate, waitGatheringComplete, waitState } = require('./helpers/peers');
const { own, peer } = require('./helpers/later');

/** inode → "address:port" for every IPv4/IPv6 UDP and TCP socket on the machine. */
function socketTable() {
  const table = new Map();
  for (const file of ['udp', 'udp6', 'tcp', 'tcp6']) {
    const lines = fs.readFileSync(`/proc/net/${file}`, 'utf8').trim().split('\n').slice(1);
    for (const line of lines) {
      const cols = line.trim().split(/\s+/);
      const [hexAddr, hexPort] = cols[1].split(':');
      let addr;
      if (hexAddr.length === 8) {
        addr = Buffer.from(hexAddr, 'hex').reverse().join('.');
      } else {
        const words = hexAddr.match(/.{8}/g).map((w) => Buffer.from(w, 'hex').reverse().toString('hex'));
        addr = words.join('').match(/.{4}/g).join(':');
      }
      table.set(cols[9], { proto: file, addr, port: parseInt(hexPort, 16) });
    }
  }
  return table;
}

/** The IP sockets this process has open. */
function ownSockets() {
  const table = socketTable();
  const sockets = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    const m = /^socket:\[(\d+)\]$/.exec(target);
    if (m && table.has(m[1])) sockets.push(table.get(m[1]));
  }
  return sockets;
}

test('with localAddresses, every socket of a live call is bound to loopback and only loopback candidates appear', async () => {
  const before = ownSockets().length;
  const a = peer();
  const b = peer();
  const tone = new ToneSource({ frequency: 440 });
  try {
    a.addTrack(tone.track);
    const candidates = [];
    // Every gathered candidate; a transport's end-of-candidates (candidate '') has no address.
    a.addEventListener('icecandidate', (ev) => ev.candidate?.candidate && candidates.push(ev.candidate));
    await connect(a, b);
    const sockets = ownSockets();
    expect(sockets.length).toBeGreaterThan(before);
    for (const s of sockets) expect(s.addr).toBe('127.0.0.1');
    expect(sockets.every((s) => s.proto === 'udp')).toBe(true); // no ICE-TCP, no UPnP/SSDP socket
    expect(candidates.length).toBeGreaterThan(0);
    for (const c of candidates) {
      expect(c.address).toBe('127.0.0.1');
      expect(c.protocol).toBe('udp');
      expect(c.type).toBe('host');
    }
  } finally {
    tone.stop();
  }
});

test('without iceServers no STUN server is configured (no srflx candidate can appear)', async () => {
  const pc = peer();
  pc.addTransceiver('audio');
  await pc.setLocalDescription();
  await waitGatheringComplete(pc);
  expect(pc.localDescription.sdp).not.toMatch(/typ (srflx|relay)/);
  expect(pc.getConfiguration().iceServers).toEqual([]);
});

test('portRange confines the ICE ports', async () => {
  const pc = peer({ portRange: { min: 47000, max: 47010 } });
  pc.addTransceiver('audio');
  await pc.setLocalDescription();
  await waitGatheringComplete(pc);
  const ports = [...pc.localDescription.sdp.matchAll(/a=candidate:\S+ \d+ \S+ \d+ \S+ (\d+) typ/g)].map((m) => Number(m[1]));
  expect(ports.length).toBeGreaterThan(0);
  for (const p of ports) {
    expect(p).toBeGreaterThanOrEqual(47000);
    expect(p).toBeLessThanOrEqual(47010);
  }
});

test('restartIce() makes the next offer carry new ICE credentials and the call reconnects', async () => {
  const a = peer();
  const b = peer();
  const tone = new ToneSource({ frequency: 440 });
  try {
    a.addTrack(tone.track);
    const track = new Promise((r) => b.addEventListener('track', (ev) => r(ev.track), { once: true }));
    await connect(a, b);
    const collector = new FrameCollector();
    const sink = new nonstandard.RTCAudioSink(await track);
    sink.ondata = collector.push;
    const ufrag = /a=ice-ufrag:(\S+)/.exec(a.localDescription.sdp)[1];
    const needed = new Promise((r) => a.addEventListener('negotiationneeded', r, { once: true }));
    a.restartIce();
    await needed;
    await negotiate(a, b);
    const ufrag2 = /a=ice-ufrag:(\S+)/.exec(a.localDescription.sdp)[1];
    expect(ufrag2).not.toBe(ufrag);
    await waitState(a, 'connectionState', 'connected');
    collector.reset();
    await new Promise((r) => setTimeout(r, 1000));
    sink.stop();
    expect(collector.durationMs).toBeGreaterThan(700);
    expect(detectTone(collector.samples(), 48000, 440, { otherFreqs: [880, 1250] }).present).toBe(true);
  } finally {
    tone.stop();
  }
});

test('only an ICE restart changes the credentials: re-offers before and after one keep those in use (RFC 8839 §4.4.1.1.1)', async () => {
  const a = peer();
  const b = peer();
  const tone = own(new ToneSource({ frequency: 440 }));
  a.addTrack(tone.track);
  await connect(a, b);
  const ufragOf = (pc) => /a=ice-ufrag:(\S+)/.exec(pc.localDescription.sdp)[1];
  const first = ufragOf(a);
  await negotiate(a, b);
  expect(ufragOf(a)).toBe(first);
  a.restartIce();
  await negotiate(a, b);
  const restarted = ufragOf(a);
  expect(restarted).not.toBe(first);
  await waitState(a, 'connectionState', 'connected');
  await negotiate(a, b);
  expect(ufragOf(a)).toBe(restarted);
  expect(b.remoteDescription.sdp).toContain(`a=ice-ufrag:${restarted}`);
  expect(a.iceConnectionState).toMatch(/^(connected|completed)$/);
});

test('a peer that closes is noticed: disconnected after about 8 s of silence (consent, RFC 7675)', async () => {
  const a = peer();
  const b = peer();
  const tone = new ToneSource({ frequency: 440 });
  try {
    a.addTrack(tone.track);
    await connect(a, b);
    const t0 = Date.now();
    b.close();
    await Promise.all([waitState(a, 'iceConnectionState', 'disconnected', 15000), waitState(a, 'connectionState', 'disconnected', 15000)]);
    const ms = Date.now() - t0;
    expect(ms).toBeGreaterThanOrEqual(7000);
    expect(ms).toBeLessThan(12000);
  } finally {
    tone.stop();
  }
}, 30000);

test('on a host with only loopback, the default configuration gathers on loopback and a call carries audio', () => {
  // A namespace of its own (root, as in CI), so the host's interfaces cannot hide the case.
  const fixture = require.resolve('./fixtures/default-config-call.js');
  const run = require('node:child_process').spawnSync(
    'unshare',
    ['-n', '--', 'bash', '-c', 'ip link set lo up && exec node "$0"', fixture],
    { encoding: 'utf8', timeout: 30000 },
  );
  expect(run.stderr).toBe('');
  const result = JSON.parse(run.stdout.trim().split('\n').pop());
  expect(result.externalInterfaces).toBe(0);
  expect(result.candidates.length).toBeGreaterThan(0);
  for (const address of result.candidates) expect(['127.0.0.1', '::1']).toContain(address);
  expect(result.connectionState).toBe('connected');
  expect(result.toneWindows).toBe(5);
  expect(result.failedWindows).toEqual([]);
});

test("'completed' only once gathering is complete and the far end has no more candidates (webrtc-pc §5.6)", async () => {
  const a = peer();
  const b = peer();
  a.addTransceiver('audio');
  // Trickle without the end-of-candidates ('' candidate), and the descriptions as created
  // (without the a=end-of-candidates a local description gets once gathering completes).
  for (const [from, to] of [[a, b], [b, a]]) {
    from.addEventListener('icecandidate', (ev) => ev.candidate?.candidate && to.addIceCandidate(ev.candidate));
  }
  const offer = await a.createOffer();
  await a.setLocalDescription(offer);
  await b.setRemoteDescription(offer);
  const answer = await b.createAnswer();
  await b.setLocalDescription(answer);
  await a.setRemoteDescription(answer);
  await Promise.all([waitState(a, 'iceConnectionState', 'connected'), waitState(b, 'iceConnectionState', 'connected')]);
  await new Promise((r) => setTimeout(r, 500));
  expect([a.iceConnectionState, b.iceConnectionState]).toEqual(['connected', 'connected']);
  const completed = new Promise((r) => a.addEventListener('iceconnectionstatechange', r, { once: true }));
  await a.addIceCandidate(); // b's end-of-candidates
  await completed;
  expect([a.iceConnectionState, b.iceConnectionState]).toEqual(['completed', 'connected']);

  // Complete SDP carries a=end-of-candidates (RFC 8840): both sides complete.
  const c = peer();
  const d = peer();
  c.addTransceiver('audio');
  await negotiate(c, d, { trickle: false });
  await Promise.all([waitState(c, 'iceConnectionState', 'completed'), waitState(d, 'iceConnectionState', 'completed')]);
});
