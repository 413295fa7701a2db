'use strict';

// INVITE → first audio, both ways, over SIP: a Kamailio on loopback and two SIP.js user agents
// in this process (a caller and an auto-answering callee, each sending a tone on our
// connections). Per call: from the caller's invite() to the first audible 10 ms frame on each
// side. A plain-RTP call (both agents with rtpProfile 'RTP/AVP', the offer cut down to PCMU as a
// trunk sends it, through SIP.js's own sessionDescriptionHandlerModifiers) and a WebRTC call
// (ICE + DTLS-SRTP, Opus), one after the other, `BENCH_SIP_CALLS` (10) of each.

const { ToneSource, nonstandard } = require('..');
const { startKamailio } = require('../__test__/helpers/kamailio');
const { loadSip, makeUserAgent, withTimeout } = require('../__test__/helpers/sip');
const { audible } = require('./meter');
const { summary } = require('./stats');

const CALLS = Number(process.env.BENCH_SIP_CALLS || 10);
const LOOPBACK = { localAddresses: ['127.0.0.1'] };
const KINDS = {
  webrtc: { label: 'WebRTC (ICE + DTLS-SRTP, Opus)', config: LOOPBACK, modifiers: [] },
  plain: { label: 'plain RTP/AVP (PCMU)', config: { ...LOOPBACK, rtpProfile: 'RTP/AVP' }, modifiers: [pcmuOnly] },
};
const CALL_TIMEOUT_MS = 15000;

/** A SIP.js modifier: the offer with PCMU (and its telephone-event) as the only formats. */
async function pcmuOnly(description) {
  const lines = description.sdp.split('\r\n');
  const keep = new Set(['0', ...lines.map((l) => /^a=rtpmap:(\d+) telephone-event\/8000/.exec(l)?.[1]).filter(Boolean)]);
  const sdp = lines
    .filter((l) => !/^a=(rtpmap|fmtp):(\d+) /.test(l) || keep.has(/^a=(?:rtpmap|fmtp):(\d+) /.exec(l)[1]))
    .map((l) => (l.startsWith('m=audio ') ? l.split(' ').slice(0, 3).concat([...keep]).join(' ') : l))
    .join('\r\n');
  return { ...description, sdp };
}

/** Resolves with performance.now() at the first audible frame of the session's remote track. */
async function firstAudio(sdh, sinks) {
  const track = await sdh.waitForRemoteTrack();
  return new Promise((resolve) => {
    const sink = new nonstandard.RTCAudioSink(track);
    sinks.push(sink);
    sink.ondata = ({ samples }) => {
      if (audible(samples)) resolve(performance.now());
    };
  });
}

/** The codec the answer settled on, e.g. "PCMU/8000" (its first format, RFC 3264 §6.1). */
function answeredCodec(sdp) {
  const pt = /^m=audio \d+ \S+ (\d+)/m.exec(sdp)?.[1];
  return new RegExp(`^a=rtpmap:${pt} (\\S+)`, 'm').exec(sdp)?.[1] ?? (pt === '0' ? 'PCMU/8000' : `pt ${pt}`);
}

async function main() {
  const sip = await loadSip();
  const { sessionDescriptionHandlerFactory } = await import('../dist/sip/index.mjs');
  const kamailio = await startKamailio();
  const tones = [new ToneSource({ frequency: 440 }), new ToneSource({ frequency: 660 })];
  const agents = [];
  const results = {};
  try {
    const register = async (user, options) => {
      const agent = await makeUserAgent(sip, { wsUrl: kamailio.wsUrl, user, ...options });
      agents.push(agent);
      return agent.ua;
    };
    for (const [kind, { config, modifiers }] of Object.entries(KINDS)) {
      const sinks = [];
      let answered;
      const callee = await register(`callee-${kind}`, {
        sessionDescriptionHandlerFactory: sessionDescriptionHandlerFactory({ media: () => tones[1].track, peerConnectionConfiguration: config }),
        delegate: { onInvite: (invitation) => { answered?.(invitation); invitation.accept(); } },
      });
      const caller = await register(`caller-${kind}`, {
        sessionDescriptionHandlerFactory: sessionDescriptionHandlerFactory({ media: () => tones[0].track, peerConnectionConfiguration: config }),
      });
      const times = { caller: [], callee: [] };
      let codec;
      for (let i = 0; i < CALLS; i++) {
        const invited = new Promise((resolve) => (answered = resolve));
        const inviter = new sip.Inviter(caller, sip.UserAgent.makeURI(`sip:callee-${kind}@127.0.0.1`), { sessionDescriptionHandlerModifiers: modifiers });
        const t0 = performance.now();
        const heardByCallee = invited.then((invitation) => firstAudio(invitation.sessionDescriptionHandler, sinks));
        await inviter.invite();
        const heardByCaller = new Promise((resolve) => {
          const poll = () => (inviter.sessionDescriptionHandler ? resolve(firstAudio(inviter.sessionDescriptionHandler, sinks)) : setTimeout(poll, 1));
          poll();
        });
        const [atCaller, atCallee] = await withTimeout(Promise.all([heardByCaller, heardByCallee]), CALL_TIMEOUT_MS, `${kind} call ${i + 1}`);
        codec = answeredCodec(inviter.sessionDescriptionHandler.peerConnection.remoteDescription.sdp);
        times.caller.push(atCaller - t0);
        times.callee.push(atCallee - t0);
        sinks.splice(0).forEach((s) => s.stop());
        await inviter.bye();
        await new Promise((r) => setTimeout(r, 200));
      }
      results[kind] = { codec, caller: summary(times.caller), callee: summary(times.callee) };
      for (const agent of agents.splice(0)) await agent.stop();
    }
  } finally {
    for (const agent of agents) await agent.stop();
    tones.forEach((t) => t.stop());
    await kamailio.stop();
  }
  return { calls: CALLS, kinds: Object.fromEntries(Object.entries(KINDS).map(([k, v]) => [k, v.label])), results };
}

module.exports = { main };

if (require.main === module) {
  main().then(
    (r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    },
    (e) => {
      console.error(e);
      process.exit(1);
    },
  );
}
