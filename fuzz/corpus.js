'use strict';

// The seed corpus: real offers and answers. Fixtures from fuzz/seeds/*.sdp (a Chromium
// offer, a SIP phone's RTP/AVP offer and answer) and, built here by a worker with the real
// addon, ours: offers with 1–3 m-lines, answers to them, re-offers of an established call
// (plain, with an added m-line, with mids rotated, with m-lines reordered), each with the
// ICE/DTLS credentials of the peer that made it (workers rebase them onto their live peers).

const fs = require('node:fs');
const path = require('node:path');
const sdpMut = require('./mutate/sdp');

const SEEDS = path.join(__dirname, 'seeds');
const CONFIG = { iceServers: [], localAddresses: ['127.0.0.1'] };

function fixture(name) {
  return fs.readFileSync(path.join(SEEDS, name), 'utf8');
}

function creds(sdp) {
  return {
    ufrag: /a=ice-ufrag:(\S+)/.exec(sdp)?.[1],
    pwd: /a=ice-pwd:(\S+)/.exec(sdp)?.[1],
    fingerprint: /a=fingerprint:(\S+ \S+)/.exec(sdp)?.[1],
  };
}

/** m-line 0 gets a new mid and m-line 1 takes m-line 0's old mid. */
function rotateMids(text) {
  const s = sdpMut.parse(text);
  const ms = sdpMut.mids(s);
  sdpMut.setMid(s.media[0], 'fresh0');
  sdpMut.setMid(s.media[1], ms[0]);
  return sdpMut.serialize(s);
}

function swapFirstTwo(text) {
  const s = sdpMut.parse(text);
  [s.media[0], s.media[1]] = [s.media[1], s.media[0]];
  return sdpMut.serialize(s);
}

async function build() {
  const { GstPeerConnection } = require('../dist');
  const pcs = [];
  const peer = (n) => {
    const pc = new GstPeerConnection(CONFIG);
    pcs.push(pc);
    for (let i = 0; i < n; i++) pc.addTransceiver('audio');
    return pc;
  };
  const corpus = {
    offers: [], // remote offers for a fresh connection: { name, sdp }
    answers: {}, // k → [{ name, sdp }] answers for a connection that offered k m-lines
    reoffers: {}, // k → [{ name, sdp, rebase }] for an established call with k m-lines
    localOffers: {}, // k → { sdp, rebase }
    localAnswers: [], // { name, remoteOffer, sdp, rebase }
    fixtures: {},
  };
  for (const name of ['chromium-offer.sdp', 'sip-phone-offer.sdp', 'sip-phone-answer.sdp']) corpus.fixtures[name] = fixture(name);
  corpus.offers.push({ name: 'chromium', sdp: corpus.fixtures['chromium-offer.sdp'] });
  corpus.offers.push({ name: 'sip-phone', sdp: corpus.fixtures['sip-phone-offer.sdp'] });
  try {
    for (const k of [1, 2, 3]) {
      const a = peer(k);
      const offer = await a.createOffer();
      corpus.offers.push({ name: `ours-${k}`, sdp: offer.sdp });
      corpus.localOffers[k] = { sdp: offer.sdp, rebase: creds(offer.sdp) };
      await a.setLocalDescription(offer);
      const b = peer(0);
      await b.setRemoteDescription(a.localDescription);
      const answer = await b.createAnswer();
      corpus.answers[k] = [{ name: `ours-answer-${k}`, sdp: answer.sdp }];
      if (k === 1) corpus.answers[k].push({ name: 'sip-phone-answer', sdp: corpus.fixtures['sip-phone-answer.sdp'] });
      // An established call with k m-lines, then its re-offers.
      const est = peer(k);
      const t = peer(0);
      await est.setLocalDescription();
      await t.setRemoteDescription(est.localDescription);
      await t.setLocalDescription();
      await est.setRemoteDescription(t.localDescription);
      const re = (await est.createOffer()).sdp;
      const rebase = creds(re);
      const list = [{ name: `reoffer-${k}`, sdp: re, rebase }];
      est.addTransceiver('audio');
      list.push({ name: `reoffer-${k}-plus1`, sdp: (await est.createOffer()).sdp, rebase });
      if (k >= 2) {
        list.push({ name: `reoffer-${k}-mid-rotated`, sdp: rotateMids(re), rebase });
        list.push({ name: `reoffer-${k}-mlines-swapped`, sdp: swapFirstTwo(re), rebase });
      }
      corpus.reoffers[k] = list;
    }
    for (const o of corpus.offers) {
      if (o.name === 'ours-3') continue;
      const t = peer(0);
      try {
        await t.setRemoteDescription({ type: 'offer', sdp: o.sdp });
        const ans = await t.createAnswer();
        corpus.localAnswers.push({ name: `answer-to-${o.name}`, remoteOffer: o.sdp, sdp: ans.sdp, rebase: creds(ans.sdp) });
      } catch {
        // a fixture our build cannot answer is still a remote-offer seed
      }
    }
  } finally {
    for (const pc of pcs) pc.close();
  }
  return corpus;
}

module.exports = { build, rotateMids, swapFirstTwo, creds };
