'use strict';

// Bridge-added latency: SFU RTP in → SIP-side RTP out (issue #5 benchmark, issue #6 scenario 4).
//
// A train of 10 ms chirps is Opus-encoded once (gst-launch), then sent as RTP to a UdpRtpSource
// in real time (one packet per 20 ms, send time of each packet recorded). The bridge mixes it
// (AudioMixer, as the demo does) and sends it out two ways:
//   - "plain RTP": RtpForwarder of the mix (how a SIP trunk leg with RTP/AVP would carry it);
//   - "WebRTC leg": a GstPeerConnection to a far GstPeerConnection (the SIP.js phone of the
//     demo), whose decrypted packets are relayed unchanged (RtpForwarder passthrough, before
//     any decoding or playout delay) to a socket here.
// Output packets are timestamped on arrival, decoded offline, and each chirp is located in the
// input and output audio by cross-correlation. The latency of a chirp is
//   (arrival of the output packet holding it + its offset in that packet)
// − (send time of the input packet holding it + its offset in that packet),
// i.e. the delay as if both ends played packets the moment they arrive.
//
// The floor: the mixer plays the input in real time, so a 20 ms output frame is complete 20 ms
// after its first sample was mixed; plus Opus's algorithmic delay (2.5 ms CELT lookahead, 4 ms
// more in SILK/hybrid mode) ≈ 22.5–26.5 ms. Everything above it is buffering in the bridge.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const dgram = require('node:dgram');
// GSTPC_DIST=/path/to/dist measures another build (a before/after comparison in one session).
const { GstPeerConnection, UdpRtpSource, AudioMixer, RtpForwarder } = require(process.env.GSTPC_DIST || '..');
const { summary, fmt } = require('./stats');
const { writeRfc4571, gstLaunch, encodeOpusRtp } = require('./opus-rtp');

const SR = 48000;
const PACKET = 960; // 20 ms at 48 kHz
const CHIRP_MS = 10;
const PERIOD_MS = 500;
const CONFIG = { iceServers: [], localAddresses: ['127.0.0.1'] };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A 10 ms linear chirp 500 → 4000 Hz under a Hann envelope: a sharp cross-correlation peak. */
function chirp() {
  const n = (CHIRP_MS * SR) / 1000;
  const out = new Float32Array(n);
  const f0 = 500;
  const f1 = 4000;
  const k = (f1 - f0) / (n / SR);
  for (let i = 0; i < n; i++) {
    const t = i / SR;
    const env = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1));
    out[i] = 0.6 * env * Math.sin(2 * Math.PI * (f0 * t + (k * t * t) / 2));
  }
  return out;
}

