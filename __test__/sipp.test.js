'use strict';

// sipp (Debian's sip-tester) as a plain-RTP SIP phone: it calls the bridge, a SIP.js user agent
// registered to Kamailio over WebSocket whose calls run on our plain RTP/AVP session, over UDP
// through Kamailio, and plays the speech in its g711a.pcap and an RFC 2833 digit. The bridge
// must hear that recording (compared sample by sample with the pcap decoded by GStreamer) and
// the digit.

const { spawn } = require('child_process');
const dgram = require('dgram');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ToneSource, nonstandard } = require('../dist');
const { startKamailio } = require('./helpers/kamailio');
const { loadSip, makeUserAgent } = require('./helpers/sip');
const { FrameCollector } = require('./helpers/audio');
const { decodePcmaPcap, matchRecording } = require('./helpers/waveform');
const { waitFor } = require('./helpers/resources');
const { later, own } = require('./helpers/later');

const PCAPS = '/usr/share/sip-tester';
const SCENARIO = path.join(__dirname, 'fixtures', 'sipp', 'uac-pcap.xml');
const PLAIN = { rtpProfile: 'RTP/AVP', localAddresses: ['127.0.0.1'] };

let kamailio;
let sip;
let gstSip;
beforeAll(async () => {
  kamailio = await startKamailio();
  sip = await loadSip();
  gstSip = await import('../dist/sip/index.mjs');
}, 30000);
afterAll(async () => {
  await kamailio?.stop();
});

async function freeUdpPort() {
  const s = dgram.createSocket('udp4');
  await new Promise((r) => s.bind(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** Run sipp to completion (killed by PID after the test whatever happens); resolves with its exit code and error log. */
function runSipp(args) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gstpc-sipp-'));
  const errors = path.join(dir, 'errors.log');
  const child = spawn('sipp', [...args, '-nostdin', '-trace_err', '-error_file', errors, '-timeout', '40s', '-timeout_error'], { cwd: dir, stdio: 'ignore' });
  later(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return new Promise((resolve) => {
    child.on('exit', (code) => resolve({ code, errors: fs.existsSync(errors) ? fs.readFileSync(errors, 'utf8') : '' }));
  });
}

/** A SIP.js user agent whose calls run on plain RTP sessions and are answered at once. */
async function bridge(user) {
  const tone = own(new ToneSource({ frequency: 700 }));
  const factory = gstSip.sessionDescriptionHandlerFactory({ media: () => tone.track, peerConnectionConfiguration: PLAIN });
  const handlers = [];
  const agent = await makeUserAgent(sip, {
    wsUrl: kamailio.wsUrl,
    user,
    sessionDescriptionHandlerFactory: (session, options) => {
      const sdh = factory(session, options);
      handlers.push(sdh);
      return sdh;
    },
    delegate: { onInvite: (invitation) => invitation.accept() },
  });
  later(() => agent.stop());
  return { handlers };
}

test('sipp calls over UDP through Kamailio with PCMA speech and a digit: the bridge hears both', async () => {
  const reference = decodePcmaPcap(path.join(PCAPS, 'g711a.pcap'));
  expect(reference.length).toBeGreaterThan(8000 * 6);
  const { handlers } = await bridge('bridge');
  const sipp = runSipp([
    `127.0.0.1:${kamailio.udpPort}`,
    '-sf', SCENARIO,
    '-s', 'bridge',
    '-i', '127.0.0.1',
    '-p', String(await freeUdpPort()),
    '-mi', '127.0.0.1',
    '-mp', String(await freeUdpPort()),
    '-m', '1',
  ]);
  const sdh = await waitFor(() => handlers[0], 10000, 20, 'the INVITE at the bridge');
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
  const match = matchRecording(reference, collector.samples());
  if (process.env.DEBUG_AUDIO) console.log(match.windows.map((w) => `${w.atMs}ms r=${w.r.toFixed(3)} +${w.offsetMs}ms`).join('\n'));
  // Every voiced 250 ms of the recording is there; a window where the playout delay grew by a
  // pitch period correlates less than the others, so the bar for the worst one is lower.
  expect(match.windows.length).toBeGreaterThan(15);
  expect(match.median).toBeGreaterThan(0.95);
  expect(match.worst).toBeGreaterThan(0.7);
  expect(match.monotonic).toBe(true);
  expect(match.driftMs).toBeLessThanOrEqual(60);
  expect(digits).toEqual(['1']);
}, 60000);
