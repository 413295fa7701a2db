#!/usr/bin/env node
'use strict';

/*
 * Runs WPT files and rewrites __test__/wpt/expectations.json from what they do now.
 *
 *   node __test__/wpt/runner/update-expectations.js                 all files
 *   node __test__/wpt/runner/update-expectations.js toJSON.html ... only these (others kept)
 *   node __test__/wpt/runner/update-expectations.js --summary       table of the current file
 *   ... --raw <dir>    also write each run's result to <dir>/<file>.json
 *   ... --repeat <n>   run each file n times; subtests whose result varies are marked flaky
 *
 * Files run one after another (the library is multi-threaded and the machine small). For
 * every subtest: PASS -> "PASS"; a failure keeps the reason it already had, a new failure
 * gets {"fail": "<category>: <its message on one line>"}: "video: ..." and
 * "data channels: ..." for the failures that are recognisably about those, "TODO: ..." for
 * everything else (to be fixed, or classified by hand; hand-written reasons are kept).
 * A harness status other than OK is recorded as the pseudo-subtest "(harness)". A subtest
 * whose outcome varies between runs gets "flaky": true (the suite then accepts both); such
 * marks, set by --repeat or by hand, are kept until removed by hand.
 */

const fs = require('node:fs');
const path = require('node:path');
const { EXPECTATIONS, HARNESS_PSEUDO_SUBTEST, listFiles, readExpectations, runFile } = require('./common');

/** The message on one line (assertion messages quote multi-line code), at most 200 characters. */
function firstLine(message) {
  const line = String(message ?? '').replace(/\s+/g, ' ').trim();
  return line.length > 200 ? `${line.slice(0, 197)}...` : line;
}

/** The reason of a new failure of subtest `name`. */
function classify(name, status, message) {
  const m = String(message ?? '');
  if (/data ?channel/i.test(name)) return `data channels: not supported (${firstLine(m) || status})`;
  if (/video transceivers are not supported/.test(m)) return `video: no video transceivers (${firstLine(m)})`;
  if (/this user agent has no video/.test(m)) return `video: getUserMedia has no camera (${firstLine(m)})`;
  if (/\bdocument is not defined\b/.test(m)) return `video: needs a <video>/<canvas> element (${firstLine(m)})`;
  if (/createDataChannel is not a function|RTCDataChannel|RTCSctpTransport/.test(m)) {
    return `data channels: not supported (${firstLine(m)})`;
  }
  if (status === 'NOTRUN') return 'TODO: NOTRUN (queued behind a subtest that timed out)';
  if (status === 'TIMEOUT') return `TODO: TIMEOUT (${firstLine(m) || 'Test timed out'})`;
  if (status === 'PRECONDITION_FAILED') return `TODO: PRECONDITION_FAILED (${firstLine(m)})`;
  return `TODO: ${firstLine(m)}`;
}

function classifyHarness(harness) {
  const m = firstLine(harness.message);
  return `TODO: harness ${harness.status}${m ? ` (${m})` : ''}`;
}

/**
 * The expectations entry of one file from one or more runs of it (and its previous entry).
 * A subtest that passed in some runs and not in others is marked flaky; so is a harness
 * status that varied. Entries already marked flaky stay so.
 */
function entryFrom(results, previous = {}) {
  const entry = {};
  const keep = (name) => {
    const old = previous[name];
    return old && old !== 'PASS' && typeof old.fail === 'string' ? old : null;
  };
  const observed = new Map(); // name -> [subtest result of each run that reported it]
  for (const result of results) {
    for (const s of result.subtests) {
      if (!observed.has(s.name)) observed.set(s.name, []);
      const runs = observed.get(s.name);
      if (runs.length < results.indexOf(result) + 1) runs.push(s); // duplicate names: first one
    }
  }
  const decide = (name, outcomes, classifyFailure) => {
    const failures = outcomes.filter((o) => !o.passed);
    const old = keep(name);
    if (old && old.flaky) return old;
    if (failures.length === 0 && outcomes.length === results.length) return 'PASS';
    const fail = old ? old.fail : classifyFailure(failures[0] ?? { status: 'NOTRUN', message: 'not reported by every run' });
    return failures.length < results.length ? { fail, flaky: true } : { fail };
  };
  for (const [name, runs] of observed) {
    entry[name] = decide(
      name,
      runs.map((s) => ({ passed: s.status === 'PASS', ...s })),
      (f) => classify(name, f.status, f.message),
    );
  }
  const harnessRuns = results.map((r) => ({ passed: r.harness.status === 'OK', ...r.harness }));
  if (harnessRuns.some((h) => !h.passed) || keep(HARNESS_PSEUDO_SUBTEST)?.flaky) {
    entry[HARNESS_PSEUDO_SUBTEST] = decide(HARNESS_PSEUDO_SUBTEST, harnessRuns, (h) => classifyHarness(h));
  }
  return entry;
}

function counts(entry) {
  const names = Object.keys(entry ?? {}).filter((n) => n !== HARNESS_PSEUDO_SUBTEST);
  const pass = names.filter((n) => entry[n] === 'PASS').length;
  const flaky = names.filter((n) => entry[n] !== 'PASS' && entry[n].flaky).length;
  const h = entry?.[HARNESS_PSEUDO_SUBTEST];
  return { pass, fail: names.length - pass, flaky, total: names.length, harness: h ? (h.flaky ? 'flaky' : 'not OK') : 'OK' };
}

