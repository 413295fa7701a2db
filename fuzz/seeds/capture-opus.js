'use strict';
// Captures real Opus RTP packets (600 Hz sine, 20 ms, gst-launch-1.0 opusenc ! rtpopuspay)
// into opus-rtp.json: the valid packets the RTP mutator starts from. Run once; the output is
// committed. Usage: node fuzz/seeds/capture-opus.js
const dgram = require('node:dgram');
const { spawn } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const sock = dgram.createSocket('udp4');
const packets = [];
sock.bind(0, '127.0.0.1', () => {
  const { port } = sock.address();
  const pipeline = `audiotestsrc freq=600 is-live=true volume=0.5 num-buffers=60 ! audioconvert ! audioresample ! opusenc ! rtpopuspay pt=111 ! udpsink host=127.0.0.1 port=${port}`;
  const child = spawn('gst-launch-1.0', ['-q', ...pipeline.split(' ')], { stdio: 'inherit' });
  child.on('exit', () => {
    setTimeout(() => {
      sock.close();
      const payloads = packets.slice(0, 40).map((p) => p.subarray(12 + 4 * (p[0] & 0x0f)).toString('base64'));
      fs.writeFileSync(path.join(__dirname, 'opus-rtp.json'), JSON.stringify({ codec: 'opus', ptimeMs: 20, frequency: 600, payloads }, null, 1) + '\n');
      console.log(`captured ${payloads.length} Opus payloads`);
    }, 200);
  });
});
sock.on('message', (m) => packets.push(Buffer.from(m)));
