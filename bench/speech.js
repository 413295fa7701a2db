'use strict';

// A voice for the bench: what the users' calls carry, and what costs an Opus encoder most
// (three to four times a sine at complexity 10). espeak-ng speaks a paragraph once; gst-launch
// makes it 48 kHz mono S16. Every stack gets the same file (gst: FileSource; wrtc: its PCM
// pushed from JS; werift: packets pre-encoded from it), looped.

const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const { gstLaunch } = require('./opus-rtp');

const TEXT = 'A voice bridge carries people talking. They pause between words and sentences, '
  + 'raise and lower their voices, and hardly ever hold one steady tone. This paragraph is spoken '
  + 'by a speech synthesizer so that every stack in the benchmark encodes the same speech, '
  + 'looped for as long as a call lasts, at the same rate and level.';
const FILE = path.join(os.tmpdir(), 'gst-pc-bench-speech-48k.wav');

/** Path of the speech WAV (48 kHz mono S16), made on first use. */
function speechWav() {
  if (fs.existsSync(FILE)) return FILE;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-speech-'));
  try {
    const spoken = path.join(dir, 'spoken.wav');
    execFileSync('espeak-ng', ['-w', spoken, TEXT]);
    const out = path.join(dir, 'speech.wav');
    gstLaunch(`filesrc location=${spoken} ! wavparse ! audioconvert ! audioresample `
      + `! audio/x-raw,format=S16LE,rate=48000,channels=1 ! wavenc ! filesink location=${out}`);
    fs.renameSync(out, FILE); // atomic: a half-written file is never found
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  return FILE;
}

/** The speech as 48 kHz mono samples. */
function speechPcm() {
  const wav = fs.readFileSync(speechWav());
  const at = wav.indexOf('data') + 8; // wavenc writes a plain 44-byte header
  return new Int16Array(wav.buffer.slice(wav.byteOffset + at, wav.byteOffset + wav.length - ((wav.length - at) % 2)));
}

module.exports = { speechWav, speechPcm };
