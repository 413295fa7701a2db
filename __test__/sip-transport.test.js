'use strict';

// gst-peerconnection/sip's SipTransport: SIP.js over UDP, TCP and TLS with no WebSocket
// gateway. Real peers: sipp (Debian's sip-tester) called and calling directly over UDP and TCP
// with digest authentication and plain-RTP audio judged both ways; Kamailio as registrar over
// UDP, TCP and TLS (a certificate made by the test) with digest authentication; a relay that
// loses the first INVITE or REGISTER, to time the retransmissions SIP.js itself leaves out.
// Debian's sipp is built without OpenSSL (`-t l1` is refused), so TLS is tested with Kamailio.

const crypto = require('crypto');
const dgram = require('dgram');
const net = require('net');
const { ToneSource, nonstandard, installGlobals, MediaStream } = require('../dist');
const { startKamailio } = require('./helpers/kamailio');
const { makeCertificates } = require('./helpers/certificates');
const { loadSip } = require('./helpers/sip');
const { runSipp, scenario } = require('./helpers/sipp');
const { rtpPhone } = require('./helpers/rtp-phone');
const { FrameCollector, expectToneWindows } = require('./helpers/audio');
const { freePort, waitFor, sleep, rssBytes } = require('./helpers/resources');
const { later, own } = require('./helpers/later');

const PLAIN = { rtpProfile: 'RTP/AVP', localAddresses: ['127.0.0.1'] };
const BRIDGE_TONE = 700;
const PHONE_TONE = 440;
const PROBES = [440, 700, 1250];
const PASSWORD = 'c0rrect-h0rse';

let sip;
let gstSip;
let certs;
beforeAll(async () => {
  sip = await loadSip();
  gstSip = await import('../dist/sip/index.mjs');
  certs = makeCertificates();
});
afterAll(() => certs?.remove());

const uri = (s) => sip.UserAgent.makeURI(s);

/**
 * A SIP.js user agent on SipTransport whose calls run on plain-RTP connections sending a
 * BRIDGE_TONE; `onInvite` gets its INVITEs. Stopped after the test.
 */
async function bridgeAgent({ user = 'bridge', transportOptions, onInvite, delegate = {}, password = PASSWORD, frequency = BRIDGE_TONE }) {
  const tone = own(new ToneSource({ frequency, amplitude: 0.5 }));
  const factory = gstSip.sessionDescriptionHandlerFactory({ media: () => tone.track, peerConnectionConfiguration: PLAIN });
  const handlers = [];
  const ua = new sip.UserAgent({
    uri: uri(`sip:${user}@127.0.0.1`),
    transportConstructor: gstSip.SipTransport,
    transportOptions,
    authorizationUsername: user,
    authorizationPassword: password,
    logLevel: 'error',
    sessionDescriptionHandlerFactory: (session, options) => {
      const sdh = factory(session, options);
      handlers.push(sdh);
      return sdh;
    },
    delegate: onInvite ? { ...delegate, onInvite } : delegate,
  });
  later(() => ua.stop());
  await ua.start();
  return { ua, handlers, transport: ua.transport };
}

/** The audio a session's handler receives, collected. */
async function hear(sdh) {
  const collector = new FrameCollector();
  const sink = new nonstandard.RTCAudioSink(await sdh.waitForRemoteTrack());
  sink.ondata = collector.push;
  later(() => sink.stop());
  return collector;
}

/** Both ends hear each other's tone in every 200 ms window of the last second. */
async function expectAudioBothWays(phone, atBridge) {
  await waitFor(() => phone.collector.durationMs >= 1500 && atBridge.durationMs >= 1500, 10000, 50, 'a second and a half of audio both ways');
  expectToneWindows(phone.collector, BRIDGE_TONE, PROBES.filter((f) => f !== BRIDGE_TONE), 1000);
  expectToneWindows(atBridge, PHONE_TONE, PROBES.filter((f) => f !== PHONE_TONE), 1000);
}

/** Resolves when `session` is established (at once if it is), rejects if it ends first or within 10 s. */
function established(session) {
  return new Promise((resolve, reject) => {
    if (session.state === sip.SessionState.Established) resolve();
    setTimeout(() => reject(new Error(`the session is ${session.state} after 10 s`)), 10000);
    session.stateChange.addListener((state) => {
      if (state === sip.SessionState.Established) resolve();
      if (state === sip.SessionState.Terminated) reject(new Error('the session ended before it was established'));
    });
  });
}

