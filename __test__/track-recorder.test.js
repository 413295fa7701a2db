'use strict';

// Per-party recording (issue 22): one file, one channel per track, as WAV and Ogg/Opus, through
// a track being replaced and a track ending mid-call. Channels are told apart by frequency.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { AudioPlayer, ToneSource, TrackRecorder } = require('../dist');
const { detectTone, sine } = require('./helpers/audio');
const { connect, once } = require('./helpers/peers');
const { later, own, peer } = require('./helpers/later');
const { sleep } = require('./helpers/resources');
const { parseWav, channel } = require('./helpers/wav');

jest.setTimeout(60_000);

const CALLER = 440;
const AGENT = 1000;
const AGENT_2 = 1500;
const ALL = [CALLER, AGENT, AGENT_2];

let dir;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gst-pc-recorder-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Which of ALL sounds in [fromMs, toMs) of a 48 kHz channel, window by window (200 ms): 'silent' when nothing does. */
function heardIn(samples, fromMs, toMs) {
  const out = new Set();
  for (let t = fromMs; t + 200 <= toMs; t += 200) {
    const w = samples.subarray((t * 48000) / 1000, ((t + 200) * 48000) / 1000);
    const present = ALL.filter((f) => detectTone(w, 48000, f, { otherFreqs: ALL.filter((g) => g !== f), minRms: 0.01 }).present);
    out.add(present.length ? present.join('+') : 'silent');
  }
  return [...out];
}

/** Decoded with GStreamer: Ogg/Opus → 48 kHz S16 WAV. */
function decodeOgg(file) {
  const out = `${file}.wav`;
  execFileSync('gst-launch-1.0', ['-q', 'filesrc', `location=${file}`, '!', 'oggdemux', '!', 'opusdec', '!', 'audioconvert', '!', 'audio/x-raw,format=S16LE,rate=48000', '!', 'wavenc', '!', 'filesink', `location=${out}`]);
  return out;
}

function discover(file) {
  const text = execFileSync('gst-discoverer-1.0', ['-v', file], { encoding: 'utf8' });
  const [, h, m, s] = /Duration: (\d+):(\d+):([\d.]+)/.exec(text);
  return { durationMs: (Number(h) * 3600 + Number(m) * 60 + Number(s)) * 1000, channels: Number(/channels=\(int\)(\d+)/.exec(text)[1]), codec: /audio codec: (\w+)/.exec(text)[1] };
}

test('a call recorded in stereo (caller left, agent right) survives the agent track being replaced and the caller track ending', async () => {
  // The agent (A) speaks from an AudioPlayer; the caller (B) is a tone, received by A.
  const player = own(new AudioPlayer());
  const a = peer();
  const b = peer();
  a.addTrack(player.track);
  b.addTrack(own(new ToneSource({ frequency: CALLER })).track);
  const remote = once(a, 'track');
  await connect(a, b);
  const callerTrack = (await remote).track;
  const file = path.join(dir, 'call.wav');
  // Made before the recording starts: under Jest this takes over 100 ms.
  const agentSpeech = sine(AGENT, 48000, 5000, { amplitude: 0.5 });
  const second = own(new ToneSource({ frequency: AGENT_2 }));
  const started = performance.now();
  // The sleeps run late on a loaded machine: each change is judged where it really happened.
  const elapsed = () => Math.round(performance.now() - started);
  const recorder = new TrackRecorder([callerTrack, player.track], { path: file });
  expect(recorder.channelCount).toBe(2);
  player.enqueue(agentSpeech, { sampleRate: 48000 });
  await sleep(1500);
  const replacedAt = elapsed();
  recorder.replaceTrack(1, second.track);
  await sleep(1000);
  const stoppedAt = elapsed();
  callerTrack.stop();
  await sleep(1000);
  const wallMs = elapsed();
  console.log(`replaced at ${replacedAt} ms, caller stopped at ${stoppedAt} ms, recording stopped at ${wallMs} ms`);
  await recorder.stop();

  const { fmt, samples } = parseWav(fs.readFileSync(file));
  expect(fmt).toEqual({ format: 1, channels: 2, rate: 48000, bits: 16 });
  // The file lasts as long as the recording did: constructor to stop(), one tick either way.
  const durationMs = (samples.length / 2 / 48000) * 1000;
  expect(Math.abs(durationMs - wallMs)).toBeLessThanOrEqual(20);
  const left = channel(samples, 2, 0);
  const right = channel(samples, 2, 1);
  // Margins of 200 ms around each change (the FIFOs' depth and the playout's ramp), 300 ms
  // after the caller's track ended, 100 ms before the end.
  expect(heardIn(left, 200, stoppedAt - 200)).toEqual([String(CALLER)]);
  expect(heardIn(left, stoppedAt + 300, wallMs - 100)).toEqual(['silent']);
  expect(heardIn(right, 200, replacedAt - 200)).toEqual([String(AGENT)]);
  expect(heardIn(right, replacedAt + 200, wallMs - 100)).toEqual([String(AGENT_2)]);
  // No gap where the agent's track was replaced: every 10 ms of the right channel has sound.
  for (let t = replacedAt - 500; t < replacedAt + 500; t += 10) {
    const w = right.subarray((t * 48000) / 1000, ((t + 10) * 48000) / 1000);
    expect({ t, peak: Math.max(...w.map(Math.abs)) > 8000 }).toEqual({ t, peak: true });
  }
  // A finished recording takes no new track.
  expect(() => recorder.replaceTrack(0, second.track)).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
});

