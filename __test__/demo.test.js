'use strict';

// The demo (`npm run demo`) runs shortened and must pass its own report: the WebRTC phone hears
// the three SFU talkers and the desk phone, the desk phone (baresip, plain RTP) hears the
// talkers and the WebRTC phone, the SFU hears both phones, every recording holds the right
// tones, and the spectrogram is written.

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

test('the bridge demo runs end to end and reports what each side heard', () => {
  const root = path.join(__dirname, '..');
  const res = spawnSync(process.execPath, [path.join(root, 'examples', 'bridge.mjs')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 90000,
    env: { ...process.env, DEMO_SECONDS: '3', NODE_OPTIONS: '' },
  });
  const out = `${res.stdout}\n${res.stderr}`;
  expect(res.signal).toBeNull();
  expect(out).toContain('bridge: registered');
  expect(out).toMatch(/connected: INVITE → established in \d+ ms/);
  expect(out).toMatch(/desk phone answered: INVITE → established in \d+ ms \(RTP\/AVP, PCMU\)/);
  expect(out).toMatch(/SFU → bridge \d+ pkt\/s, bridge → SFU \d+ pkt\/s/);
  expect(out).toMatch(/the phone heard .*→ OK/);
  expect(out).toMatch(/the desk phone heard .*→ OK/);
  expect(out).toMatch(/the SFU receiver heard .*→ OK/);
  expect(out).toMatch(/latency from the mixer input to audio decoded at the phone: \d+ ms/);
  expect(out).toContain('DEMO OK');
  expect(res.status).toBe(0);
  const png = fs.readFileSync(path.join(root, 'demo-output', 'spectrogram.png'));
  expect(png.subarray(1, 4).toString()).toBe('PNG');
}, 120000);
