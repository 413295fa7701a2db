'use strict';

// gst-peerconnection as a bench stack. Every stack module (bench/stacks/*.js) exports:
//   name, label, version, audio  — what it is and how its audio is produced/consumed
//   setup()    → ctx             — per-process shared resources (audio sources, timers)
//   pair(ctx, meter) → Pair      — one connected pair on 127.0.0.1 with audio flowing both
//                                   ways, each receiving side registered with meter.receiver()
//   teardown(ctx)
// Pair: { connectedMs, firstAudioMs, close() }, times from the start of pair() to both
// sides 'connected' and to the first audio frame received on both sides.

const { GstPeerConnection, ToneSource, FileSource, nonstandard } = require('../..');
const { speechWav } = require('../speech');
const { connected, listenPcm } = require('./pcm');
const pkg = require('../../package.json');

const CONFIG = { iceServers: [], localAddresses: ['127.0.0.1'] };

/** One pair on `config`, B given the offer as `mungeOffer` rewrites it (bench/stacks/gst-plain.js). */
function pairWith(config, mungeOffer = (sdp) => sdp) {
  return async (ctx, meter) => {
    const t0 = performance.now();
    const a = new GstPeerConnection(config);
    const b = new GstPeerConnection(config);
    const sinks = [];
    const heard = [a, b].map((pc, i) => {
      pc.addTrack(ctx.tones[i].track);
      return listenPcm(pc, nonstandard, meter, sinks, t0);
    });
    const up = Promise.all([connected(a), connected(b)]).then(() => performance.now() - t0);
    a.onicecandidate = ({ candidate }) => candidate && b.addIceCandidate(candidate);
    b.onicecandidate = ({ candidate }) => candidate && a.addIceCandidate(candidate);
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    await b.setRemoteDescription({ type: 'offer', sdp: mungeOffer(offer.sdp) });
    await b.setLocalDescription();
    await a.setRemoteDescription(b.localDescription);
    const [connectedMs, firstAudio] = await Promise.all([up, Promise.all(heard)]);
    return {
      connectedMs,
      firstAudioMs: Math.max(...firstAudio),
      close() {
        sinks.forEach((s) => s.stop());
        a.close();
        b.close();
      },
    };
  };
}

module.exports = {
  pairWith,
  name: 'gst',
  label: `gst-peerconnection ${pkg.version}`,
  version: pkg.version,
  audio: 'native ToneSource → Opus 20 ms; RTCAudioSink (10 ms PCM frames to JS)',

  /** `signal`: 'tone' (default) or 'speech' (bench/speech.js, looped). */
  async setup({ signal } = {}) {
    if (signal === 'speech') return { tones: [0, 1].map(() => new FileSource(speechWav(), { loop: true })) };
    return { tones: [new ToneSource({ frequency: 440 }), new ToneSource({ frequency: 660 })] };
  },

  pair: pairWith(CONFIG),

  async teardown(ctx) {
    ctx.tones.forEach((t) => t.stop());
  },
};
