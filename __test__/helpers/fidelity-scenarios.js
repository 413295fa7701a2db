'use strict';

// The issue-15 fidelity scenarios, shared by __test__/audio-fidelity.test.js (which asserts)
// and bench/fidelity.js (which only reports): real gst-launch-1.0 Opus senders on loopback →
// UdpRtpSource ×3 → AudioMixer → full mix and a mix-minus → RTCAudioSink, and a
// GstPeerConnection receive path, each judged by helpers/fidelity.js and by Goertzel presence
// in 200 ms windows at the exact tone bins.
//
// Every function takes the package (`require('../../dist')` or another build) as `lib`, so the
// same scenarios can measure a build from before a change.

const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const readline = require('readline');

const { FrameCollector, goertzelPower } = require('./audio');
const { analyzeFidelity, describeFidelity } = require('./fidelity');
const { sleep } = require('./resources');

const SR = 48000;
const AMP = 0.3; // each sender's volume: three of them sum to ≤ 0.9
const TALKERS = [440, 700, 1100];
const UNUSED = 1500;
const SKIP_MS = 300;
const PRESENCE_MS = 200;
const PRESENT_POWER = (AMP * AMP) / 4; // −6 dB below the sender's level at the exact bin
const ABSENT_POWER = AMP * AMP * 1e-3; // −30 dB

/** Child processes we started, killed by PID (SIGKILL) however the scenario ends. */
class Children {
  constructor() {
    this.list = [];
  }

  spawn(cmd, args, opts = {}) {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
    child.stderrText = '';
    child.stderr?.on('data', (d) => {
      if (child.stderrText.length < 4000) child.stderrText += d;
    });
    child.on('error', () => {});
    this.list.push(child);
    return child;
  }

