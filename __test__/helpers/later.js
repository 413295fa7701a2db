'use strict';

// Teardown registered as a test goes (`later(fn)`), run in reverse order after each test even
// when it failed; requiring this module installs the afterEach hook in the test file.

let cleanup = [];

/** Run `fn` (may be async) after the current test. */
function later(fn) {
  cleanup.push(fn);
}

afterEach(async () => {
  for (const fn of cleanup.reverse()) {
    try {
      await fn();
    } catch {
      // already gone
    }
  }
  cleanup = [];
});

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

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

module.exports = { later, sleep, collect };