function wav(samples) {
  const data = Buffer.alloc(samples.length * 2);
  samples.forEach((s, i) => data.writeInt16LE(Math.round(Math.max(-1, Math.min(1, s)) * 32767), i * 2));
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVEfmt ', 8);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20);
  h.writeUInt16LE(1, 22);
  h.writeUInt32LE(SR, 24);
  h.writeUInt32LE(SR * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  return Buffer.concat([h, data]);
}

/** Opus RTP packets of `samples` (one 20 ms frame each), encoded as an SFU would. */
function encode(dir, samples) {
  const input = path.join(dir, 'in.wav');
  fs.writeFileSync(input, wav(samples));
  return encodeOpusRtp(dir, `filesrc location=${input} ! wavparse`);
}

/** Decodes Opus RTP packets (in order, no playout timing) to 48 kHz mono floats. */
function decode(dir, packets, name) {
  const input = path.join(dir, `${name}.rtps`);
  const output = path.join(dir, `${name}.pcm`);
  fs.writeFileSync(input, writeRfc4571(packets));
  gstLaunch(`filesrc location=${input} ! application/x-rtp-stream,media=audio,clock-rate=48000,encoding-name=OPUS,payload=111 `
    + `! rtpstreamdepay ! rtpopusdepay ! opusdec plc=false ! audioconvert ! audio/x-raw,format=S16LE,rate=48000,channels=1 `
    + `! filesink location=${output}`);
  const raw = fs.readFileSync(output);
  // Sample index ↔ packet index must be exact: one 20 ms frame per packet (no DTX, no 10 ms).
  if (raw.length !== packets.length * PACKET * 2) throw new Error(`${name}: ${packets.length} packets decoded to ${raw.length / 2} samples, not 20 ms each`);
  const out = new Float32Array(raw.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = raw.readInt16LE(i * 2) / 32768;
  return out;
}

/** Sample positions of the chirps in `signal`: cross-correlation peaks, one per period. */
function locate(signal, template, expected, span = (PERIOD_MS * SR) / 1000) {
  const found = [];
  const corr = (at) => {
    let s = 0;
    for (let j = 0; j < template.length; j++) s += signal[at + j] * template[j];
    return s;
  };
  let energy = 0;
  for (let j = 0; j < template.length; j++) energy += template[j] * template[j];
  for (const guess of expected) {
    let best = -Infinity;
    let bestAt = -1;
    const from = Math.max(0, guess);
    const to = Math.min(signal.length - template.length, guess + span - 1);
    for (let at = from; at < to; at++) {
      const c = corr(at);
      if (c > best) {
        best = c;
        bestAt = at;
      }
    }
    // A real chirp correlates at a good fraction of its own energy; silence or PLC does not.
    if (bestAt >= 0 && best > 0.3 * energy) found.push(bestAt);
  }
  return found;
}

function receiver() {
  const socket = dgram.createSocket('udp4');
  const packets = [];
  socket.on('message', (msg) => packets.push({ at: performance.now(), data: Buffer.from(msg) }));
  return new Promise((resolve) => socket.bind(0, '127.0.0.1', () => resolve({ socket, packets, port: socket.address().port })));
}

/** Sends `packets` to `port` one per 20 ms of wall time (deadline-corrected), recording when. */
async function sendPaced(socket, port, packets) {
  const sentAt = [];
  const t0 = performance.now();
  for (let i = 0; i < packets.length; i++) {
    const wait = t0 + i * 20 - performance.now();
    if (wait > 1) await sleep(wait);
    sentAt.push(performance.now());
    socket.send(packets[i], port, '127.0.0.1');
  }
  return sentAt;
}

/** A bridge PC → far PC (the phone) leg whose decrypted RTP reaches `port` unchanged. */
async function webrtcLeg(track, port) {
  const bridge = new GstPeerConnection(CONFIG);
  const phone = new GstPeerConnection(CONFIG);
  bridge.addTrack(track);
  let relay;
  const relayed = new Promise((resolve) => {
    phone.ontrack = ({ track: remote }) => {
      relay = new RtpForwarder(remote, { address: '127.0.0.1', port, payloadType: 111 });
      resolve();
    };
  });
  await bridge.setLocalDescription();
  await sleep(0);
  await waitGathered(bridge);
  await phone.setRemoteDescription(bridge.localDescription);
  await phone.setLocalDescription();
  await waitGathered(phone);
  await bridge.setRemoteDescription(phone.localDescription);
  await relayed;
  if (!relay.passthrough) throw new Error('the phone-side relay would transcode; the measurement needs passthrough');
  return () => {
    relay.stop();
    bridge.close();
    phone.close();
  };
}

function waitGathered(pc) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => pc.addEventListener('icegatheringstatechange', () => pc.iceGatheringState === 'complete' && resolve()));
}

/**
 * One run: `seconds` of chirps through UdpRtpSource({latency}) → AudioMixer → egress.
 * Returns per-chirp latencies in ms.
 */
