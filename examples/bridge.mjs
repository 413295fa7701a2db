// The bridge demo (`npm run demo`): the SIP worker of a WebRTC↔SIP bridge, in one process.
//
//   fake SFU (3 talkers) ──RTP──▶ UdpRtpSource ×3 ──────┐
//   WebRTC phone ◀──── WebRTC call (Opus) ──────────▶    ├── AudioMixer (mix-minus:
//   desk phone   ◀──── plain-RTP call (PCMU) ───────▶    ┘   each hears everyone else)
//   fake SFU (receiver) ◀──RTP── RtpForwarder ◀── both phones' mix
//
// Everything runs on loopback: Kamailio as the SIP server, gst-launch-1.0 processes as the
// SFU, a second SIP.js user agent as the WebRTC phone (it calls the bridge), baresip as a desk
// phone on plain RTP (the bridge calls it). Each participant hears everyone but itself
// (mix-minus). The bridge records three directions, then prints what each side heard and
// writes a spectrogram of the recordings (PNG).

import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserAgent, Registerer, RegistererState, Inviter, SessionState } from 'sip.js';
import WebSocket from 'ws';
import { PNG } from 'pngjs';
import { AudioMixer, RtpForwarder, ToneSource, TrackRecorder, UdpRtpSource, nonstandard } from 'gst-peerconnection';
import { sessionDescriptionHandlerFactory } from 'gst-peerconnection/sip';
import { dB, power, spectrogram } from './support/analysis.mjs';

const require = createRequire(import.meta.url);
const { startKamailio } = require('../__test__/helpers/kamailio.js'); // a loopback Kamailio, killed on exit
const { startBaresip } = require('../__test__/helpers/baresip.js'); // a baresip desk phone, killed on exit
const { audioFormats } = require('../__test__/helpers/sdp.js'); // an SDP's audio formats and their names
globalThis.WebSocket ??= WebSocket;

