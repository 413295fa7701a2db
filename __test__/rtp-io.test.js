'use strict';

// Plain RTP over UDP in and out (UdpRtpSource, RtpForwarder), files in (FileSource) and out
// (TrackRecorder). Real GStreamer, loopback only.

const dgram = require('dgram');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');
const v8 = require('v8');
const vm = require('vm');

const { ToneSource, UdpRtpSource, RtpForwarder, FileSource, TrackRecorder, nonstandard } = require('../dist');
const { FrameCollector, detectTone, expectToneWindows } = require('./helpers/audio');
const { parseWav } = require('./helpers/wav');
const { createPeer, connect, once } = require('./helpers/peers');
const { threadCount, waitFor } = require('./helpers/resources');

const OTHERS = [440, 660, 880, 1250];

jest.setTimeout(20000);

const { later, sleep, collect } = require('./helpers/later');


function tone(frequency) {
  const t = new ToneSource({ frequency, amplitude: 0.5 });
  later(() => t.stop());
  return t;
}

function source(options) {
  const s = new UdpRtpSource({ address: '127.0.0.1', port: 0, ...options });
  later(() => s.stop());
  return s;
}

function forward(track, options) {
  const f = new RtpForwarder(track, { address: '127.0.0.1', ...options });
  later(() => f.stop());
  return f;
}

/** The last `ms` of audio carries `freq` in every 200 ms window. */
const expectTone = (collector, freq, ms) => expectToneWindows(collector, freq, OTHERS.filter((f) => f !== freq), ms);

/** ms from `sinceNs` until the first 40 ms of audio that carries `freq`, or Infinity. */
function msUntilTone(collector, freq, sinceNs) {
  const all = collector.samples();
  const win = 1920;
  for (const f of collector.frames) {
    if (f.t < sinceNs || f.offset < win) continue;
    const d = detectTone(all.subarray(f.offset + f.length - win, f.offset + f.length), 48000, freq, {
      otherFreqs: OTHERS.filter((o) => o !== freq),
    });
    if (d.present) return Number(f.t - sinceNs) / 1e6;
  }
  return Infinity;
}

/** A connected pair a → b, a sending a 1250 Hz tone: b's remote track. */
async function remoteTone(receiverConfig) {
  const a = createPeer();
  const b = createPeer(receiverConfig);
  later(() => a.close());
  later(() => b.close());
  a.addTrack(tone(1250).track);
  const remote = once(b, 'track');
  await connect(a, b);
  const { track } = await remote;
  return { a, b, track };
}

/** A UDP port that nothing listens on (bound, then released). */
async function closedPort() {
  const sock = dgram.createSocket('udp4');
  await new Promise((r) => sock.bind(0, '127.0.0.1', r));
  const { port } = sock.address();
  await new Promise((r) => sock.close(r));
  return port;
}

const GST_SENDER = {
  opus: 'audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111',
  pcmu: 'audioconvert ! audioresample ! audio/x-raw,rate=8000,channels=1 ! mulawenc ! rtppcmupay pt=0 min-ptime=20000000 max-ptime=20000000',
};

/** An independent RTP sender: a gst-launch-1.0 child process. */
function gstSender(codec, freq, port) {
  const pipeline = `audiotestsrc freq=${freq} is-live=true volume=0.5 ! ${GST_SENDER[codec]} ! udpsink host=127.0.0.1 port=${port}`;
  const child = spawn('gst-launch-1.0', ['-q', ...pipeline.split(' ')], { stdio: 'ignore' });
  later(() => child.kill('SIGKILL'));
  return child;
}

