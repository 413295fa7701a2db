'use strict';

// ICE candidates (RFC 8839 §5.1 grammar) built field by field with hostile values, and the
// RTCIceCandidateInit dictionaries around them (sdpMid/sdpMLineIndex of wrong types too).

const pick = (rng, normal, hostile, p = 0.35) => (rng.chance(p) ? rng.pick(hostile) : rng.pick(normal));

const FOUNDATIONS = [['1', '2', '1467250027', 'abc', '0'], ['', 'x'.repeat(33), 'x'.repeat(1000), '+/', '\u00e9', '-', '1 2', '\u0000']];
const COMPONENTS = [['1', '1', '2'], ['0', '3', '256', '65536', '-1', 'a', '', '4294967297']];
const TRANSPORTS = [['udp', 'UDP', 'tcp', 'TCP'], ['sctp', 'tls', 'UdP', '', 'x'.repeat(64), 'dtls']];
const PRIORITIES = [['2122260223', '1845501695', '1', '2015364095'], ['0', '-1', '2147483647', '2147483648', '4294967295', '4294967296', '18446744073709551616', 'abc', '1e30', '1.5', '']];
const ADDRESSES = [
  ['127.0.0.1', '127.0.0.1', '::1', '6d3b1c88-2a7e-4f2b-9c1d-8e2f3a4b5c6d.local'],
  ['0.0.0.0', '255.255.255.255', '224.0.0.1', '127.1', '127.0.0.01', '127.0.0.256', '1.2.3', '::', 'fe80::1%lo', 'fe80::1%',
    '::ffff:127.0.0.1', '[::1]', '1:2:3:4:5:6:7:8:9', 'localhost', 'a.local', '.local', 'x'.repeat(300) + '.local', 'example.invalid',
    '', '-', '1.2.3.4.5', '127.0.0.1:9', '\u00e9.local', '2001:db8::1'],
];
const PORTS = [['9', '40000', '5000', '3478'], ['0', '1', '65535', '65536', '-1', 'x', '', '99999999999', '9.5']];
const TYPS = [['host', 'host', 'srflx', 'prflx', 'relay'], ['', 'HOST', 'bogus', 'x'.repeat(100)]];
const TCPTYPES = [['active', 'passive', 'so'], ['', 'ACTIVE', 'bogus']];
const EXTENSIONS = [
  ['generation 0', 'network-id 1', 'network-cost 10', 'ufrag abcd', 'generation 0 ufrag Xp1d network-id 1 network-cost 50'],
  ['generation', 'generation -1', 'generation 4294967296', 'ufrag', 'a b c', 'x'.repeat(200) + ' y', 'k v k v k v k v k v k v k v k v', '\u0000 \u0000', 'raddr', 'rport'],
];

function candidateString(rng) {
  const parts = [
    pick(rng, ...FOUNDATIONS),
    pick(rng, ...COMPONENTS),
    pick(rng, ...TRANSPORTS, 0.2),
    pick(rng, ...PRIORITIES),
    pick(rng, ...ADDRESSES),
    pick(rng, ...PORTS, 0.25),
  ];
  if (!rng.chance(0.05)) parts.push('typ', pick(rng, ...TYPS, 0.15));
  const typ = parts[7];
  if ((typ && typ !== 'host' && rng.chance(0.8)) || rng.chance(0.1)) {
    if (!rng.chance(0.1)) parts.push('raddr', pick(rng, ...ADDRESSES));
    if (!rng.chance(0.1)) parts.push('rport', pick(rng, ...PORTS));
  }
  if (/tcp/i.test(parts[2]) ? rng.chance(0.7) : rng.chance(0.05)) parts.push('tcptype', pick(rng, ...TCPTYPES, 0.2));
  if (rng.chance(0.5)) parts.push(pick(rng, ...EXTENSIONS, 0.3));
  // Structural damage: a field dropped, duplicated, swapped.
  if (rng.chance(0.15)) {
    const i = rng.int(parts.length);
    switch (rng.int(3)) {
      case 0: parts.splice(i, 1); break;
      case 1: parts.splice(i, 0, parts[i]); break;
      case 2: { const j = rng.int(parts.length); [parts[i], parts[j]] = [parts[j], parts[i]]; }
    }
  }
  const sep = rng.weighted([[20, ' '], [1, '  '], [1, '\t'], [1, ' \u00a0']]);
  const prefix = rng.weighted([[20, 'candidate:'], [1, 'a=candidate:'], [1, ''], [1, 'candidate: '], [1, 'CANDIDATE:']]);
  const suffix = rng.weighted([[30, ''], [1, '\r\n'], [1, ' '], [1, '\u0000']]);
  return prefix + parts.join(sep) + suffix;
}

const WRONG_MIDS = [0, 1, -1, 1.5, true, {}, [], NaN, '', ' ', 'x'.repeat(10000), '\u0000', undefined, null];
const WRONG_INDEXES = [-1, 1.5, 65535, 65536, 2 ** 32, -(2 ** 31), NaN, Infinity, '0', '1', 'a', true, {}, [], undefined, null];

/** An RTCIceCandidateInit (or something that is not one) for a connection with `mids`. */
function candidateInit(rng, mids) {
  const candidate = rng.weighted([
    [30, candidateString(rng)],
    [1, ''],
    [1, 'candidate:'],
    [1, 'hello'],
    [1, 'x'.repeat(70000)],
    [1, 42],
  ]);
  const init = { candidate };
  const mode = rng.int(10);
  if (mode < 4) init.sdpMid = rng.pick(mids.length ? mids : ['0']);
  else if (mode < 7) init.sdpMLineIndex = rng.int(mids.length + 1);
  else if (mode < 8) {
    init.sdpMid = rng.pick(WRONG_MIDS);
    if (rng.chance(0.5)) init.sdpMLineIndex = rng.pick(WRONG_INDEXES);
  } else if (mode < 9) init.sdpMLineIndex = rng.pick(WRONG_INDEXES);
  else {
    init.sdpMid = rng.chance(0.5) ? rng.pick(mids.length ? mids : ['0']) : `nope${rng.int(9)}`;
    init.sdpMLineIndex = rng.range(-1, mids.length + 2);
  }
  if (rng.chance(0.1)) init.usernameFragment = rng.pick(['', 'abcd', 'x'.repeat(300), 5, null]);
  return init;
}

/** JSON loses undefined/NaN/Infinity: these travel as tagged values. */
function encode(value) {
  if (value === undefined) return { $: 'undefined' };
  if (typeof value === 'number' && !Number.isFinite(value)) return { $: 'number', v: String(value) };
  if (Array.isArray(value)) return { $: 'array', v: value.map(encode) };
  if (value && typeof value === 'object') {
    const o = {};
    for (const [k, v] of Object.entries(value)) o[k] = encode(v);
    return { $: 'object', v: o };
  }
  return value;
}

function decode(value) {
  if (value && typeof value === 'object') {
    if (value.$ === 'undefined') return undefined;
    if (value.$ === 'number') return Number(value.v);
    if (value.$ === 'array') return value.v.map(decode);
    if (value.$ === 'object') {
      const o = {};
      for (const [k, v] of Object.entries(value.v)) o[k] = decode(v);
      return o;
    }
  }
  return value;
}

module.exports = { candidateString, candidateInit, encode, decode };
