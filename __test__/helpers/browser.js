'use strict';

// Headless Chromium (Debian's package) driven by playwright-core, started and killed by
// the test itself: a fresh profile directory, the page served from 127.0.0.1, and the
// browser's whole process group killed by PID on teardown, even when a test fails.

const fs = require('node:fs');
const http = require('node:http');
const os = require('node:os');
const path = require('node:path');
const { chromium } = require('playwright-core');

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--autoplay-policy=no-user-gesture-required',
];

const SIPJS_LIB = path.dirname(require.resolve('sip.js/package.json')) + '/lib';

/** The fixture pages, and SIP.js's ES modules under /sip.js/ for pages that run SIP.js. */
function resolveFile(urlPath) {
  if (urlPath.startsWith('/sip.js/')) {
    const file = path.normalize(path.join(SIPJS_LIB, urlPath.slice('/sip.js/'.length)));
    return file.startsWith(SIPJS_LIB) ? file : null;
  }
  return path.join(__dirname, '..', 'fixtures', 'browser', path.basename(urlPath) || 'peer.html');
}

function serveFixtures() {
  const server = http.createServer((req, res) => {
    const file = resolveFile(new URL(req.url, 'http://x').pathname);
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    fs.readFile(file, (err, body) => {
      if (err) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': file.endsWith('.html') ? 'text/html' : 'text/javascript' }).end(body);
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** PIDs of processes whose command line mentions `needle`. */
function pidsMentioning(needle) {
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(needle)) pids.push(Number(entry));
    } catch {
      // the process exited meanwhile
    }
  }
  return pids;
}

class Browser {
  static async launch() {
    const b = new Browser();
    b.profile = fs.mkdtempSync(path.join(os.tmpdir(), 'gstpc-chromium-'));
    b.server = await serveFixtures();
    b.context = await chromium.launchPersistentContext(b.profile, { executablePath: CHROMIUM, headless: true, args: FLAGS });
    // Playwright starts Chromium in its own process group; remember the leader to kill the group.
    b.pids = pidsMentioning(b.profile);
    return b;
  }

  url(file = 'peer.html') {
    return `http://127.0.0.1:${this.server.address().port}/${file}`;
  }

  /** A fresh page running the fixture, with `pageCandidate` wired to `onCandidate`. */
  async page(onCandidate = () => {}, file = 'peer.html') {
    const page = await this.context.newPage();
    page.on('pageerror', (e) => console.error('page error:', e));
    await page.exposeFunction('pageCandidate', (c) => onCandidate(c));
    await page.goto(this.url(file));
    return page;
  }

  async close() {
    try {
      await Promise.race([this.context.close(), new Promise((r) => setTimeout(r, 5000))]);
    } catch {
      // killed below anyway
    }
    for (const pid of new Set([...this.pids, ...pidsMentioning(this.profile)])) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    this.server.close();
    fs.rmSync(this.profile, { recursive: true, force: true });
  }
}

/**
 * A Browser launched before the tests of the enclosing block (or file) and closed after them:
 * call where a beforeAll could go; returns a getter for it.
 */
function browserForTests() {
  let browser;
  beforeAll(async () => {
    browser = await Browser.launch();
  }, 60000);
  afterAll(async () => {
    await browser?.close();
  });
  return () => browser;
}

module.exports = { Browser, FLAGS, browserForTests };
