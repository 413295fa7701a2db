'use strict';

// The pure TypeScript modules (SDP helpers, direction halves, negotiation-needed and its flag, the
// operations chain) on their own: no native addon, no GStreamer, no peer. They need only the
// TypeScript build (dist/).

const path = require('node:path');
const { execFileSync } = require('node:child_process');

// The pure modules are internals: dist/internal/.
const DIST = path.join(__dirname, '..', 'dist', 'internal');
const PURE = ['sdp', 'direction', 'negotiationNeeded', 'NegotiationNeededFlag', 'OperationsChain', 'errors'];
const { parseSdp, findMediaSection, iceUfragsOf } = require(path.join(DIST, 'sdp'));
const { withSend, withoutSend } = require(path.join(DIST, 'direction'));
const { isNegotiationNeeded } = require(path.join(DIST, 'negotiationNeeded'));
const { OperationsChain } = require(path.join(DIST, 'OperationsChain'));
const { NegotiationNeededFlag } = require(path.join(DIST, 'NegotiationNeededFlag'));

const OFFER = [
  'v=0',
  'o=- 1 1 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'a=ice-options:trickle',
  'a=ice-ufrag:sess',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:a0',
  'a=sendonly',
  'a=msid:stream-1 track-1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:a1',
  'a=ice-ufrag:media',
  'a=ssrc:42 msid:legacy track-2',
  'm=audio 0 UDP/TLS/RTP/SAVPF 111',
  'a=mid:a2',
  'a=inactive',
  'a=msid:- track-3',
  '',
].join('\r\n');

function transceiver(overrides) {
  return { id: 1, kind: 'audio', mid: 'a0', mlineIndex: 0, direction: 'sendrecv', currentDirection: null, answerDirection: null, stopping: false, stopped: false, senderStreamIds: [], ...overrides };
}

function description(type, directions) {
  const lines = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0'];
  directions.forEach((d, i) => lines.push('m=audio 9 UDP/TLS/RTP/SAVPF 111', `a=mid:a${i}`, `a=${d}`));
  return { type, parsed: parseSdp(lines.join('\r\n')) };
}

test('the pure modules load without the native addon', () => {
  // A child process whose loader refuses every native module: requiring them must not need one.
  const script = `
    const Module = require('node:module');
    Module._extensions['.node'] = (m, file) => { throw new Error('native module loaded: ' + file); };
    for (const name of ${JSON.stringify(PURE)}) require(${JSON.stringify(DIST)} + '/' + name);
    console.log('ok');
  `;
  expect(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }).trim()).toBe('ok');
});

describe('parseSdp', () => {
  const parsed = parseSdp(OFFER);

  test('reads each m-section: kind, port, mid, direction (media level, else session, else sendrecv)', () => {
    expect(parsed.media.map((m) => [m.index, m.kind, m.port, m.mid, m.direction])).toEqual([
      [0, 'audio', 9, 'a0', 'sendonly'],
      [1, 'audio', 9, 'a1', 'sendrecv'],
      [2, 'audio', 0, 'a2', 'inactive'],
    ]);
    expect(parseSdp('v=0\r\na=recvonly\r\nm=audio 9 RTP/AVP 0\r\n').media[0].direction).toBe('recvonly');
  });

  test('stream ids come from a=msid, else legacy a=ssrc msid; "-" is no stream', () => {
    expect(parsed.media.map((m) => m.msidStreamIds)).toEqual([['stream-1'], ['legacy'], []]);
    expect(parseSdp('v=0\r\nm=audio 9 RTP/AVP 0\r\n').media[0].msidStreamIds).toBeNull();
  });

  test('ICE ufrags per section (media level over session level) and ice-options', () => {
    expect(parsed.media.map((m) => m.iceUfrag)).toEqual(['sess', 'media', 'sess']);
    expect([...iceUfragsOf(parsed)].sort()).toEqual(['media', 'sess']);
    expect(parsed.iceOptions).toEqual(['trickle']);
  });

  test('findMediaSection: by mid first, else by m-line index', () => {
    expect(findMediaSection(parsed, 'a1', 0).index).toBe(1);
    expect(findMediaSection(parsed, 'nope', 2).index).toBe(2);
    expect(findMediaSection(parsed, null, 0).mid).toBe('a0');
    expect(findMediaSection(parsed, 'nope', null)).toBeNull();
    expect(findMediaSection(parsed, null, 7)).toBeNull();
  });
});