const SECONDS = Number(process.env.DEMO_SECONDS || 8);
const OUT = join(dirname(fileURLToPath(import.meta.url)), '..', 'demo-output');
const TALKERS = [440, 660, 880]; // the SFU's three participants
const PHONE_FREQ = 1000; // what the WebRTC phone's caller says
const DESK_FREQ = 700; // what the desk phone's caller says
// Our INVITEs offer plain RTP/AVP, what desk phones and trunks speak; an INVITE that offers
// WebRTC (DTLS-SRTP) is still answered over WebRTC.
const BRIDGE_CONFIG = { localAddresses: ['127.0.0.1'], rtpProfile: 'RTP/AVP' };
const LOOPBACK = { localAddresses: ['127.0.0.1'] };
const log = (msg) => console.log(`[${(performance.now() / 1000).toFixed(1).padStart(5)} s] ${msg}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const children = [];
const cleanups = [];
process.on('exit', () => children.forEach((c) => c.exitCode === null && c.kill('SIGKILL')));

/**
 * A UDP port for the fake SFU's receiver (a separate gst-launch process, so it cannot bind port 0
 * and tell us). Taken below the kernel's ephemeral range: every process that binds port 0 (each
 * gst-launch udpsink's sending socket, Kamailio, the browser) gets a port from that range, and
 * one of them could take a port picked there before the receiver binds it.
 */
function receiverUdpPort() {
  const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const tryPort = (port) => new Promise((resolve) => {
    const s = createSocket('udp4');
    s.once('error', () => resolve(false));
    s.bind(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
  return (async () => {
    for (;;) {
      const port = 20000 + Math.floor(Math.random() * (ephemeralLow - 20000));
      if (await tryPort(port)) return port;
    }
  })();
}

function gstLaunch(pipeline) {
  const child = spawn('gst-launch-1.0', ['-q', '-e', ...pipeline.split(' ')], { stdio: ['ignore', 'ignore', 'inherit'] });
  children.push(child);
  return child;
}

/**
 * A fake SFU: one live Opus RTP stream per talker, sent to the bridge's already bound ingress
 * ports, and a receiver that writes what it gets to a WAV.
 */
async function startFakeSfu(ingressPorts) {
  const talkers = [];
  for (const [i, freq] of TALKERS.entries()) {
    const port = ingressPorts[i];
    gstLaunch(
      `audiotestsrc is-live=true wave=sine freq=${freq} volume=0.2 ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 ` +
        `! opusenc ! rtpopuspay pt=111 ssrc=${1000 + i} ! udpsink host=127.0.0.1 port=${port}`,
    );
    talkers.push({ freq, port });
  }
  const receivePort = await receiverUdpPort();
  const receivedWav = join(OUT, 'sfu-received.wav');
  const receiver = gstLaunch(
    `udpsrc address=127.0.0.1 port=${receivePort} caps=application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=111 ` +
      `! rtpjitterbuffer latency=40 ! rtpopusdepay ! opusdec ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 ` +
      `! wavenc ! filesink location=${receivedWav}`,
  );
  const stopReceiver = () => new Promise((resolve) => {
    receiver.once('exit', resolve);
    receiver.kill('SIGINT'); // -e: EOS first, so the WAV header is finalised
  });
  return { talkers, receivePort, receivedWav, stopReceiver };
}

async function register(user, wsUrl, extra) {
  const ua = new UserAgent({ uri: UserAgent.makeURI(`sip:${user}@127.0.0.1`), transportOptions: { server: wsUrl }, logLevel: 'error', ...extra });
  await ua.start();
  const registerer = new Registerer(ua);
  await new Promise((resolve, reject) => {
    registerer.stateChange.addListener((s) => s === RegistererState.Registered && resolve());
    registerer.register().catch(reject);
  });
  cleanups.push(() => ua.stop());
  return ua;
}

function readWav(path) {
  const buf = readFileSync(path);
  const data = buf.indexOf('data');
  const bytes = buf.readUInt32LE(data + 4) || buf.length - data - 8;
  return new Int16Array(buf.buffer.slice(buf.byteOffset + data + 8, buf.byteOffset + data + 8 + (bytes & ~1)));
}

function levels(samples, rate = 48000) {
  return Object.fromEntries([...TALKERS, PHONE_FREQ, DESK_FREQ].map((f) => [f, dB(power(samples, rate, f))]));
}

/** The profile and first codec of an SDP's audio line. */
function audioOf(sdp) {
  const [{ pt, name }] = audioFormats(sdp);
  return `${/^m=audio \S+ (\S+)/m.exec(sdp)[1]}, ${name ?? `payload type ${pt}`}`;
}

/** baresip's recording (floats in [-1, 1]) as Int16 samples. */
const int16 = (floats) => Int16Array.from(floats, (x) => Math.round(Math.max(-1, Math.min(1, x)) * 32767));

/**
 * Every expected talker in every 500 ms window: at least −30 dB (a talker at −17 dB that drops
 * out, clicks or drifts off its frequency for part of a window falls well below that), and
 * the frequencies that should be absent below −45 dB. Returns the failing windows.
 */
function windowed(name, samples, expected, rate = 48000) {
  const win = rate / 2;
  const bad = [];
  let windows = 0;
  for (let at = 0; at + win <= samples.length; at += win, windows++) {
    const lv = levels(samples.subarray(at, at + win), rate);
    const wrong = Object.entries(lv).filter(([f, p]) => (expected.includes(Number(f)) ? !(p > -30) : !(p < -45)));
    if (wrong.length) bad.push(`${(at / rate).toFixed(1)} s: ${wrong.map(([f, p]) => `${f} Hz ${p.toFixed(0)} dB`).join(', ')}`);
  }
  const ok = windows > 0 && bad.length === 0;
  console.log(`  ${name.padEnd(34)} ${windows - bad.length}/${windows} windows of 500 ms with every expected talker  → ${ok ? 'OK' : 'UNEXPECTED'}`);
  for (const b of bad.slice(0, 5)) console.log(`      ${b}`);
  return ok;
}

function describe(name, lv, expected) {
  const parts = Object.entries(lv).map(([f, p]) => `${f} Hz ${p.toFixed(0)} dB`);
  const ok = Object.entries(lv).every(([f, p]) => (expected.includes(Number(f)) ? p > -30 : p < -45));
  console.log(`  ${name.padEnd(34)} ${parts.join(', ')}  → ${ok ? 'OK' : 'UNEXPECTED'} (expected ${expected.join(' + ')} Hz)`);
  return ok;
}

/** The recordings as spectrogram panels, 100–1600 Hz, 50 ms columns, louder = brighter. */
function writeSpectrogram(recordings, path) {
  const freqs = Array.from({ length: 76 }, (_, i) => 100 + i * 20);
  const grids = recordings.map((r) => spectrogram(r.samples, 48000, { windowMs: 50, freqs }));
  const [sx, sy, gap] = [4, 3, 6];
  const cols = Math.max(...grids.map((g) => g[0].length));
  const width = cols * sx;
  const panel = freqs.length * sy;
  const png = new PNG({ width, height: grids.length * panel + (grids.length - 1) * gap });
  png.data.fill(255);
  grids.forEach((grid, p) => {
    for (let y = 0; y < panel; y++) {
      const row = grid[freqs.length - 1 - Math.floor(y / sy)];
      for (let x = 0; x < width; x++) {
        const level = Math.max(0, Math.min(1, ((row[Math.floor(x / sx)] ?? -100) + 90) / 80)); // -90..-10 dB
        const i = ((p * (panel + gap) + y) * width + x) * 4;
        png.data.set([Math.round(255 * Math.min(1, level * 1.6)), Math.round(255 * level * level), Math.round(90 * (1 - level)), 255], i);
      }
    }
  });
  writeFileSync(path, PNG.sync.write(png));
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const kamailio = await startKamailio();
  cleanups.push(() => kamailio.stop());
  log(`Kamailio up: ${kamailio.wsUrl} (WebSocket), udp/${kamailio.udpPort}`);
  const desk = await startBaresip({ kamailioUdpPort: kamailio.udpPort, user: 'desk', frequency: DESK_FREQ, codec: 'PCMU/8000/1' });
  cleanups.push(() => desk.stop());
  log('desk phone (baresip): registered as sip:desk@127.0.0.1 over UDP, PCMU, answers automatically');

  // --- the bridge -------------------------------------------------------------------------
  // One RTP port per SFU talker, chosen by the system (port 0) and bound before anyone sends.
  const ingress = TALKERS.map(() => new UdpRtpSource({ address: '127.0.0.1', port: 0, codec: 'opus', payloadType: 111 }));
  const sfu = await startFakeSfu(ingress.map((src) => src.port));
  log(`fake SFU: talkers ${sfu.talkers.map((t) => `${t.freq} Hz → udp/${t.port}`).join(', ')}; receiver on udp/${sfu.receivePort}`);
  const mixer = new AudioMixer();
  const inputs = ingress.map((src) => mixer.addInput(src.track));
  // What a call sends until its caller has an input of its own (then: everyone but the caller).
  const everyone = mixer.createTrack();
  let bridgeUa;
  const toBridge = new Promise((resolve) => {
    register('bridge', kamailio.wsUrl, {
      sessionDescriptionHandlerFactory: sessionDescriptionHandlerFactory({ media: () => everyone, peerConnectionConfiguration: BRIDGE_CONFIG }),
      delegate: {
        onInvite: async (invitation) => {
          log('bridge: incoming call, ringing');
          await invitation.progress();
          await invitation.accept();
          resolve(invitation);
        },
      },
    }).then((ua) => {
      log('bridge: registered as sip:bridge@127.0.0.1');
      bridgeUa = ua;
    });
  });

  /** The caller of `session` joins the mix (at `gain`) and hears everyone but itself. */
  async function joinMix(session, gain = 1) {
    const sdh = session.sessionDescriptionHandler;
    const track = await sdh.waitForRemoteTrack();
    const input = mixer.addInput(track, { gain });
    await sdh.gstPeerConnection.getSenders()[0].replaceTrack(mixer.createTrack({ exclude: [input] }));
    return { track, input };
  }

  // --- the WebRTC phone calls the bridge --------------------------------------------------
  const phoneTone = new ToneSource({ frequency: PHONE_FREQ, amplitude: 0.3 });
  const phone = await register('phone', kamailio.wsUrl, {
    sessionDescriptionHandlerFactory: sessionDescriptionHandlerFactory({ media: () => phoneTone.track, peerConnectionConfiguration: LOOPBACK }),
  });
  log('phone: registered as sip:phone@127.0.0.1, calling the bridge');
  await sleep(300); // let the bridge finish registering
  const inviter = new Inviter(phone, UserAgent.makeURI('sip:bridge@127.0.0.1'));
  const t0 = performance.now();
  await inviter.invite();
  const invitation = await toBridge;
  await new Promise((resolve) => inviter.stateChange.addListener((s) => s === SessionState.Established && resolve()));
  log(`connected: INVITE → established in ${(performance.now() - t0).toFixed(0)} ms (WebRTC: ICE + DTLS-SRTP, Opus)`);
  const caller = await joinMix(invitation);

  // --- the bridge calls the desk phone over plain RTP -------------------------------------
  const deskCall = new Inviter(bridgeUa, UserAgent.makeURI('sip:desk@127.0.0.1'));
  const t1 = performance.now();
  const deskUp = new Promise((resolve) => deskCall.stateChange.addListener((s) => s === SessionState.Established && resolve()));
  await deskCall.invite();
  await deskUp;
  const answer = deskCall.sessionDescriptionHandler.gstPeerConnection.remoteDescription.sdp;
  log(`desk phone answered: INVITE → established in ${(performance.now() - t1).toFixed(0)} ms (${audioOf(answer)})`);
  // baresip's sine is loud (−10 dB): at half its level the mixes stay clear of full scale, where
  // the mixer clips.
  const deskCaller = await joinMix(deskCall, 0.5);

  // The SFU gets both callers' mix; the bridge records three directions.
  const forwarder = new RtpForwarder(mixer.createTrack({ exclude: inputs }), { address: '127.0.0.1', port: sfu.receivePort, codec: 'opus', payloadType: 111 });
  const toPhone = invitation.sessionDescriptionHandler.gstPeerConnection.getSenders()[0].track;
  const recorders = [
    new TrackRecorder(toPhone, { path: join(OUT, 'bridge-to-phone.wav') }),
    new TrackRecorder(caller.track, { path: join(OUT, 'phone-to-bridge.wav') }),
    new TrackRecorder(deskCaller.track, { path: join(OUT, 'desk-to-bridge.wav') }),
  ];

  // The phone listens, and measures when audio from the SFU reaches it.
  const heard = [];
  let onsetAt = null;
  const phoneSink = new nonstandard.RTCAudioSink(await inviter.sessionDescriptionHandler.waitForRemoteTrack());
  phoneSink.ondata = ({ samples }) => {
    heard.push(samples);
    if (onsetAt === null && power(samples, 48000, TALKERS[0]) > 1e-3) onsetAt = performance.now();
  };

  // Latency added by the bridge: mute a talker, unmute it, time until the phone decodes it.
  inputs.forEach((i) => i.setMuted(true));
  await sleep(600);
  heard.length = 0;
  onsetAt = null;
  const unmutedAt = performance.now();
  inputs[0].setMuted(false);
  while (onsetAt === null && performance.now() - unmutedAt < 2000) await sleep(2);
  const latency = onsetAt === null ? NaN : onsetAt - unmutedAt;
  inputs.forEach((i) => i.setMuted(false));
  const deskFrom = performance.now(); // the desk phone's recording is judged from here on

  // Run, printing packets per second each way.
  let last = { ingress: 0, egress: 0 };
  for (let s = 0; s < SECONDS; s++) {
    await sleep(1000);
    const now = { ingress: ingress.reduce((n, src) => n + src.stats.packetsReceived, 0), egress: forwarder.stats.packetsSent };
    log(`SFU → bridge ${now.ingress - last.ingress} pkt/s, bridge → SFU ${now.egress - last.egress} pkt/s`);
    last = now;
  }
  const deskMs = performance.now() - deskFrom;

  // Tear down: BYE both calls, finish recordings, stop the SFU receiver so its WAV is complete.
  await inviter.bye();
  await deskCall.bye();
  phoneSink.stop();
  await Promise.all(recorders.map((r) => r.stop()));
  forwarder.stop();
  await sfu.stopReceiver();
  ingress.forEach((src) => src.stop());
  mixer.stop();
  phoneTone.stop();
  await sleep(300); // baresip closes its recording on the BYE
  const deskHeard = desk.decoded();
  for (const c of cleanups.reverse()) await c();
  children.forEach((c) => c.kill('SIGKILL'));

  // --- report -----------------------------------------------------------------------------
  const atPhone = Int16Array.from(heard.slice(-300).flatMap((f) => Array.from(f)));
  // The desk phone's recording ends with the call: judged over the run less its first second
  // (the talkers come back after the latency measurement through baresip's own jitter buffer,
  // and where the recording ends is known to the hang-up's 200 ms only).
  const deskRate = deskHeard.sampleRate || 8000;
  const deskEnd = deskHeard.samples.length - Math.round(deskRate / 5);
  const deskSpan = Math.round(((deskMs - 1000) / 1000) * deskRate);
  const atDesk = int16(deskHeard.samples.subarray(Math.max(0, deskEnd - deskSpan), Math.max(0, deskEnd)));
  const recordings = [
    { name: 'bridge → phone (recorded mix-minus)', samples: readWav(join(OUT, 'bridge-to-phone.wav')), expect: [...TALKERS, DESK_FREQ] },
    { name: 'phone → bridge (recorded caller)', samples: readWav(join(OUT, 'phone-to-bridge.wav')), expect: [PHONE_FREQ] },
    { name: 'desk → bridge (recorded caller)', samples: readWav(join(OUT, 'desk-to-bridge.wav')), expect: [DESK_FREQ] },
  ];
  console.log('\nReport');
  const sfuHeard = readWav(sfu.receivedWav).subarray(48000);
  const checks = [
    describe('the phone heard', levels(atPhone), [...TALKERS, DESK_FREQ]),
    describe('the desk phone heard', levels(atDesk, deskRate), [...TALKERS, PHONE_FREQ]),
    describe('the SFU receiver heard', levels(sfuHeard), [PHONE_FREQ, DESK_FREQ]),
    ...recordings.map((r) => describe(r.name, levels(r.samples.subarray(48000)), r.expect)),
    // The same per 500 ms window: a talker that drops out of a window fails the run.
    windowed('the phone heard', atPhone, [...TALKERS, DESK_FREQ]),
    windowed('the desk phone heard', atDesk, [...TALKERS, PHONE_FREQ], deskRate),
    windowed('the SFU receiver heard', sfuHeard, [PHONE_FREQ, DESK_FREQ]),
    ...recordings.map((r) => windowed(r.name, r.samples.subarray(48000), r.expect)),
  ];
  console.log(`  latency from the mixer input to audio decoded at the phone: ${latency.toFixed(0)} ms`);
  const picture = join(OUT, 'spectrogram.png');
  writeSpectrogram(recordings, picture);
  console.log(`  spectrogram of the recordings (top to bottom: ${recordings.map((r) => r.name.replace(/ \(.*/, '')).join(', ')}): ${picture}`);
  const ok = checks.every(Boolean) && Number.isFinite(latency);
  console.log(ok ? '\nDEMO OK' : '\nDEMO FAILED');
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
