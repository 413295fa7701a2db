'use strict';

// Keeping a pair of a stack that gathers on every interface (wrtc, werift) to 127.0.0.1: only
// candidates that `keep` accepts reach the peer, trickled or inside a description.

/** The description with its a=candidate lines reduced to those `keep` accepts. */
function localOnly(desc, keep) {
  const sdp = desc.sdp.split('\r\n').filter((l) => !l.startsWith('a=candidate:') || keep(l)).join('\r\n');
  return { type: desc.type, sdp };
}

/**
 * Trickles `a`'s and `b`'s kept candidates to each other. Returns a promise that rejects if the
 * peer refuses one: a pair then fails rather than hanging.
 */
function trickleKept(a, b, keep) {
  let fail;
  const failed = new Promise((_, reject) => {
    fail = reject;
  });
  failed.catch(() => {}); // once the pair is up (or closed), a late failure no longer matters
  const trickle = (to) => ({ candidate }) => {
    if (candidate && keep(candidate.candidate)) to.addIceCandidate(candidate).catch(fail);
  };
  a.onicecandidate = trickle(b);
  b.onicecandidate = trickle(a);
  return failed;
}

module.exports = { localOnly, trickleKept };
