'use strict';

// baresip (Debian's) as a SIP phone registered to Kamailio over UDP, auto-answering, sending a
// sine and recording what it decodes: plain-RTP calls to it with each codec, and SDES-SRTP
// calls both ways on each suite, with the tone checked in both directions.

const { nonstandard } = require('../dist');
const { startBaresip } = require('./helpers/baresip');
const { useSipWorld, sipBridge } = require('./helpers/sip-bridge');
const { FrameCollector, detectTone, expectContinuousTone } = require('./helpers/audio');
const { waitFor, sleep } = require('./helpers/resources');
const { later, own } = require('./helpers/later');

const BRIDGE_TONE = 440;
const PHONE_TONE = 700;
const PROBES = [BRIDGE_TONE, PHONE_TONE, 1250, 2000];

const world = useSipWorld();

const bridge = (user, config) => sipBridge(world, { user, config, frequency: BRIDGE_TONE });

async function listen(sdh) {
  const collector = new FrameCollector();
  const sink = new nonstandard.RTCAudioSink(await sdh.waitForRemoteTrack());
  sink.ondata = collector.push;
  later(() => sink.stop());
  return { collector, sink };
}

/** baresip's recording carries `freq` in every 200 ms window of its last `ms` (before the hangup's last 200 ms). */
function expectRecordedTone({ samples, sampleRate }, freq, ms) {
  expect(sampleRate).toBeGreaterThan(0);
  const win = Math.round(sampleRate / 5);
  const end = samples.length - win;
  const start = end - Math.round((ms * sampleRate) / 1000);
  expect(start).toBeGreaterThan(0);
  const missing = [];
  for (let at = start; at + win <= end; at += win) {
    if (!detectTone(samples.subarray(at, at + win), sampleRate, freq, { otherFreqs: PROBES.filter((f) => f !== freq) }).present) missing.push(at / sampleRate);
  }
  expect(missing).toEqual([]);
}

const PLAIN = { rtpProfile: 'RTP/AVP', localAddresses: ['127.0.0.1'] };

describe.each([
  ['PCMU/8000/1', 0],
  ['PCMA/8000/1', 8],
  ['G722/16000/1', 9],
  ['opus/48000/2', 111],
])('baresip with %s, plain RTP', (codec, pt) => {
  test('the bridge calls it through Kamailio: each side hears the other tone', async () => {
    const name = codec.split('/')[0].toLowerCase();
    const phone = own(await startBaresip({ kamailioUdpPort: world.kamailio.udpPort, user: `phone-${name}`, frequency: PHONE_TONE, codec }));
    const { agent } = await bridge(`bridge-${name}`, PLAIN);
    const inviter = new world.sip.Inviter(agent.ua, world.sip.UserAgent.makeURI(`sip:phone-${name}@127.0.0.1`));
    await inviter.invite();
    await waitFor(() => inviter.state === world.sip.SessionState.Established, 10000, 20, 'the call to baresip established');
    const sdh = inviter.sessionDescriptionHandler;
    expect(sdh.gstPeerConnection.remoteDescription.sdp).toMatch(new RegExp(`^m=audio \\d+ RTP/AVP ${pt}( |\\r)`, 'm'));
    const { collector, sink } = await listen(sdh);
    await sleep(2600);
    sink.stop();
    expectContinuousTone(collector, PHONE_TONE, 2000, PROBES);
    await inviter.bye();
    await sleep(300);
    expectRecordedTone(phone.decoded(), BRIDGE_TONE, 1500);
  }, 60000);
});

/** An SDES-SRTP call on `suite` whose handler is `sdh`: both tones, both ways; then `hangup`. */
async function expectSecureCall(phone, sdh, suite, hangup) {
  const pc = sdh.gstPeerConnection;
  expect(pc.remoteDescription.sdp).toMatch(/^m=audio \d+ RTP\/SAVP /m);
  expect(pc.localDescription.sdp).toMatch(new RegExp(`^a=crypto:\\d+ ${suite} inline:`, 'm'));
  const { collector, sink } = await listen(sdh);
  await sleep(2600);
  sink.stop();
  expectContinuousTone(collector, PHONE_TONE, 2000, PROBES);
  const transport = [...(await pc.getStats()).values()].find((s) => s.type === 'transport');
  expect(transport.srtpCipher).toBe(suite);
  await hangup();
  await sleep(300);
  expectRecordedTone(phone.decoded(), BRIDGE_TONE, 1500);
}

describe.each(['AES_CM_128_HMAC_SHA1_80', 'AES_CM_128_HMAC_SHA1_32'])('SDES-SRTP with baresip (mediaenc=srtp-mand), the bridge allowing only %s', (suite) => {
  const SECURE = { ...PLAIN, rtpProfile: 'RTP/SAVP', srtpCryptoSuites: [suite] };

  test('the bridge calls baresip, offering only that suite: each side hears the other tone', async () => {
    const user = `phone-out-${suite.slice(-2)}`;
    const phone = own(await startBaresip({ kamailioUdpPort: world.kamailio.udpPort, user, frequency: PHONE_TONE, codec: 'PCMU/8000/1', mediaenc: 'srtp-mand' }));
    const { agent } = await bridge(`bridge-out-${suite.slice(-2)}`, SECURE);
    const inviter = new world.sip.Inviter(agent.ua, world.sip.UserAgent.makeURI(`sip:${user}@127.0.0.1`));
    await inviter.invite();
    await waitFor(() => inviter.state === world.sip.SessionState.Established, 10000, 20, 'the call to baresip established');
    const offer = inviter.sessionDescriptionHandler.gstPeerConnection.localDescription.sdp;
    expect(offer.match(/^a=crypto:.*$/gm)).toHaveLength(1);
    await expectSecureCall(phone, inviter.sessionDescriptionHandler, suite, () => inviter.bye());
  }, 60000);
});

