'use strict';

// A throw-away baresip (Debian's) for a test: registered over UDP to the test's Kamailio,
// auto-answering, sending a sine (ausine) and recording what it decodes (sndfile's
// dump-*-dec.wav), controlled over ctrl_tcp. Killed by PID after the test, and at exit.
//
//   const b = await startBaresip({ kamailioUdpPort, user: 'phone', frequency: 700, codec: 'PCMU/8000/1' });
//   await b.command('dial', 'sip:bridge@127.0.0.1');
//   const { samples, sampleRate } = b.decoded();

const { spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { freePortBlock, waitFor } = require('./resources');

/** 16-bit PCM samples of a WAV file, as floats in [-1, 1], with its rate (first channel). */
function readWav(file) {
  const b = fs.readFileSync(file);
  let offset = 12;
  let rate = 0;
  let channels = 1;
  while (offset + 8 <= b.length) {
    const id = b.toString('ascii', offset, offset + 4);
    const size = b.readUInt32LE(offset + 4);
    if (id === 'fmt ') {
      channels = b.readUInt16LE(offset + 10);
      rate = b.readUInt32LE(offset + 12);
    } else if (id === 'data') {
      const end = Math.min(b.length, offset + 8 + size);
      const n = Math.floor((end - offset - 8) / (2 * channels));
      const samples = new Float32Array(n);
      for (let i = 0; i < n; i++) samples[i] = b.readInt16LE(offset + 8 + i * 2 * channels) / 32768;
      return { samples, sampleRate: rate };
    }
    offset += 8 + size + (size % 2);
  }
  return { samples: new Float32Array(0), sampleRate: rate };
}

async function startBaresip({ kamailioUdpPort, user, frequency, codec, mediaenc }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gstpc-baresip-'));
  const snd = path.join(dir, 'snd');
  fs.mkdirSync(snd);
  // sip_listen binds UDP and TCP on sipPort and SIP over TLS on sipPort + 1.
  const sipPort = await freePortBlock(2);
  const ctrlPort = await freePortBlock(1);
  fs.writeFileSync(
    path.join(dir, 'config'),
    [
      'poll_method epoll',
      // libre skips loopback interfaces unless told this address.
      'net_interface 127.0.0.1',
      `sip_listen 127.0.0.1:${sipPort}`,
      `audio_source ausine,${frequency}`,
      'ausrc_srate 48000',
      'ausrc_channels 2',
      // aubridge plays at real time into nothing: what is decoded is paced and recorded.
      'audio_player aubridge,sink',
      'audio_alert aubridge,sink',
      'module_path /usr/lib/baresip/modules',
      ...['g711', 'g722', 'opus', 'ausine', 'aubridge', 'sndfile', 'srtp'].map((m) => `module ${m}.so`),
      ...['account', 'menu', 'ctrl_tcp'].map((m) => `module_app ${m}.so`),
      `ctrl_tcp_listen 127.0.0.1:${ctrlPort}`,
      `snd_path ${snd}`,
      '',
    ].join('\n'),
  );
  const params = [`regint=60`, `outbound="sip:127.0.0.1:${kamailioUdpPort};transport=udp"`, 'answermode=auto', `audio_codecs=${codec}`];
  if (mediaenc) params.push(`mediaenc=${mediaenc}`);
  fs.writeFileSync(path.join(dir, 'accounts'), `<sip:${user}@127.0.0.1>;${params.join(';')}\n`);
  fs.writeFileSync(path.join(dir, 'contacts'), '');
  let log = '';
  const child = spawn('baresip', ['-f', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => (log += d));
  child.stderr.on('data', (d) => (log += d));
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    process.removeListener('exit', stop);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', stop);
  try {
    await waitFor(() => /registered successfully|200 OK/.test(log) || child.exitCode !== null, 10000, 50, `baresip ${user} registered`);
    if (child.exitCode !== null) throw new Error(`baresip exited: ${log}`);
  } catch (e) {
    stop();
    throw e;
  }

  /** One ctrl_tcp command (a netstring of JSON); resolves with baresip's response. */
  const command = (name, params = '') =>
    new Promise((resolve, reject) => {
      const socket = net.connect(ctrlPort, '127.0.0.1');
      const body = JSON.stringify({ command: name, params, token: '1' });
      let got = '';
      socket.on('connect', () => socket.write(`${Buffer.byteLength(body)}:${body},`));
      socket.on('data', (d) => {
        got += d;
        if (got.includes('"response"')) {
          socket.end();
          resolve(got);
        }
      });
      socket.on('error', reject);
    });

  /** What baresip decoded in its latest call. */
  const decoded = () => {
    const files = fs.readdirSync(snd).filter((f) => f.endsWith('-dec.wav')).map((f) => path.join(snd, f));
    const latest = files.sort((x, y) => fs.statSync(x).mtimeMs - fs.statSync(y).mtimeMs).at(-1);
    return latest ? readWav(latest) : { samples: new Float32Array(0), sampleRate: 0 };
  };
  return { command, decoded, log: () => log, pid: child.pid, sipPort, stop };
}

module.exports = { startBaresip, readWav };
