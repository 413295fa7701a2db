'use strict';

// Real SIP calls: SIP.js user agents registered over WebSocket to a real Kamailio, media on
// GstPeerConnection (our SessionDescriptionHandler factory, and SIP.js's stock handler via
// installGlobals()), audio verified by frequency detection at both ends.

const { ToneSource, nonstandard, installGlobals } = require('../dist');
const { startKamailio } = require('./helpers/kamailio');
const { loadSip, makeUserAgent } = require('./helpers/sip');
const { FrameCollector, detectTone } = require('./helpers/audio');
const { waitFor, sleep } = require('./helpers/resources');
const { later } = require('./helpers/later');

const LOOPBACK = { localAddresses: ['127.0.0.1'] };
const FREQ = { alice: 440, bob: 1250, carol: 700 };
const PROBES = [440, 700, 1250, 2000];

let kamailio;
let sip;
let gstSip;
const tones = {};
beforeAll(async () => {
  kamailio = await startKamailio();
  sip = await loadSip();
  gstSip = await import('../dist/sip/index.mjs');
  for (const [name, frequency] of Object.entries(FREQ)) tones[name] = new ToneSource({ frequency });
}, 30000);
afterAll(async () => {
  Object.values(tones).forEach((t) => t.stop());
  await kamailio?.stop();
});

/** A registered SIP.js UA whose calls run on GstPeerConnection; records every handler it made. */
async function gstUser(user, { media = () => tones[user]?.track, delegate = {}, ...factoryOptions } = {}) {
  const handlers = [];
  const connections = []; // the stock handler forgets its peer connection on close
  const factory = gstSip.sessionDescriptionHandlerFactory({
    media,
    peerConnectionConfiguration: LOOPBACK,
    iceGatheringTimeout: 2000,
    ...factoryOptions,
  });
  const invitations = [];
  const agent = await makeUserAgent(sip, {
    wsUrl: kamailio.wsUrl,
    user,
    sessionDescriptionHandlerFactory: (session, options) => {
      const sdh = factory(session, options);
      handlers.push(sdh);
      connections.push(sdh.peerConnection);
      return sdh;
    },
    delegate: { onInvite: (invitation) => invitations.push(invitation), ...delegate },
  });
  later(() => agent.stop());
  const nextInvitation = () => waitFor(() => invitations.shift(), 10000, 20, `an INVITE for ${user}`);
  return { ...agent, handlers, connections, nextInvitation };
}

function waitSessionState(session, state, timeoutMs = 10000) {
  return waitFor(() => session.state === state, timeoutMs, 20, `session ${state}`);
}

/** Collect the remote audio of an established session's handler. */
async function listen(sdh) {
  const track = await sdh.waitForRemoteTrack();
  const collector = new FrameCollector();
  const sink = new nonstandard.RTCAudioSink(track);
  sink.ondata = collector.push;
  later(async () => sink.stop());
  return collector;
}

async function hears(collector, freq, ms = 1000) {
  collector.reset();
  await sleep(ms);
  const result = detectTone(collector.samples(), 48000, freq, { otherFreqs: PROBES.filter((f) => f !== freq) });
  if (process.env.DEBUG_AUDIO) console.log(freq, collector.frameCount, result);
  return result.present;
}

/** alice invites bob, bob accepts: both sessions Established. */
async function call(from, to, { inviterOptions = {} } = {}) {
  const inviter = new sip.Inviter(from.ua, sip.UserAgent.makeURI(to.uri), inviterOptions);
  const invited = inviter.invite();
  const invitation = await to.nextInvitation();
  await invitation.accept();
  await invited;
  await Promise.all([waitSessionState(inviter, sip.SessionState.Established), waitSessionState(invitation, sip.SessionState.Established)]);
  return { inviter, invitation };
}