// Debian's baresip (1.0) offers AES_CM_128_HMAC_SHA1_80 only, so that is the suite of its calls to us.
test('baresip calls the bridge with SDES-SRTP: each side hears the other tone', async () => {
  const phone = own(await startBaresip({ kamailioUdpPort: world.kamailio.udpPort, user: 'phone-in-srtp', frequency: PHONE_TONE, codec: 'PCMU/8000/1', mediaenc: 'srtp-mand' }));
  const { invitations } = await bridge('bridge-in-srtp', { ...PLAIN, rtpProfile: 'RTP/SAVP' });
  await phone.command('dial', 'sip:bridge-in-srtp@127.0.0.1');
  const invitation = await waitFor(() => invitations[0], 10000, 20, 'the INVITE from baresip');
  await waitFor(() => invitation.state === world.sip.SessionState.Established, 10000, 20, 'the call from baresip established');
  await expectSecureCall(phone, invitation.sessionDescriptionHandler, 'AES_CM_128_HMAC_SHA1_80', () => invitation.bye());
}, 60000);

test("a bridge that allows only AES_CM_128_HMAC_SHA1_32 refuses baresip's offer with 488 and makes no connection", async () => {
  const phone = own(await startBaresip({ kamailioUdpPort: world.kamailio.udpPort, user: 'phone-in-32', frequency: PHONE_TONE, codec: 'PCMU/8000/1', mediaenc: 'srtp-mand' }));
  const { invitations, handlers } = await bridge('bridge-in-32', { ...PLAIN, rtpProfile: 'RTP/SAVP', srtpCryptoSuites: ['AES_CM_128_HMAC_SHA1_32'] });
  await phone.command('dial', 'sip:bridge-in-32@127.0.0.1');
  const invitation = await waitFor(() => invitations[0], 10000, 20, 'the INVITE from baresip');
  await waitFor(() => invitation.state === world.sip.SessionState.Terminated, 10000, 20, 'the INVITE refused');
  await waitFor(() => /488 Not Acceptable Here/.test(phone.log()), 5000, 20, 'baresip told 488');
  expect(handlers).toEqual([]);
}, 30000);

/** Whether the last `ms` of `collector` carry `freq`, judged over 200 ms windows. */
function tonePresentWindows(collector, freq, ms) {
  return collector.toneOverWindows(freq, 200, PROBES.filter((f) => f !== freq), ms).windows.filter((w) => w.present).length;
}

test('hold and resume from each side stop and bring back the audio; DTMF both ways', async () => {
  const phone = own(await startBaresip({ kamailioUdpPort: world.kamailio.udpPort, user: 'phone-hold', frequency: PHONE_TONE, codec: 'PCMU/8000/1' }));
  const { agent } = await bridge('bridge-hold', PLAIN);
  const inviter = new world.sip.Inviter(agent.ua, world.sip.UserAgent.makeURI('sip:phone-hold@127.0.0.1'));
  await inviter.invite();
  await waitFor(() => inviter.state === world.sip.SessionState.Established, 10000, 20, 'the call to baresip established');
  const sdh = inviter.sessionDescriptionHandler;
  const pc = sdh.gstPeerConnection;
  const { collector } = await listen(sdh);
  await sleep(1200);
  expect(tonePresentWindows(collector, PHONE_TONE, 1000)).toBe(5);

  // DTMF both ways (RFC 4733 at PCMU's 8 kHz).
  const digits = [];
  pc.addEventListener('dtmf', (ev) => digits.push(ev.tone));
  pc.getSenders()[0].dtmf.insertDTMF('19', 120, 80);
  await phone.command('sndcode', '5');
  const ended = (d) => new RegExp(`received event: '${d}' \\(end=1\\)`).test(phone.log());
  await waitFor(() => ended('1') && ended('9') && digits.length > 0, 5000, 50, 'the digits on both sides');
  expect(digits).toEqual(['5']);

  // The bridge holds (sendonly): baresip answers recvonly and stops sending; then resume.
  const reinvite = (hold) => new Promise((resolve, reject) => {
    inviter.invite({ sessionDescriptionHandlerOptions: { hold }, requestDelegate: { onAccept: resolve, onReject: reject } }).catch(reject);
  });
  await reinvite(true);
  expect(pc.getTransceivers()[0].currentDirection).toBe('sendonly');
  await sleep(600);
  collector.reset();
  await sleep(1000);
  expect(tonePresentWindows(collector, PHONE_TONE, 1000)).toBe(0);
  await reinvite(false);
  expect(pc.getTransceivers()[0].currentDirection).toBe('sendrecv');
  await sleep(500);
  collector.reset();
  await sleep(1100);
  expect(tonePresentWindows(collector, PHONE_TONE, 1000)).toBe(5);

  // baresip holds: we answer recvonly and send nothing until it resumes.
  const sent = async () => [...(await pc.getStats()).values()].find((x) => x.type === 'outbound-rtp').packetsSent;
  await phone.command('hold');
  await waitFor(() => pc.getTransceivers()[0].currentDirection === 'recvonly', 5000, 20, 'the hold from baresip');
  await sleep(300);
  const atHold = await sent();
  await sleep(1500);
  expect(await sent()).toBe(atHold);
  await phone.command('resume');
  await waitFor(() => pc.getTransceivers()[0].currentDirection === 'sendrecv', 5000, 20, 'the resume from baresip');
  await sleep(1500);
  expect((await sent()) - atHold).toBeGreaterThan(50);
  await inviter.bye();
  await sleep(300);
  // What baresip decoded after it resumed (its recording has no samples while nothing came).
  expectRecordedTone(phone.decoded(), BRIDGE_TONE, 1000);
}, 60000);