/** The bridge calls `target`; resolves with the inviter and the ms from INVITE to established. */
async function call(agent, target) {
  const inviter = new sip.Inviter(agent.ua, uri(target));
  const t0 = performance.now();
  const up = established(inviter);
  await inviter.invite({
    requestDelegate: { onReject: (r) => up.reject?.(new Error(`INVITE rejected: ${r.message.statusCode}`)) },
  });
  await Promise.race([up, new Promise((_, reject) => inviter.stateChange.addListener((s) => s === sip.SessionState.Terminated && reject(new Error('call failed'))))]);
  return { inviter, setupMs: performance.now() - t0 };
}

const canConnect = (port) =>
  new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });

/**
 * A UDP relay on 127.0.0.1 in front of `targetPort` that loses the first datagram starting with
 * `method` (a request line) on its way there; everything else goes through both ways.
 */
async function lossyRelay(targetPort, method) {
  const socket = dgram.createSocket('udp4');
  const relay = { port: 0, lost: 0 };
  let client = null;
  socket.on('message', (m, from) => {
    if (from.port === targetPort) {
      if (client) socket.send(m, client.port, client.address);
      return;
    }
    client = from;
    if (relay.lost === 0 && m.toString('latin1').startsWith(`${method} `)) {
      relay.lost++;
      return;
    }
    socket.send(m, targetPort, '127.0.0.1');
  });
  await new Promise((resolve) => socket.bind(0, '127.0.0.1', resolve));
  relay.port = socket.address().port;
  later(() => socket.close());
  return relay;
}

const MODES = [
  ['UDP', 'u1', 'udp'],
  ['TCP', 't1', 'tcp'],
];

describe.each(MODES)('sipp over %s, no proxy', (name, mode, transport) => {
  test('the bridge calls sipp, answers its 401 with credentials, and audio flows both ways', async () => {
    const phone = await rtpPhone(PHONE_TONE);
    later(phone.close);
    const sippPort = await freePort(transport === 'udp' ? 'udp' : 'tcp');
    const sipp = runSipp(['-sf', scenario('uas-auth'), '-t', mode, '-i', '127.0.0.1', '-p', String(sippPort), '-key', 'rtp_port', String(phone.port), '-key', 'pw', PASSWORD, '-m', '1']);
    if (transport === 'tcp') await waitFor(() => canConnect(sippPort), 5000, 50, 'sipp listening');
    const agent = await bridgeAgent({ transportOptions: { server: `sip:127.0.0.1:${sippPort};transport=${transport}` } });
    const { inviter, setupMs } = await call(agent, `sip:sipp@127.0.0.1:${sippPort}`);
    console.log(`${name}: INVITE → 200 OK (with a 401 round) in ${setupMs.toFixed(1)} ms`);
    const atBridge = await hear(agent.handlers[0]);
    await expectAudioBothWays(phone, atBridge);
    await inviter.bye();
    expect(await sipp).toEqual({ code: 0, errors: '' });
  });

  test('sipp calls the bridge, which challenges it (401) and verifies its digest, and audio flows both ways', async () => {
    const phone = await rtpPhone(PHONE_TONE);
    later(phone.close);
    const invitations = [];
    const nonce = crypto.randomBytes(8).toString('hex');
    const md5 = (s) => crypto.createHash('md5').update(s).digest('hex');
    // The application's digest check (RFC 2617 §3.2.2 without qop): SIP.js does not
    // authenticate requests it receives; the transport carries the 401 and the retry.
    const verified = (request) => {
      const auth = request.getHeader('Authorization');
      if (!auth) return false;
      const field = (k) => new RegExp(`${k}="?([^",]+)"?`).exec(auth)?.[1];
      const ha1 = md5(`bridge:bridge.test:${PASSWORD}`);
      const ha2 = md5(`INVITE:${field('uri')}`);
      return field('nonce') === nonce && field('response') === md5(`${ha1}:${nonce}:${ha2}`);
    };
    const agent = await bridgeAgent({
      transportOptions: { listen: { [transport]: { host: '127.0.0.1' } } },
      onInvite: (invitation) => {
        if (!verified(invitation.request)) {
          invitation.reject({ statusCode: 401, extraHeaders: [`WWW-Authenticate: Digest realm="bridge.test", nonce="${nonce}", algorithm=MD5`] });
          return;
        }
        invitations.push(invitation);
        invitation.accept();
      },
    });
    const port = agent.transport.addresses[name].port;
    const sipp = runSipp([`127.0.0.1:${port}`, '-sf', scenario('uac-auth'), '-t', mode, '-s', 'bridge', '-i', '127.0.0.1', '-p', String(await freePort(transport)), '-au', 'bridge', '-ap', PASSWORD, '-key', 'rtp_port', String(phone.port), '-m', '1']);
    const invitation = await waitFor(() => invitations[0], 10000, 20, 'the authenticated INVITE');
    await established(invitation);
    const atBridge = await hear(agent.handlers.at(-1));
    await expectAudioBothWays(phone, atBridge);
    await invitation.bye();
    expect(await sipp).toEqual({ code: 0, errors: '' });
  });
});