describe('calls between Node user agents (our SessionDescriptionHandler)', () => {
  test('audio both ways; BYE from the caller ends both legs and frees both connections', async () => {
    const alice = await gstUser('alice');
    const bob = await gstUser('bob');
    const t0 = performance.now();
    const { inviter, invitation } = await call(alice, bob);
    const established = performance.now() - t0;
    const [atAlice, atBob] = await Promise.all([listen(inviter.sessionDescriptionHandler), listen(invitation.sessionDescriptionHandler)]);
    const firstAudio = await waitFor(() => atAlice.frameCount > 0 && atBob.frameCount > 0 && performance.now() - t0, 5000);
    console.log(`Node↔Node via Kamailio: INVITE → established ${established.toFixed(0)} ms, → first audio both ways ${firstAudio.toFixed(0)} ms`);
    expect(inviter.sessionDescriptionHandler).toBeInstanceOf(sip.Web.SessionDescriptionHandler);
    expect(await hears(atAlice, FREQ.bob)).toBe(true);
    expect(await hears(atBob, FREQ.alice)).toBe(true);
    // Non-trickle SIP: the SDP that went out carries the candidates and end-of-candidates.
    const offer = inviter.sessionDescriptionHandler.peerConnection.localDescription.sdp;
    expect(offer).toMatch(/a=candidate:.* 127\.0\.0\.1 /);
    expect(offer).toContain('a=end-of-candidates');

    await inviter.bye();
    await Promise.all([waitSessionState(inviter, sip.SessionState.Terminated), waitSessionState(invitation, sip.SessionState.Terminated)]);
    for (const pc of [...alice.connections, ...bob.connections]) expect(pc.signalingState).toBe('closed');
  }, 60000);

  test('BYE from the callee ends both legs', async () => {
    const alice = await gstUser('alice');
    const bob = await gstUser('bob');
    const { inviter, invitation } = await call(alice, bob);
    await invitation.bye();
    await Promise.all([waitSessionState(inviter, sip.SessionState.Terminated), waitSessionState(invitation, sip.SessionState.Terminated)]);
    for (const pc of [...alice.connections, ...bob.connections]) expect(pc.signalingState).toBe('closed');
  }, 60000);

  test("the far end's media vanishes for good: disconnected, failed after 30 s of silence, and the call ends with BYE", async () => {
    const alice = await gstUser('alice');
    const bob = await gstUser('bob');
    const { inviter, invitation } = await call(alice, bob);
    const atAlice = await listen(inviter.sessionDescriptionHandler);
    expect(await hears(atAlice, FREQ.bob)).toBe(true);
    const pc = inviter.sessionDescriptionHandler.peerConnection;
    const states = [];
    const t0 = performance.now();
    pc.addEventListener('connectionstatechange', () => states.push([pc.connectionState, Math.round(performance.now() - t0)]));
    let byeReason;
    invitation.delegate = { onBye: (bye) => (byeReason = bye.request.getHeader('Reason')) };
    // Bob's media goes away without a word in SIP (a crashed media process, a dead path).
    invitation.sessionDescriptionHandler.peerConnection.close();
    await waitSessionState(invitation, sip.SessionState.Terminated, 40000);
    await waitSessionState(inviter, sip.SessionState.Terminated, 5000);
    console.log(`media lost for good: alice's states ${JSON.stringify(states)} (ms after bob's media went), BYE Reason: ${byeReason}`);
    // close() changes the state to 'closed' without an event (webrtc-pc §4.4.1.4 close).
    expect(states.map((s) => s[0])).toEqual(['disconnected', 'failed']);
    expect(pc.connectionState).toBe('closed');
    expect(states[0][1]).toBeLessThan(4000);
    // Failed 30 s after the last packet alice heard (consent.rs), which can have arrived up to
    // one 20 ms packet before bob's media went at t0: 30 s from t0 less that packet.
    expect(states[1][1]).toBeGreaterThanOrEqual(30000 - 20);
    expect(states[1][1]).toBeLessThan(32000);
    expect(byeReason).toBe('Q.850;cause=41;text="media connection failed"');
    for (const c of [...alice.connections, ...bob.connections]) expect(c.signalingState).toBe('closed');
  }, 60000);

  test('hold and unhold by re-INVITE; a re-INVITE rejected with 488 rolls back and the next one works', async () => {
    const alice = await gstUser('alice');
    const bob = await gstUser('bob');
    const { inviter, invitation } = await call(alice, bob);
    const atAlice = await listen(inviter.sessionDescriptionHandler);
    const atBob = await listen(invitation.sessionDescriptionHandler);
    expect(await hears(atBob, FREQ.alice)).toBe(true);

    // Hold (SIP.js's hold modifier: sendonly offer), as SimpleUser.hold() does.
    const reinvite = (hold) =>
      new Promise((resolve, reject) => {
        inviter.sessionDescriptionHandlerOptionsReInvite = { hold };
        inviter
          .invite({
            requestDelegate: { onAccept: () => resolve('accepted'), onReject: (r) => resolve(r.message.statusCode) },
          })
          .catch(reject);
      });
    expect(await reinvite(true)).toBe('accepted');
    await sleep(500);
    expect(await hears(atAlice, FREQ.bob)).toBe(false); // bob's audio stopped
    expect(await hears(atBob, FREQ.alice)).toBe(true); // alice still sends (sendonly)
    const aliceTransceiver = inviter.sessionDescriptionHandler.peerConnection.getTransceivers()[0];
    expect(aliceTransceiver.currentDirection).toBe('sendonly');

    // Bob refuses the next re-INVITE: SIP.js answers 488 and alice rolls back.
    const sdhBob = invitation.sessionDescriptionHandler;
    const original = sdhBob.setDescription.bind(sdhBob);
    sdhBob.setDescription = () => Promise.reject(new Error('refused for the test'));
    expect(await reinvite(false)).toBe(488);
    sdhBob.setDescription = original;
    const pcAlice = inviter.sessionDescriptionHandler.peerConnection;
    await waitFor(() => pcAlice.signalingState === 'stable', 5000);
    expect(aliceTransceiver.currentDirection).toBe('sendonly'); // still on hold

    // The next re-INVITE (unhold) works and audio flows both ways again.
    expect(await reinvite(false)).toBe('accepted');
    await sleep(500);
    expect(aliceTransceiver.currentDirection).toBe('sendrecv');
    expect(await hears(atAlice, FREQ.bob)).toBe(true);
    expect(await hears(atBob, FREQ.alice)).toBe(true);
    await inviter.bye();
  }, 90000);

  test('CANCEL before answer, 486 Busy, and a call to an unregistered user leak no connection', async () => {
    const alice = await gstUser('alice');
    const bob = await gstUser('bob');

    // CANCEL while bob's phone rings.
    const cancelled = new sip.Inviter(alice.ua, sip.UserAgent.makeURI(bob.uri));
    await cancelled.invite();
    const ringing = await bob.nextInvitation();
    await ringing.progress();
    await cancelled.cancel();
    await Promise.all([waitSessionState(cancelled, sip.SessionState.Terminated), waitSessionState(ringing, sip.SessionState.Terminated)]);

    // 486 Busy Here.
    const busy = new sip.Inviter(alice.ua, sip.UserAgent.makeURI(bob.uri));
    let status;
    await busy.invite({ requestDelegate: { onReject: (r) => (status = r.message.statusCode) } });
    const rejected = await bob.nextInvitation();
    await rejected.reject({ statusCode: 486 });
    await waitSessionState(busy, sip.SessionState.Terminated);
    expect(status).toBe(486);

    // 404 from Kamailio for a user nobody registered.
    const nobody = new sip.Inviter(alice.ua, sip.UserAgent.makeURI('sip:nobody@127.0.0.1'));
    let notFound;
    await nobody.invite({ requestDelegate: { onReject: (r) => (notFound = r.message.statusCode) } });
    await waitSessionState(nobody, sip.SessionState.Terminated);
    expect(notFound).toBe(404);

    await waitFor(() => [...alice.connections, ...bob.connections].every((pc) => pc.signalingState === 'closed'), 5000, 50, 'every connection closed');
    expect(alice.connections.length).toBeGreaterThanOrEqual(3);
  }, 60000);
});