describe('UdpRtpSource', () => {
  test.each(['opus', 'pcmu'])('decodes %s RTP from a gst-launch sender', async (codec) => {
    const src = source({ codec });
    expect(src.port).toBeGreaterThan(0);
    const collector = collect(src.track);
    gstSender(codec, 660, src.port);
    await sleep(2000);
    expect(collector.sampleRate).toBe(48000);
    expectTone(collector, 660, 1000);
    expect(src.stats.packetsReceived).toBeGreaterThan(25);
    expect(src.track.readyState).toBe('live');
  });

  test('dropping the UdpRtpSource object keeps its track playing while used, and frees it once unused', async () => {
    v8.setFlagsFromString('--expose_gc');
    const gc = vm.runInNewContext('gc');
    const threadsBefore = threadCount();
    let track;
    let port;
    (() => {
      const src = new UdpRtpSource({ address: '127.0.0.1', port: 0, codec: 'opus' });
      ({ port, track } = src);
    })();
    const sink = new nonstandard.RTCAudioSink(track);
    const collector = new FrameCollector();
    sink.ondata = collector.push;
    gstSender('opus', 660, port);
    await sleep(500);
    gc();
    gc();
    collector.reset();
    await sleep(1500);
    expectTone(collector, 660, 1000);
    expect(track.readyState).toBe('live');
    // Nothing holds the track any more: its pipeline (threads, socket) goes with it.
    sink.stop();
    track = null;
    await waitFor(() => {
      gc();
      return threadCount() <= threadsBefore;
    }, 5000);
  });

  test('a port in use throws a clear error naming the port', async () => {
    const sock = dgram.createSocket('udp4');
    await new Promise((r) => sock.bind(0, '127.0.0.1', r));
    later(() => sock.close());
    const { port } = sock.address();
    expect(() => new UdpRtpSource({ address: '127.0.0.1', port, codec: 'opus' })).toThrow(new RegExp(`address already in use.*${port}`));
    const src = source({ codec: 'opus' });
    expect(() => new UdpRtpSource({ address: '127.0.0.1', port: src.port, codec: 'opus' })).toThrow(/address already in use/);
  });

  test('invalid options are TypeErrors', () => {
    expect(() => new UdpRtpSource({ address: '127.0.0.1', port: 0, codec: 'speex' })).toThrow(TypeError);
    expect(() => new UdpRtpSource({ address: '127.0.0.1', port: 70000, codec: 'opus' })).toThrow(TypeError);
  });

  test('stop() releases the socket', async () => {
    const src = new UdpRtpSource({ address: '127.0.0.1', port: 0, codec: 'opus' });
    const { port } = src;
    src.stop();
    expect(src.track.readyState).toBe('ended');
    const again = source({ address: '127.0.0.1', port, codec: 'opus' });
    expect(again.port).toBe(port);
  });

  test('garbage datagrams are ignored and the audio continues', async () => {
    const src = source({ codec: 'opus' });
    const collector = collect(src.track);
    forward(tone(440).track, { port: src.port, codec: 'opus' });
    await sleep(700);
    const sock = dgram.createSocket('udp4');
    later(() => sock.close());
    const rtpLike = Buffer.alloc(40);
    rtpLike[0] = 0x80;
    rtpLike[1] = 96; // RTP, another payload type
    const junk = [Buffer.from('not rtp at all'), Buffer.alloc(0), Buffer.alloc(3, 0xff), Buffer.alloc(1400, 0x80), rtpLike];
    for (let i = 0; i < 100; i++) sock.send(junk[i % junk.length], src.port, '127.0.0.1');
    await sleep(1200);
    expectTone(collector, 440, 1000);
    expect(src.stats.packetsDiscarded).toBeGreaterThanOrEqual(60);
  });

  test('a new sender (new SSRC) on the same port is heard within 500 ms', async () => {
    const src = source({ codec: 'opus' });
    const collector = collect(src.track);
    const first = forward(tone(440).track, { port: src.port, codec: 'opus', ssrc: 1111 });
    await sleep(800);
    expectTone(collector, 440, 400);
    first.stop();
    const t0 = process.hrtime.bigint();
    forward(tone(880).track, { port: src.port, codec: 'opus', ssrc: 2222 });
    await sleep(1000);
    expect(msUntilTone(collector, 880, t0)).toBeLessThan(500);
    expectTone(collector, 880, 400);
    expect(src.stats.ssrcChanges).toBeGreaterThanOrEqual(1);
  });

  test('packet loss is concealed, not a stall', async () => {
    const src = source({ codec: 'opus' });
    const collector = collect(src.track);
    // A lossy relay: drops every 8th packet, i.e. 12.5 % loss.
    const relay = dgram.createSocket('udp4');
    later(() => relay.close());
    await new Promise((r) => relay.bind(0, '127.0.0.1', r));
    let n = 0;
    relay.on('message', (msg) => {
      if (++n % 8 !== 0) relay.send(msg, src.port, '127.0.0.1');
    });
    forward(tone(440).track, { port: relay.address().port, codec: 'opus' });
    await sleep(2000);
    expect(src.stats.packetsLost).toBeGreaterThan(5);
    const cont = collector.continuity(300);
    expect(cont.maxGapMs).toBeLessThan(100);
    expect(collector.durationMs).toBeGreaterThan(1500);
    expectTone(collector, 440, 1000);
  });

  test('a sender that pauses and resumes is heard again', async () => {
    const src = source({ codec: 'pcmu' });
    const collector = collect(src.track);
    const t = tone(440);
    const first = forward(t.track, { port: src.port, codec: 'pcmu', ssrc: 42 });
    await sleep(600);
    first.stop();
    await sleep(1000);
    const t0 = process.hrtime.bigint();
    forward(t.track, { port: src.port, codec: 'pcmu', ssrc: 42 });
    await sleep(900);
    expect(msUntilTone(collector, 440, t0)).toBeLessThan(500);
    expectTone(collector, 440, 400);
  });
});