describe('direction halves (webrtc-pc §4.4.4)', () => {
  test('adding and removing the send half', () => {
    expect(withSend('recvonly')).toBe('sendrecv');
    expect(withSend('inactive')).toBe('sendonly');
    expect(withoutSend('sendrecv')).toBe('recvonly');
    expect(withoutSend('sendonly')).toBe('inactive');
  });
});

describe('isNegotiationNeeded (webrtc-pc §4.7.3)', () => {
  const base = { transceivers: [], currentLocal: null, iceRestartPending: false };

  test('nothing to negotiate without transceivers; an ICE restart always needs one', () => {
    expect(isNegotiationNeeded(base)).toBe(false);
    expect(isNegotiationNeeded({ ...base, iceRestartPending: true })).toBe(true);
  });

  test('a transceiver not yet in any description, or one being stopped, needs negotiation', () => {
    expect(isNegotiationNeeded({ ...base, transceivers: [transceiver({ mid: null, mlineIndex: null })] })).toBe(true);
    expect(isNegotiationNeeded({ ...base, transceivers: [transceiver({ stopping: true })] })).toBe(true);
    expect(isNegotiationNeeded({ ...base, transceivers: [transceiver({ stopping: true, stopped: true })] })).toBe(false);
  });

  test('we offered: satisfied by our offer or by the reversed answer, not otherwise', () => {
    // currentDirection is the answer seen from our side (native reverses the remote answer's direction).
    const local = description('offer', ['sendrecv']);
    expect(isNegotiationNeeded({ ...base, transceivers: [transceiver({ currentDirection: 'sendonly' })], currentLocal: local })).toBe(false);
    expect(isNegotiationNeeded({ ...base, transceivers: [transceiver({ direction: 'sendonly', currentDirection: 'sendonly' })], currentLocal: local })).toBe(false);
    expect(isNegotiationNeeded({ ...base, transceivers: [transceiver({ direction: 'inactive', currentDirection: 'sendrecv' })], currentLocal: local })).toBe(true);
  });

  test('a sending m-section whose a=msid streams differ from the sender\'s streams needs negotiation (setStreams)', () => {
    const withMsid = (ids) => {
      const lines = ['v=0', 'o=- 1 1 IN IP4 127.0.0.1', 's=-', 't=0 0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=mid:a0', 'a=sendrecv', ...ids.map((id) => `a=msid:${id} track`)];
      return { type: 'offer', parsed: parseSdp(lines.join('\r\n')) };
    };
    const t = (ids) => [transceiver({ currentDirection: 'sendrecv', senderStreamIds: ids })];
    expect(isNegotiationNeeded({ ...base, transceivers: t(['s1']), currentLocal: withMsid(['s1']) })).toBe(false);
    expect(isNegotiationNeeded({ ...base, transceivers: t([]), currentLocal: withMsid(['-']) })).toBe(false);
    expect(isNegotiationNeeded({ ...base, transceivers: t(['s2']), currentLocal: withMsid(['s1']) })).toBe(true);
    expect(isNegotiationNeeded({ ...base, transceivers: t(['s1', 's2']), currentLocal: withMsid(['s1']) })).toBe(true);
  });

  test('we answered: compared with what JSEP would answer now', () => {
    // answerDirection is native's RFC 3264 §6.1 answer to the remote offer (here sendonly) now.
    const answer = description('answer', ['recvonly']);
    expect(isNegotiationNeeded({ ...base, transceivers: [transceiver({ answerDirection: 'recvonly' })], currentLocal: answer })).toBe(false);
    expect(isNegotiationNeeded({ ...base, transceivers: [transceiver({ direction: 'inactive', answerDirection: 'inactive' })], currentLocal: answer })).toBe(true);
  });

  test('a transceiver whose m-section is no longer in the current local description needs an offer', () => {
    const local = description('offer', ['sendrecv']);
    expect(isNegotiationNeeded({ ...base, transceivers: [transceiver({ mid: 'gone', mlineIndex: 5 })], currentLocal: local })).toBe(true);
  });
});

