'use strict';

// gst-peerconnection's plain-RTP backend as a bench stack (interface: bench/stacks/gst.js):
// two RTCPeerConnections with rtpProfile 'RTP/AVP' and the offer cut down to PCMU, what a SIP
// trunk call is. No ICE, no DTLS: set-up ends with the answer, "connected" at the first packet.

const gst = require('./gst');

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
  ...gst,
  name: 'gst-plain',
  label: `gst-peerconnection ${gst.version}, plain RTP/AVP`,
  audio: 'native ToneSource → PCMU 20 ms over plain RTP (rtpbin); RTCAudioSink (10 ms PCM frames to JS)',
  pair: gst.pairWith(CONFIG, pcmuOnly),
};