describe("SIP.js's stock Web.SessionDescriptionHandler on installGlobals()", () => {
  test('SimpleUser calls a Node UA; hold()/unhold() stop and resume audio', async () => {
    installGlobals();
    globalThis.window ??= { addEventListener() {}, removeEventListener() {} };
    const bob = await gstUser('bob');
    const carol = tones.carol;
    const simple = new sip.Web.SimpleUser(kamailio.wsUrl, {
      aor: 'sip:carol@127.0.0.1',
      userAgentOptions: {
        logLevel: 'error',
        // Node has no getUserMedia: the stock handler gets its stream from this factory.
        sessionDescriptionHandlerFactory: sip.Web.defaultSessionDescriptionHandlerFactory(async () => new MediaStream([carol.track])),
        sessionDescriptionHandlerFactoryOptions: { peerConnectionConfiguration: { iceServers: [], ...LOOPBACK }, iceGatheringTimeout: 2000 },
      },
    });
    later(() => simple.disconnect());
    await simple.connect();
    await simple.register();
    const calling = simple.call(bob.uri);
    const invitation = await bob.nextInvitation();
    await invitation.accept();
    await calling;
    await waitSessionState(invitation, sip.SessionState.Established);
    const pc = simple.session.sessionDescriptionHandler.peerConnection;
    expect(pc.constructor.name).toBe('GstPeerConnection');
    const atBob = await listen(invitation.sessionDescriptionHandler);
    expect(await hears(atBob, FREQ.carol)).toBe(true);

    await simple.hold();
    await sleep(500);
    expect(pc.getTransceivers()[0].currentDirection).toBe('sendonly'); // SIP.js holds with sendonly
    await simple.unhold();
    await sleep(500);
    expect(await hears(atBob, FREQ.carol)).toBe(true);
    await simple.hangup();
    await waitSessionState(invitation, sip.SessionState.Terminated);
    expect(pc.signalingState).toBe('closed');
  }, 60000);
});

