'use strict';

// A phone's media made of one UDP socket (G.711 μ-law, RFC 3551 §4.5.14): it can send 20 ms
// PCMU packets of a tone, and decodes the PCMU it receives into a FrameCollector so a test can
// judge what the far end sent by its content.

const dgram = require('dgram');
const { FrameCollector } = require('./audio');

/** G.711 μ-law of one 16-bit sample (ITU-T G.711 §A, the segment encoding every codec uses). */
function mulaw(sample) {
  const BIAS = 0x84;
  let sign = 0;
  let x = sample;
  if (x < 0) {
    sign = 0x80;
    x = -x;
  }
  x = Math.min(x, 32635) + BIAS;
  let exponent = 7;
  for (let mask = 0x4000; (x & mask) === 0 && exponent > 0; mask >>= 1) exponent--;
  const mantissa = (x >> (exponent + 3)) & 0x0f;
  return ~(sign | (exponent << 4) | mantissa) & 0xff;
}

/** The 16-bit sample of one μ-law byte (the inverse of mulaw()). */
function unmulaw(byte) {
  const u = ~byte & 0xff;
  const magnitude = ((((u & 0x0f) << 3) + 0x84) << ((u >> 4) & 7)) - 0x84;
  return u & 0x80 ? -magnitude : magnitude;
}

/** An RTP packet (RFC 3550 §5.1: version 2, no CSRC) of payload type `pt` carrying `payloadBytes` bytes of `fill`. */
function rtpPacket(pt, ssrc, seq, ts, payloadBytes, fill = 0) {
  const p = Buffer.alloc(12 + payloadBytes, fill);
  p[0] = 0x80;
  p[1] = pt;
  p.writeUInt16BE(seq & 0xffff, 2);
  p.writeUInt32BE(ts >>> 0, 4);
  p.writeUInt32BE(ssrc, 8);
  return p;
}

/** A phone made of a UDP socket: `packet(ssrc, seq, ts)` makes 20 ms PCMU packets of a `freq` tone. */
function rawPhone(freq) {
  const socket = dgram.createSocket('udp4');
  let n = 0;
  const packet = (ssrc, seq, ts) => {
    const p = rtpPacket(0, ssrc, seq, ts, 160);
    for (let i = 0; i < 160; i++) p[12 + i] = mulaw(Math.round(16000 * Math.sin((2 * Math.PI * freq * (n * 160 + i)) / 8000)));
    n++;
    return p;
  };
  return { socket, packet };
}

/**
 * A symmetric-RTP phone on 127.0.0.1 (RFC 4961): it answers where the first RTP it gets comes
 * from, sending a `freq` tone every 20 ms from then on, and decodes the PCMU it gets (payload
 * type 0) into `collector` (8 kHz mono frames). `close()` stops it.
 */
async function rtpPhone(freq) {
  const { socket, packet } = rawPhone(freq);
  const collector = new FrameCollector();
  const phone = { collector, packetsReceived: 0, port: 0, remote: null, close };
  let timer = null;
  let seq = 0;
  socket.on('message', (m, rinfo) => {
    if (m.length < 12 || m[0] >> 6 !== 2 || (m[1] & 0x7f) !== 0) return;
    phone.packetsReceived++;
    const offset = 12 + 4 * (m[0] & 0x0f);
    const samples = new Int16Array(m.length - offset);
    for (let i = 0; i < samples.length; i++) samples[i] = unmulaw(m[offset + i]);
    collector.push({ samples, sampleRate: 8000, channelCount: 1, numberOfFrames: samples.length });
    if (!phone.remote) {
      phone.remote = { address: rinfo.address, port: rinfo.port };
      timer = setInterval(() => {
        socket.send(packet(0x5151, seq, seq * 160), phone.remote.port, phone.remote.address);
        seq++;
      }, 20);
    }
  });
  function close() {
    clearInterval(timer);
    try {
      socket.close();
    } catch {
      // already closed
    }
  }
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  phone.port = socket.address().port;
  return phone;
}

module.exports = { mulaw, unmulaw, rtpPacket, rawPhone, rtpPhone };
