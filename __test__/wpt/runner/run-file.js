#!/usr/bin/env node
'use strict';

/*
 * Runs ONE unmodified web-platform-tests file against gst-peerconnection, with the real
 * testharness.js, in this Node process:
 *
 *   node __test__/wpt/runner/run-file.js <file in upstream/webrtc/, e.g. toJSON.html>
 *
 * and prints, as the last line of stdout, one JSON object:
 *
 *   {file, harness: {status, message}, subtests: [{name, status, message}], ms}
 *
 * The page's scripts run in the main realm (vm.runInThisContext), not in a vm context, so
 * the library's objects, the test's objects and testharness's checks (instanceof, DOMException)
 * all share one set of built-ins, as they do in a browser window. testharness.js finds no
 * `document` and picks its ShellTestEnvironment (see README.md for what that changes).
 *
 * The process always exits: on completion (right after printing), at the WPT timeout
 * (10 s, or 60 s with <meta name="timeout" content="long">) through testharness's own
 * timeout(), and at a hard deadline after that even if the harness never completes.
 */

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const { UPSTREAM: WPT_ROOT, TIMEOUT_NORMAL_MS, TIMEOUT_LONG_MS, parsePage, timeoutMultiplier } = require('./common');

const DIST = path.resolve(__dirname, '..', '..', '..', 'dist');
const SHIMS = path.join(__dirname, 'shims');
// The origin a WPT server would serve the page from; only used to resolve script URLs and
// to give `location` a value.
const ORIGIN = 'https://web-platform.test:8443';

// After the harness timeout, how long testharness may take to report before we give up on it.
const HARD_DEADLINE_GRACE_MS = 10000;

const SUBTEST_STATUS = ['PASS', 'FAIL', 'TIMEOUT', 'NOTRUN', 'PRECONDITION_FAILED'];
const HARNESS_STATUS = ['OK', 'ERROR', 'TIMEOUT', 'PRECONDITION_FAILED'];

// Scripts a WPT server page loads that we do not run, or replace with a Node version.
const SKIPPED_SCRIPTS = new Set(['/resources/testharnessreport.js']);
const REPLACED_SCRIPTS = new Map([
  ['/resources/testdriver.js', path.join(SHIMS, 'testdriver.js')],
  ['/resources/testdriver-vendor.js', null], // its job (the vendor hooks) is in the shim above
]);

const started = Date.now();
const file = process.argv[2];
if (!file) {
  process.stderr.write('usage: node run-file.js <wpt file in webrtc/>\n');
  process.exit(2);
}
const htmlPath = path.join(WPT_ROOT, 'webrtc', file);
const pageUrl = new URL(`/webrtc/${file}`, ORIGIN);

let reported = false;
const subtestResults = new Map(); // Test -> {name, status, message}
const allTests = []; // every Test object, in creation order

function writeResult(harness) {
  if (reported) return;
  reported = true;
  const subtests = allTests.map((t) => subtestResults.get(t) ?? describeTest(t));
  const out = { file, harness, subtests, ms: Date.now() - started };
  fs.writeSync(1, `${JSON.stringify(out)}\n`);
}

function describeTest(t) {
  const status = SUBTEST_STATUS[t.status] ?? String(t.status);
  return { name: t.name, status, message: t.message == null ? null : String(t.message) };
}

function finish(harness, code = 0) {
  writeResult(harness);
  // Native pipelines, sockets and GStreamer threads must not keep the process alive.
  process.exit(code);
}

// ---------------------------------------------------------------------------------------
// The browser-like global environment.

