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

module.exports = { later, sleep };
