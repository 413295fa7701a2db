'use strict';

// Datagrams from a third party at an established call's ICE port (issue 14, fuzz ice-spray).
// The third party first sends an authenticated STUN Binding request (it knows the ICE
// credentials, as the fuzzer does): libnice then takes its address for a peer-reflexive
// candidate (RFC 8445 §7.3.1.3) and passes its other datagrams up to webrtcbin, and nicesrc
// keeps no source address, so webrtcbin cannot tell them from the peer's.
//
// Finding media-lost-f6be42db5c: a DTLS record of epoch 1 shorter than AES-GCM's 24 bytes of
// nonce + tag (a 1-byte ChangeCipherSpec, a 2-byte alert) made OpenSSL fail with a fatal
// internal_error; the alert it sent killed the peer's dtlsdec, which stopped the peer's
// nicesrc: B heard nothing for good. src/transport_guard.rs drops them before dtlsdec.

const crypto = require('node:crypto');
const dgram = require('node:dgram');
const { expectToneFromNow } = require('./helpers/audio');
const { later, toneCall } = require('./helpers/later');
const { crc32 } = require('../fuzz/mutate/datagram');

const FREQ = 600;

function attr(type, value) {
  const h = Buffer.alloc(4);
  h.writeUInt16BE(type, 0);
  h.writeUInt16BE(value.length, 2);
  return Buffer.concat([h, value, Buffer.alloc((4 - (value.length % 4)) % 4)]);
}

/** An ICE connectivity check to the agent whose credentials are `to` (RFC 8445 §7.2.2, RFC 5389 §15.4/§15.5). */
function bindingRequest(to, fromUfrag) {
  const attrs = [
    attr(0x0006, Buffer.from(`${to.ufrag}:${fromUfrag}`)), // USERNAME
    attr(0x0024, Buffer.from([0x6e, 0, 0x1e, 0xff])), // PRIORITY (peer-reflexive)
    attr(0x8029, crypto.randomBytes(8)), // ICE-CONTROLLED
  ];
  const tid = crypto.randomBytes(12);
  const build = (extra) => {
    const body = Buffer.concat(attrs);
    const h = Buffer.alloc(20);
    h.writeUInt16BE(0x0001, 0);
    h.writeUInt16BE(body.length + extra, 2);
    h.writeUInt32BE(0x2112a442, 4);
    tid.copy(h, 8);
    return Buffer.concat([h, body]);
  };
  attrs.push(attr(0x0008, crypto.createHmac('sha1', to.pwd).update(build(24)).digest()));
  const fp = Buffer.alloc(4);
  fp.writeUInt32BE((crc32(build(8)) ^ 0x5354554e) >>> 0);
  attrs.push(attr(0x8028, fp));
  return build(0);
}

/** A DTLS 1.2 record header (RFC 6347 §4.1) followed by `len` bytes of junk. */
function record(type, epoch, seq, len) {
  const b = Buffer.alloc(13 + len, 0x5a);
  b[0] = type;
  b.writeUInt16BE(0xfefd, 1);
  b.writeUInt16BE(epoch, 3);
  b.writeUIntBE(seq, 5, 6);
  b.writeUInt16BE(len, 11);
  return b;
}

const creds = (sdp) => ({ ufrag: /a=ice-ufrag:(\S+)/.exec(sdp)[1], pwd: /a=ice-pwd:(\S+)/.exec(sdp)[1] });
const hostPort = (sdp) => Number(/a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/i.exec(sdp)[1]);

/**
 * A connected call A → B carrying a tone, and a third party that has passed A's ICE check
 * (so libnice hands its datagrams up): `send` reaches A's ICE port.
 */
async function callWithIntruder() {
  const { a, b, collector } = await toneCall({ frequency: FREQ, amplitude: 0.5 });
  // A offered actpass, so B is the DTLS client and A the server; the finding hit A.
  const victim = creds(a.localDescription.sdp);
  const port = hostPort(a.localDescription.sdp);
  const socket = dgram.createSocket('udp4');
  later(() => socket.close());
  await new Promise((r) => socket.bind(0, '127.0.0.1', r));
  const send = (d) => new Promise((r) => socket.send(d, port, '127.0.0.1', () => r()));
  await send(bindingRequest(victim, creds(b.localDescription.sdp).ufrag));
  await new Promise((r) => setTimeout(r, 100));
  return { a, b, collector, send };
}