/** A Registerer for `agent` with `expires`; resolves once registered (rejects when refused). */
async function register(agent, expires = 600, refreshFrequency = undefined) {
  const registerer = new sip.Registerer(agent.ua, { expires, refreshFrequency });
  await new Promise((resolve, reject) => {
    registerer.stateChange.addListener((s) => s === sip.RegistererState.Registered && resolve());
    registerer.register({ requestDelegate: { onReject: (r) => reject(new Error(`REGISTER refused: ${r.message.statusCode}`)) } }).catch(reject);
  });
  return registerer;
}

/** Resolves with the final status of a MESSAGE from `agent` to `target`. */
function message(agent, target, body = 'hello') {
  return new Promise((resolve, reject) => {
    new sip.Messager(agent.ua, uri(target), body)
      .message({ requestDelegate: { onAccept: (r) => resolve(r.message.statusCode), onReject: (r) => resolve(r.message.statusCode) } })
      .catch(reject);
  });
}

/** Counts the requests `agent`'s transport sends, by method. */
function countRequests(agent) {
  const counts = {};
  const send = agent.transport.send.bind(agent.transport);
  agent.transport.send = (text) => {
    const method = /^([A-Z]+) sip/.exec(text)?.[1];
    if (method) counts[method] = (counts[method] ?? 0) + 1;
    return send(text);
  };
  return counts;
}