  killAll() {
    for (const c of this.list) {
      if (c.exitCode === null && c.signalCode === null && c.pid) {
        try {
          process.kill(c.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
    }
    this.list = [];
  }
}

/**
 * A gst-launch-1.0 Opus sender. skew: fraction by which its clock runs fast (0.0005 = 0.05 %):
 * audiotestsrc makes `rate·(1 + skew)` samples per second of real time, labelled 48000 Hz
 * (capssetter) — a sender whose sample clock is fast; its tone is `freq` in its own time base
 * (so `freq·(1 + skew)` is generated at the raw rate), its RTP timestamps count its own samples
 * (opusenc perfect-timestamp: +960 a packet) and packets leave as they are made (sync=false):
 * 50·(1 + skew) packets a second by our clock.
 */
function senderArgs({ freq, skew = 0, clients }) {
  const sink = `multiudpsink clients=${clients.join(',')}`;
  if (!skew) {
    return `audiotestsrc is-live=true freq=${freq} wave=sine volume=${AMP} ! audio/x-raw,rate=48000,channels=1 ! opusenc ! rtpopuspay pt=111 ! ${sink}`;
  }
  const rate = Math.round(SR * (1 + skew));
  return (
    `audiotestsrc is-live=true freq=${(freq * rate) / SR} wave=sine volume=${AMP} ! audio/x-raw,rate=${rate},channels=1 ` +
    `! capssetter caps=audio/x-raw,rate=${SR} ! opusenc perfect-timestamp=true ! rtpopuspay pt=111 ! ${sink} sync=false`
  );
}

/** helpers/udp-relay.js in its own process: `routes` as it takes them ({to, meanMs, sdMs} or {} for a probe). */
async function udpRelay(children, routes, seed = 15) {
  // At a raised priority (nice −10; nice execs, so the PID stays the relay's): netem delays in
  // the kernel, which the test's busy processes cannot preempt, and a relay preempted for tens
  // of ms delays packets by more than the jitter it emulates.
  const child = children.spawn('nice', ['-n', '-10', process.execPath, path.join(__dirname, 'udp-relay.js'), JSON.stringify({ seed, routes })]);
  const lines = readline.createInterface({ input: child.stdout });
  const queue = [];
  const waiters = [];
  lines.on('line', (line) => {
    const msg = JSON.parse(line);
    if (waiters.length) waiters.shift()(msg);
    else queue.push(msg);
  });
  const next = (ms) =>
    new Promise((resolve, reject) => {
      if (queue.length) return resolve(queue.shift());
      const timer = setTimeout(() => reject(new Error(`udp relay: no answer (${child.stderrText})`)), ms);
      waiters.push((m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  const { ports } = await next(10000);
  return {
    ports,
    async stop() {
      child.kill('SIGTERM');
      try {
        return (await next(5000)).stats;
      } catch {
        return null;
      }
    },
  };
}

async function waitFor(cond, ms, what) {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

function collect(lib, track, cleanups) {
  const collector = new FrameCollector({ gapMs: 60 });
  const sink = new lib.nonstandard.RTCAudioSink(track);
  sink.ondata = collector.push;
  cleanups.push(() => sink.stop());
  return collector;
}

/**
 * Presence in consecutive windows of PRESENCE_MS from `fromMs` (media time): each `present`
 * tone at ≥ PRESENT_POWER at its exact bin, each `absent` tone (and the unused frequency) at
 * ≤ ABSENT_POWER.
 */
function presence(samples, present, absent, fromMs = SKIP_MS) {
  const win = (PRESENCE_MS * SR) / 1000;
  const missing = [];
  const leaked = [];
  let windows = 0;
  for (let a = Math.round((fromMs * SR) / 1000); a + win <= samples.length; a += win) {
    windows++;
    const w = samples.subarray(a, a + win);
    const startMs = (a * 1000) / SR;
    for (const f of present) {
      const p = goertzelPower(w, SR, f);
      if (!(p >= PRESENT_POWER)) missing.push({ freq: f, startMs, db: 10 * Math.log10(p / (AMP * AMP)) });
    }
    for (const f of [...absent, UNUSED]) {
      const p = goertzelPower(w, SR, f);
      if (!(p <= ABSENT_POWER)) leaked.push({ freq: f, startMs, db: 10 * Math.log10(p / (AMP * AMP)) });
    }
  }
  const windowsWith = (list) => new Set(list.map((m) => m.startMs)).size;
  return { windows, missing, leaked, missingWindows: windowsWith(missing), leakedWindows: windowsWith(leaked) };
}

/** Judge one output: fidelity (pitch, clicks) from SKIP_MS, presence per 200 ms window. */
function judge(label, collector, present, absent) {
  const samples = collector.samples();
  // For a look at what was judged (e.g. `sox -t f32 -r 48000 -c 1 <file> out.wav`).
  if (process.env.FIDELITY_DUMP_DIR) fs.writeFileSync(path.join(process.env.FIDELITY_DUMP_DIR, `${label}.f32`), Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength));
  const fidelity = analyzeFidelity(samples, SR, present, { skipMs: SKIP_MS });
  const pres = presence(samples, present, absent);
  // Where the first audible sample is (the output may start with silence).
  let firstAudio = -1;
  for (let i = 0; i < samples.length; i++) {
    if (Math.abs(samples[i]) > 0.01) {
      firstAudio = i;
      break;
    }
  }
  return {
    output: label,
    present,
    absent,
    durationMs: collector.durationMs,
    firstAudioMs: firstAudio < 0 ? null : (firstAudio * 1000) / SR,
    gaps: collector.continuity(SKIP_MS).gaps,
    fidelity,
    presence: pres,
  };
}

/**
 * Three gst-launch senders → UdpRtpSource ×3 → AudioMixer → full mix and the mix-minus without
 * TALKERS[0] → RTCAudioSink, for `seconds`.
 * jitter: the senders' packets go through helpers/udp-relay.js, delayed as `netem delay 20ms 15ms`
 * would (uniform in 5–35 ms, so packets 20 ms apart overtake one another).
 * skew: the first non-excluded talker's clock runs fast by this fraction (0.0005 = 0.05 %).
 */
async function mixerScenario(lib, { name, seconds = 30, jitter = false, skew = 0, children = new Children() }) {
  const cleanups = [];
  const skewed = skew ? 1 : -1; // index of the skewed talker (700 Hz: in both outputs)
  try {
    const ingress = TALKERS.map(() => {
      const s = new lib.UdpRtpSource({ address: '127.0.0.1', port: 0, codec: 'opus', payloadType: 111, ...(process.env.UDP_LATENCY ? { latency: +process.env.UDP_LATENCY } : {}) });
      cleanups.push(() => s.stop());
      return s;
    });
    // Routes 0–2: probes, each getting a copy of one sender's packets (their arrival rate);
    // with jitter, routes 3–5: each sender's path to its UdpRtpSource.
    const routes = TALKERS.map(() => ({}));
    if (jitter) routes.push(...ingress.map((s) => ({ to: `127.0.0.1:${s.port}`, meanMs: 20, jitterMs: 15 })));
    const relay = await udpRelay(children, routes);
    const targets = jitter ? relay.ports.slice(3).map((p) => `127.0.0.1:${p}`) : ingress.map((s) => `127.0.0.1:${s.port}`);
    const senders = TALKERS.map((freq, i) =>
      children.spawn('gst-launch-1.0', ['-q', ...senderArgs({ freq, skew: i === skewed ? skew : 0, clients: [targets[i], `127.0.0.1:${relay.ports[i]}`] }).split(' ')], {
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    await waitFor(() => ingress.every((s) => s.stats.packetsReceived > 0), 15000, `packets from all three senders (${senders.map((s) => s.stderrText).join(' ')})`);

    const mixer = new lib.AudioMixer();
    cleanups.push(() => mixer.stop());
    const inputs = ingress.map((s) => mixer.addInput(s.track));
    const full = collect(lib, mixer.createTrack(), cleanups);
    const minus = collect(lib, mixer.createTrack({ exclude: [inputs[0]] }), cleanups);
    await sleep(seconds * 1000);
    const inputStats = mixer.inputStats();
    const ingressStats = ingress.map((s) => s.stats);
    while (cleanups.length) {
      try {
        cleanups.pop()();
      } catch {
        // already stopped
      }
    }
    const relayStats = (await relay.stop()) || [];
    children.killAll();

    const rates = TALKERS.map((_, i) => relayStats[i]?.packetsPerSecond ?? NaN);
    const normal = rates.filter((_, i) => i !== skewed);
    const normalRate = normal.reduce((a, b) => a + b, 0) / normal.length;
    return {
      scenario: name,
      seconds,
      outputs: [judge('mix', full, TALKERS, []), judge('mix-minus', minus, TALKERS.slice(1), TALKERS.slice(0, 1))],
      senders: TALKERS.map((freq, i) => ({ freq, packets: relayStats[i]?.packets ?? 0, packetsPerSecond: rates[i], skewed: i === skewed })),
      measuredSkew: skewed >= 0 ? rates[skewed] / normalRate - 1 : null,
      ingress: ingressStats,
      mixerInputs: inputStats,
      jitter: jitter ? relayStats.slice(3) : null,
    };
  } finally {
    while (cleanups.length) {
      try {
        cleanups.pop()();
      } catch {
        // already stopped
      }
    }
    children.killAll();
  }
}

/** Trickle offer/answer between two connections on loopback. */
async function connectPeers(a, b) {
  const state = (pc, value) =>
    new Promise((resolve, reject) => {
      if (pc.connectionState === value) return resolve();
      const timer = setTimeout(() => reject(new Error(`timed out waiting for connectionState ${value}`)), 15000);
      pc.addEventListener('connectionstatechange', function on() {
        if (pc.connectionState !== value) return;
        clearTimeout(timer);
        pc.removeEventListener('connectionstatechange', on);
        resolve();
      });
    });
  for (const [from, to] of [
    [a, b],
    [b, a],
  ]) {
    from.addEventListener('icecandidate', (ev) => {
      if (ev.candidate && to.signalingState !== 'closed') to.addIceCandidate(ev.candidate).catch(() => {});
    });
  }
  const connected = Promise.all([state(a, 'connected'), state(b, 'connected')]);
  await a.setLocalDescription(await a.createOffer());
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  await connected;
}

/**
 * ToneSource → pc A → pc B → RTCAudioSink, judged from the first frame B delivers (the first
 * SKIP_MS excepted): the receive path's start, playout ramp included. viaMixer: B's remote
 * track goes into an AudioMixer as it arrives (a new caller joining a conference) and the
 * mixer's output is judged instead.
 */
async function peerScenario(lib, { name = 'peer-receive', seconds = 30, freq = 700, viaMixer = false } = {}) {
  const cleanups = [];
  try {
    const config = { iceServers: [], localAddresses: ['127.0.0.1'] };
    const tone = new lib.ToneSource({ frequency: freq, amplitude: AMP });
    cleanups.push(() => tone.stop());
    const a = new lib.GstPeerConnection(config);
    const b = new lib.GstPeerConnection(config);
    cleanups.push(() => a.close(), () => b.close());
    a.addTrack(tone.track);
    let collector = null;
    let mixer = null;
    b.addEventListener('track', (ev) => {
      if (collector) return;
      if (viaMixer) {
        mixer = new lib.AudioMixer();
        cleanups.push(() => mixer.stop());
        mixer.addInput(ev.track);
        collector = collect(lib, mixer.createTrack(), cleanups);
      } else {
        collector = collect(lib, ev.track, cleanups);
      }
    });
    await connectPeers(a, b);
    await waitFor(() => collector && collector.frameCount > 0, 10000, 'the first frame at B');
    await sleep(seconds * 1000);
    const mixerInputs = mixer ? mixer.inputStats() : null;
    while (cleanups.length) {
      try {
        cleanups.pop()();
      } catch {
        // already closed
      }
    }
    return { scenario: name, seconds, outputs: [judge(viaMixer ? 'pc-receive-mixed' : 'pc-receive', collector, [freq], [])], mixerInputs };
  } finally {
    while (cleanups.length) {
      try {
        cleanups.pop()();
      } catch {
        // already closed
      }
    }
  }
}

/** The parseable summary line of one output (and the details behind it). */
function summaryLines(result) {
  return result.outputs.map((o) => {
    const f = o.fidelity;
    const dev = Math.max(...Object.values(f.maxAbsDeviation));
    const worstClick = f.clicks.reduce((m, c) => Math.max(m, Math.abs(c.step)), 0);
    return (
      `fidelity: scenario=${result.scenario} output=${o.output} seconds=${(f.analysedMs / 1000).toFixed(1)} ` +
      `offPitchWindows=${f.offPitchWindows} offPitchPerMin=${f.perMinute.offPitch.toFixed(1)} ` +
      `clicks=${f.clicks.length} clicksPerMin=${f.perMinute.clicks.toFixed(1)} ` +
      `maxDeviationPct=${(dev * 100).toFixed(3)} weakWindows=${f.weak.length} ` +
      `missingWindows=${o.presence.missingWindows}/${o.presence.windows} leakedWindows=${o.presence.leakedWindows} ` +
      `worstClickStep=${worstClick.toFixed(4)} gaps=${o.gaps}`
    );
  });
}

function details(result) {
  const out = [];
  for (const o of result.outputs) {
    out.push(`  ${o.output}: ${describeFidelity(o.fidelity)}`);
    const miss = o.presence.missing.slice(0, 6).map((m) => `${m.freq}Hz@${(m.startMs / 1000).toFixed(1)}s ${m.db.toFixed(1)}dB`);
    if (miss.length) out.push(`    missing: ${miss.join(', ')}${o.presence.missing.length > 6 ? ' …' : ''}`);
    const leak = o.presence.leaked.slice(0, 6).map((m) => `${m.freq}Hz@${(m.startMs / 1000).toFixed(1)}s ${m.db.toFixed(1)}dB`);
    if (leak.length) out.push(`    leaked: ${leak.join(', ')}${o.presence.leaked.length > 6 ? ' …' : ''}`);
  }
  if (result.senders) {
    out.push(`  senders: ${result.senders.map((s) => `${s.freq}Hz ${s.packets} pkts ${s.packetsPerSecond.toFixed(4)}/s${s.skewed ? ' (skewed)' : ''}`).join(', ')}`);
  }
  if (result.measuredSkew != null) out.push(`  measured sender skew: ${(result.measuredSkew * 100).toFixed(4)} %`);
  if (result.jitter) {
    out.push(
      `  jitter relay: ${result.jitter.map((j) => `${j.packets} pkts delay ${j.meanDelayMs.toFixed(1)}±${j.sdDelayMs.toFixed(1)} ms (max ${j.maxDelayMs.toFixed(0)}), ${j.reordered} reordered`).join('; ')}`,
    );
  }
  if (result.mixerInputs) {
    out.push(
      `  mixer inputs: ${result.mixerInputs
        .map((s) => Object.entries(s).map(([k, v]) => `${k}=${typeof v === 'number' ? Math.round(v * 10) / 10 : v}`).join(' '))
        .join('; ')}`,
    );
  }
  if (result.ingress) {
    out.push(
      `  ingress: ${result.ingress.map((s) => `rx ${s.packetsReceived} lost ${s.packetsLost} disc ${s.packetsDiscarded} dup ${s.packetsDuplicated} tsResync ${s.timestampResyncs} reordered ${s.packetsReordered} wait ${s.latencyMs}ms trimmed ${s.trimmedMs}ms`).join('; ')}`,
    );
  }
  return out;
}

module.exports = {
  SR,
  AMP,
  TALKERS,
  SKIP_MS,
  Children,
  senderArgs,
  mixerScenario,
  peerScenario,
  presence,
  summaryLines,
  details,
};