describe('RtpForwarder', () => {
  test.each(['pcma', 'g722'])('%s round trip through UdpRtpSource', async (codec) => {
    const src = source({ codec });
    const collector = collect(src.track);
    const fwd = forward(tone(880).track, { port: src.port, codec, ptime: 20 });
    expect(fwd.passthrough).toBe(false);
    await sleep(1500);
    expectTone(collector, 880, 800);
    expect(fwd.stats.packetsSent).toBeGreaterThan(40);
  });

  test('keeps sending to a closed port', async () => {
    const port = await closedPort();
    const fwd = forward(tone(440).track, { port, codec: 'opus' });
    await sleep(1000);
    const atOne = fwd.stats.packetsSent;
    await sleep(1000);
    const atTwo = fwd.stats.packetsSent;
    expect(atOne).toBeGreaterThan(30);
    expect(atTwo - atOne).toBeGreaterThan(35); // 20 ms packets: ~50 a second
    expect(fwd.stats.bytesSent).toBeGreaterThan(atTwo * 12);
  });

  test('a remote Opus track is relayed without decode/encode (passthrough)', async () => {
    const { track } = await remoteTone({});
    const src = source({ codec: 'opus', payloadType: 100 });
    const collector = collect(src.track);
    const fwd = forward(track, { port: src.port, codec: 'opus', payloadType: 100 });
    expect(fwd.passthrough).toBe(true);
    expect(fwd.elementFactories().filter((f) => /enc|dec|pay/.test(f))).toEqual([]);
    await sleep(2000);
    expectTone(collector, 1250, 1000);
    expect(src.stats.packetsReceived).toBeGreaterThan(50);
    expect(fwd.stats.packetsSent).toBeGreaterThan(50);
    // passthrough: false forces the transcoding path
    const transcoded = forward(track, { port: await closedPort(), codec: 'opus', passthrough: false });
    expect(transcoded.passthrough).toBe(false);
    expect(transcoded.elementFactories()).toContain('opusenc');
  });

  test('passthrough relays packets as they arrive, not after the receiver\'s playout delay', async () => {
    // With a 1 s jitter buffer, decoded audio plays out ~1 s after its packet arrived; a relay
    // to an SFU must not wait for that (the SFU's receivers have jitter buffers of their own).
    const { a, track } = await remoteTone({ jitterBufferLatency: 1000 });
    const socket = dgram.createSocket('udp4');
    later(() => socket.close());
    await new Promise((r) => socket.bind(0, '127.0.0.1', r));
    let lastRelayed = 0;
    let relayed = 0;
    socket.on('message', () => {
      relayed++;
      lastRelayed = performance.now();
    });
    const fwd = forward(track, { port: socket.address().port, codec: 'opus' });
    expect(fwd.passthrough).toBe(true);
    await waitFor(() => relayed > 50, 5000);
    // The sender goes away: what is still relayed after that came out of the jitter buffer.
    const stoppedAt = performance.now();
    a.close();
    await sleep(2000);
    // Tapped after the jitter buffer, packets kept coming for ~1 s (its playout delay).
    expect(lastRelayed - stoppedAt).toBeLessThan(300);
  });

  test('an ended track cannot be forwarded', () => {
    const t = new ToneSource({ frequency: 440 });
    t.stop();
    expect(() => new RtpForwarder(t.track, { address: '127.0.0.1', port: 9 })).toThrow(/ended/);
  });
});

