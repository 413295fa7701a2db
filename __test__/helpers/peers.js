'use strict';

// Wiring two GstPeerConnections together on loopback, the way an app's signalling would.

const { GstPeerConnection } = require('../../dist');

const LOOPBACK = { iceServers: [], localAddresses: ['127.0.0.1'] };

function createPeer(extra = {}) {
  return new GstPeerConnection({ ...LOOPBACK, ...extra });
}

function once(target, type, predicate = () => true, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      target.removeEventListener(type, on);
      reject(new Error(`timed out waiting for '${type}'`));
    }, timeoutMs);
    function on(ev) {
      if (!predicate(ev)) return;
      clearTimeout(timer);
      target.removeEventListener(type, on);
      resolve(ev);
    }
    target.addEventListener(type, on);
  });
}

function waitState(pc, attr, value, timeoutMs = 10000) {
  if (pc[attr] === value) return Promise.resolve();
  const type = attr.toLowerCase() + 'change';
  return once(pc, type, () => pc[attr] === value, timeoutMs);
}

function waitGatheringComplete(pc, timeoutMs = 10000) {
  return waitState(pc, 'iceGatheringState', 'complete', timeoutMs);
}

/** Trickle: candidates are handed over as they are gathered. */
function trickle(from, to) {
  from.addEventListener('icecandidate', (ev) => {
    if (ev.candidate && to.signalingState !== 'closed') {
      to.addIceCandidate(ev.candidate).catch(() => {});
    }
  });
}

/**
 * Offer/answer between `a` (offerer) and `b`. With `trickle: false`, each side waits for
 * gathering to complete and sends its complete SDP, as a SIP endpoint would.
 */
/** A offers, B answers; `beforeAnswer` runs once B has the offer (the W3C answerer adds its tracks there). */
async function negotiate(a, b, { trickle: useTrickle = true, beforeAnswer = () => {} } = {}) {
  if (useTrickle) {
    trickle(a, b);
    trickle(b, a);
    await a.setLocalDescription(await a.createOffer());
    await b.setRemoteDescription(a.localDescription);
    beforeAnswer();
    await b.setLocalDescription(await b.createAnswer());
    await a.setRemoteDescription(b.localDescription);
  } else {
    await a.setLocalDescription(await a.createOffer());
    await waitGatheringComplete(a);
    await b.setRemoteDescription(a.localDescription);
    beforeAnswer();
    await b.setLocalDescription(await b.createAnswer());
    await waitGatheringComplete(b);
    await a.setRemoteDescription(b.localDescription);
  }
}

async function connect(a, b, opts) {
  const connected = Promise.all([waitState(a, 'connectionState', 'connected'), waitState(b, 'connectionState', 'connected')]);
  await negotiate(a, b, opts);
  await connected;
}

/**
 * Trickle offer/answer with the offer rewritten to `codecs` (helpers/sdp.js restrictCodecs)
 * before either side applies it (unchanged without `codecs`); resolves, once both are
 * connected, with the answer's SDP.
 */
async function connectWith(a, b, codecs) {
  const { restrictCodecs } = require('./sdp');
  const connected = Promise.all([waitState(a, 'connectionState', 'connected'), waitState(b, 'connectionState', 'connected')]);
  trickle(a, b);
  trickle(b, a);
  const offer = await a.createOffer();
  const sdp = codecs ? restrictCodecs(offer.sdp, codecs) : offer.sdp;
  await a.setLocalDescription({ type: 'offer', sdp });
  await b.setRemoteDescription({ type: 'offer', sdp });
  await b.setLocalDescription(await b.createAnswer());
  await a.setRemoteDescription(b.localDescription);
  await connected;
  return b.localDescription.sdp;
}

/**
 * Collect what arrives on the first remote track of `pc`: `ready` resolves with the sink
 * (yours to stop) and the track event.
 */
function collectRemote(pc) {
  const { nonstandard } = require('../../dist');
  const { FrameCollector } = require('./audio');
  const collector = new FrameCollector();
  const ready = once(pc, 'track').then((ev) => {
    const sink = new nonstandard.RTCAudioSink(ev.track);
    sink.ondata = collector.push;
    return { sink, ev };
  });
  return { collector, ready };
}

module.exports = { LOOPBACK, createPeer, once, waitState, waitGatheringComplete, negotiate, connect, connectWith, trickle, collectRemote };
