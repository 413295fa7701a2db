'use strict';

// sipp (Debian's sip-tester) for the tests: scenarios in __test__/fixtures/sipp/.

const { spawn } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { later } = require('./later');

const scenario = (name) => path.join(__dirname, '..', 'fixtures', 'sipp', `${name}.xml`);

/** Run sipp to completion (killed by PID after the test whatever happens); resolves with its exit code and error log. */
function runSipp(args) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gstpc-sipp-'));
  const errors = path.join(dir, 'errors.log');
  const child = spawn('sipp', [...args, '-nostdin', '-trace_err', '-error_file', errors, '-timeout', '40s', '-timeout_error'], { cwd: dir, stdio: 'ignore' });
  later(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  });
  return new Promise((resolve) => {
    child.on('exit', (code) => resolve({ code, errors: fs.existsSync(errors) ? fs.readFileSync(errors, 'utf8') : '' }));
  });
}

module.exports = { runSipp, scenario };