describe('Kamailio as registrar, digest authentication', () => {
  let kamailio;
  beforeAll(async () => {
    kamailio = await startKamailio({ tls: certs, password: PASSWORD });
  });
  afterAll(() => kamailio?.stop());
  const server = {
    UDP: () => `sip:127.0.0.1:${kamailio.udpPort};transport=udp`,
    TCP: () => `sip:127.0.0.1:${kamailio.wsPort};transport=tcp`,
    TLS: () => `sips:127.0.0.1:${kamailio.tlsPort}`,
  };

  test.each(['UDP', 'TCP', 'TLS'])('over %s: registers, refreshes before expiry, takes requests from the registrar, unregisters on stop', async (name) => {
    const got = [];
    const alice = await bridgeAgent({
      user: `alice${name}`,
      transportOptions: { server: server[name](), tls: { ca: certs.caPem } },
      delegate: { onMessage: (m) => (got.push(m.request.body), m.accept()) },
    });
    const sent = countRequests(alice);
    // A 3 s grant keeps the test short. SIP.js refreshes at 99 % of a grant by default, which
    // leaves a real registration (Kamailio grants at least 60 s unless told otherwise) 600 ms or
    // more for the refresh; at 3 s that would be 30 ms, a bound on the test host's event loop
    // rather than on the transport (an idle refresh over TCP takes ~10 ms). Refreshing at 90 %
    // leaves 300 ms, still half a real minimum; the registration must never lapse.
    const registerer = await register(alice, 3, 90);
    const states = [];
    registerer.stateChange.addListener((s) => states.push(s));
    await sleep(4000);
    expect(states).toEqual([]);
    expect(registerer.state).toBe(sip.RegistererState.Registered);
    expect(sent.REGISTER).toBeGreaterThanOrEqual(3); // challenged, authorized, refreshed

    const bob = await bridgeAgent({ user: 'bob', transportOptions: { server: server.UDP() } });
    expect(await message(bob, `sip:alice${name}@127.0.0.1`, `to ${name}`)).toBe(200);
    expect(got).toEqual([`to ${name}`]);

    await alice.ua.stop(); // SIP.js unregisters its registerers, then disconnects the transport
    expect(await message(bob, `sip:alice${name}@127.0.0.1`)).toBe(404);
  });

  test('a call over TLS through the registrar: INVITE, answer, audio both ways, BYE', async () => {
    const invitations = [];
    const tls = { ca: certs.caPem };
    const callee = await bridgeAgent({ user: 'calleetls', frequency: PHONE_TONE, transportOptions: { server: server.TLS(), tls }, onInvite: (i) => (invitations.push(i), i.accept()) });
    await register(callee);
    const caller = await bridgeAgent({ user: 'callertls', transportOptions: { server: server.TLS(), tls } });
    await register(caller);
    const { inviter, setupMs } = await call(caller, 'sip:calleetls@127.0.0.1');
    console.log(`TLS through Kamailio: INVITE → 200 OK in ${setupMs.toFixed(1)} ms`);
    const invitation = await waitFor(() => invitations[0], 5000, 20, 'the INVITE at the callee');
    const [atCaller, atCallee] = await Promise.all([hear(caller.handlers[0]), hear(callee.handlers[0])]);
    await waitFor(() => atCaller.durationMs >= 1200 && atCallee.durationMs >= 1200, 5000, 50, 'audio both ways');
    expectToneWindows(atCaller, PHONE_TONE, [BRIDGE_TONE], 1000);
    expectToneWindows(atCallee, BRIDGE_TONE, [PHONE_TONE], 1000);
    await inviter.bye();
    await waitFor(() => invitation.state === sip.SessionState.Terminated, 5000, 20, 'the BYE at the callee');
  });

  test('a request too large for UDP goes over TCP to the same server (RFC 3261 §18.1.1), and fails clearly when it cannot', async () => {
    const got = [];
    const bob = await bridgeAgent({ user: 'bigbob', transportOptions: { server: server.UDP() }, delegate: { onMessage: (m) => (got.push(m.request.body.length), m.accept()) } });
    await register(bob);
    const alice = await bridgeAgent({ user: 'bigalice', transportOptions: { server: server.UDP() } });
    expect(await message(alice, 'sip:bigbob@127.0.0.1', 'z'.repeat(3000))).toBe(200);
    expect(got).toEqual([3000]);
    expect(alice.transport.stats.connections).toBe(1); // the TCP connection it opened
    // A UDP server with nothing on TCP behind it: the send fails with the reason.
    const silent = await freePort('udp');
    const lonely = await bridgeAgent({ user: 'lonely', transportOptions: { server: `sip:127.0.0.1:${silent};transport=udp` } });
    await expect(lonely.transport.send(`MESSAGE sip:x@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP h.invalid;branch=z9hG4bKbig\r\nCall-ID: big\r\nCSeq: 1 MESSAGE\r\nContent-Length: 2000\r\n\r\n${'z'.repeat(2000)}`)).rejects.toThrow(/larger than 1300 bytes must go over TCP \(RFC 3261 §18\.1\.1\), and .*failed/);
  });

  test('TCP: a dropped server connection is made again (with backoff), and requests flow again', async () => {
    // A TCP hop the test can cut, in front of Kamailio.
    const cut = new Set();
    const hop = net.createServer((inbound) => {
      const outbound = net.connect({ host: '127.0.0.1', port: kamailio.wsPort });
      cut.add(inbound);
      inbound.pipe(outbound).pipe(inbound);
      const end = () => (inbound.destroy(), outbound.destroy(), cut.delete(inbound));
      inbound.on('error', end).on('close', end);
      outbound.on('error', end).on('close', end);
    });
    later(() => hop.close());
    await new Promise((resolve) => hop.listen(0, '127.0.0.1', resolve));
    const dave = await bridgeAgent({ user: 'dave', transportOptions: { server: `sip:127.0.0.1:${hop.address().port};transport=tcp`, reconnectDelay: { initial: 200 } } });
    const states = [];
    dave.transport.stateChange.addListener((s) => states.push(s));
    await register(dave);
    const bob = await bridgeAgent({ user: 'bob2', transportOptions: { server: server.UDP() }, delegate: { onMessage: (m) => m.accept() } });
    await register(bob);
    for (const socket of cut) socket.destroy();
    const t0 = performance.now();
    await waitFor(() => dave.transport.isConnected() && states.length >= 3, 5000, 10, 'reconnected');
    const ms = performance.now() - t0;
    expect(states).toEqual(['Disconnected', 'Connecting', 'Connected']);
    expect(ms).toBeGreaterThanOrEqual(150);
    // Requests flow over the new connection. (Calls to dave would need it registered again, as
    // SimpleUser does on reconnect, and a registrar that reaches it through the hop, RFC 5626.)
    expect(await message(dave, 'sip:bob2@127.0.0.1')).toBe(200);
  });

  test('TCP keep-alives (RFC 5626 §4.4.1): Kamailio answers our pings and the connection stays; a server that never answers is left', async () => {
    const kept = await bridgeAgent({ user: 'keeper', transportOptions: { server: server.TCP(), keepAliveInterval: 200, keepAliveTimeout: 150 } });
    const states = [];
    kept.transport.stateChange.addListener((s) => states.push(s));
    await sleep(1200);
    expect(states).toEqual([]);
    expect(kept.transport.isConnected()).toBe(true);

    // A server that takes the connection and says nothing: no pong, so the connection is closed.
    const pings = [];
    const mute = net.createServer((socket) => socket.on('data', (d) => pings.push(d.toString())));
    later(() => mute.close());
    await new Promise((resolve) => mute.listen(0, '127.0.0.1', resolve));
    const left = await bridgeAgent({ user: 'leaver', transportOptions: { server: `sip:127.0.0.1:${mute.address().port};transport=tcp`, keepAliveInterval: 200, keepAliveTimeout: 150, reconnectDelay: { initial: 60000 } } });
    const leftStates = [];
    left.transport.stateChange.addListener((s) => leftStates.push(s));
    const t0 = performance.now();
    await waitFor(() => leftStates.includes('Disconnected'), 2000, 10, 'the silent connection closed');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(300); // one interval, then the pong's timeout
    expect(pings).toEqual(['\r\n\r\n']);
  });

  test('a wrong password is refused', async () => {
    const eve = await bridgeAgent({ user: 'eve', password: 'wrong', transportOptions: { server: server.UDP() } });
    await expect(register(eve)).rejects.toThrow(/REGISTER refused: (401|403)/);
  });

  test('TLS: a server whose certificate does not verify is refused unless verification is turned off', async () => {
    const untrusted = new sip.UserAgent({ uri: uri('sip:mallory@127.0.0.1'), transportConstructor: gstSip.SipTransport, transportOptions: { server: server.TLS() }, logLevel: 'error' });
    later(() => untrusted.stop());
    await expect(untrusted.start()).rejects.toThrow(/unable to verify|self.signed|certificate/);
    expect(untrusted.transport.stats.connections).toBe(0);
    const named = new sip.UserAgent({ uri: uri('sip:mallory@127.0.0.1'), transportConstructor: gstSip.SipTransport, transportOptions: { server: server.TLS(), tls: { ca: certs.caPem, servername: 'sip.example.org' } }, logLevel: 'error' });
    later(() => named.stop());
    await expect(named.start()).rejects.toThrow(/altnames|does not match|Hostname/);
    const unverified = await bridgeAgent({ user: 'mallory', transportOptions: { server: server.TLS(), tls: { rejectUnauthorized: false } } });
    await register(unverified);
  });

  test('SimpleUser over UDP calls the bridge, holds and unholds', async () => {
    installGlobals();
    globalThis.window ??= { addEventListener() {}, removeEventListener() {} };
    const invitations = [];
    const bob = await bridgeAgent({ user: 'bobsimple', transportOptions: { server: server.UDP() }, onInvite: (i) => (invitations.push(i), i.accept()) });
    await register(bob);
    const carol = own(new ToneSource({ frequency: PHONE_TONE, amplitude: 0.5 }));
    const simple = new sip.Web.SimpleUser(server.UDP(), {
      aor: 'sip:carol@127.0.0.1',
      userAgentOptions: {
        logLevel: 'error',
        transportConstructor: gstSip.SipTransport,
        authorizationUsername: 'carol',
        authorizationPassword: PASSWORD,
        sessionDescriptionHandlerFactory: gstSip.sessionDescriptionHandlerFactory({ media: () => carol.track, peerConnectionConfiguration: PLAIN }),
      },
    });
    later(() => simple.disconnect());
    await simple.connect();
    await simple.register();
    await simple.call('sip:bobsimple@127.0.0.1');
    const invitation = await waitFor(() => invitations[0], 10000, 20, 'the INVITE at bob');
    await established(invitation);
    const atBob = await hear(bob.handlers[0]);
    await waitFor(() => atBob.durationMs >= 1200, 5000, 50, 'carol heard at bob');
    expectToneWindows(atBob, PHONE_TONE, [BRIDGE_TONE], 1000);
    const pc = simple.session.sessionDescriptionHandler.peerConnection;
    // hold() and unhold() resolve once the re-INVITE is sent; its answer comes after.
    const direction = (want) => waitFor(() => pc.getTransceivers()[0].currentDirection === want, 5000, 20, `carol ${want}`);
    await simple.hold();
    await direction('sendonly'); // SIP.js holds with a sendonly offer
    expect(bob.handlers[0].gstPeerConnection.getTransceivers()[0].currentDirection).toBe('recvonly');
    await simple.unhold();
    await direction('sendrecv');
    atBob.reset();
    await waitFor(() => atBob.durationMs >= 1200, 5000, 50, 'carol heard at bob after unhold');
    expectToneWindows(atBob, PHONE_TONE, [BRIDGE_TONE], 1000);
    await simple.hangup();
  });
});

