'use strict';

// Teardown registered as a test goes (`later(fn)`, `own(x)`, `peer()`), run in reverse order
// after each test even when it failed; requiring this module installs the afterEach hook in
// the test file (helpers that must stay hook-free, like peers.js, cannot use it).

const { sleep } = require('./resources');

let cleanup = [];

/** Run `fn` (may be async) after the current test. */
function later(fn) {
  cleanup.push(fn);
}

/** Close `x` (or stop it, when it has no close()) after the current test; returns `x`. */
function own(x) {
  later(() => (typeof x.close === 'function' ? x.close() : x.stop()));
  return x;
}

/** A loopback GstPeerConnection (helpers/peers.js createPeer) closed after the current test. */
function peer(extra) {
  const { createPeer } = require('./peers');
  return own(createPeer(extra));
}

/**
 * A (sending a ToneSource made with `toneOptions`, on `lines` transceivers) connected to B,
 * whose sink collects what B hears; peers, tone and sink are closed after the test.
 */
async function toneCall(toneOptions, lines = 1) {
  const { ToneSource, nonstandard } = require('../../dist');
  const { FrameCollector } = require('./audio');
  const { connect, once } = require('./peers');
  const a = peer();
  const b = peer();
  const tone = own(new ToneSource(toneOptions));
  a.addTrack(tone.track);
  for (let i = 1; i < lines; i++) a.addTransceiver('audio');
  const collector = new FrameCollector();
  const heard = once(b, 'track').then((ev) => {
    own(new nonstandard.RTCAudioSink(ev.track)).ondata = collector.push;
  });
  await connect(a, b);
  await heard;
  return { a, b, tone, collector };
}

/**
 * Two peers, A sending a `freqA` tone and B a `freqB` tone (amplitude 0.5), each collecting
 * the other's track (helpers/peers.js collectRemote: atA is what A hears); peers and tones are
 * closed after the test, the sinks are the caller's to stop.
 */
function twoTonePeers(freqA, freqB) {
  const { ToneSource } = require('../../dist');
  const { collectRemote } = require('./peers');
  const toneA = own(new ToneSource({ frequency: freqA, amplitude: 0.5 }));
  const toneB = own(new ToneSource({ frequency: freqB, amplitude: 0.5 }));
  const a = peer();
  const b = peer();
  a.addTrack(toneA.track);
  b.addTrack(toneB.track);
  return { a, b, atA: collectRemote(a), atB: collectRemote(b) };
}

/** Run the cleanups registered so far, newest first, each awaited; errors are collected. */
async function drain() {
  const fns = cleanup.reverse();
  cleanup = [];
  const errors = [];
  for (const fn of fns) {
    try {
      await fn();
    } catch (e) {
      errors.push(e);
    }
  }
  return errors;
}

/**
 * Run the pending cleanups now, mid-test (newest first). Unlike the afterEach run, a cleanup
 * that throws fails the test: the first error is rethrown once all have run.
 */
async function runLater() {
  const errors = await drain();
  if (errors.length) throw errors[0];
}

afterEach(async () => {
  await drain(); // errors swallowed: already gone
});

/** Collect a track's decoded frames (an RTCAudioSink stopped after the test). */
function collect(track) {
  const { nonstandard } = require('../../dist');
  const { FrameCollector } = require('./audio');
  const collector = new FrameCollector();
  const sink = new nonstandard.RTCAudioSink(track);
  sink.ondata = collector.push;
  later(() => sink.stop());
  return collector;
}

module.exports = { later, own, peer, toneCall, twoTonePeers, runLater, sleep, collect };
