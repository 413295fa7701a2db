// The worker's settings: a JSON file (WORKER_CONFIG=path) merged over the defaults, then
// environment variables over both (what a process manager or container sets per instance).
//
//   WORKER_ID            a name for logs and metrics           (default: worker-<pid>)
//   WORKER_SIP_HOST      address SIP listens on                (default 127.0.0.1)
//   WORKER_SIP_PORT      SIP port, UDP and TCP                 (default 5070)
//   WORKER_PROXY         where requests we originate go        (e.g. sip:127.0.0.1:5060)
//   WORKER_DOMAIN        our SIP domain                        (default: the SIP host)
//   WORKER_USER          the user calls are addressed to       (default bridge; the dispatcher sets it)
//   WORKER_HTTP_PORT     control API and /metrics port         (default 8070; 0: any)
//   WORKER_MAX_CALLS     calls at once; more get 503           (default 20)
//   WORKER_DRAIN_MS      after SIGTERM, calls left at this deadline get BYE (default 300000)
//   WORKER_RETRY_AFTER   Retry-After (s) on a 503              (default 30)
//   WORKER_TONE          a tone (Hz) mixed into what callers hear, to tell workers apart (default none)
//   WORKER_SFU_IN        SFU talkers: comma-separated UDP ports we receive Opus RTP on
//   WORKER_SFU_OUT       where callers' audio goes: host:port (Opus RTP, one SSRC per caller)
//   WORKER_RTP_PROFILE   least secure media accepted: UDP/TLS/RTP/SAVPF, RTP/SAVP or RTP/AVP (default RTP/AVP: trunks and phones)
//   WORKER_REGISTER      also register sip:<user>@<domain> through the proxy (1/0, default 0)

import { readFileSync } from 'node:fs';

const DEFAULTS = {
  id: `worker-${process.pid}`,
  sip: { host: '127.0.0.1', port: 5070, proxy: undefined, domain: undefined, user: 'bridge', register: false },
  http: { host: '127.0.0.1', port: 8070 },
  limits: { maxCalls: 20 },
  drain: { deadlineMs: 300000, retryAfterS: 30 },
  media: { tone: undefined, rtpProfile: 'RTP/AVP', localAddresses: ['127.0.0.1'] },
  sfu: { ingress: [], egress: undefined },
};

function merge(base, over) {
  const out = { ...base };
  for (const [k, v] of Object.entries(over ?? {})) {
    out[k] = v && typeof v === 'object' && !Array.isArray(v) && base[k] && typeof base[k] === 'object' ? merge(base[k], v) : v;
  }
  return out;
}

function int(name, value, min, max) {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`config: ${name} must be an integer in ${min}..${max}, not ${JSON.stringify(value)}`);
  return n;
}

function hostPort(name, value) {
  const m = /^(.+):(\d+)$/.exec(String(value));
  if (!m) throw new Error(`config: ${name} must be host:port, not ${JSON.stringify(value)}`);
  return { host: m[1], port: int(name, m[2], 1, 65535) };
}

export function loadConfig(env = process.env) {
  const file = env.WORKER_CONFIG ? JSON.parse(readFileSync(env.WORKER_CONFIG, 'utf8')) : {};
  const c = merge(DEFAULTS, file);
  if (env.WORKER_ID) c.id = env.WORKER_ID;
  if (env.WORKER_SIP_HOST) c.sip.host = env.WORKER_SIP_HOST;
  if (env.WORKER_SIP_PORT) c.sip.port = env.WORKER_SIP_PORT;
  if (env.WORKER_PROXY) c.sip.proxy = env.WORKER_PROXY;
  if (env.WORKER_DOMAIN) c.sip.domain = env.WORKER_DOMAIN;
  if (env.WORKER_USER) c.sip.user = env.WORKER_USER;
  if (env.WORKER_REGISTER) c.sip.register = env.WORKER_REGISTER === '1';
  if (env.WORKER_HTTP_PORT) c.http.port = env.WORKER_HTTP_PORT;
  if (env.WORKER_MAX_CALLS) c.limits.maxCalls = env.WORKER_MAX_CALLS;
  if (env.WORKER_DRAIN_MS) c.drain.deadlineMs = env.WORKER_DRAIN_MS;
  if (env.WORKER_RETRY_AFTER) c.drain.retryAfterS = env.WORKER_RETRY_AFTER;
  if (env.WORKER_TONE) c.media.tone = env.WORKER_TONE;
  if (env.WORKER_RTP_PROFILE) c.media.rtpProfile = env.WORKER_RTP_PROFILE;
  if (env.WORKER_SFU_IN) c.sfu.ingress = env.WORKER_SFU_IN.split(',').map((p) => ({ port: p.trim() }));
  if (env.WORKER_SFU_OUT) c.sfu.egress = env.WORKER_SFU_OUT;

  c.sip.port = int('sip.port', c.sip.port, 1, 65535);
  c.sip.domain ??= c.sip.host;
  c.http.port = int('http.port', c.http.port, 0, 65535);
  c.limits.maxCalls = int('limits.maxCalls', c.limits.maxCalls, 0, 100000);
  c.drain.deadlineMs = int('drain.deadlineMs', c.drain.deadlineMs, 0, 86400000);
  c.drain.retryAfterS = int('drain.retryAfterS', c.drain.retryAfterS, 0, 86400);
  if (c.media.tone !== undefined) c.media.tone = Number(c.media.tone);
  if (!['UDP/TLS/RTP/SAVPF', 'RTP/SAVP', 'RTP/AVP'].includes(c.media.rtpProfile)) throw new Error(`config: unknown rtpProfile ${c.media.rtpProfile}`);
  c.sfu.ingress = c.sfu.ingress.map((s, i) => ({ port: int(`sfu.ingress[${i}].port`, s.port, 1, 65535) }));
  if (c.sfu.egress !== undefined && typeof c.sfu.egress === 'string') c.sfu.egress = hostPort('sfu.egress', c.sfu.egress);
  return c;
}
