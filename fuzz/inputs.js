'use strict';

// The input stream of each target: a pure function of (seed, target, index, corpus), so a
// seed and an input count always give the same inputs. SDP and candidate inputs are built
// here in full; datagram targets (ice-spray, rtp) name a seed/index the worker expands (the
// worker sends the concrete datagrams back before using them, and they are what is saved).

const { Rng } = require('./rng');
const sdpMut = require('./mutate/sdp');
const cand = require('./mutate/candidate');

const TARGETS = ['remote-sdp', 'local-sdp', 'candidate', 'ice-spray', 'rtp'];
/** Inputs per message for batched targets (each datagram / candidate counts as one input). */
const BATCH = { candidate: 20, 'ice-spray': 100, rtp: 100 };

function allSdps(corpus) {
  return [
    ...corpus.offers.map((o) => o.sdp),
    ...Object.values(corpus.answers).flat().map((o) => o.sdp),
    ...Object.values(corpus.reoffers).flat().map((o) => o.sdp),
  ];
}

function makeInput(corpus, seed, target, index) {
  const rng = new Rng(seed, `${target}/${index}`);
  const others = allSdps(corpus);
  switch (target) {
    case 'remote-sdp': {
      const kind = rng.weighted([[4, 'offer'], [2, 'answer'], [4, 'reoffer']]);
      if (kind === 'offer') {
        const seedSdp = rng.pick(corpus.offers);
        const m = sdpMut.mutate(rng, seedSdp.sdp, others);
        return { target, setup: 'fresh', type: 'offer', seedName: seedSdp.name, ops: m.ops, sdp: m.sdp };
      }
      const k = rng.pick([1, 2, 3]);
      if (kind === 'answer') {
        const seedSdp = rng.pick(corpus.answers[k]);
        const m = sdpMut.mutate(rng, seedSdp.sdp, others);
        return { target, setup: 'local-offer', transceivers: k, type: 'answer', seedName: seedSdp.name, ops: m.ops, sdp: m.sdp };
      }
      const seedSdp = rng.pick(corpus.reoffers[k]);
      const m = rng.chance(0.1) ? { sdp: seedSdp.sdp, ops: [] } : sdpMut.mutate(rng, seedSdp.sdp, others);
      return { target, setup: 'established', transceivers: k, type: 'offer', seedName: seedSdp.name, ops: m.ops, sdp: m.sdp, rebase: seedSdp.rebase };
    }
    case 'local-sdp': {
      if (rng.chance(0.6)) {
        const k = rng.pick([1, 2, 3]);
        const s = corpus.localOffers[k];
        const m = sdpMut.mutate(rng, s.sdp, others);
        return { target, setup: 'offer', transceivers: k, seedName: `local-offer-${k}`, ops: m.ops, sdp: m.sdp, rebase: s.rebase };
      }
      const s = rng.pick(corpus.localAnswers);
      const m = sdpMut.mutate(rng, s.sdp, others);
      return { target, setup: 'answer', transceivers: 0, remoteKey: s.name, remoteOffer: s.remoteOffer, seedName: s.name, ops: m.ops, sdp: m.sdp, rebase: s.rebase };
    }
    case 'candidate': {
      const o = rng.pick(corpus.offers.filter((x) => x.name.startsWith('ours') || x.name === 'chromium'));
      const mids = sdpMut.mids(sdpMut.parse(o.sdp)).filter((x) => x !== undefined);
      const inits = [];
      for (let i = 0; i < BATCH.candidate; i++) inits.push(cand.encode(cand.candidateInit(rng, mids)));
      return { target, setup: rng.chance(0.5) ? 'remote-offer' : 'stable', remoteKey: o.name, remoteOffer: o.sdp, inits };
    }
    case 'ice-spray':
      return { target, seed: String(seed), index, count: BATCH[target] };
    case 'rtp':
      return { target, seed: String(seed), index, count: BATCH[target], codec: index % 2 ? 'pcmu' : 'opus' };
    default:
      throw new Error(`unknown target ${target}`);
  }
}

/** How many inputs one message of `target` carries. */
function inputsPerMessage(target) {
  return BATCH[target] ?? 1;
}

module.exports = { TARGETS, makeInput, inputsPerMessage, BATCH };
