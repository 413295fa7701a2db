'use strict';

// Core numbers of issue #2: setup time (new → connected → first decoded frame) and the cost of
// live two-way Opus connections (RSS, threads, CPU per connection). Loopback only.

const { GstPeerConnection, ToneSource, nonstandard } = require('..');
const { threadCount, rssBytes, cpuTimes } = require('../__test__/helpers/resources');

const CONFIG = { iceServers: [], localAddresses: ['127.0.0.1'] };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const { summary: stats, fmt } = require('./stats');

/** A connected pair sending tones both ways; resolves timings relative to construction. */
async function pair(toneA, toneB) {
  const t0 = performance.now();
  const a = new GstPeerConnection(CONFIG);
  const b = new GstPeerConnection(CONFIG);
  a.addTrack(toneA.track);
  b.addTrack(toneB.track);
  const sinks = [];
  const firstFrame = new Promise((resolve) => {
    b.ontrack = ({ track }) => {
      const sink = new nonstandard.RTCAudioSink(track);
      sinks.push(sink);
      sink.ondata = () => {
        sink.ondata = null;
        resolve(performance.now() - t0);
      };
    };
  });
  a.ontrack = ({ track }) => sinks.push(new nonstandard.RTCAudioSink(track));
  const connected = new Promise((resolve) => {
    a.onconnectionstatechange = () => a.connectionState === 'connected' && resolve(performance.now() - t0);
  });
  a.onicecandidate = ({ candidate }) => candidate && b.addIceCandidate(candidate);
  b.onicecandidate = ({ candidate }) => candidate && a.addIceCandidate(candidate);
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  const [connectedMs, firstFrameMs] = await Promise.all([connected, firstFrame]);
  return { a, b, sinks, connectedMs, firstFrameMs, close: () => { sinks.forEach((s) => s.stop()); a.close(); b.close(); } };
}

async function main() {
  const rounds = Number(process.env.BENCH_ROUNDS || 10);
  const livePairs = Number(process.env.BENCH_PAIRS || 10);
  const toneA = new ToneSource({ frequency: 440 });
  const toneB = new ToneSource({ frequency: 880 });

  (await pair(toneA, toneB)).close(); // warm-up: plugin loading, first DTLS certificate
  const connected = [];
  const first = [];
  for (let i = 0; i < rounds; i++) {
    const p = await pair(toneA, toneB);
    connected.push(p.connectedMs);
    first.push(p.firstFrameMs);
    p.close();
    await sleep(100);
  }

  await sleep(1000);
  const rss0 = rssBytes();
  const threads0 = threadCount();
  const pairs = [];
  for (let i = 0; i < livePairs; i++) pairs.push(await pair(toneA, toneB));
  // Measure the media path itself (encode, SRTP, ICE, jitter buffer, decode), not JS sinks.
  pairs.forEach((p) => p.sinks.forEach((s) => s.stop()));
  await sleep(2000);
  const cpu0 = cpuTimes();
  const wall0 = performance.now();
  await sleep(5000);
  const cpuPct = ((cpuTimes() - cpu0) / ((performance.now() - wall0) / 1000)) * 100;
  const conns = livePairs * 2;
  const rss1 = rssBytes();
  const threads1 = threadCount();
  pairs.forEach((p) => p.close());
  toneA.stop();
  toneB.stop();

  console.log(`# gst-peerconnection core bench (${new Date().toISOString()}, node ${process.version})`);
  console.log(`new → connectionState 'connected' (${rounds} rounds): ${fmt(stats(connected))}`);
  console.log(`new → first decoded audio frame   (${rounds} rounds): ${fmt(stats(first))}`);
  console.log(`${conns} live two-way Opus connections: RSS +${((rss1 - rss0) / conns / 1e6).toFixed(2)} MB/connection, ` +
    `threads +${((threads1 - threads0) / conns).toFixed(1)}/connection, CPU ${(cpuPct / conns).toFixed(2)} % of a core/connection ` +
    `(process total ${cpuPct.toFixed(0)} %)`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