describe('calls with a Chromium phone (SIP.js with its stock browser handler)', () => {
  const { browserForTests } = require('./helpers/browser');
  const WEB_FREQ = 1500;
  const browser = browserForTests();

  async function webPhone(user) {
    const page = await browser().page(() => {}, 'sip.html');
    later(() => page.close());
    await page.waitForFunction(() => window.ready === true);
    await page.evaluate((o) => S.start(o), { wsUrl: kamailio.wsUrl, user, frequency: WEB_FREQ });
    return page;
  }

  async function pageHears(page, freq) {
    const spectrum = await page.evaluate(([f]) => S.spectrum(f, 800), [[freq, WEB_FREQ, 440, 700, 2000]]);
    expect(spectrum).not.toBeNull();
    for (const [f, p] of Object.entries(spectrum)) if (Number(f) !== freq) expect(spectrum[freq] - p).toBeGreaterThan(20);
  }

  test('Node calls the browser: audio both ways, BYE from Node ends both legs', async () => {
    const page = await webPhone('web');
    const node = await gstUser('alice');
    const t0 = performance.now();
    const inviter = new sip.Inviter(node.ua, sip.UserAgent.makeURI('sip:web@127.0.0.1'));
    await inviter.invite();
    await waitSessionState(inviter, sip.SessionState.Established);
    const established = performance.now() - t0;
    const atNode = await listen(inviter.sessionDescriptionHandler);
    const firstAudio = await waitFor(() => atNode.frameCount > 0 && performance.now() - t0, 5000);
    console.log(`Node → Chromium via Kamailio: INVITE → 200 OK ${established.toFixed(0)} ms, first audio at Node ${firstAudio.toFixed(0)} ms`);
    await sleep(800);
    expect(await hears(atNode, WEB_FREQ)).toBe(true);
    await pageHears(page, FREQ.alice);
    await inviter.bye();
    await waitFor(async () => (await page.evaluate(() => S.state())) === 'Terminated', 5000);
    for (const pc of node.connections) expect(pc.signalingState).toBe('closed');
  }, 60000);

  test('the browser calls Node: audio both ways, BYE from the browser ends both legs', async () => {
    const page = await webPhone('web');
    const node = await gstUser('bob');
    const calling = page.evaluate(() => S.call('sip:bob@127.0.0.1'));
    const invitation = await node.nextInvitation();
    await invitation.accept();
    await calling;
    await waitSessionState(invitation, sip.SessionState.Established);
    const atNode = await listen(invitation.sessionDescriptionHandler);
    await sleep(800);
    expect(await hears(atNode, WEB_FREQ)).toBe(true);
    await pageHears(page, FREQ.bob);
    await page.evaluate(() => S.bye());
    await waitSessionState(invitation, sip.SessionState.Terminated);
    for (const pc of node.connections) expect(pc.signalingState).toBe('closed');
  }, 60000);
});

