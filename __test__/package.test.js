'use strict';

// The package as a user gets it: `npm pack`, installed into a fresh app, type-checked with the
// strictest common settings (`strict`, `module: nodenext`, and `skipLibCheck: false`, the
// default, so every shipped .d.ts, the generated index.d.ts included, must compile on its own),
// then run from the installed copy as ESM and as CommonJS.

const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let dir;

function run(cmd, args, cwd) {
  return execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gstpc-package-'));
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir], root));
  const tarball = path.join(dir, packed[0].filename);
  const app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, version: '1.0.0' }));
  // sip.js and @types/node (with its one dependency) as this repository is tested with them,
  // packed from node_modules: `npm ci` caches tarballs but not the registry's package
  // metadata, so naming them by version would need the network, which tests do not have.
  const deps = ['sip.js', '@types/node', 'undici-types'].map((name) => {
    const [{ filename }] = JSON.parse(run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir, path.join(root, 'node_modules', name)], root));
    return path.join(dir, filename);
  });
  run('npm', ['install', '--no-audit', '--no-fund', '--offline', tarball, ...deps], app);
}, 180_000);

afterAll(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

const ESM = `
import { RTCPeerConnection, RTCSessionDescription, ToneSource, AudioMixer } from 'gst-peerconnection';
import { sessionDescriptionHandlerFactory } from 'gst-peerconnection/sip';

const pc: RTCPeerConnection = new RTCPeerConnection({ iceServers: [] });
const tone = new ToneSource({ frequency: 440 });
pc.addTrack(tone.track);
const offer = await pc.createOffer();
const description: RTCSessionDescription = new RTCSessionDescription(offer);
const mixer = new AudioMixer();
if (typeof sessionDescriptionHandlerFactory !== 'function') throw new Error('no SIP factory');
console.log(JSON.stringify({ type: description.type, audio: /^m=audio /m.test(description.sdp), mixer: typeof mixer.createTrack }));
mixer.stop();
tone.stop();
pc.close();
`;

const CJS = `
import gst = require('gst-peerconnection');

async function main(): Promise<void> {
  const pc = new gst.RTCPeerConnection({ iceServers: [] });
  pc.addTransceiver('audio', { direction: 'recvonly' });
  const offer: gst.RTCSessionDescriptionInit = await pc.createOffer();
  console.log(JSON.stringify({ type: offer.type, audio: /^m=audio /m.test(offer.sdp ?? '') }));
  pc.close();
}
main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
`;

test('npm pack → fresh app: strict nodenext type-check without skipLibCheck, then ESM and CJS programs run', () => {
  const app = path.join(dir, 'app');
  fs.writeFileSync(path.join(app, 'esm.mts'), ESM);
  fs.writeFileSync(path.join(app, 'cjs.cts'), CJS);
  fs.writeFileSync(
    path.join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, skipLibCheck: false, types: ['node'], outDir: 'out' },
      files: ['esm.mts', 'cjs.cts'],
    }),
  );
  let diagnostics = '';
  try {
    run(process.execPath, [tsc, '-p', 'tsconfig.json'], app);
  } catch (e) {
    diagnostics = `${e.stdout}${e.stderr}`;
  }
  expect(diagnostics).toBe('');
  // The programs run from the installed copy (out/ resolves node_modules/gst-peerconnection).
  const esm = JSON.parse(run(process.execPath, ['out/esm.mjs'], app).trim());
  expect(esm).toEqual({ type: 'offer', audio: true, mixer: 'function' });
  const cjs = JSON.parse(run(process.execPath, ['out/cjs.cjs'], app).trim());
  expect(cjs).toEqual({ type: 'offer', audio: true });
}, 120_000);

test('the ESM entry exports every name the CommonJS one does', async () => {
  const cjs = require('../dist');
  const esm = await import(require('node:url').pathToFileURL(require('node:path').join(__dirname, '..', 'esm', 'index.mjs')).href);
  expect(Object.keys(cjs).filter((name) => !(name in esm))).toEqual([]);
});