describe('OperationsChain (webrtc-pc §4.4.1.2)', () => {
  test('runs operations one at a time, in call order, and reports when it empties', async () => {
    let closed = false;
    let emptied = 0;
    const chain = new OperationsChain(() => closed, () => emptied++);
    const log = [];
    const step = (name, ms) => chain.run(() => new Promise((r) => setTimeout(() => { log.push(name); r(name); }, ms)));
    const results = await Promise.all([step('a', 30), step('b', 1), step('c', 10)]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(log).toEqual(['a', 'b', 'c']);
    expect(emptied).toBe(1);
    expect(chain.length).toBe(0);
  });

  test('a failing operation rejects its own promise and the chain goes on', async () => {
    const chain = new OperationsChain(() => false, () => {});
    const failing = chain.run(() => { throw new TypeError('bad'); });
    const next = chain.run(async () => 'next');
    await expect(failing).rejects.toThrow(TypeError);
    await expect(next).resolves.toBe('next');
  });

  test('once closed, the operation in flight and the queued ones never settle; new ones reject with InvalidStateError', async () => {
    let closed = false;
    let emptied = 0;
    const chain = new OperationsChain(() => closed, () => emptied++);
    let release;
    const settled = [];
    const first = chain.run(() => new Promise((r) => { release = r; }));
    const queued = chain.run(async () => 'queued');
    for (const [name, p] of [['first', first], ['queued', queued]]) p.then(() => settled.push(name), () => settled.push(name));
    closed = true;
    release('first');
    await expect(chain.run(async () => 'late')).rejects.toMatchObject({ name: 'InvalidStateError' });
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toEqual([]);
    // The chain still drains, so nothing it holds outlives the connection.
    expect(chain.length).toBe(0);
    expect(emptied).toBe(1);
  });
});

describe('NegotiationNeededFlag (webrtc-pc §4.7.3 "update the negotiation-needed flag")', () => {
  const tick = () => new Promise((r) => setImmediate(r));
  function flagWith(overrides = {}) {
    const host = { chain: { length: 0 }, closed: false, stable: true, needed: true, fired: 0, ...overrides };
    const flag = new NegotiationNeededFlag({
      get chain() { return host.chain; },
      get closed() { return host.closed; },
      get stable() { return host.stable; },
      check: () => host.needed,
      fire: () => { host.fired++; },
    });
    return { host, flag };
  }

  test('fires from a queued task, once while the flag stays set', async () => {
    const { host, flag } = flagWith();
    flag.update();
    expect(host.fired).toBe(0);
    await tick();
    expect(host.fired).toBe(1);
    flag.update();
    await tick();
    expect(host.fired).toBe(1);
  });

  test('waits for an empty operations chain, then checks again', async () => {
    const { host, flag } = flagWith({ chain: { length: 1 } });
    flag.update();
    await tick();
    expect(host.fired).toBe(0);
    host.chain.length = 0;
    flag.chainEmptied();
    await tick();
    expect(host.fired).toBe(1);
  });

  test('not outside stable, not once closed, not when nothing is needed', async () => {
    for (const overrides of [{ stable: false }, { closed: true }, { needed: false }]) {
      const { host, flag } = flagWith(overrides);
      flag.update();
      await tick();
      expect(host.fired).toBe(0);
    }
  });

  test('recheck() after a negotiation fires again if still needed; a check that finds nothing clears the flag', async () => {
    const { host, flag } = flagWith();
    flag.update();
    await tick();
    flag.recheck();
    await tick();
    expect(host.fired).toBe(2);
    host.needed = false;
    flag.update();
    await tick();
    host.needed = true;
    flag.update();
    await tick();
    expect(host.fired).toBe(3);
  });
});