function printTable(expectations, files, times = {}) {
  const width = Math.max(...files.map((f) => f.length), 4);
  const header = `${'file'.padEnd(width)}  ${'pass'.padStart(5)}  ${'x-fail'.padStart(6)}  ${'flaky'.padStart(5)}  ${'total'.padStart(5)}  harness${
    Object.keys(times).length ? '   time' : ''
  }`;
  console.log(header);
  // x-fail: expected failures (flaky ones included); flaky: may pass or fail.
  console.log('-'.repeat(header.length));
  const sum = { pass: 0, fail: 0, flaky: 0, total: 0 };
  for (const f of files) {
    const c = counts(expectations[f]);
    sum.pass += c.pass;
    sum.fail += c.fail;
    sum.flaky += c.flaky;
    sum.total += c.total;
    const time = times[f] !== undefined ? `  ${(times[f] / 1000).toFixed(1).padStart(5)} s` : '';
    console.log(
      `${f.padEnd(width)}  ${String(c.pass).padStart(5)}  ${String(c.fail).padStart(6)}  ${String(c.flaky).padStart(5)}  ${String(c.total).padStart(5)}  ${c.harness.padEnd(7)}${time}`,
    );
  }
  console.log('-'.repeat(header.length));
  const totalTime = Object.values(times).reduce((a, b) => a + b, 0);
  console.log(
    `${'TOTAL'.padEnd(width)}  ${String(sum.pass).padStart(5)}  ${String(sum.fail).padStart(6)}  ${String(sum.flaky).padStart(5)}  ${String(sum.total).padStart(5)}` +
      (totalTime ? `           ${(totalTime / 1000).toFixed(1).padStart(5)} s` : ''),
  );
}

function writeExpectations(expectations) {
  const sorted = {};
  for (const f of Object.keys(expectations).sort()) sorted[f] = expectations[f];
  fs.writeFileSync(EXPECTATIONS, `${JSON.stringify(sorted, null, 2)}\n`);
}

async function main(argv) {
  const all = listFiles();
  let summary = false;
  let rawDir = null;
  let repeat = 1;
  const named = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--summary') summary = true;
    else if (argv[i] === '--raw') rawDir = argv[++i];
    else if (argv[i] === '--repeat') repeat = Math.max(1, Number.parseInt(argv[++i], 10) || 1);
    else named.push(path.basename(argv[i]));
  }
  for (const f of named) {
    if (!all.includes(f)) throw new Error(`${f} is not a vendored WPT file (see __test__/wpt/upstream/webrtc/)`);
  }
  const expectations = readExpectations();
  if (summary) {
    printTable(expectations, named.length ? named : Object.keys(expectations).sort());
    return;
  }
  if (process.env.WPT_SUBTEST_TIMEOUT_MS) throw new Error('unset WPT_SUBTEST_TIMEOUT_MS (a diagnostic) before updating expectations');
  if (rawDir) fs.mkdirSync(rawDir, { recursive: true });

  const files = named.length ? named : all;
  const times = {};
  const changes = [];
  const builds = new Set();
  for (const [i, f] of files.entries()) {
    process.stdout.write(`[${i + 1}/${files.length}] ${f} ... `);
    const results = [];
    for (let run = 0; run < repeat; run++) {
      const result = await runFile(f);
      results.push(result);
      builds.add(result.build);
      if (rawDir) {
        const suffix = repeat > 1 ? `.${run + 1}` : '';
        fs.writeFileSync(path.join(rawDir, `${f}${suffix}.json`), `${JSON.stringify(result, null, 2)}\n`);
      }
    }
    const ms = results.reduce((a, r) => a + r.ms, 0) / results.length;
    times[f] = ms;
    const before = expectations[f] ?? {};
    const after = entryFrom(results, before);
    const show = (exp) => (exp === 'PASS' ? 'PASS' : `${exp.flaky ? '(flaky) ' : ''}${exp.fail}`);
    for (const [name, exp] of Object.entries(after)) {
      const old = before[name];
      if (old === undefined) changes.push(`  new      ${f}: ${name}: ${show(exp)}`);
      else if (old === 'PASS' && exp !== 'PASS') changes.push(`  REGRESS  ${f}: ${name}: ${show(exp)}`);
      else if (old !== 'PASS' && exp === 'PASS') changes.push(`  fixed    ${f}: ${name}`);
      else if (old !== 'PASS' && !old.flaky && exp.flaky) changes.push(`  flaky    ${f}: ${name}`);
    }
    for (const name of Object.keys(before)) if (!(name in after)) changes.push(`  gone     ${f}: ${name}`);
    expectations[f] = after;
    writeExpectations(expectations); // after every file, so an interrupted run keeps what it did
    const c = counts(after);
    const harness = [...new Set(results.map((r) => r.harness.status))].join('/');
    console.log(`${c.pass}/${c.total} pass, harness ${harness} (${(ms / 1000).toFixed(1)} s${repeat > 1 ? ` per run, ${repeat} runs` : ''})`);
  }
  console.log('');
  if (changes.length) console.log(`Changes:\n${changes.join('\n')}\n`);
  printTable(expectations, files, times);
  if (builds.size > 1) {
    console.log(`\nWARNING: dist/ was rebuilt during this run (builds ${[...builds].join(', ')}): results mix builds.`);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((err) => {
    console.error(err && err.stack ? err.stack : err);
    process.exit(1);
  });
}

module.exports = { classify, entryFrom };
