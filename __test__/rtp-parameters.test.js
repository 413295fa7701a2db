'use strict';

// RTCRtpSender/RTCRtpReceiver parameters and capabilities, and setCodecPreferences
// (webrtc-pc §5.2–§5.4), on real connections: what the application sets must be what the far
// end hears.

const { RTCRtpSender, RTCRtpReceiver, ToneSource } = require('../dist');
const { connect } = require('./helpers/peers');
const { own, peer, toneCall, sleep } = require('./helpers/later');
const { expectToneFromNow } = require('./helpers/audio');

const FREQ = 440;

test('getCapabilities lists the codecs we encode and decode, and RFC 4733 events; video has none', () => {
  for (const cls of [RTCRtpSender, RTCRtpReceiver]) {
    const audio = cls.getCapabilities('audio');
    expect(audio.codecs.map((c) => `${c.mimeType}/${c.clockRate}`)).toEqual([
      'audio/opus/48000', 'audio/G722/8000', 'audio/PCMU/8000', 'audio/PCMA/8000', 'audio/telephone-event/48000', 'audio/telephone-event/8000',
    ]);
    expect(audio.codecs[0]).toMatchObject({ channels: 2, sdpFmtpLine: 'minptime=10;useinbandfec=1' });
    expect(cls.getCapabilities('video')).toEqual({ codecs: [], headerExtensions: [] });
    expect(cls.getCapabilities('data')).toBeNull();
  }
});

test('getParameters reports the negotiated codecs, our CNAME and one encoding; setParameters follows the transactionId rules', async () => {
  const { a, b } = await toneCall({ frequency: FREQ });
  const sender = a.getSenders()[0];
  const params = sender.getParameters();
  const answerPt = Number(/m=audio \d+ \S+ (\d+)/.exec(b.localDescription.sdp)[1]);
  expect(params.codecs[0]).toMatchObject({ payloadType: answerPt, mimeType: 'audio/opus', clockRate: 48000, channels: 2 });
  expect(params.encodings).toEqual([{ active: true }]);
  expect(params.rtcp.cname).toBe(/a=ssrc:\d+ cname:(\S+)/.exec(a.localDescription.sdp)[1]);
  expect(typeof params.transactionId).toBe('string');
  expect(b.getReceivers()[0].getParameters().codecs[0]).toMatchObject({ payloadType: answerPt, mimeType: 'audio/opus' });

  await expect(sender.setParameters({ ...params, transactionId: 'other' })).rejects.toMatchObject({ name: 'InvalidModificationError' });
  await expect(sender.setParameters({ ...sender.getParameters(), encodings: [] })).rejects.toMatchObject({ name: 'InvalidModificationError' });
  await expect(sender.setParameters({ ...sender.getParameters(), codecs: [] })).rejects.toMatchObject({ name: 'InvalidModificationError' });
  const stale = sender.getParameters();
  await sleep(10); // a task later, [[LastReturnedParameters]] is gone
  await expect(sender.setParameters(stale)).rejects.toMatchObject({ name: 'InvalidStateError' });
  await expect(sender.setParameters(sender.getParameters())).resolves.toBeUndefined();
});

test('encodings[0].active pauses and resumes sending without renegotiation; maxBitrate caps the Opus rate', async () => {
  const { a, collector } = await toneCall({ frequency: FREQ });
  await expectToneFromNow(collector, FREQ, 1000);
  const sender = a.getSenders()[0];
  const offer = a.localDescription.sdp;

  const off = sender.getParameters();
  off.encodings[0].active = false;
  await sender.setParameters(off);
  await sleep(300);
  collector.reset();
  await sleep(800);
  const paused = collector.toneOverWindows(FREQ, 200);
  expect(paused.windows.filter((w) => w.present)).toEqual([]);
  expect(a.localDescription.sdp).toBe(offer);

  const on = sender.getParameters();
  expect(on.encodings[0].active).toBe(false);
  on.encodings[0].active = true;
  await sender.setParameters(on);
  await sleep(300);
  await expectToneFromNow(collector, FREQ, 1000);

  const rate = async () => {
    const bytes = async () => [...(await sender.getStats()).values()].find((s) => s.type === 'outbound-rtp').bytesSent;
    const before = await bytes();
    await sleep(2000);
    return ((await bytes()) - before) * 4; // bit/s over 2 s
  };
  const full = await rate();
  const capped = sender.getParameters();
  capped.encodings[0].maxBitrate = 8000;
  await sender.setParameters(capped);
  await sleep(200);
  const low = await rate();
  expect(full).toBeGreaterThan(20000);
  expect(low).toBeLessThan(12000);
  expect(sender.getParameters().encodings[0].maxBitrate).toBe(8000);
  // Still the tone, at the lower rate.
  await expectToneFromNow(collector, FREQ, 1000);
});

test('setCodecPreferences: the offer lists only the chosen codecs, the call uses them; a codec we lack is refused', async () => {
  const a = peer();
  const b = peer();
  const tone = own(new ToneSource({ frequency: FREQ }));
  const t = a.addTransceiver(tone.track);
  const pcmu = RTCRtpReceiver.getCapabilities('audio').codecs.find((c) => c.mimeType === 'audio/PCMU');
  expect(() => t.setCodecPreferences([{ mimeType: 'audio/x-unknown', clockRate: 8000 }])).toThrow(expect.objectContaining({ name: 'InvalidModificationError' }));
  t.setCodecPreferences([pcmu]);
  const { collectRemote } = require('./helpers/peers');
  const atB = collectRemote(b);
  await connect(a, b);
  expect(/m=audio \d+ \S+ ([\d ]+)/.exec(a.localDescription.sdp)[1].split(' ').filter((pt) => Number(pt) < 96)).toEqual(['0']);
  expect(b.getReceivers()[0].getParameters().codecs[0]).toMatchObject({ payloadType: 0, mimeType: 'audio/PCMU', clockRate: 8000 });
  const { sink } = await atB.ready;
  try {
    await expectToneFromNow(atB.collector, FREQ, 1000);
  } finally {
    sink.stop();
  }
});