function installEnvironment() {
  delete process.env.GST_DEBUG;

  // Window-ish globals. `self` is what testharness.js passes as its global scope.
  globalThis.window = globalThis;
  globalThis.self = globalThis;
  globalThis.location = pageUrl; // a URL has the Location fields that matter (href, pathname, origin, ...)

  // The global object is an EventTarget in a browser: testharness listens for 'error' and
  // 'unhandledrejection' on it; those come from Node's process events below.
  const globalTarget = new EventTarget();
  for (const name of ['addEventListener', 'removeEventListener', 'dispatchEvent']) {
    Object.defineProperty(globalThis, name, {
      value: globalTarget[name].bind(globalTarget),
      writable: true,
      configurable: true,
      enumerable: true,
    });
  }

  const lib = loadLibrary();
  lib.installGlobals();
  // installGlobals() covers what SIP.js needs; a window also exposes these interfaces.
  for (const name of [
    'RTCRtpSender',
    'RTCRtpReceiver',
    'RTCRtpTransceiver',
    'RTCDTMFSender',
    'RTCDTMFToneChangeEvent',
    'RTCPeerConnectionIceEvent',
    'RTCTrackEvent',
    'RTCStatsReport',
  ]) {
    if (globalThis[name] !== undefined || lib[name] === undefined) continue;
    Object.defineProperty(globalThis, name, { value: lib[name], writable: true, configurable: true, enumerable: false });
  }

  // RTCPeerConnection-helper.js evaluates `HTMLCanvasElement.prototype.captureStream` to decide
  // whether it can synthesise video; a canvas without captureStream makes it ask getUserMedia,
  // as it also does for audio (no AudioContext here).
  if (globalThis.HTMLCanvasElement === undefined) {
    globalThis.HTMLCanvasElement = class HTMLCanvasElement {};
  }

  const mediaDevices = new EventTarget();
  mediaDevices.getUserMedia = async function getUserMedia(constraints) {
    return getUserMediaImpl(lib, constraints);
  };
  Object.defineProperty(globalThis, 'navigator', {
    value: { mediaDevices, userAgent: `Node.js/${process.version} gst-peerconnection` },
    writable: true,
    configurable: true,
    enumerable: true,
  });
}

function loadLibrary() {
  return require(DIST);
}

/*
 * A user agent with one microphone (a live sine tone from the library's ToneSource) and no
 * camera: mediacapture-main §9.3 getUserMedia() checks, then a new source and track per call.
 */
function getUserMediaImpl(lib, constraints) {
  if (constraints === undefined) constraints = {};
  if (typeof constraints !== 'object' || constraints === null) {
    throw new TypeError("Failed to execute 'getUserMedia': constraints must be a MediaStreamConstraints dictionary");
  }
  const audio = constraints.audio ?? false;
  const video = constraints.video ?? false;
  if (!audio && !video) {
    throw new TypeError("Failed to execute 'getUserMedia': at least one of audio and video must be requested");
  }
  if (video) {
    throw new DOMException('Requested device not found (this user agent has no video)', 'NotFoundError');
  }
  const tone = new lib.ToneSource({ frequency: 440, amplitude: 0.1 });
  return new lib.MediaStream([tone.track]);
}

// ---------------------------------------------------------------------------------------
// Uncaught errors become what a browser makes of them: 'error' / 'unhandledrejection' events
// on the global object, which testharness turns into a harness error (or a failure of the
// single test of a single-test file).

class ErrorEventLike extends Event {
  constructor(type, { message, error, filename, lineno, colno }) {
    super(type, { cancelable: true });
    this.message = message;
    this.error = error;
    this.filename = filename;
    this.lineno = lineno;
    this.colno = colno;
  }
}

class PromiseRejectionEventLike extends Event {
  constructor(type, { promise, reason }) {
    super(type, { cancelable: true });
    this.promise = promise;
    this.reason = reason;
  }
}

function errorLocation(err) {
  const m = err && typeof err.stack === 'string' && /\(?((?:\/|file:)[^():\s]+):(\d+):(\d+)\)?/.exec(err.stack);
  return m ? { filename: m[1], lineno: Number(m[2]), colno: Number(m[3]) } : { filename: '', lineno: 0, colno: 0 };
}

let dispatching = false;
function reportException(err) {
  if (reported) return;
  const message = err instanceof Error ? `Uncaught ${err.name}: ${err.message}` : `Uncaught ${String(err)}`;
  if (dispatching || typeof globalThis.dispatchEvent !== 'function') {
    process.stderr.write(`run-file: ${message}\n${err && err.stack}\n`);
    return;
  }
  dispatching = true;
  try {
    globalThis.dispatchEvent(new ErrorEventLike('error', { message, error: err, ...errorLocation(err) }));
  } finally {
    dispatching = false;
  }
}

process.on('uncaughtException', (err) => {
  try {
    reportException(err);
  } catch (inner) {
    process.stderr.write(`run-file: error while reporting an uncaught exception: ${inner && inner.stack}\n`);
  }
});

process.on('unhandledRejection', (reason, promise) => {
  if (reported) return;
  try {
    globalThis.dispatchEvent(new PromiseRejectionEventLike('unhandledrejection', { promise, reason }));
  } catch (inner) {
    process.stderr.write(`run-file: error while reporting an unhandled rejection: ${inner && inner.stack}\n`);
  }
});

// ---------------------------------------------------------------------------------------
// The page.

function runScript(code, filename, lineOffset = 0, columnOffset = 0) {
  try {
    vm.runInThisContext(code, { filename, lineOffset, columnOffset });
  } catch (err) {
    // A browser reports an exception thrown by a script and goes on with the next one.
    reportException(err);
  }
}

