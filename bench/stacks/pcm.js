'use strict';

// What the two W3C-style stacks with PCM sinks (gst-peerconnection and @roamhq/wrtc, whose
// nonstandard.RTCAudioSink ours copies) share in a bench pair.

const { audible } = require('../meter');

/** Resolves when `pc` reaches connectionState 'connected'; rejects on 'failed'. */
function connected(pc) {
  return new Promise((resolve, reject) => {
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'connected') resolve();
      if (pc.connectionState === 'failed') reject(new Error('connection failed'));
    });
  });
}

/**
 * Puts `nonstandard.RTCAudioSink` on the track `pc` receives (the sink goes into `sinks`),
 * counting its frames with `meter`; resolves with the ms since `t0` of its first audible frame.
 */
function listenPcm(pc, nonstandard, meter, sinks, t0) {
  return new Promise((resolve) => {
    pc.ontrack = ({ track }) => {
      const sink = new nonstandard.RTCAudioSink(track);
      sinks.push(sink);
      // Decoded 20 ms Opus frames reach the sink as two 10 ms frames back to back.
      const frame = meter.receiver(20);
      sink.ondata = ({ samples }) => {
        frame();
        // First audio = the first frame carrying the tone, not the first (silent or
        // concealed) frame a sink may deliver before any packet has arrived.
        if (audible(samples)) resolve(performance.now() - t0);
      };
    };
  });
}

module.exports = { connected, listenPcm };
