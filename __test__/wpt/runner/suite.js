'use strict';

/*
 * The jest side of the WPT suite: `require('./runner/suite')('<wpt file>')` in a
 * __test__/wpt/<name>.test.js defines
 *
 *   describe('<wpt file>')
 *     beforeAll: node runner/run-file.js <wpt file>   (a child process)
 *     test('<subtest>')   one per subtest in expectations.json, in its order
 *     test('(harness)')   the harness status: OK unless the expectations say otherwise
 *     test('produces no subtests missing from the expectations')
 *
 * A subtest expected to PASS must pass; one expected to fail must not pass (an unexpected
 * pass fails too, so that expectations.json is updated: runner/update-expectations.js); one
 * marked {"fail": ..., "flaky": true} may do either.
 */

const { HARNESS_PSEUDO_SUBTEST, fileBudgetMs, readExpectations, runFile } = require('./common');

const UPDATE_HINT = 'node __test__/wpt/runner/update-expectations.js';

function describeObserved(observed) {
  const message = observed.message ? `\n  message: ${observed.message}` : '';
  return `${observed.status}${message}`;
}

module.exports = function wptSuite(file) {
  const expected = readExpectations()[file] ?? {};
  const budget = fileBudgetMs(file);

  describe(file, () => {
    let result = null;
    let runError = null;

    beforeAll(async () => {
      try {
        result = await runFile(file);
      } catch (err) {
        runError = err;
      }
    }, budget + 10000);

    function observedFor(name) {
      if (runError) throw runError;
      if (name === HARNESS_PSEUDO_SUBTEST) return result.harness;
      return result.subtests.find((s) => s.name === name) ?? null;
    }

    function check(name, expectation) {
      const observed = observedFor(name);
      const harness = `${result.harness.status}${result.harness.message ? `: ${result.harness.message}` : ''}`;
      if (observed === null) {
        throw new Error(
          `${file}: subtest "${name}" was not reported by this run (harness ${harness}).` +
            `\nIf it no longer exists upstream, update the expectations: ${UPDATE_HINT} ${file}`,
        );
      }
      const passed = name === HARNESS_PSEUDO_SUBTEST ? observed.status === 'OK' : observed.status === 'PASS';
      if (expectation !== 'PASS' && expectation.flaky) return;
      if (expectation === 'PASS' && !passed) {
        throw new Error(
          `${file}: "${name}" was expected to ${name === HARNESS_PSEUDO_SUBTEST ? 'be OK' : 'PASS'}, got ` +
            `${describeObserved(observed)}${name === HARNESS_PSEUDO_SUBTEST ? '' : `\n  (harness ${harness})`}`,
        );
      }
      if (expectation !== 'PASS' && passed) {
        throw new Error(
          `${file}: "${name}" now ${name === HARNESS_PSEUDO_SUBTEST ? 'completes OK' : 'PASSES'} but is expected to fail ` +
            `(${expectation.fail}).\nUpdate the expectations: ${UPDATE_HINT} ${file}`,
        );
      }
    }

    for (const [name, expectation] of Object.entries(expected)) {
      if (name === HARNESS_PSEUDO_SUBTEST) continue;
      test(name, () => check(name, expectation));
    }

    test(HARNESS_PSEUDO_SUBTEST, () => check(HARNESS_PSEUDO_SUBTEST, expected[HARNESS_PSEUDO_SUBTEST] ?? 'PASS'));

    test('produces no subtests missing from the expectations', () => {
      if (runError) throw runError;
      const unknown = result.subtests.filter((s) => !Object.prototype.hasOwnProperty.call(expected, s.name));
      if (unknown.length > 0) {
        const list = unknown.map((s) => `  - "${s.name}": ${describeObserved(s)}`).join('\n');
        throw new Error(
          `${file} produced ${unknown.length} subtest(s) that expectations.json does not list:\n${list}\n` +
            `Add them: ${UPDATE_HINT} ${file}`,
        );
      }
    });
  });
};