let harnessTimeout = null;

function hookHarness() {
  // Kept before any test script can shadow the global name.
  harnessTimeout = globalThis.timeout;
  add_test_state_callback((test) => {
    if (!allTests.includes(test)) allTests.push(test);
  });
  add_result_callback((test) => {
    if (!allTests.includes(test)) allTests.push(test);
    subtestResults.set(test, describeTest(test));
  });
  add_completion_callback((tests, status) => {
    for (const t of tests) if (!allTests.includes(t)) allTests.push(t);
    const harness = {
      status: HARNESS_STATUS[status.status] ?? String(status.status),
      message: status.message == null ? null : String(status.message),
    };
    // Let the microtasks of the last result settle (a browser reports from its own task).
    setImmediate(() => finish(harness));
  });

  // Diagnostics only (never for expectations): WPT_SUBTEST_TIMEOUT_MS=n times out a subtest
  // that has run for n ms, so that the subtests queued behind a hanging one still run (use
  // with WPT_TIMEOUT_MULTIPLIER so that the harness timeout does not come first).
  const subtestTimeoutMs = Number(process.env.WPT_SUBTEST_TIMEOUT_MS || 0);
  if (subtestTimeoutMs > 0) {
    const startedAt = new Map();
    add_test_state_callback((test) => {
      if (test.phase === test.phases.STARTED && !startedAt.has(test)) startedAt.set(test, Date.now());
    });
    setInterval(() => {
      for (const [test, at] of startedAt) {
        if (test.phase !== test.phases.STARTED || Date.now() - at < subtestTimeoutMs) continue;
        test.set_status(test.TIMEOUT, `Test timed out (WPT_SUBTEST_TIMEOUT_MS=${subtestTimeoutMs})`);
        test.phase = test.phases.HAS_RESULT;
        test.done();
      }
    }, 100);
  }
}

function main() {
  installEnvironment();
  const html = fs.readFileSync(htmlPath, 'utf8');
  const page = parsePage(html);
  // testharness's ShellTestEnvironment names untitled tests after META_TITLE (as the window
  // environment does after <title>), then after location's file name.
  if (page.title.trim()) globalThis.META_TITLE = page.title;

  let harnessLoaded = false;
  for (const script of page.scripts) {
    if (script.unsupportedType !== undefined) {
      throw new Error(`<script type="${script.unsupportedType}"> is not supported by this runner`);
    }
    if (script.src !== undefined) {
      const url = new URL(script.src, pageUrl);
      if (url.origin !== ORIGIN) throw new Error(`cross-origin script ${script.src} in ${file}`);
      if (SKIPPED_SCRIPTS.has(url.pathname)) continue;
      let scriptPath;
      if (REPLACED_SCRIPTS.has(url.pathname)) {
        scriptPath = REPLACED_SCRIPTS.get(url.pathname);
        if (scriptPath === null) continue;
      } else {
        scriptPath = path.join(WPT_ROOT, decodeURIComponent(url.pathname));
      }
      if (!fs.existsSync(scriptPath)) {
        // What a browser does for a 404 script: nothing runs, the page goes on.
        process.stderr.write(`run-file: ${script.src} (${scriptPath}) is not vendored\n`);
        continue;
      }
      runScript(fs.readFileSync(scriptPath, 'utf8'), scriptPath);
      if (url.pathname === '/resources/testharness.js') {
        harnessLoaded = true;
        hookHarness();
      }
    } else {
      runScript(script.code, htmlPath, script.line, script.column);
    }
  }
  if (!harnessLoaded) throw new Error(`${file} does not load /resources/testharness.js`);

  const timeoutMs = (page.long ? TIMEOUT_LONG_MS : TIMEOUT_NORMAL_MS) * timeoutMultiplier();
  // The harness timeout (the window environment's, which the shell environment leaves to its
  // embedder): testharness's timeout() reports the subtests that have started as TIMEOUT
  // ("Test timed out"), those never started as NOTRUN, and the harness status as TIMEOUT.
  setTimeout(() => {
    harnessTimeout();
    setTimeout(() => {
      finish({ status: 'TIMEOUT', message: `harness did not complete within ${HARD_DEADLINE_GRACE_MS} ms of its timeout` }, 0);
    }, HARD_DEADLINE_GRACE_MS);
  }, timeoutMs);
}

try {
  main();
} catch (err) {
  finish({ status: 'ERROR', message: `runner: ${err && err.stack ? err.stack : err}` }, 1);
}
