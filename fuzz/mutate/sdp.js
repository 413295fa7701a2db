'use strict';

// Structure-aware SDP mutation. An SDP is parsed into its session-level lines and its
// m-sections (each a list of lines, the m= line first); mutations work on that structure
// (lines, sections, attributes, formats, values), then it is written back with a chosen
// line ending. A little byte-level havoc is mixed in.

const bytes = require('./bytes');
const candidate = require('./candidate');

/** { session: string[], media: string[][] } (each media section starts with its m= line). */
function parse(text) {
  const lines = text.split(/\r\n|\n|\r/);
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  const session = [];
  const media = [];
  for (const l of lines) {
    if (l.startsWith('m=')) media.push([l]);
    else if (media.length) media[media.length - 1].push(l);
    else session.push(l);
  }
  return { session, media };
}

function serialize(sdp, eol = '\r\n', finalEol = true) {
  const lines = [...sdp.session, ...sdp.media.flat()];
  return lines.join(eol) + (finalEol ? eol : '');
}

const BOUNDARY_NUMBERS = [
  '0', '-1', '1', '127', '128', '255', '256', '65535', '65536', '2147483647', '2147483648', '-2147483648',
  '4294967295', '4294967296', '9007199254740993', '18446744073709551615', '18446744073709551616',
  '99999999999999999999999999999', '1.5', '-0', '0x10', '1e9', '', ' ', '00000000000000000001', 'NaN',
];
const ODD_STRINGS = [
  '', ' ', '  ', '\t', '\u0000', 'a\u0000b', '\u00e9\u00e8', '\u{1f600}', '\ufffd', '%s%s%n', '../../', ':', '::', '/', '=',
  'x'.repeat(256), 'y'.repeat(4096), '\u0085', '\u2028', ';', ',', '"', "'", '\\', '*', '-', 'a=b', '\r', '\n',
];
const EXTRA_LINES = [
  'a=ice-ufrag:fz1', 'a=ice-pwd:fuzzfuzzfuzzfuzzfuzzfuzz', 'a=ice-lite', 'a=ice-options:trickle renomination',
  'a=setup:active', 'a=setup:passive', 'a=setup:holdconn', 'a=setup:actpass', 'a=setup:bogus',
  'a=fingerprint:sha-1 00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33',
  'a=fingerprint:sha-512 00', 'a=fingerprint:md5 zz', 'a=fingerprint:', 'a=fingerprint:sha-256',
  'a=sendrecv', 'a=sendonly', 'a=recvonly', 'a=inactive', 'a=bogusdir',
  'a=rtcp-mux', 'a=rtcp-mux-only', 'a=rtcp-rsize', 'a=rtcp:9 IN IP4 0.0.0.0', 'a=rtcp:0', 'a=rtcp:x IN IP6 ::',
  'a=mid:', 'a=mid:0', 'a=mid:audio0', 'a=mid:audio1', 'a=mid:' + 'm'.repeat(300),
  'a=group:BUNDLE', 'a=group:BUNDLE audio0 audio0', 'a=group:BUNDLE 0 1 2 3', 'a=group:LS audio0', 'a=group:',
  'a=bundle-only', 'a=end-of-candidates', 'a=msid-semantic: WMS *', 'a=msid:- -', 'a=msid:',
  'a=ssrc:0 cname:x', 'a=ssrc:4294967295 cname:y', 'a=ssrc:4294967296 msid:a b', 'a=ssrc:1', 'a=ssrc:',
  'a=ssrc-group:FID 1 2', 'a=ssrc-group:FID', 'a=ssrc-group:SIM 1 2 3',
  'a=extmap:0 urn:ietf:params:rtp-hdrext:ssrc-audio-level', 'a=extmap:15 urn:x', 'a=extmap:16 urn:x',
  'a=extmap:256 urn:ietf:params:rtp-hdrext:sdes:mid', 'a=extmap:4096/sendonly urn:x', 'a=extmap:', 'a=extmap-allow-mixed',
  'a=rtpmap:111 opus/48000/2', 'a=rtpmap:111 opus/0/2', 'a=rtpmap:111 opus/48000/0', 'a=rtpmap:111 opus/4294967296/2',
  'a=rtpmap:0 PCMU/8000', 'a=rtpmap:101 telephone-event/8000', 'a=rtpmap:101 telephone-event/48000',
  'a=rtpmap:96 red/48000/2', 'a=rtpmap:97 rtx/48000', 'a=fmtp:97 apt=111', 'a=fmtp:97 apt=200', 'a=rtpmap:13 CN/8000',
  'a=rtpmap:200 opus/48000/2', 'a=rtpmap:-1 PCMU/8000', 'a=rtpmap:', 'a=rtpmap:111', 'a=rtpmap:111 /',
  'a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;maxplaybackrate=0', 'a=fmtp:101 0-15', 'a=fmtp:101 0-65535',
  'a=fmtp:101 15-0', 'a=fmtp:101 ,,,', 'a=fmtp:111', 'a=fmtp:', 'a=rtcp-fb:* nack', 'a=rtcp-fb:111 transport-cc',
  'a=rtcp-fb:111', 'a=ptime:0', 'a=ptime:20', 'a=ptime:4294967296', 'a=maxptime:0', 'a=maxptime:-1',
  'a=sctp-port:5000', 'a=max-message-size:0', 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:AAAA', 'a=identity:x',
  'a=candidate:1 1 udp 2122260223 127.0.0.1 9 typ host', 'a=candidate:1 1 tcp 1 127.0.0.1 9 typ host tcptype passive',
  'a=remote-candidates:1 127.0.0.1 9', 'a=x-google-flag:conference', 'a=simulcast:send 1;2', 'a=rid:1 send',
  'c=IN IP4 0.0.0.0', 'c=IN IP6 ::', 'c=IN IP4 127.0.0.1/127/3', 'c=', 'c=IN IP4', 'c=NET TYPE ADDR',
  'b=AS:0', 'b=AS:4294967296', 'b=TIAS:-1', 'b=CT:x', 'k=prompt', 'i=info', 'u=http://x', 'e=a@b', 'p=+1',
  'r=7d 1h 0 25h', 'z=2882844526 -1h', 't=0 0', 't=x y', 'o=- 0 0 IN IP4 127.0.0.1', 's=-', 's=', 'v=0', 'v=1',
  'x=unknown', 'a=', 'a', '=', 'a=:', ' a=sendrecv', 'a=sendrecv ', '',
];
const MEDIA_LINES = [
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'm=audio 0 UDP/TLS/RTP/SAVPF 111', 'm=audio 9 RTP/AVP 0', 'm=audio 9 RTP/SAVP 0',
  'm=audio 9 UDP/TLS/RTP/SAVP 0', 'm=audio 9 RTP/AVPF 111', 'm=audio 9 TCP/TLS/RTP/SAVPF 111', 'm=audio 9 UDP/TLS/RTP/SAVPF',
  'm=video 9 UDP/TLS/RTP/SAVPF 96', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'm=text 9 RTP/AVP 98',
  'm=audio 65536 UDP/TLS/RTP/SAVPF 111', 'm=audio 9/2 UDP/TLS/RTP/SAVPF 111', 'm=audio -1 RTP/AVP 0', 'm=audio',
  'm=', 'm=audio x y z', 'm=bogus 9 RTP/AVP 0', 'm=audio 9 udp 0', 'm=image 9 udptl t38',
];