describe('UDP retransmission (RFC 3261 §17), which SIP.js leaves to the transport', () => {
  test('the first INVITE is lost on the way to sipp: the call is set up after one T1, not after 32 s', async () => {
    const phone = await rtpPhone(PHONE_TONE);
    later(phone.close);
    const sippPort = await freePort('udp');
    const sipp = runSipp(['-sf', scenario('uas-auth'), '-t', 'u1', '-i', '127.0.0.1', '-p', String(sippPort), '-key', 'rtp_port', String(phone.port), '-key', 'pw', PASSWORD, '-m', '1']);
    const relay = await lossyRelay(sippPort, 'INVITE');
    const agent = await bridgeAgent({ transportOptions: { server: `sip:127.0.0.1:${relay.port};transport=udp` } });
    const { inviter, setupMs } = await call(agent, `sip:sipp@127.0.0.1:${sippPort}`);
    console.log(`UDP: INVITE → 200 OK with the first INVITE lost: ${setupMs.toFixed(1)} ms`);
    expect(relay.lost).toBe(1);
    expect(setupMs).toBeGreaterThanOrEqual(450); // Timer A: T1 = 500 ms
    expect(setupMs).toBeLessThan(1500);
    expect(agent.transport.stats.retransmissions).toBeGreaterThanOrEqual(1);
    const atBridge = await hear(agent.handlers[0]);
    await expectAudioBothWays(phone, atBridge);
    await inviter.bye();
    expect(await sipp).toEqual({ code: 0, errors: '' });
  });

  test('the first REGISTER is lost on the way to Kamailio: registered after one T1', async () => {
    const kamailio = await startKamailio({ password: PASSWORD });
    later(() => kamailio.stop());
    const relay = await lossyRelay(kamailio.udpPort, 'REGISTER');
    const agent = await bridgeAgent({ user: 'lossy', transportOptions: { server: `sip:127.0.0.1:${relay.port};transport=udp` } });
    const t0 = performance.now();
    await register(agent);
    const ms = performance.now() - t0;
    console.log(`UDP: REGISTER → 200 OK (with a 401 round) with the first REGISTER lost: ${ms.toFixed(1)} ms`);
    expect(relay.lost).toBe(1);
    expect(ms).toBeGreaterThanOrEqual(450); // Timer E: T1 = 500 ms
    expect(ms).toBeLessThan(1500);
  });

  test('as UAS: a non-2xx final response is sent again until its ACK (Timer G); a retransmitted BYE gets the same 200, not 481', async () => {
    const agent = await bridgeAgent({
      transportOptions: { listen: { udp: { host: '127.0.0.1' } } },
      onInvite: (invitation) => (invitation.request.getHeader('Subject') === 'refuse' ? invitation.reject({ statusCode: 486 }) : invitation.accept()),
    });
    const port = agent.transport.addresses.UDP.port;
    const phone = await rtpPhone(PHONE_TONE);
    later(phone.close);
    // A hand-written UAC on a socket: it sends what a phone would, and loses what the test says.
    const uac = dgram.createSocket('udp4');
    later(() => uac.close());
    await new Promise((resolve) => uac.bind(0, '127.0.0.1', resolve));
    const got = [];
    uac.on('message', (m) => got.push({ at: performance.now(), text: m.toString() }));
    const local = `127.0.0.1:${uac.address().port}`;
    const request = (method, { branch, callId, cseq, toTag = '', subject = '', sdp = '' }) =>
      [
        `${method} sip:bridge@127.0.0.1:${port} SIP/2.0`,
        `Via: SIP/2.0/UDP ${local};branch=${branch};rport`,
        `From: <sip:uac@${local}>;tag=uac1`,
        `To: <sip:bridge@127.0.0.1:${port}>${toTag}`,
        `Call-ID: ${callId}`,
        `CSeq: ${cseq} ${method}`,
        `Contact: <sip:uac@${local}>`,
        'Max-Forwards: 70',
        ...(subject ? [`Subject: ${subject}`] : []),
        ...(sdp ? ['Content-Type: application/sdp'] : []),
        `Content-Length: ${Buffer.byteLength(sdp)}`,
        '',
        sdp,
      ].join('\r\n');
    const send = (text) => uac.send(text, port, '127.0.0.1');
    const sdp = `v=0\r\no=uac 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio ${phone.port} RTP/AVP 0\r\n`;

    // 486 without ACK: sent again at T1, 2·T1 … (Timer G) until the ACK.
    const t0 = performance.now();
    send(request('INVITE', { branch: 'z9hG4bKrefuse', callId: 'refuse@uac', cseq: 1, subject: 'refuse', sdp }));
    await sleep(1800);
    const busy = got.filter((g) => g.text.startsWith('SIP/2.0 486'));
    expect(busy.map((g) => Math.round((g.at - t0) / 100) * 100)).toEqual([0, 500, 1500]);
    const toTag = /^To: .*(;tag=[^;\r]+)/m.exec(busy[0].text)[1];
    send(request('ACK', { branch: 'z9hG4bKrefuse', callId: 'refuse@uac', cseq: 1, toTag }));
    await sleep(2500);
    expect(got.filter((g) => g.text.startsWith('SIP/2.0 486')).length).toBe(3); // the ACK stopped them

    // A call, then a BYE whose 200 the UAC "loses": its retransmission is answered 200 again.
    got.length = 0;
    send(request('INVITE', { branch: 'z9hG4bKcall', callId: 'call@uac', cseq: 1, sdp }));
    const ok = await waitFor(() => got.find((g) => g.text.startsWith('SIP/2.0 200')), 5000, 10, '200 OK');
    const callTag = /^To: .*(;tag=[^;\r]+)/m.exec(ok.text)[1];
    send(request('ACK', { branch: 'z9hG4bKack', callId: 'call@uac', cseq: 1, toTag: callTag }));
    await sleep(300);
    got.length = 0;
    const bye = request('BYE', { branch: 'z9hG4bKbye', callId: 'call@uac', cseq: 2, toTag: callTag });
    send(bye);
    await waitFor(() => got.some((g) => g.text.startsWith('SIP/2.0 200')), 5000, 10, '200 to BYE');
    send(bye);
    await sleep(300);
    expect(got.map((g) => g.text.split('\r\n')[0])).toEqual(['SIP/2.0 200 OK', 'SIP/2.0 200 OK']);
    expect(agent.transport.stats.absorbed).toBeGreaterThanOrEqual(1);
  });
});

