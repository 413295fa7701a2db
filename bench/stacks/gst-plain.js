'use strict';

// gst-peerconnection's plain-RTP backend as a bench stack (interface: bench/stacks/gst.js):
// two RTCPeerConnections with rtpProfile 'RTP/AVP' and the offer cut down to PCMU, what a SIP
// trunk call is. No ICE, no DTLS: set-up ends with the answer, "connected" at the first packet.

const { RTCPeerConnection, ToneSource, FileSource, nonstandard } = require('../..');
const { speechWav } = require('../speech');
const { connected, listenPcm } = require('./pcm');
const pkg = require('../../package.json');

const CONFIG = { rtpProfile: 'RTP/AVP', localAddresses: ['127.0.0.1'] };

/** The offer with PCMU (and its 8 kHz telephone-event) as the only formats. */
function pcmuOnly(sdp) {
  const lines = sdp.split('\r\n');
  const keep = new Set(['0', '126']);
  return lines
    .filter((l) => !/^a=(rtpmap|fmtp):(\d+) /.test(l) || keep.has(/^a=(?:rtpmap|fmtp):(\d+) /.exec(l)[1]))
    .map((l) => (l.startsWith('m=audio ') ? l.split(' ').slice(0, 3).concat(['0', '126']).join(' ') : l))
    .join('\r\n');
}

module.exports = {
  name: 'gst-plain',
  label: `gst-peerconnection ${pkg.version}, plain RTP/AVP`,
  version: pkg.version,
  audio: 'native ToneSource → PCMU 20 ms over plain RTP (rtpbin); RTCAudioSink (10 ms PCM frames to JS)',

  async setup({ signal } = {}) {
    if (signal === 'speech') return { tones: [0, 1].map(() => new FileSource(speechWav(), { loop: true })) };
    return { tones: [new ToneSource({ frequency: 440 }), new ToneSource({ frequency: 660 })] };
  },

  async pair(ctx, meter) {
    const t0 = performance.now();
    const a = new RTCPeerConnection(CONFIG);
    const b = new RTCPeerConnection(CONFIG);
    const sinks = [];
    const heard = [a, b].map((pc, i) => {
      pc.addTrack(ctx.tones[i].track);
      return listenPcm(pc, nonstandard, meter, sinks, t0);
    });
    const up = Promise.all([connected(a), connected(b)]).then(() => performance.now() - t0);
    const offer = await a.createOffer();
    await a.setLocalDescription(offer);
    await b.setRemoteDescription({ type: 'offer', sdp: pcmuOnly(offer.sdp) });
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
  },

  async teardown(ctx) {
    ctx.tones.forEach((t) => t.stop());
  },
};