function mids(sdp) {
  return sdp.media.map((sec) => {
    const l = sec.find((x) => x.startsWith('a=mid:'));
    return l === undefined ? undefined : l.slice(6);
  });
}

function setMid(sec, mid) {
  const i = sec.findIndex((x) => x.startsWith('a=mid:'));
  if (mid === undefined) {
    if (i >= 0) sec.splice(i, 1);
  } else if (i >= 0) sec[i] = `a=mid:${mid}`;
  else sec.push(`a=mid:${mid}`);
}

/** A random line slot: [array, index] (session or one media section). */
function anyList(rng, sdp) {
  const lists = [sdp.session, ...sdp.media];
  return rng.pick(lists);
}

function replaceNumber(rng, line) {
  const re = /-?\d+/g;
  const spans = [];
  let m;
  while ((m = re.exec(line))) spans.push([m.index, m[0].length]);
  if (!spans.length) return line;
  const [at, len] = rng.pick(spans);
  return line.slice(0, at) + rng.pick(BOUNDARY_NUMBERS) + line.slice(at + len);
}

function replaceToken(rng, line) {
  const parts = line.split(/([ :=/;])/);
  const idxs = parts.map((p, i) => i).filter((i) => i % 2 === 0 && parts[i] !== '');
  if (!idxs.length) return line + rng.pick(ODD_STRINGS);
  const i = rng.pick(idxs);
  parts[i] = rng.chance(0.5) ? rng.pick(ODD_STRINGS) : rng.pick(BOUNDARY_NUMBERS);
  return parts.join('');
}

