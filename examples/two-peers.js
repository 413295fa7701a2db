'use strict';

// Demo: two GstPeerConnections on loopback, each sending a tone to the other.
// Prints what each side heard and how long setup took. Run with `npm run demo`.

const { GstPeerConnection, ToneSource, nonstandard } = require('..');

const FREQS = { alice: 440, bob: 1250 };
const CANDIDATES = [300, 440, 700, 1000, 1250, 2000];
const config = { iceServers: [], localAddresses: ['127.0.0.1'] }; // loopback only, no STUN

function goertzel(samples, rate, freq) {
  const k = 2 * Math.cos((2 * Math.PI * freq) / rate);
  let s1 = 0, s2 = 0;
  for (const x of samples) [s1, s2] = [x / 32768 + k * s1 - s2, s1];
  return (s1 * s1 + s2 * s2 - k * s1 * s2) / (samples.length * samples.length / 4);
}

function listen(name, pc, t0) {
  const heard = { first: null, frames: 0, chunks: [] };
  pc.ontrack = ({ track }) => {
    const sink = new nonstandard.RTCAudioSink(track);
    heard.sink = sink;
    sink.ondata = ({ samples }) => {
      if (heard.first === null) heard.first = performance.now() - t0;
      heard.frames++;
      heard.chunks.push(samples);
    };
  };
  return heard;
}

async function main() {
  const t0 = performance.now();
  const alice = new GstPeerConnection(config);
  const bob = new GstPeerConnection(config);
  const tones = { alice: new ToneSource({ frequency: FREQS.alice }), bob: new ToneSource({ frequency: FREQS.bob }) };
  alice.addTrack(tones.alice.track);
  bob.addTrack(tones.bob.track);
  const heard = { alice: listen('alice', alice, t0), bob: listen('bob', bob, t0) };
  alice.onicecandidate = ({ candidate }) => candidate && bob.addIceCandidate(candidate);
  bob.onicecandidate = ({ candidate }) => candidate && alice.addIceCandidate(candidate);
  const connected = new Promise((resolve) => {
    alice.onconnectionstatechange = () => {
      console.log(`alice: connection ${alice.connectionState}`);
      if (alice.connectionState === 'connected') resolve(performance.now() - t0);
    };
  });

  await alice.setLocalDescription(await alice.createOffer());
  await bob.setRemoteDescription(alice.localDescription);
  await bob.setLocalDescription(await bob.createAnswer());
  await alice.setRemoteDescription(bob.localDescription);
  const connectedMs = await connected;
  console.log(`connected after ${connectedMs.toFixed(0)} ms; listening for 2 s…`);
  await new Promise((r) => setTimeout(r, 2000));

  for (const [name, h] of Object.entries(heard)) {
    h.sink?.stop();
    const all = Int16Array.from(h.chunks.slice(-100).flatMap((c) => Array.from(c)));
    const powers = CANDIDATES.map((f) => [f, goertzel(all, 48000, f)]).sort((x, y) => y[1] - x[1]);
    const [best, second] = powers;
    const other = name === 'alice' ? 'bob' : 'alice';
    console.log(
      `${name} heard ${best[0]} Hz (${(10 * Math.log10(best[1] / Math.max(second[1], 1e-12))).toFixed(0)} dB above the next candidate),` +
        ` ${h.frames} frames of 10 ms, first audio after ${h.first?.toFixed(0)} ms — ${best[0] === FREQS[other] ? 'OK' : 'WRONG'} (${other} sends ${FREQS[other]} Hz)`,
    );
  }
  alice.close();
  bob.close();
  tones.alice.stop();
  tones.bob.stop();
  const ok = heard.alice.frames > 0 && heard.bob.frames > 0;
  process.exitCode = ok ? 0 : 1;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