async function measure({ egress = 'webrtc', latency, seconds = 8, dir }) {
  const template = chirp();
  const total = seconds * SR;
  const signal = new Float32Array(total);
  const starts = [];
  for (let at = SR; at + template.length < total - SR / 2; at += (PERIOD_MS * SR) / 1000) {
    signal.set(template, at);
    starts.push(at);
  }
  const input = encode(dir, signal);
  const reference = decode(dir, input, 'ref');
  const inPos = locate(reference, template, starts.map((s) => s - (PERIOD_MS * SR) / 4000));

  const out = await receiver();
  const source = new UdpRtpSource({ address: '127.0.0.1', port: 0, codec: 'opus', payloadType: 111, ...(latency === undefined ? {} : { latency }) });
  const mixer = new AudioMixer();
  mixer.addInput(source.track);
  const mix = mixer.createTrack();
  let stopEgress;
  if (egress === 'rtp') {
    const fwd = new RtpForwarder(mix, { address: '127.0.0.1', port: out.port, payloadType: 111 });
    stopEgress = () => fwd.stop();
  } else {
    stopEgress = await webrtcLeg(mix, out.port);
  }
  // Let the leg settle (DTLS, first packets) before the measured stream starts.
  await sleep(500);
  const sender = dgram.createSocket('udp4');
  await new Promise((r) => sender.bind(0, '127.0.0.1', r));
  const mark = out.packets.length;
  const sentAt = await sendPaced(sender, source.port, input);
  // Underruns re-prime the input's FIFO, which raises the latency of every later chirp.
  const { underruns } = mixer.inputStats()[0];
  // The source's wait for missing packets (its playout delay) grows on a path that reorders.
  const waitMs = source.stats.latencyMs;
  await sleep(500);
  sender.close();
  stopEgress();
  mixer.stop();
  source.stop();
  out.socket.close();

  const outPackets = out.packets.slice(mark);
  const decoded = decode(dir, outPackets.map((p) => p.data), egress);
  // Output index 0 is about when sending started, so the first output chirp lies within a
  // period after where the first input chirp is (the bridge adds less than one period).
  const outPos = locate(decoded, template, [inPos[0]]);
  if (!outPos.length) throw new Error(`${egress}: no chirp found in the output`);
  const result = [];
  for (const pIn of inPos) {
    const tIn = sentAt[Math.floor(pIn / PACKET)] + ((pIn % PACKET) * 1000) / SR;
    // The output chirp of this input chirp: the one after the first, period by period.
    const k = Math.round((pIn - inPos[0]) / ((PERIOD_MS * SR) / 1000));
    const [pOut] = locate(decoded, template, [outPos[0] + (k * PERIOD_MS * SR) / 1000 - (PERIOD_MS * SR) / 4000]);
    if (pOut === undefined || Math.floor(pOut / PACKET) >= outPackets.length) continue;
    const tOut = outPackets[Math.floor(pOut / PACKET)].at + ((pOut % PACKET) * 1000) / SR;
    result.push(tOut - tIn);
  }
  if (result.length < inPos.length * 0.8) throw new Error(`${egress}: only ${result.length} of ${inPos.length} chirps came out`);
  return { latencies: result, underruns, waitMs };
}

async function main() {
  const rounds = Number(process.env.BENCH_ROUNDS || 5);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gstpc-latency-'));
  const rows = [];
  try {
    for (const [label, opts] of [
      ['default settings, WebRTC leg', { egress: 'webrtc' }],
      ['default settings, plain RTP leg', { egress: 'rtp' }],
      ['jitter buffer 20 ms, WebRTC leg', { egress: 'webrtc', latency: 20 }],
      ['jitter buffer 60 ms, WebRTC leg', { egress: 'webrtc', latency: 60 }],
      ['jitter buffer 200 ms, WebRTC leg', { egress: 'webrtc', latency: 200 }],
    ]) {
      const all = [];
      let underruns = 0;
      const waits = [];
      for (let i = 0; i < rounds; i++) {
        const r = await measure({ ...opts, dir });
        all.push(...r.latencies);
        underruns += r.underruns;
        if (r.waitMs !== undefined) waits.push(r.waitMs);
      }
      const s = summary(all);
      rows.push({ label, ...s, n: all.length, underruns });
      console.log(`bridge latency (SFU RTP in → SIP-side RTP out), ${label}: ${fmt(s, 'ms', 1)} (${all.length} chirps, ${rounds} runs of 8 s, ${underruns} FIFO underruns${waits.length ? `, source wait ${[...new Set(waits)].join('/')} ms` : ''})`);
    }
    console.log('floor: 20 ms output frame + 2.5–6.5 ms Opus algorithmic delay ≈ 22.5–26.5 ms');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return rows;
}

module.exports = { measure, main };

if (require.main === module) {
  main().then(() => process.exit(0), (e) => {
    console.error(e);
    process.exit(1);
  });
}
