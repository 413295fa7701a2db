'use strict';

// sipp (Debian's sip-tester) as a plain-RTP SIP phone: it calls the bridge, a SIP.js user agent
// registered to Kamailio over WebSocket whose calls run on our plain RTP/AVP session, over UDP
// through Kamailio, and plays the speech in its g711a.pcap and an RFC 2833 digit. The bridge
// must hear that recording (compared sample by sample with the pcap decoded by GStreamer) and
// the digit.

const path = require('path');
const { nonstandard } = require('../dist');
const { useSipWorld, sipBridge } = require('./helpers/sip-bridge');
const { FrameCollector } = require('./helpers/audio');
const { decodePcmaPcap, matchRecording } = require('./helpers/waveform');
const { freePort, waitFor, sleep } = require('./helpers/resources');
const { later } = require('./helpers/later');

const { runSipp, scenario } = require('./helpers/sipp');

const PCAPS = '/usr/share/sip-tester';
const BRIDGE_TONE = 700;
const PLAIN = { rtpProfile: 'RTP/AVP', localAddresses: ['127.0.0.1'] };

const world = useSipWorld();

/**
 * Every voiced 250 ms of `reference` is in what `collector` got (helpers/waveform.js); a window
 * where the playout delay grew by a pitch period correlates less than the others, so the bar
 * for the worst one is lower than for the median.
 */
function expectRecording(reference, collector) {
  const match = matchRecording(reference, collector.samples());
  if (process.env.DEBUG_AUDIO) console.log(match.windows.map((w) => `${w.atMs}ms r=${w.r.toFixed(3)} +${w.offsetMs}ms`).join('\n'));
  expect(match.windows.length).toBeGreaterThan(15);
  expect(match.median).toBeGreaterThan(0.95);
  expect(match.worst).toBeGreaterThan(0.7);
  expect(match.monotonic).toBe(true);
  expect(match.driftMs).toBeLessThanOrEqual(60);
}

/**
 * g711a.pcap's speech decoded by GStreamer, once per file. Decoded before the first call that
 * needs it: decoding takes long enough to miss the start of the speech.
 */
let speech;
const speechReference = () => (speech ??= decodePcmaPcap(path.join(PCAPS, 'g711a.pcap')));

/** The bridge's handler `sdh` hears all of the speech before `sipp`, a running caller, ends cleanly. */
async function expectSpeechUntilSippEnds(sdh, sipp) {
  const collector = new FrameCollector();
  const sink = new nonstandard.RTCAudioSink(await sdh.waitForRemoteTrack());
  sink.ondata = collector.push;
  later(() => sink.stop());
  const { code, errors } = await sipp;
  expect({ code, errors }).toEqual({ code: 0, errors: '' });
  sink.stop();
  expectRecording(speechReference(), collector);
}

/** sipp calling `service` through Kamailio over UDP with `name`.xml. */
async function sippCaller(name, service) {
  return runSipp([
    `127.0.0.1:${world.kamailio.udpPort}`,
    '-sf', scenario(name),
    '-s', service,
    '-i', '127.0.0.1',
    '-p', String(await freePort()),
    '-mi', '127.0.0.1',
    '-mp', String(await freePort()),
    '-m', '1',
  ]);
}

const bridge = (user, config = PLAIN) => sipBridge(world, { user, config, frequency: BRIDGE_TONE });

/** sipp calls a new bridge `user` with `name`.xml: the running caller and the bridge's handler once the INVITE is there. */
async function sippCallsBridge(name, user) {
  speechReference();
  const { handlers } = await bridge(user);
  const sipp = sippCaller(name, user);
  const sdh = await waitFor(() => handlers[0], 10000, 20, 'the INVITE at the bridge');
  return { sipp, sdh, pc: sdh.gstPeerConnection };
}

test('sipp calls over UDP through Kamailio with PCMA speech and a digit: the bridge hears both', async () => {
  expect(speechReference().length).toBeGreaterThan(8000 * 6);
  const { sipp, sdh } = await sippCallsBridge('uac-pcap', 'bridge');
  const collector = new FrameCollector();
  const digits = [];
  const track = await sdh.waitForRemoteTrack();
  const sink = new nonstandard.RTCAudioSink(track);
  sink.ondata = collector.push;
  later(() => sink.stop());
  sdh.gstPeerConnection.addEventListener('dtmf', (ev) => digits.push(ev.tone));
  const answer = await waitFor(() => sdh.gstPeerConnection.localDescription?.sdp, 10000, 20, 'the answer');
  expect(answer).toMatch(/^m=audio \d+ RTP\/AVP 8 101\r$/m);

  const { code, errors } = await sipp;
  expect({ code, errors }).toEqual({ code: 0, errors: '' });
  sink.stop();
  expectRecording(speechReference(), collector);
  expect(digits).toEqual(['1']);
}, 60000);

test('a plain-RTP INVITE to a bridge with the default rtpProfile is refused with 488 and makes no connection', async () => {
  const { handlers } = await bridge('webrtc-only', { localAddresses: ['127.0.0.1'] });
  const { code, errors } = await sippCaller('uac-refused', 'webrtc-only');
  expect({ code, errors }).toEqual({ code: 0, errors: '' });
  expect(handlers).toEqual([]);
}, 30000);

/**
 * A sipp callee with `name`.xml, registered as sip:sipp@127.0.0.1 through Kamailio; the bridge
 * (`config`) calls it (Inviter `options`): resolves with the running callee and the inviter
 * once the INVITE went out.
 */
