// Prometheus metrics (prom-client): call counts and setup times as calls happen; media figures
// (packets, bytes, loss, jitter, concealed audio, mixer inputs) read from the live calls' getStats()
// and the mixer at each scrape; process CPU and memory from prom-client's default metrics.

import client from 'prom-client';

export function createMetrics({ workerId, calls, mixer }) {
  const registry = new client.Registry();
  registry.setDefaultLabels({ worker: workerId });
  client.collectDefaultMetrics({ register: registry }); // process_cpu_seconds_total, process_resident_memory_bytes, …

  const active = new client.Gauge({
    name: 'bridge_calls_active',
    help: 'Calls in progress',
    labelNames: ['direction'],
    registers: [registry],
    collect() {
      this.reset();
      for (const d of ['inbound', 'outbound']) this.set({ direction: d }, calls.list().filter((c) => c.direction === d).length);
    },
  });
  const total = new client.Counter({
    name: 'bridge_calls_total',
    help: 'Calls by direction and result (answered, rejected_draining, rejected_limit, failed)',
    labelNames: ['direction', 'result'],
    registers: [registry],
  });
  const setup = new client.Histogram({
    name: 'bridge_call_setup_seconds',
    help: 'INVITE received (inbound) or sent (outbound) to the call established',
    labelNames: ['direction'],
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });

  // Media totals: calls that ended are folded into `ended`; live calls are read at scrape time.
  const ended = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, lost: 0 };
  const media = async () => {
    const sum = { ...ended, jitter: [] };
    for (const call of calls.list()) {
      const s = await call.mediaStats();
      sum.packetsIn += s.packetsIn;
      sum.packetsOut += s.packetsOut;
      sum.bytesIn += s.bytesIn;
      sum.bytesOut += s.bytesOut;
      sum.lost += s.lost;
      if (s.jitter !== undefined) sum.jitter.push(s.jitter);
    }
    return sum;
  };
  let scrape; // one getStats() round per scrape, shared by the metrics below
  const mediaOnce = () => (scrape ??= media().finally(() => setImmediate(() => (scrape = undefined))));
  // A counter by direction of two media totals, read at each scrape.
  const byDirection = (name, help, inKey, outKey) =>
    new client.Counter({
      name,
      help,
      labelNames: ['direction'],
      registers: [registry],
      async collect() {
        const m = await mediaOnce();
        this.reset();
        this.inc({ direction: 'in' }, m[inKey]);
        this.inc({ direction: 'out' }, m[outKey]);
      },
    });
  byDirection('bridge_rtp_packets_total', 'RTP packets of calls, by direction (in: received from callers, out: sent to them)', 'packetsIn', 'packetsOut');
  byDirection('bridge_rtp_bytes_total', 'RTP payload bytes of calls, by direction', 'bytesIn', 'bytesOut');
  new client.Counter({
    name: 'bridge_rtp_packets_lost_total',
    help: 'Packets callers sent that never arrived (RTCP-style cumulative loss)',
    registers: [registry],
    async collect() {
      const m = await mediaOnce();
      this.reset();
      this.inc(Math.max(0, m.lost));
    },
  });
  new client.Gauge({
    name: 'bridge_rtp_jitter_seconds_max',
    help: 'Largest interarrival jitter among live calls (RFC 3550 §6.4.1)',
    registers: [registry],
    async collect() {
      const m = await mediaOnce();
      this.set(m.jitter.length ? Math.max(...m.jitter) : 0);
    },
  });
  new client.Gauge({
    name: 'bridge_mixer_inputs',
    help: 'Inputs of the worker mixer (SFU talkers, announcement)',
    registers: [registry],
    collect() {
      this.set(mixer.inputStats().length);
    },
  });
  new client.Gauge({
    name: 'bridge_mixer_concealed_ms',
    help: 'Audio the mixer filled in for its inputs after underruns, ms since start',
    registers: [registry],
    collect() {
      this.set(mixer.inputStats().reduce((n, s) => n + s.concealedMs, 0));
    },
  });

  return {
    registry,
    callEnded(stats) {
      ended.packetsIn += stats.packetsIn;
      ended.packetsOut += stats.packetsOut;
      ended.bytesIn += stats.bytesIn;
      ended.bytesOut += stats.bytesOut;
      ended.lost += stats.lost;
    },
    result(direction, result) {
      total.inc({ direction, result });
    },
    established(direction, seconds) {
      setup.observe({ direction }, seconds);
    },
    active,
  };
}
