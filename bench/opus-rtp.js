'use strict';

// Opus RTP packets made and read offline with gst-launch-1.0, in RFC 4571 framing (a 2-byte
// length before each packet: what rtpstreampay writes and rtpstreamdepay reads).

const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

function readRfc4571(buf) {
  const packets = [];
  for (let o = 0; o + 2 <= buf.length; ) {
    const len = buf.readUInt16BE(o);
    packets.push(buf.subarray(o + 2, o + 2 + len));
    o += 2 + len;
  }
  return packets;
}

function writeRfc4571(packets) {
  return Buffer.concat(
    packets.flatMap((p) => {
      const l = Buffer.alloc(2);
      l.writeUInt16BE(p.length);
      return [l, p];
    }),
  );
}

/** Runs a gst-launch-1.0 pipeline description to completion. */
function gstLaunch(pipeline) {
  execFileSync('gst-launch-1.0', ['-q', ...pipeline.split(/\s+/)], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * Opus RTP packets (20 ms frames, payload type `pt`) of the audio that the gst-launch source
 * description `source` produces (e.g. `filesrc location=x.wav ! wavparse`), via a file in `dir`.
 */
function encodeOpusRtp(dir, source, pt = 111) {
  const file = path.join(dir, `opus-${process.pid}-${Date.now()}.rtps`);
  gstLaunch(`${source} ! audioconvert ! audioresample ! audio/x-raw,rate=48000,channels=1 `
    + `! opusenc frame-size=20 bitrate=64000 ! rtpopuspay pt=${pt} ! rtpstreampay ! filesink location=${file}`);
  try {
    return readRfc4571(fs.readFileSync(file));
  } finally {
    fs.rmSync(file, { force: true });
  }
}

module.exports = { readRfc4571, writeRfc4571, gstLaunch, encodeOpusRtp };