describe('bad input from the network: dropped and counted, never thrown', () => {
  /** A MESSAGE to the bridge as a peer at `local` would send it over `transport`. */
  const messageTo = (port, transport, local, body, branch = `z9hG4bK${crypto.randomBytes(4).toString('hex')}`) =>
    [
      `MESSAGE sip:bridge@127.0.0.1:${port} SIP/2.0`,
      `Via: SIP/2.0/${transport} ${local};branch=${branch};rport`,
      `From: <sip:peer@${local}>;tag=p1`,
      `To: <sip:bridge@127.0.0.1:${port}>`,
      `Call-ID: ${branch}@peer`,
      'CSeq: 1 MESSAGE',
      'Max-Forwards: 70',
      'Content-Type: text/plain',
      `Content-Length: ${Buffer.byteLength(body)}`,
      '',
      body,
    ].join('\r\n');

  test('UDP: 20 000 datagrams of garbage, truncated, headless, oversized and stray messages; then a real one', async () => {
    const got = [];
    const agent = await bridgeAgent({
      transportOptions: { listen: { udp: { host: '127.0.0.1' } }, maxMessageSize: 4096 },
      delegate: { onMessage: (m) => (got.push(m.request.body), m.accept()) },
    });
    const port = agent.transport.addresses.UDP.port;
    const peer = dgram.createSocket('udp4');
    later(() => peer.close());
    await new Promise((resolve) => peer.bind(0, '127.0.0.1', resolve));
    const local = `127.0.0.1:${peer.address().port}`;
    const replies = [];
    peer.on('message', (m) => replies.push(m.toString()));
    const valid = messageTo(port, 'UDP', local, 'x'.repeat(40));
    const kinds = {
      malformed: [
        () => crypto.randomBytes(200),
        () => Buffer.from('INVITE sip:bridge@127.0.0.1 SIP/2.0\r\n\r\n'), // no Via, CSeq, Call-ID
        () => Buffer.from(valid.replace('Content-Length: 40', 'Content-Length: 400')), // body shorter than its length
        () => Buffer.from(valid.replace('CSeq: 1 MESSAGE', 'CSeq: one')),
        () => Buffer.from(`${valid.slice(0, 60)}\r\n\u0000\u0001: x\r\n\r\n`),
      ],
      oversized: [() => Buffer.alloc(5000, 0x41)],
      stray: [() => Buffer.from(`SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bKnotours\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 MESSAGE\r\nContent-Length: 0\r\n\r\n`)],
      keepAlive: [() => Buffer.from('\r\n\r\n')],
    };
    const plan = Object.entries(kinds).flatMap(([kind, makers]) => makers.map((make) => [kind, make]));
    const sent = { malformed: 0, oversized: 0, stray: 0, keepAlive: 0 };
    const judged = () => {
      const d = agent.transport.stats.dropped;
      return d.malformed + d.oversized + d.stray;
    };
    const rss0 = rssBytes(process.pid);
    for (let i = 0; i < 20000; i++) {
      const [kind, make] = plan[i % plan.length];
      peer.send(make(), port, '127.0.0.1');
      sent[kind]++;
      // Paced by what the transport has judged, so the kernel's socket buffer drops none.
      if (i % 100 === 99) await waitFor(() => judged() >= sent.malformed + sent.oversized + sent.stray, 5000, 1, `datagram ${i} judged`);
    }
    await waitFor(() => judged() >= sent.malformed + sent.oversized + sent.stray, 10000, 10, 'every datagram judged');
    const { dropped } = agent.transport.stats;
    expect({ malformed: dropped.malformed, oversized: dropped.oversized, stray: dropped.stray }).toEqual({ malformed: sent.malformed, oversized: sent.oversized, stray: sent.stray });
    expect(got).toEqual([]);
    expect(replies).toEqual([]);
    expect(rssBytes(process.pid) - rss0).toBeLessThan(32 * 1024 * 1024);

    peer.send(valid, port, '127.0.0.1');
    await waitFor(() => replies.length > 0, 5000, 10, 'the reply to a real MESSAGE');
    expect(replies[0].split('\r\n')[0]).toBe('SIP/2.0 200 OK');
    expect(got).toEqual(['x'.repeat(40)]);
  });

  test('TCP: a message in 1-byte pieces, keep-alive pings, garbage, no Content-Length, a Content-Length that never arrives, oversized', async () => {
    const got = [];
    const agent = await bridgeAgent({
      transportOptions: { listen: { tcp: { host: '127.0.0.1' } }, maxMessageSize: 4096, incompleteMessageTimeout: 300 },
      delegate: { onMessage: (m) => (got.push(m.request.body), m.accept()) },
    });
    const port = agent.transport.addresses.TCP.port;
    /** A connection to the bridge; `data` is everything it got, `closed` resolves when the bridge closes it. */
    const connect = async () => {
      const socket = net.connect({ host: '127.0.0.1', port });
      later(() => socket.destroy());
      await new Promise((resolve) => socket.once('connect', resolve));
      const c = { socket, data: '', closed: new Promise((resolve) => socket.once('close', resolve)), local: `127.0.0.1:${socket.localPort}` };
      socket.on('data', (d) => (c.data += d.toString()));
      socket.on('error', () => {});
      return c;
    };

    const a = await connect();
    a.socket.write('\r\n\r\n'); // RFC 5626 ping: answered with one CRLF
    await waitFor(() => a.data === '\r\n', 2000, 10, 'the pong');
    for (const byte of Buffer.from(messageTo(port, 'TCP', a.local, 'piece by piece'))) {
      a.socket.write(Buffer.from([byte]));
      if (byte === 0x0a) await sleep(1);
    }
    await waitFor(() => a.data.includes('SIP/2.0 200 OK'), 5000, 10, 'the 200 on the same connection');
    a.socket.write('NOT SIP AT ALL\r\nContent-Length: 0\r\n\r\n'); // framed but not SIP: dropped, connection kept
    a.socket.write(messageTo(port, 'TCP', a.local, 'after garbage'));
    await waitFor(() => got.length === 2, 5000, 10, 'the message after the garbage');
    expect(got).toEqual(['piece by piece', 'after garbage']);
    expect(agent.transport.stats.dropped.malformed).toBe(1);

    const unframed = await connect();
    unframed.socket.write(messageTo(port, 'TCP', unframed.local, 'x').replace(/Content-Length: \d+\r\n/, ''));
    await unframed.closed;

    const short = await connect();
    short.socket.write(messageTo(port, 'TCP', short.local, 'x').replace('Content-Length: 1', 'Content-Length: 100'));
    const t0 = performance.now();
    await short.closed;
    expect(performance.now() - t0).toBeGreaterThanOrEqual(250);

    const huge = await connect();
    huge.socket.write(messageTo(port, 'TCP', huge.local, 'x').replace('Content-Length: 1', 'Content-Length: 1000000'));
    await huge.closed;
    const endless = await connect();
    endless.socket.write(`MESSAGE sip:bridge@127.0.0.1 SIP/2.0\r\nX-Long: ${'y'.repeat(6000)}`); // headers that never end
    await endless.closed;

    expect(agent.transport.stats.dropped).toEqual({ malformed: 1, oversized: 2, unframed: 1, incomplete: 1, stray: 0, connections: 0 });
    expect(got).toEqual(['piece by piece', 'after garbage']);
    await waitFor(() => agent.transport.stats.connections === 1, 2000, 10, 'only the good connection left open');
  });
});
