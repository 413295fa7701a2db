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
async function bridgeAgent({ user = 'bridge', transportOptions, onInvite, password = PASSWORD }) {
  const tone = own(new ToneSource({ frequency: BRIDGE_TONE, amplitude: 0.5 }));
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
    delegate: onInvite ? { onInvite } : {},
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

function established(session) {
  return new Promise((resolve, reject) => {
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
