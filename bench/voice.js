'use strict';

// Voice-agent media (our addon only):
// - CPU per call of a VoiceProcessor: echo cancellation + noise suppression + voice activity,
//   against the same processor with everything off (its pipeline alone) and against no
//   processor, N calls at once (speech in, the agent's speech as reference);
// - AudioPlayer timings at the wire, over plain RTP to a phone made of a UDP socket (PCMU; a
//   packet's arrival on loopback is when it left): clear() → the last sound the phone hears,
//   and a mark event → the first packet of the audio after the mark.
//   node bench/voice.js            (BENCH_VOICE_CALLS=10 BENCH_SECONDS=5 BENCH_VOICE_TRIALS=20)

const { AudioPlayer, FileSource, RTCPeerConnection, VoiceProcessor } = require(process.env.GSTPC_DIST || '..');
const { cpuTimes } = require('../__test__/helpers/resources');
const { rawPhone, unmulaw } = require('../__test__/helpers/rtp-phone');
const { sine } = require('../__test__/helpers/audio');
const { speechWav } = require('./speech');
const { summary } = require('./stats');

const CALLS = Number(process.env.BENCH_VOICE_CALLS || 10);
const SECONDS = Number(process.env.BENCH_SECONDS || 5);
const TRIALS = Number(process.env.BENCH_VOICE_TRIALS || 20);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** % of one core this process used over `seconds`. */
async function cpuPercent(seconds) {
  const c0 = cpuTimes();
  const t0 = performance.now();
  await sleep(seconds * 1000);
  return ((cpuTimes() - c0) / ((performance.now() - t0) / 1000)) * 100;
}

async function cpuPerCall() {
  const wav = speechWav();
  // Each call: the caller's speech and the agent's (the reference), looped.
  const calls = Array.from({ length: CALLS }, () => ({ caller: new FileSource(wav, { loop: true }), agent: new FileSource(wav, { loop: true }) }));
  await sleep(1000);
  const none = await cpuPercent(SECONDS);
  const measure = async (options) => {
    const processors = calls.map((c) => new VoiceProcessor(c.caller.track, { ...options, reference: options.echoCancellation ? c.agent.track : undefined }));
    await sleep(1000);
    const cpu = await cpuPercent(SECONDS);
    for (const p of processors) p.stop();
    await sleep(500);
    return cpu;
  };
  const off = await measure({ echoCancellation: false, noiseSuppression: false, voiceActivity: false });
  const full = await measure({ echoCancellation: true, noiseSuppression: 'moderate', voiceActivity: true });
  for (const c of calls) {
    c.caller.stop();
    c.agent.stop();
  }
  return { calls: CALLS, seconds: SECONDS, none, offPerCall: (off - none) / CALLS, fullPerCall: (full - none) / CALLS };
}

/** A player sending PCMU over plain RTP to a socket; `packets` gets { t, samples } per packet. */
async function phoneCall() {
  const player = new AudioPlayer();
  const { socket } = rawPhone(440);
  await new Promise((r) => socket.bind(0, '127.0.0.1', r));
  const packets = [];
  socket.on('message', (m) => {
    if (m.length <= 12) return;
    const samples = new Int16Array(m.length - 12);
    for (let i = 0; i < samples.length; i++) samples[i] = unmulaw(m[12 + i]);
    packets.push({ t: performance.now(), samples });
  });
  const pc = new RTCPeerConnection({ rtpProfile: 'RTP/AVP', localAddresses: ['127.0.0.1'] });
  pc.addTrack(player.track);
  const offer = `v=0\r\no=phone 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${socket.address().port} RTP/AVP 0\r\na=sendrecv\r\n`;
  await pc.setRemoteDescription({ type: 'offer', sdp: offer });
  await pc.setLocalDescription(await pc.createAnswer());
  await sleep(300);
  return {
    player,
    packets,
    close() {
      pc.close();
      player.stop();
      socket.close();
    },
  };
}

const loud = (p) => p.samples.some((s) => Math.abs(s) > 1000);

async function wireTimings() {
  const call = await phoneCall();
  const { player, packets } = call;
  const tone = sine(440, 48000, 400, { amplitude: 0.5 });
  const silence = new Int16Array(48000 * 0.2);
  const clears = [];
  const marks = [];
  try {
    for (let i = 0; i < TRIALS; i++) {
      // mark → the first packet of the tone after it.
      let markAt = 0;
      player.addEventListener('mark', () => (markAt = performance.now()), { once: true });
      player.enqueue(silence, { sampleRate: 48000 });
      player.mark(`m${i}`);
      const from = packets.length;
      player.enqueue(tone, { sampleRate: 48000 });
      await sleep(250 + 7 * (i % 5)); // the clear lands at a different phase of the 10 ms tick each time
      const onset = packets.slice(from).find(loud);
      if (markAt && onset) marks.push(markAt - onset.t);
      // clear() in the middle of the tone → the last loud packet.
      const clearAt = performance.now();
      player.clear();
      await sleep(200);
      const after = packets.slice(from).filter((p) => p.t >= clearAt && loud(p));
      clears.push(after.length ? after[after.length - 1].t - clearAt : 0);
      await sleep(100);
    }
  } finally {
    call.close();
  }
  return { trials: TRIALS, clear: summary(clears), mark: summary(marks) };
}

async function main() {
  return { cpu: await cpuPerCall(), wire: await wireTimings() };
}

module.exports = { main };

if (require.main === module) {
  main().then((r) => {
    console.log(JSON.stringify(r, null, 2));
    process.exit(0);
  });
}