test('Ogg/Opus: gst-discoverer reads a 2-channel Opus file of the recorded length, and each channel decodes to its own party', async () => {
  const caller = own(new ToneSource({ frequency: CALLER }));
  const agent = own(new ToneSource({ frequency: AGENT }));
  const file = path.join(dir, 'call.ogg');
  const started = performance.now();
  const recorder = new TrackRecorder([caller.track, agent.track], { path: file });
  await sleep(2000);
  const wallMs = performance.now() - started;
  await recorder.stop();
  const info = discover(file);
  expect(info.codec).toBe('Opus');
  expect(info.channels).toBe(2);
  // Opus works in 20 ms frames: the last one may be cut or padded.
  expect(Math.abs(info.durationMs - wallMs)).toBeLessThanOrEqual(30);
  const { fmt, samples } = parseWav(fs.readFileSync(decodeOgg(file)));
  expect(fmt.channels).toBe(2);
  expect(heardIn(channel(samples, 2, 0), 200, 1800)).toEqual([String(CALLER)]);
  expect(heardIn(channel(samples, 2, 1), 200, 1800)).toEqual([String(AGENT)]);
});

test('the last track ending finalizes the file; a silent channel (null) records silence', async () => {
  const tone = new ToneSource({ frequency: CALLER });
  const file = path.join(dir, 'ended.wav');
  const recorder = new TrackRecorder([null, tone.track], { path: file });
  await sleep(600);
  tone.stop();
  await sleep(300);
  const { fmt, samples } = parseWav(fs.readFileSync(file));
  expect(fmt.channels).toBe(2);
  expect(heardIn(channel(samples, 2, 0), 0, 400)).toEqual(['silent']);
  expect(heardIn(channel(samples, 2, 1), 100, 500)).toEqual([String(CALLER)]);
  await recorder.stop(); // resolves at once: already final
});

test('three channels, one per track', async () => {
  const tones = ALL.map((frequency) => own(new ToneSource({ frequency })));
  const file = path.join(dir, 'three.wav');
  const recorder = new TrackRecorder(tones.map((t) => t.track), { path: file });
  await sleep(800);
  await recorder.stop();
  const { fmt, samples } = parseWav(fs.readFileSync(file));
  expect(fmt.channels).toBe(3);
  ALL.forEach((f, c) => expect(heardIn(channel(samples, 3, c), 100, 700)).toEqual([String(f)]));
});

test('bad arguments', () => {
  const tone = own(new ToneSource({ frequency: CALLER }));
  const file = path.join(dir, 'bad.wav');
  expect(() => new TrackRecorder([], { path: file })).toThrow(TypeError);
  expect(() => new TrackRecorder(Array(9).fill(tone.track), { path: file })).toThrow(TypeError);
  expect(() => new TrackRecorder(tone.track, { path: file, format: 'mp3' })).toThrow(TypeError);
  expect(() => new TrackRecorder('track', { path: file })).toThrow(TypeError);
  const recorder = new TrackRecorder([tone.track, null], { path: file });
  later(() => recorder.stop());
  expect(() => recorder.replaceTrack(2, tone.track)).toThrow(TypeError);
  const ended = new ToneSource({ frequency: AGENT });
  ended.stop();
  expect(() => recorder.replaceTrack(1, ended.track)).toThrow(expect.objectContaining({ name: 'InvalidStateError' }));
});