/** The last second B heard carries the tone in every 200 ms window, and both stay connected. */
async function callSurvives({ a, b, collector }) {
  await expectToneFromNow(collector, FREQ, 1000);
  expect(a.connectionState).toBe('connected');
  expect(b.connectionState).toBe('connected');
}

test('short protected DTLS records from a third party do not end the call', async () => {
  const call = await callWithIntruder();
  // The finding's records (fuzz/findings/media-lost-f6be42db5c.json, batch 11 #63 split up),
  // then every protected length below AES-GCM's expansion, as application data.
  await call.send(record(20, 1, 0x16, 1));
  await call.send(record(21, 1, 0x23, 2));
  for (let len = 1; len < 24; len++) await call.send(record(23, 1, 0x100 + len, len));
  await callSurvives(call);
}, 30000);

// Finding critical-e4f5eedcd6: srtpdec reads the SSRC of clear RTCP headers before it
// authenticates (RFC 3711 §3.4), and asked a BYE without SSRCs for its first one: a GLib
// CRITICAL per datagram (fatal here: jest runs with G_DEBUG=fatal-criticals).
test('RTCP BYEs without SSRCs from a third party are dropped before srtpdec', async () => {
  const call = await callWithIntruder();
  const bye = Buffer.from([0x80, 0xcb, 0, 7, ...Buffer.alloc(28)]); // the finding's datagram
  const behindSdes = Buffer.from([0x81, 0xca, 0, 1, 1, 2, 3, 4, 0x80, 0xcb, 0, 0]);
  for (let i = 0; i < 20; i++) {
    await call.send(bye);
    await call.send(behindSdes);
  }
  await callSurvives(call);
}, 30000);

/** Whether a UDP socket of this machine is bound to 127.0.0.1:`port` (/proc/net/udp). */
function udpBound(port) {
  const want = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  return require('node:fs').readFileSync('/proc/net/udp', 'utf8').split('\n').some((l) => l.trim().split(/\s+/)[1] === want);
}

// Fuzz finding stall-7345e92796: close() blocked Node's event loop for 4.7–9.1 s after 400
// ice-spray batches. srtpdec creates a libsrtp stream for every SSRC it sees, before it
// authenticates the packet (validate_buffer, gstsrtpdec.c), and going to NULL frees them all
// (srtp_dealloc: NSS contexts, superlinear in their number) — on the thread that set the
// state, Node's. close() now hands the pipeline to src/teardown.rs: it must return before
// that work is done. The teardown's end is observable: the ICE socket goes with webrtcbin.
test('close() does not wait for the teardown of the SRTP streams a third party created', async () => {
  const call = await callWithIntruder();
  const port = hostPort(call.a.localDescription.sdp);
  // 3000 SSRCs (one srtpdec stream each), paced so that nicesrc's socket does not overflow.
  const SSRCS = 3000;
  const packet = Buffer.alloc(12 + 160, 0x55);
  packet[0] = 0x80;
  packet[1] = 111;
  for (let i = 0; i < SSRCS; i++) {
    packet.writeUInt16BE(i & 0xffff, 2);
    packet.writeUInt32BE((i * 960) >>> 0, 4);
    packet.writeUInt32BE(0x10000000 + i, 8);
    await call.send(packet);
    if (i % 20 === 19) await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise((r) => setTimeout(r, 300));
  expect(udpBound(port)).toBe(true);
  const t0 = process.hrtime.bigint();
  call.a.close();
  const closeMs = Number(process.hrtime.bigint() - t0) / 1e6;
  // Checked before anything else runs: a close() that tore the pipeline down has closed it.
  const boundAfterClose = udpBound(port);
  let teardownMs = closeMs;
  while (udpBound(port)) {
    await new Promise((r) => setTimeout(r, 2));
    teardownMs = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  console.log(`close() ${closeMs.toFixed(1)} ms; pipeline torn down ${teardownMs.toFixed(1)} ms after close() was called`);
  expect(call.a.connectionState).toBe('closed');
  // close() returned before the pipeline released its sockets: it did not tear it down …
  expect(boundAfterClose).toBe(true);
  // … so its own duration is less than the teardown that went on after it returned (before
  // the fix the socket was gone when close() returned: the teardown was all inside it).
  expect(closeMs).toBeLessThan(teardownMs - closeMs);
}, 60000);