async function bridgeCallsSipp(name, user, options, config = PLAIN) {
  speechReference();
  const { agent } = await bridge(user, config);
  const uasPort = await freePort();
  const uas = runSipp(['-sf', scenario(name), '-s', 'sipp', '-i', '127.0.0.1', '-p', String(uasPort), '-mi', '127.0.0.1', '-mp', String(await freePort()), '-m', '1']);
  const registered = await runSipp([
    `127.0.0.1:${world.kamailio.udpPort}`,
    '-sf', scenario('register'),
    '-s', 'sipp',
    '-i', '127.0.0.1',
    '-p', String(await freePort()),
    '-key', 'contact_port', String(uasPort),
    '-m', '1',
  ]);
  expect(registered).toEqual({ code: 0, errors: '' });
  const inviter = new world.sip.Inviter(agent.ua, world.sip.UserAgent.makeURI('sip:sipp@127.0.0.1'), options);
  await inviter.invite();
  return { uas, inviter };
}

/** What the remote track of `sdh` (a handler, or a promise of one) delivers, from now on. */
async function listen(sdh) {
  const collector = new FrameCollector();
  const sink = new nonstandard.RTCAudioSink(await (await sdh).waitForRemoteTrack());
  sink.ondata = collector.push;
  later(() => sink.stop());
  return { collector, sink };
}

test('the bridge calls sipp (registered through Kamailio) with an RTP/AVP offer; sipp answers PCMA and plays speech, which the bridge hears', async () => {
  const { uas, inviter } = await bridgeCallsSipp('uas-pcap', 'caller');
  await waitFor(() => inviter.state === world.sip.SessionState.Established, 10000, 20, 'the call to sipp established');
  const sdh = inviter.sessionDescriptionHandler;
  expect(sdh.gstPeerConnection.localDescription.sdp).toMatch(/^m=audio \d+ RTP\/AVP 111 9 0 8 101 126\r$/m);
  const { collector, sink } = await listen(sdh);
  await sleep(8000);
  sink.stop();
  expectRecording(speechReference(), collector);
  await inviter.bye();
  expect(await uas).toEqual({ code: 0, errors: '' });
}, 60000);

test('early media: sipp answers 183 with SDP and plays speech before its 200 OK; the bridge (Inviter earlyMedia) hears it from the 183 on, and all of it', async () => {
  const { uas, inviter } = await bridgeCallsSipp('uas-early-media', 'early', { earlyMedia: true });
  const { collector, sink } = await listen(waitFor(() => inviter.sessionDescriptionHandler, 10000, 20, 'the early answer applied'));
  await waitFor(() => inviter.state === world.sip.SessionState.Established, 10000, 20, 'the 200 OK');
  // The 200 OK comes 3 s after the 183: most of that is speech heard before the call was answered.
  const beforeAnswer = collector.durationMs;
  expect(beforeAnswer).toBeGreaterThan(2000);
  await sleep(5500);
  sink.stop();
  expectRecording(speechReference(), collector);
  await inviter.bye();
  expect(await uas).toEqual({ code: 0, errors: '' });
}, 60000);

test('silent early media: a 183 without RTP for longer than twice the media timeout fails nothing; the timeout runs from the 200 OK, and the speech after it is heard', async () => {
  const { uas, inviter } = await bridgeCallsSipp('uas-early-silent', 'early-silent', { earlyMedia: true }, { ...PLAIN, mediaTimeout: 1000 });
  const sdh = await waitFor(() => inviter.sessionDescriptionHandler, 10000, 20, 'the handler');
  const pc = sdh.gstPeerConnection;
  const states = [];
  pc.addEventListener('connectionstatechange', () => states.push(pc.connectionState));
  await waitFor(() => pc.signalingState === 'have-remote-pranswer', 10000, 20, 'the 183 applied as a provisional answer');
  const { collector, sink } = await listen(sdh);
  await waitFor(() => inviter.state === world.sip.SessionState.Established, 10000, 20, 'the 200 OK');
  await waitFor(() => pc.signalingState === 'stable', 2000, 20, 'the early answer made final');
  await sleep(7500);
  sink.stop();
  expect(states).toEqual(['connecting', 'connected']);
  expectRecording(speechReference(), collector);
  await inviter.bye();
  expect(await uas).toEqual({ code: 0, errors: '' });
}, 60000);

test("a late offer: sipp's INVITE has no SDP, the bridge offers RTP/AVP in its 200 OK, takes the answer from the ACK and hears the speech", async () => {
  const { sipp, sdh, pc } = await sippCallsBridge('uac-late-offer', 'late');
  await waitFor(() => pc.signalingState === 'stable' && pc.remoteDescription, 10000, 20, 'the answer from the ACK');
  expect(pc.localDescription.type).toBe('offer');
  expect(pc.localDescription.sdp).toMatch(/^m=audio \d+ RTP\/AVP 111 9 0 8 101 126\r$/m);
  await expectSpeechUntilSippEnds(sdh, sipp);
}, 60000);

test('an empty re-INVITE mid-call: the bridge offers in its 200 OK, takes the answer from the ACK, and hears the speech that follows', async () => {
  const { sipp, sdh, pc } = await sippCallsBridge('uac-empty-reinvite', 'reinvite');
  const port = await waitFor(() => /^m=audio (\d+) /m.exec(pc.localDescription?.sdp ?? '')?.[1], 10000, 20, 'the answer');
  // The re-INVITE makes us the offerer; sipp's answer in the ACK settles it.
  await waitFor(() => pc.signalingState === 'stable' && pc.localDescription.type === 'offer', 10000, 20, 'the answer from the ACK');
  expect(pc.remoteDescription.sdp).toMatch(/^m=audio \d+ RTP\/AVP 8\r$/m);
  expect(pc.localDescription.sdp).toMatch(new RegExp(`^m=audio ${port} RTP/AVP `, 'm')); // same port (RFC 3264 §8)
  await expectSpeechUntilSippEnds(sdh, sipp);
}, 60000);
