'use strict';

// The bridge path end to end: three SFU talkers as RTP over UDP → UdpRtpSource ×3 → AudioMixer →
// GstPeerConnection → the far peer, which must hear exactly what the mixer is told to send.

const { AudioMixer, RtpForwarder, ToneSource, UdpRtpSource, nonstandard } = require('../dist');
const { FrameCollector, detectTone } = require('./helpers/audio');
const { connect, once } = require('./helpers/peers');
const { later, peer } = require('./helpers/later');
const { sleep } = require('./helpers/resources');

const TALKERS = [440, 700, 1100];
const OTHER = 1500;

/** An SFU stand-in: each talker a tone sent as Opus RTP to its own UdpRtpSource. */
function sfuTalkers() {
  return TALKERS.map((frequency, i) => {
    const tone = new ToneSource({ frequency, amplitude: 0.3 });
    const ingress = new UdpRtpSource({ address: '127.0.0.1', port: 0, codec: 'opus', payloadType: 111 });
    const sender = new RtpForwarder(tone.track, { address: '127.0.0.1', port: ingress.port, codec: 'opus', payloadType: 111, ssrc: 5000 + i });
    later(() => {
      sender.stop();
      ingress.stop();
      tone.stop();
    });
    return { frequency, ingress };
  });
}

async function farEnd(mixTrack) {
  const a = peer();
  const b = peer();
  a.addTrack(mixTrack);
  const track = once(b, 'track');
  await connect(a, b);
  const collector = new FrameCollector();
  const sink = new nonstandard.RTCAudioSink((await track).track);
  sink.ondata = collector.push;
  later(() => sink.stop());
  return collector;
}

async function heard(collector, ms = 1000) {
  collector.reset();
  await sleep(ms);
  const samples = collector.samples();
  const all = [...TALKERS, OTHER];
  // Judged on the whole 1 s window at each tone's exact bin: the mixer follows drift by
  // inserting or removing whole pitch periods, never by resampling, so a talker stays on its
  // frequency. Present: clearly above the unused frequency AND a real share of the mix (each
  // talker is about a third of it; a muted talker leaves only codec noise at its frequency,
  // which is still above the unused frequency's bin).
  return Object.fromEntries(
    all.map((f) => {
      const r = detectTone(samples, 48000, f, { otherFreqs: [OTHER] });
      return [f, r.present && r.toneFraction > 0.05];
    }),
  );
}

test('three UDP RTP talkers mixed into a call: all heard; mute one; remove one mid-call without a gap', async () => {
  const talkers = sfuTalkers();
  const mixer = new AudioMixer();
  later(() => mixer.stop());
  const inputs = talkers.map((t) => mixer.addInput(t.ingress.track));
  const far = await farEnd(mixer.createTrack());
  await sleep(800);
  expect(await heard(far)).toEqual({ 440: true, 700: true, 1100: true, 1500: false });

  inputs[1].setMuted(true);
  // Audio mixed before the mute is still on its way (encoder, network, jitter buffer, frames
  // queued for the JS thread on a loaded machine): listen only after it has drained.
  await sleep(600);
  expect(await heard(far)).toEqual({ 440: true, 700: false, 1100: true, 1500: false });
  inputs[1].setMuted(false);

  far.reset();
  await sleep(500);
  inputs[2].remove();
  await sleep(800);
  const cont = far.continuity();
  expect(cont.maxGapMs).toBeLessThan(100);
  expect(cont.gaps).toBe(0);
  expect(await heard(far)).toEqual({ 440: true, 700: true, 1100: false, 1500: false });
  for (const t of talkers) expect(t.ingress.stats.packetsReceived).toBeGreaterThan(50);
}, 60000);

test('a mix-minus output sent on a call lacks exactly the excluded talker', async () => {
  const talkers = sfuTalkers();
  const mixer = new AudioMixer();
  later(() => mixer.stop());
  const inputs = talkers.map((t) => mixer.addInput(t.ingress.track));
  const far = await farEnd(mixer.createTrack({ exclude: [inputs[0]] }));
  await sleep(800);
  expect(await heard(far)).toEqual({ 440: false, 700: true, 1100: true, 1500: false });
}, 60000);
