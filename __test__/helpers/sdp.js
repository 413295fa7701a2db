'use strict';

// Line-based SDP rewriting for tests (what an app's SDP munging would do).

/** The payload types of the m=audio line and their encoding names (rtpmap, or RFC 3551 static). */
function audioFormats(sdp) {
  const lines = sdp.split(/\r?\n/);
  const m = lines.find((l) => l.startsWith('m=audio'));
  const pts = m.split(' ').slice(3);
  const names = {};
  for (const l of lines) {
    const r = /^a=rtpmap:(\d+) ([^/]+)\//.exec(l);
    if (r) names[r[1]] = r[2].toUpperCase();
  }
  const statics = { 0: 'PCMU', 8: 'PCMA', 9: 'G722' };
  return pts.map((pt) => ({ pt, name: names[pt] ?? statics[pt] }));
}

/**
 * Keep only the audio codecs `names` (in that order) in the m=audio line, dropping the
 * rtpmap/fmtp/rtcp-fb lines of the others (telephone-event included unless listed).
 */
function restrictCodecs(sdp, names) {
  const formats = audioFormats(sdp);
  const keep = [];
  for (const n of names) for (const f of formats) if (f.name === n.toUpperCase()) keep.push(f.pt);
  const drop = new Set(formats.map((f) => f.pt).filter((pt) => !keep.includes(pt)));
  const out = sdp
    .split('\r\n')
    .filter((l) => {
      const r = /^a=(?:rtpmap|fmtp|rtcp-fb):(\d+)[ ]/.exec(l);
      return !(r && drop.has(r[1]));
    })
    .map((l) => (l.startsWith('m=audio') ? l.split(' ').slice(0, 3).concat(keep).join(' ') : l));
  return out.join('\r\n');
}

/** `description` with its candidates (and end-of-candidates) removed: a peer nobody can reach. */
function withoutCandidates({ type, sdp }) {
  return {
    type,
    sdp: sdp
      .split('\r\n')
      .filter((l) => !l.startsWith('a=candidate') && !l.startsWith('a=end-of-candidates'))
      .join('\r\n'),
  };
}

module.exports = { audioFormats, restrictCodecs, withoutCandidates };