describe('telephony over SIP (Node user agents through Kamailio)', () => {
  const { restrictCodecs, audioFormats } = require('./helpers/sdp');

  /** A SIP.js modifier: what a far end that only speaks `codec` would offer. */
  const only = (codec) => async (description) => ({ ...description, sdp: restrictCodecs(description.sdp, [codec, 'TELEPHONE-EVENT']) });

  test.each(['OPUS', 'G722', 'PCMU', 'PCMA'])('a call forced to %s by the offer carries audio both ways', async (codec) => {
    const alice = await gstUser('alice');
    const bob = await gstUser('bob');
    const t0 = performance.now();
    const { inviter, invitation } = await call(alice, bob, { inviterOptions: { sessionDescriptionHandlerModifiers: [only(codec)] } });
    const answered = performance.now() - t0;
    const answer = invitation.sessionDescriptionHandler.peerConnection.localDescription.sdp;
    expect(audioFormats(answer).map((f) => f.name).filter((n) => n !== 'TELEPHONE-EVENT')).toEqual([codec]);
    const [atAlice, atBob] = await Promise.all([listen(inviter.sessionDescriptionHandler), listen(invitation.sessionDescriptionHandler)]);
    const firstAudio = await waitFor(() => atAlice.frameCount > 0 && atBob.frameCount > 0 && performance.now() - t0, 5000);
    console.log(`${codec}: INVITE → 200 OK/ACK ${answered.toFixed(0)} ms, → first audio both ways ${firstAudio.toFixed(0)} ms`);
    await sleep(500);
    expect(await hears(atAlice, FREQ.bob)).toBe(true);
    expect(await hears(atBob, FREQ.alice)).toBe(true);
    await inviter.bye();
  }, 60000);

  test("a bridge whose rtpProfile takes plain RTP answers a WebRTC INVITE on webrtcbin (every profile accepts DTLS-SRTP)", async () => {
    const alice = await gstUser('alice');
    const bob = await gstUser('bob', { peerConnectionConfiguration: { ...LOOPBACK, rtpProfile: 'RTP/AVP' } });
    const { inviter, invitation } = await call(alice, bob);
    const pc = invitation.sessionDescriptionHandler.peerConnection;
    expect(pc.localDescription.sdp).toMatch(/^m=audio \d+ UDP\/TLS\/RTP\/SAVPF /m);
    expect(pc.localDescription.sdp).toMatch(/^a=fingerprint:/m);
    const [atAlice, atBob] = await Promise.all([listen(inviter.sessionDescriptionHandler), listen(invitation.sessionDescriptionHandler)]);
    await sleep(500);
    expect(await hears(atAlice, FREQ.bob)).toBe(true);
    expect(await hears(atBob, FREQ.alice)).toBe(true);
    await inviter.bye();
  }, 60000);

  test('in-band DTMF (RFC 4733) through SIP.js reaches the far end as exactly those digits; SIP INFO DTMF still works', async () => {
    const alice = await gstUser('alice');
    const bob = await gstUser('bob');
    const { inviter, invitation } = await call(alice, bob);
    const infos = [];
    invitation.delegate = {
      onInfo: (info) => {
        infos.push(info.request.body);
        info.accept();
      },
    };
    const pcBob = invitation.sessionDescriptionHandler.peerConnection;
    const digits = [];
    pcBob.addEventListener('dtmf', (ev) => digits.push(ev.tone));
    await waitFor(() => inviter.sessionDescriptionHandler.peerConnection.getSenders()[0].dtmf.canInsertDTMF, 5000);
    // The stock handler's sendDtmf is RTCDTMFSender.insertDTMF underneath.
    expect(inviter.sessionDescriptionHandler.sendDtmf('123#', { duration: 100, interToneGap: 70 })).toBe(true);
    await waitFor(() => digits.length >= 4, 5000, 20, 'four digits at bob');
    await sleep(300);
    expect(digits).toEqual(['1', '2', '3', '#']);

    await inviter.info({ requestOptions: { body: { contentDisposition: 'render', contentType: 'application/dtmf-relay', content: 'Signal=5\r\nDuration=160' } } });
    await waitFor(() => infos.length === 1, 5000);
    expect(infos[0]).toContain('Signal=5');
    await inviter.bye();
  }, 60000);

  test('SDP as SIP endpoints write it (no direction, ptime/maxptime, a=rtcp, extra codecs, unknown attributes) negotiates', async () => {
    const alice = await gstUser('alice');
    const bob = await gstUser('bob');
    const sipStyle = async (description) => {
      const sdp = description.sdp
        .replace(/^a=(sendrecv|sendonly|recvonly|inactive)\r\n/gm, '') // RFC 3264 §5.1 default: sendrecv
        .replace(/^(m=audio \d+ \S+ .*)\r\n/m, '$1 98\r\na=rtpmap:98 speex/16000\r\na=ptime:20\r\na=maxptime:40\r\na=rtcp:9 IN IP4 0.0.0.0\r\na=x-vendor-thing:42\r\n');
      return { ...description, sdp };
    };
    const { inviter, invitation } = await call(alice, bob, { inviterOptions: { sessionDescriptionHandlerModifiers: [sipStyle] } });
    const remote = invitation.sessionDescriptionHandler.peerConnection.remoteDescription.sdp;
    expect(remote).toContain('a=x-vendor-thing:42');
    const [atAlice, atBob] = await Promise.all([listen(inviter.sessionDescriptionHandler), listen(invitation.sessionDescriptionHandler)]);
    await sleep(500);
    expect(await hears(atAlice, FREQ.bob)).toBe(true);
    expect(await hears(atBob, FREQ.alice)).toBe(true);
    // RFC 8839 §5.1: our answer's c=/m= carry the default candidate for ICE-unaware peers.
    const answer = invitation.sessionDescriptionHandler.peerConnection.localDescription.sdp;
    expect(answer).toMatch(/^m=audio [1-9]\d* /m);
    expect(answer).toMatch(/^c=IN IP4 127\.0\.0\.1/m);
    await inviter.bye();
  }, 60000);
});
