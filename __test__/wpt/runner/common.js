'use strict';

/*
 * What run-file.js, suite.js and update-expectations.js share: where things are, reading a
 * WPT page, and running one file in a child process.
 */

const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');

const WPT_DIR = path.resolve(__dirname, '..');
const UPSTREAM = path.join(WPT_DIR, 'upstream');
const WEBRTC = path.join(UPSTREAM, 'webrtc');
const EXPECTATIONS = path.join(WPT_DIR, 'expectations.json');
const RUN_FILE = path.join(__dirname, 'run-file.js');
const DIST_ENTRY = path.resolve(WPT_DIR, '..', '..', 'dist', 'index.js');

// WPT's harness timeouts (tools/wptrunner: "normal" and "long").
const TIMEOUT_NORMAL_MS = 10000;
const TIMEOUT_LONG_MS = 60000;
// How much longer than its own timeout a file may take before the runner is killed.
const KILL_GRACE_MS = 30000;
// How long to wait for dist/ to reappear while the library is being rebuilt.
const DIST_WAIT_MS = 90000;

const HARNESS_PSEUDO_SUBTEST = '(harness)';

/** The vendored test files (webrtc/*.html), sorted. */
function listFiles() {
  return fs
    .readdirSync(WEBRTC)
    .filter((f) => f.endsWith('.html'))
    .sort();
}

function timeoutMultiplier() {
  const m = Number(process.env.WPT_TIMEOUT_MULTIPLIER || 1);
  return Number.isFinite(m) && m > 0 ? m : 1;
}

function decodeEntities(text) {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

function attribute(attrs, name) {
  const m = new RegExp(`(?:^|\\s)${name}\\s*=\\s*(?:"([^"]*)"|'([^']*)'|([^\\s"'>]+))`, 'i').exec(attrs);
  if (!m) return undefined;
  return decodeEntities(m[1] ?? m[2] ?? m[3]);
}

function lineOf(text, index) {
  let line = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < index; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * A WPT page as far as running it needs: its <script>s in document order ({src} or
 * {code, line, column} with the position of the code in the file), its <title> and whether
 * it asks for the long timeout (<meta name="timeout" content="long">).
 */
function parsePage(html) {
  // Blank out comments (keeping line numbers) so a commented-out script is not run.
  const visible = html.replace(/<!--[\s\S]*?-->/g, (c) => c.replace(/[^\n]/g, ' '));
  const scripts = [];
  const re = /<script\b([^>]*)>([\s\S]*?)<\/script\s*>/gi;
  for (let m; (m = re.exec(visible)); ) {
    const attrs = m[1];
    const type = attribute(attrs, 'type');
    if (type !== undefined && !/^(?:text|application)\/(?:java|ecma)script$|^$/i.test(type.trim())) {
      scripts.push({ unsupportedType: type });
      continue;
    }
    const src = attribute(attrs, 'src');
    if (src !== undefined) {
      scripts.push({ src });
    } else {
      const bodyStart = m.index + m[0].indexOf('>') + 1;
      const line = lineOf(visible, bodyStart);
      const column = bodyStart - (visible.lastIndexOf('\n', bodyStart - 1) + 1);
      scripts.push({ code: html.slice(bodyStart, bodyStart + m[2].length), line, column });
    }
  }
  const titleMatch = /<title>([\s\S]*?)<\/title>/i.exec(visible);
  let long = false;
  for (const meta of visible.match(/<meta\b[^>]*>/gi) ?? []) {
    if (attribute(meta, 'name') === 'timeout' && attribute(meta, 'content') === 'long') long = true;
  }
  return { scripts, title: titleMatch ? decodeEntities(titleMatch[1]) : '', long };
}

/** The harness timeout of a file, in ms (WPT_TIMEOUT_MULTIPLIER applied). */
function fileTimeoutMs(file) {
  const page = parsePage(fs.readFileSync(path.join(WEBRTC, file), 'utf8'));
  return (page.long ? TIMEOUT_LONG_MS : TIMEOUT_NORMAL_MS) * timeoutMultiplier();
}

/** How long a whole run of the file may take, including waiting for a rebuild of dist/. */
function fileBudgetMs(file) {
  return fileTimeoutMs(file) + KILL_GRACE_MS + DIST_WAIT_MS;
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** dist/ is deleted and rebuilt by `npm run build`; wait (a while) until it is back. */
async function waitForDist() {
  const deadline = Date.now() + DIST_WAIT_MS;
  while (!fs.existsSync(DIST_ENTRY)) {
    if (Date.now() > deadline) throw new Error(`${DIST_ENTRY} missing: build the library first (npm run build)`);
    await sleep(2000);
  }
  // A rebuild writes dist/ over a few seconds; do not start in the middle of it.
  for (;;) {
    const age = Date.now() - fs.statSync(DIST_ENTRY).mtimeMs;
    if (age > 3000 || Date.now() > deadline) return;
    await sleep(3000 - age);
  }
}

/**
 * Runs `node run-file.js <file>` and resolves with its result object (see run-file.js), plus
 * `exit` ({code, signal}) and `stderr`. A run that prints no result (crash, kill at the
 * deadline) resolves with harness status CRASH and no subtests.
 */
async function runFile(file) {
  await waitForDist();
  const build = distBuild();
  const env = { ...process.env };
  delete env.GST_DEBUG;
  delete env.NODE_OPTIONS; // jest's --experimental-vm-modules means nothing to the runner
  const deadlineMs = fileTimeoutMs(file) + KILL_GRACE_MS;
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [RUN_FILE, file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let killed = false;
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      killed = true;
      child.kill('SIGKILL');
    }, deadlineMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const exit = { code, signal };
      let result = null;
      const lines = stdout.split('\n').filter((l) => l.startsWith('{'));
      for (let i = lines.length - 1; i >= 0 && result === null; i--) {
        try {
          const parsed = JSON.parse(lines[i]);
          if (parsed && parsed.file === file && Array.isArray(parsed.subtests)) result = parsed;
        } catch {
          // not the result line
        }
      }
      if (result === null) {
        const why = killed
          ? `run-file.js killed after ${deadlineMs} ms`
          : `run-file.js exited (code ${code}, signal ${signal}) without a result`;
        result = {
          file,
          harness: { status: 'CRASH', message: `${why}; stderr: ${stderr.slice(-2000) || '(empty)'}` },
          subtests: [],
          ms: Date.now() - started,
        };
      }
      const after = distBuild();
      resolve({ ...result, exit, stderr, build: after === build ? build : `${build} -> ${after}` });
    });
  });
}

/** Identifies the build of dist/ (its entry's mtime), to notice a rebuild during a run. */
function distBuild() {
  try {
    return new Date(fs.statSync(DIST_ENTRY).mtimeMs).toISOString();
  } catch {
    return 'missing';
  }
}

/** The expectations file ({} when there is none yet). */
function readExpectations() {
  if (!fs.existsSync(EXPECTATIONS)) return {};
  return JSON.parse(fs.readFileSync(EXPECTATIONS, 'utf8'));
}

/** True when this host has only loopback interfaces (e.g. inside scripts/isolated.sh). */
module.exports = {
  WPT_DIR,
  UPSTREAM,
  WEBRTC,
  EXPECTATIONS,
  HARNESS_PSEUDO_SUBTEST,
  TIMEOUT_NORMAL_MS,
  TIMEOUT_LONG_MS,
  listFiles,
  parsePage,
  fileTimeoutMs,
  fileBudgetMs,
  timeoutMultiplier,
  runFile,
  distBuild,
  readExpectations,
};
