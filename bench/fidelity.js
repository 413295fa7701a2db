'use strict';

// Issue 15's fidelity numbers: off-pitch 20 ms windows and clicks per minute for the mixer
// scenarios (three gst-launch Opus senders → UdpRtpSource ×3 → AudioMixer → full mix and a
// mix-minus; clean, ±15 ms jitter, one sender 0.05 % fast), the GstPeerConnection receive
// path from its first frame, and that remote track mixed in from its start (peer-mixed), as __test__/audio-fidelity.test.js runs them (__test__/helpers/fidelity-scenarios.js),
// without asserting: it prints one `fidelity: scenario=… output=… offPitchPerMin=… clicksPerMin=…`
// line per output and the details behind it.
//
//   bash scripts/isolated.sh node bench/fidelity.js [--seconds 30] [--rounds 1] [--scenarios clean,jitter,skew,peer,peer-mixed]
//
// GSTPC_DIST=/path/to/dist measures another build of the package (e.g. one built from an
// earlier commit) with the same scenarios.

const path = require('path');
const scenarios = require('../__test__/helpers/fidelity-scenarios');

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const seconds = Number(opt('seconds', 30));
const rounds = Number(opt('rounds', 1));
const which = opt('scenarios', 'clean,jitter,skew,peer,peer-mixed').split(',');
const dist = process.env.GSTPC_DIST ? path.resolve(process.env.GSTPC_DIST) : path.join(__dirname, '..', 'dist');
const lib = require(dist);

const RUN = {
  clean: () => scenarios.mixerScenario(lib, { name: 'mixer-clean', seconds }),
  jitter: () => scenarios.mixerScenario(lib, { name: 'mixer-jitter15', seconds, jitter: true }),
  skew: () => scenarios.mixerScenario(lib, { name: 'mixer-skew0.05', seconds, skew: 0.0005 }),
  peer: () => scenarios.peerScenario(lib, { name: 'peer-receive', seconds }),
  'peer-mixed': () => scenarios.peerScenario(lib, { name: 'peer-receive-mixed', seconds, viaMixer: true }),
};

(async () => {
  console.log(`# bench/fidelity.js: ${dist}, ${seconds} s per scenario, ${rounds} round(s)`);
  const children = [];
  process.on('exit', () => children.forEach((c) => c.killAll()));
  for (let r = 0; r < rounds; r++) {
    for (const name of which) {
      if (!RUN[name]) throw new Error(`unknown scenario ${name}`);
      const result = await RUN[name]();
      for (const line of scenarios.summaryLines(result)) console.log(line);
      for (const line of scenarios.details(result)) console.log(line);
    }
  }
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