describe('TrackRecorder and FileSource', () => {
  let dir;
  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gst-pc-rtp-io-'));
  });
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function record(freq, ms, file) {
    const t = tone(freq);
    const rec = new TrackRecorder(t.track, { path: file });
    await sleep(ms);
    await rec.stop();
    return file;
  }

  test('records a valid WAV of the right length with the tone', async () => {
    const file = await record(660, 1500, path.join(dir, 'tone.wav'));
    const { fmt, size, samples } = parseWav(fs.readFileSync(file));
    expect(fmt).toEqual({ format: 1, channels: 1, rate: 48000, bits: 16 });
    expect(size).toBeGreaterThan(1500 * 96 * 0.9);
    expect(size).toBeLessThan(1500 * 96 * 1.1);
    expect(detectTone(samples, 48000, 660, { otherFreqs: [440, 880] }).present).toBe(true);
  });

  test('the track ending finalizes the file', async () => {
    const t = new ToneSource({ frequency: 440 });
    const file = path.join(dir, 'ended.wav');
    const rec = new TrackRecorder(t.track, { path: file });
    await sleep(500);
    t.stop();
    await sleep(300);
    const { size } = parseWav(fs.readFileSync(file));
    expect(size).toBeGreaterThan(500 * 96 * 0.8);
    await rec.stop(); // resolves at once: already final
  });

  test('an unwritable path throws', () => {
    expect(() => new TrackRecorder(tone(440).track, { path: path.join(dir, 'missing', 'x.wav') })).toThrow(/cannot record/);
  });

  test('plays a WAV file in real time, then ends the track', async () => {
    const file = await record(880, 1000, path.join(dir, 'play.wav'));
    const fsrc = new FileSource(file);
    later(() => fsrc.stop());
    const collector = collect(fsrc.track);
    const ended = once(fsrc.track, 'ended', () => true, 5000);
    const t0 = Date.now();
    await ended;
    const elapsed = Date.now() - t0;
    expect(elapsed).toBeGreaterThan(800); // real time, not as fast as it decodes
    expect(fsrc.track.readyState).toBe('ended');
    expect(collector.durationMs).toBeGreaterThan(800);
    expectTone(collector, 880, 600);
  });

  test('delivers 10 ms frames at a steady pace, not in the decoder\'s blocks', async () => {
    // wavparse reads ~43 ms blocks; delivered as they came, a call fed from a file sent its
    // packets in bursts.
    const file = await record(660, 1500, path.join(dir, 'pace.wav'));
    const fsrc = new FileSource(file);
    later(() => fsrc.stop());
    const sink = new nonstandard.RTCAudioSink(fsrc.track);
    later(() => sink.stop());
    const at = [];
    sink.ondata = () => at.push(performance.now());
    await sleep(1200);
    const steps = at.slice(10).map((t, i) => t - at[i + 9]);
    expect(steps.length).toBeGreaterThan(50);
    // Back-to-back frames (< 3 ms apart) are the mark of a burst: 3 in 4 steps before.
    expect(steps.filter((d) => d < 3).length).toBeLessThan(steps.length * 0.1);
    expect(Math.max(...steps)).toBeLessThan(30);
  });

  test('loop: true keeps playing past the end of the file', async () => {
    const file = await record(440, 500, path.join(dir, 'loop.wav'));
    const fsrc = new FileSource(file, { loop: true });
    later(() => fsrc.stop());
    const collector = collect(fsrc.track);
    await sleep(1800);
    expect(fsrc.track.readyState).toBe('live');
    expect(collector.durationMs).toBeGreaterThan(1400);
    expectTone(collector, 440, 400);
  });

  test('a missing or undecodable file throws', () => {
    expect(() => new FileSource(path.join(dir, 'nope.wav'))).toThrow(/nope\.wav/);
    const text = path.join(dir, 'text.wav');
    fs.writeFileSync(text, 'not audio\n'.repeat(100));
    expect(() => new FileSource(text)).toThrow(/cannot play/);
  });
});