// Each operator mutates `sdp` in place; `ctx` holds other seeds for splicing.
const OPS = {
  dropLine(rng, sdp) {
    const list = anyList(rng, sdp);
    if (list.length > 1) list.splice(rng.range(list === sdp.session ? 0 : 1, list.length - 1), 1);
  },
  duplicateLine(rng, sdp) {
    const list = anyList(rng, sdp);
    if (!list.length) return;
    const i = rng.int(list.length);
    const n = rng.chance(0.1) ? rng.range(2, 200) : 1;
    for (let k = 0; k < n; k++) list.splice(i + 1, 0, list[i]);
  },
  swapLines(rng, sdp) {
    const list = anyList(rng, sdp);
    if (list.length < 2) return;
    const i = rng.int(list.length);
    const j = rng.int(list.length);
    [list[i], list[j]] = [list[j], list[i]];
  },
  moveLine(rng, sdp) {
    const from = anyList(rng, sdp);
    const to = anyList(rng, sdp);
    if (from.length < 2) return;
    const i = rng.range(from === sdp.session ? 0 : 1, from.length - 1);
    const [l] = from.splice(i, 1);
    to.splice(rng.range(to === sdp.session ? 0 : 1, to.length), 0, l);
  },
  // An ICE/DTLS attribute moved between session and media level (e.g. ice-ufrag up, ice-pwd down).
  moveAttributeLevel(rng, sdp) {
    const keys = ['a=ice-ufrag:', 'a=ice-pwd:', 'a=fingerprint:', 'a=setup:', 'a=ice-options:', 'a=rtcp-mux', 'a=sendrecv', 'a=recvonly', 'a=inactive', 'a=group:', 'a=msid-semantic', 'a=extmap', 'c='];
    const key = rng.pick(keys);
    if (rng.chance(0.5)) {
      // media → session (from one or every section)
      let moved;
      for (const sec of sdp.media) {
        const i = sec.findIndex((l) => l.startsWith(key));
        if (i > 0) {
          const [l] = sec.splice(i, 1);
          moved ??= l;
          if (rng.chance(0.3)) break;
        }
      }
      if (moved) sdp.session.push(moved);
    } else {
      const i = sdp.session.findIndex((l) => l.startsWith(key));
      if (i >= 0 && sdp.media.length) {
        const [l] = sdp.session.splice(i, 1);
        rng.pick(sdp.media).push(l);
      }
    }
  },
  dropSection(rng, sdp) {
    if (sdp.media.length) sdp.media.splice(rng.int(sdp.media.length), 1);
  },
  duplicateSection(rng, sdp) {
    if (!sdp.media.length) return;
    const i = rng.int(sdp.media.length);
    const n = rng.chance(0.15) ? rng.range(2, 64) : 1;
    for (let k = 0; k < n; k++) {
      const copy = [...sdp.media[i]];
      if (rng.chance(0.7)) setMid(copy, `fz${k}${rng.int(1000)}`);
      sdp.media.splice(i + 1, 0, copy);
    }
  },
  swapSections(rng, sdp) {
    if (sdp.media.length < 2) return;
    const i = rng.int(sdp.media.length);
    let j = rng.int(sdp.media.length - 1);
    if (j >= i) j++;
    [sdp.media[i], sdp.media[j]] = [sdp.media[j], sdp.media[i]];
  },
  // m-line 0 gets a new mid and m-line 1 takes m-line 0's old mid (and variations).
  rotateMids(rng, sdp) {
    const ms = mids(sdp);
    if (sdp.media.length < 2) {
      if (sdp.media.length) setMid(sdp.media[0], `new${rng.int(100)}`);
      return;
    }
    const i = rng.int(sdp.media.length);
    let j = rng.int(sdp.media.length - 1);
    if (j >= i) j++;
    setMid(sdp.media[i], rng.chance(0.5) ? `new${rng.int(100)}` : ms[j]);
    setMid(sdp.media[j], ms[i]);
  },
  changeMid(rng, sdp) {
    if (!sdp.media.length) return;
    const ms = mids(sdp).filter((m) => m !== undefined);
    const sec = rng.pick(sdp.media);
    setMid(sec, rng.weighted([[3, rng.pick(ms)], [2, undefined], [2, `x${rng.int(10)}`], [1, rng.pick(ODD_STRINGS)], [1, rng.pick(BOUNDARY_NUMBERS)]]));
  },
  bundleGroup(rng, sdp) {
    const ms = mids(sdp).filter((m) => m !== undefined);
    const i = sdp.session.findIndex((l) => l.startsWith('a=group:'));
    const list = rng.shuffle([...ms, ...(rng.chance(0.3) ? ['nope', ''] : [])]).slice(0, rng.int(ms.length + 2));
    const line = `a=group:${rng.pick(['BUNDLE', 'BUNDLE', 'LS', 'FID', ''])} ${list.join(' ')}`;
    if (i >= 0 && rng.chance(0.8)) sdp.session[i] = line;
    else sdp.session.push(line);
  },
  boundaryNumber(rng, sdp) {
    const list = anyList(rng, sdp);
    if (!list.length) return;
    const i = rng.int(list.length);
    list[i] = replaceNumber(rng, list[i]);
  },
  oddToken(rng, sdp) {
    const list = anyList(rng, sdp);
    if (!list.length) return;
    const i = rng.int(list.length);
    list[i] = replaceToken(rng, list[i]);
  },
  ssrcZero(rng, sdp) {
    for (const list of [sdp.session, ...sdp.media]) {
      for (let i = 0; i < list.length; i++) {
        if (list[i].startsWith('a=ssrc:')) list[i] = list[i].replace(/^a=ssrc:\d+/, `a=ssrc:${rng.pick(['0', '0', '4294967295', '4294967296', '-1'])}`);
      }
    }
    if (sdp.media.length && rng.chance(0.5)) rng.pick(sdp.media).push('a=ssrc:0 cname:zero');
  },
  formats(rng, sdp) {
    if (!sdp.media.length) return;
    const sec = rng.pick(sdp.media);
    const parts = sec[0].split(' ');
    const head = parts.slice(0, 3);
    let fmts = parts.slice(3);
    switch (rng.int(6)) {
      case 0: fmts = []; break;
      case 1: rng.shuffle(fmts); break;
      case 2: fmts.push(...fmts); break;
      case 3: for (let k = rng.count(20); k > 0; k--) fmts.push(String(rng.int(128))); break;
      case 4: fmts.push(rng.pick(BOUNDARY_NUMBERS), rng.pick(['abc', '*', '-', '96x'])); break;
      case 5: fmts = fmts.filter(() => rng.chance(0.5)); break;
    }
    sec[0] = [...head, ...fmts].join(' ');
  },
  // Many payload types, each with rtpmap/fmtp/rtcp-fb lines.
  inflateFormats(rng, sdp) {
    if (!sdp.media.length) return;
    const sec = rng.pick(sdp.media);
    const n = rng.range(20, 128);
    const base = rng.range(0, 127);
    const pts = [];
    for (let k = 0; k < n; k++) {
      const pt = rng.chance(0.9) ? (base + k) % 128 : rng.int(1 << 16);
      pts.push(pt);
      sec.push(`a=rtpmap:${pt} ${rng.pick(['opus/48000/2', 'PCMU/8000', 'telephone-event/8000', 'telephone-event/48000', 'G722/8000', 'red/48000/2', 'x/1'])}`);
      if (rng.chance(0.5)) sec.push(`a=fmtp:${pt} ${rng.pick(['0-15', 'minptime=10;useinbandfec=1', 'apt=111', `${pt}/${pt}`, 'x'])}`);
      if (rng.chance(0.3)) sec.push(`a=rtcp-fb:${pt} ${rng.pick(['nack', 'transport-cc', 'ccm fir', 'goog-remb'])}`);
    }
    sec[0] = sec[0].split(' ').slice(0, 3).concat(pts.map(String)).join(' ');
  },
  inflateSections(rng, sdp) {
    if (!sdp.media.length) return;
    const src = rng.pick(sdp.media);
    const n = rng.range(8, rng.chance(0.2) ? 256 : 40);
    const bundle = [];
    for (let k = 0; k < n; k++) {
      const copy = [...src];
      setMid(copy, `m${k}`);
      bundle.push(`m${k}`);
      sdp.media.push(copy);
    }
    if (rng.chance(0.5)) {
      const i = sdp.session.findIndex((l) => l.startsWith('a=group:BUNDLE'));
      if (i >= 0) sdp.session[i] += ' ' + bundle.join(' ');
    }
  },
  insertLine(rng, sdp, ctx) {
    const list = anyList(rng, sdp);
    let line = rng.pick(EXTRA_LINES);
    if (rng.chance(0.15)) line = 'a=' + candidate.candidateString(rng).replace(/^a=/, '');
    else if (rng.chance(0.1) && ctx.others.length) {
      const other = parse(rng.pick(ctx.others));
      const ol = anyList(rng, other);
      if (ol.length) line = rng.pick(ol);
    }
    list.splice(rng.range(list === sdp.session ? 0 : 1, list.length), 0, line);
  },
  replaceMediaLine(rng, sdp) {
    if (!sdp.media.length) return;
    const sec = rng.pick(sdp.media);
    if (rng.chance(0.5)) sec[0] = rng.pick(MEDIA_LINES);
    else sec[0] = sec[0].replace(/^m=audio \d+/, `m=audio ${rng.pick(['0', '9', '4000', '65535', '65536', '-1', '1/2', 'x'])}`);
  },
  // A section taken from another seed (another peer's offer, a SIP phone's, Chromium's).
  spliceSection(rng, sdp, ctx) {
    if (!ctx.others.length) return;
    const other = parse(rng.pick(ctx.others));
    if (!other.media.length) return;
    const sec = [...rng.pick(other.media)];
    if (rng.chance(0.5) && sdp.media.length) sdp.media[rng.int(sdp.media.length)] = sec;
    else sdp.media.splice(rng.int(sdp.media.length + 1), 0, sec);
  },
  candidateLine(rng, sdp) {
    if (!sdp.media.length) return;
    const sec = rng.pick(sdp.media);
    sec.push('a=' + candidate.candidateString(rng));
  },
  sessionHeader(rng, sdp) {
    const i = rng.int(Math.max(1, Math.min(4, sdp.session.length)));
    if (rng.chance(0.5)) sdp.session.splice(i, 1);
    else sdp.session[i] = rng.pick(['v=1', 'v=', 'o=', 'o=- x y IN IP4 1.2.3.4', 'o=- 1 1 IN IP6 ::1', 's=', 't=', 't=1 0', 'c=IN IP4 127.0.0.1', 'x=y']);
  },
  trailingSpace(rng, sdp) {
    const list = anyList(rng, sdp);
    if (!list.length) return;
    const i = rng.int(list.length);
    list[i] = rng.pick([' ', '\t', '  ', '\u0000', '\u00a0']) + list[i] + rng.pick(['', ' ', '\t', ';', '\u0000']);
  },
};
const OP_NAMES = Object.keys(OPS);
const OP_WEIGHTS = {
  dropLine: 6, duplicateLine: 4, swapLines: 3, moveLine: 4, moveAttributeLevel: 4, dropSection: 2, duplicateSection: 3,
  swapSections: 3, rotateMids: 4, changeMid: 4, bundleGroup: 3, boundaryNumber: 8, oddToken: 5, ssrcZero: 2, formats: 4,
  inflateFormats: 1, inflateSections: 1, insertLine: 8, replaceMediaLine: 3, spliceSection: 2, candidateLine: 2,
  sessionHeader: 2, trailingSpace: 2,
};
const WEIGHTED = OP_NAMES.map((n) => [OP_WEIGHTS[n] ?? 1, n]);

/**
 * A mutated SDP text from `text`. `others`: more SDP texts to splice from.
 * Returns { sdp, ops } (the names of the operators applied, for the record).
 */
function mutate(rng, text, others = []) {
  const sdp = parse(text);
  const ops = [];
  const n = rng.count(6, 0.45);
  for (let k = 0; k < n; k++) {
    const name = rng.weighted(WEIGHTED);
    OPS[name](rng, sdp, { others });
    ops.push(name);
  }
  const eol = rng.weighted([[20, '\r\n'], [3, '\n'], [1, '\r'], [1, '\r\r\n'], [1, '\n\r']]);
  let out = serialize(sdp, eol, !rng.chance(0.1));
  if (rng.chance(0.05)) out = out.split('\n').map((l) => (rng.chance(0.3) ? l.replace('\r', '') : l)).join('\n');
  if (rng.chance(0.08)) {
    out = bytes.text(rng, out, rng.count(4));
    ops.push('bytes');
  }
  return { sdp: out, ops };
}

module.exports = { parse, serialize, mutate, mids, setMid, OPS };
