// A bridge worker (`npm run worker`): one of N processes behind Kamailio's dispatcher. It
// answers the calls the dispatcher sends it and places dial-outs, each call hearing the SFU's
// talkers (mixed) and forwarded to the SFU; it tells the dispatcher whether it takes calls
// (SIP OPTIONS 200/503, GET /health), exposes Prometheus metrics, and on SIGTERM drains: no
// new calls, running calls continue until they end or the deadline, then it exits.
// Settings: examples/worker/config.mjs. Topology and operation: docs/scale-out.md.

import { loadConfig } from './config.mjs';
import { Calls } from './calls.mjs';
import { createMetrics } from './metrics.mjs';
import { startHttp } from './http.mjs';

const config = loadConfig();
// Structured logs: one JSON line per event, with the worker's id and the call's id.
const log = (fields) => console.log(JSON.stringify({ t: new Date().toISOString(), worker: config.id, ...fields }));

const calls = new Calls(config, log);
const metrics = createMetrics({ workerId: config.id, calls, mixer: calls.mixer });
calls.metrics = metrics;
await calls.start();
const http = await startHttp(config.http, { calls, metrics, log });
log({ event: 'worker.ready', sip: `${config.sip.host}:${config.sip.port}`, http: http.address().port, maxCalls: config.limits.maxCalls });

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  log({ event: 'worker.signal', signal });
  await calls.drain();
  await calls.stop();
  http.close();
  log({ event: 'worker.exit' });
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
