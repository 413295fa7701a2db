// The worker's calls: a SIP.js user agent on SipTransport (UDP and TCP on one port), answering
// what the dispatcher sends and placing dial-outs through the proxy. Every call hears the
// worker's mix (the SFU's talkers, and an optional tone) and its caller is forwarded to the SFU,
// as in the demo. Admission and draining live here: a call over the limit, or any call once
// draining, is refused with 503 and Retry-After (RFC 3261 §21.5.4, §20.33).

import { Inviter, Registerer, RegistererState, SessionState, UserAgent } from 'sip.js';
import { AudioMixer, RtpForwarder, ToneSource, UdpRtpSource } from 'gst-peerconnection';
import { SipTransport, sessionDescriptionHandlerFactory } from 'gst-peerconnection/sip';

export class Calls {
  #config;
  #log;
  #metrics;
  #calls = new Map();
  #ua;
  #registerer;
  #emptyWaiters = [];
  /** BYEs sent and not yet answered. */
  #byes = new Set();
  draining = false;

  constructor(config, log) {
    this.#config = config;
    this.#log = log;
    // The worker's audio: every SFU talker (Opus RTP in), plus a tone when configured.
    this.mixer = new AudioMixer();
    this.ingress = config.sfu.ingress.map(({ port }) => new UdpRtpSource({ address: config.sip.host, port, codec: 'opus', payloadType: 111 }));
    for (const src of this.ingress) this.mixer.addInput(src.track);
    if (config.media.tone) {
      this.tone = new ToneSource({ frequency: config.media.tone, amplitude: 0.5 });
      this.mixer.addInput(this.tone.track);
    }
    this.mix = this.mixer.createTrack();
  }

  set metrics(m) {
    this.#metrics = m;
  }

  list() {
    return [...this.#calls.values()];
  }

  /** Whether a new call would be taken: what OPTIONS, /health and INVITE admission say. */
  admission() {
    if (this.draining) return { ok: false, reason: 'draining' };
    if (this.#calls.size >= this.#config.limits.maxCalls) return { ok: false, reason: 'limit' };
    return { ok: true };
  }

  async start() {
    const { sip, media } = this.#config;
    const retryAfter = `Retry-After: ${this.#config.drain.retryAfterS}`;
    this.#ua = new UserAgent({
      uri: UserAgent.makeURI(`sip:${sip.user}@${sip.domain}`),
      transportConstructor: SipTransport,
      transportOptions: {
        server: sip.proxy,
        listen: { udp: { host: sip.host, port: sip.port }, tcp: { host: sip.host, port: sip.port } },
        // The dispatcher's health probe (ds_ping): 200 while we take calls, 503 otherwise.
        screen: (request) => {
          if (request.method !== 'OPTIONS') return undefined;
          const a = this.admission();
          return a.ok ? { statusCode: 200, reasonPhrase: 'OK' } : { statusCode: 503, reasonPhrase: 'Service Unavailable', extraHeaders: [retryAfter] };
        },
      },
      logLevel: 'error',
      sessionDescriptionHandlerFactory: sessionDescriptionHandlerFactory({
        media: () => this.mix,
        peerConnectionConfiguration: { rtpProfile: media.rtpProfile, localAddresses: media.localAddresses },
      }),
      delegate: { onInvite: (invitation) => this.#incoming(invitation, retryAfter) },
    });
    await this.#ua.start();
    if (sip.register) {
      this.#registerer = new Registerer(this.#ua, { expires: 300 });
      await this.#registerer.register();
    }
  }

  #incoming(invitation, retryAfter) {
    const t0 = performance.now();
    const id = invitation.request.callId;
    const a = this.admission();
    if (!a.ok) {
      this.#metrics?.result('inbound', a.reason === 'draining' ? 'rejected_draining' : 'rejected_limit');
      this.#log({ event: 'call.rejected', call: id, direction: 'inbound', reason: a.reason });
      invitation.reject({ statusCode: 503, reasonPhrase: 'Service Unavailable', extraHeaders: [retryAfter] }).catch(() => {});
      return;
    }
    this.#track(invitation, id, 'inbound', invitation.remoteIdentity.uri.toString(), t0);
    invitation.accept().catch((e) => this.#log({ event: 'call.error', call: id, error: e.message }));
  }

  /** A dial-out through the proxy; resolves with the call id once the INVITE is sent. */
  dial(to) {
    const a = this.admission();
    if (!a.ok) throw Object.assign(new Error(`not taking calls (${a.reason})`), { status: 503 });
    const target = UserAgent.makeURI(to);
    if (!target) throw Object.assign(new Error(`not a SIP URI: ${to}`), { status: 400 });
    const inviter = new Inviter(this.#ua, target);
    const id = inviter.request.callId;
    this.#track(inviter, id, 'outbound', to, performance.now());
    inviter.invite().catch((e) => this.#log({ event: 'call.error', call: id, error: e.message }));
    return id;
  }

  async hangup(id) {
    const call = this.#calls.get(id);
    if (!call) return false;
    await call.end();
    return true;
  }

  #track(session, id, direction, remote, t0) {
    const call = {
      id,
      direction,
      remote,
      state: 'setup',
      startedAt: new Date().toISOString(),
      session,
      forwarder: undefined,
      end: async () => {
        if (session.state === SessionState.Established) {
          // SIP.js calls the session Terminated as soon as the BYE is queued; the worker waits
          // for its answer (or 5 s) so that exiting never cuts the BYE off.
          const answered = new Promise((resolve) => {
            const timer = setTimeout(resolve, 5000);
            const done = () => (clearTimeout(timer), resolve());
            session.bye({ requestDelegate: { onAccept: done, onReject: done } }).catch(done);
          });
          this.#byes.add(answered);
          await answered;
          this.#byes.delete(answered);
        } else if (session.state === SessionState.Establishing) {
          if (direction === 'outbound') await session.cancel();
          else await session.reject({ statusCode: 480 });
        }
      },
      mediaStats: async () => mediaStatsOf(session),
    };
    this.#calls.set(id, call);
    this.#log({ event: 'call.setup', call: id, direction, remote });
    let lastStats = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, lost: 0 };
    session.stateChange.addListener(async (state) => {
      if (state === SessionState.Established) {
        call.state = 'established';
        const seconds = (performance.now() - t0) / 1000;
        this.#metrics?.established(direction, seconds);
        this.#metrics?.result(direction, 'answered');
        this.#log({ event: 'call.established', call: id, direction, setupMs: Math.round(seconds * 1000) });
        const egress = this.#config.sfu.egress;
        if (egress) {
          const track = await session.sessionDescriptionHandler.waitForRemoteTrack();
          if (this.#calls.has(id)) call.forwarder = new RtpForwarder(track, { address: egress.host, port: egress.port, codec: 'opus', payloadType: 111 });
        }
        // Sampled while the call lives (its connection is gone once it ended): the totals of an
        // ended call miss at most its last 2 s.
        const timer = setInterval(async () => (lastStats = await mediaStatsOf(session).catch(() => lastStats)), 2000);
        session.stateChange.addListener((s) => s === SessionState.Terminated && clearInterval(timer));
      }
      if (state === SessionState.Terminated) {
        const wasUp = call.state === 'established';
        call.forwarder?.stop();
        this.#calls.delete(id);
        if (wasUp) this.#metrics?.callEnded(lastStats);
        else this.#metrics?.result(direction, 'failed');
        this.#log({ event: 'call.ended', call: id, direction, established: wasUp });
        if (this.#calls.size === 0) this.#emptyWaiters.splice(0).forEach((w) => w());
      }
    });
  }

  /** SIGTERM: refuse new calls, let these finish; at the deadline, BYE the rest. Resolves when empty. */
  async drain() {
    this.draining = true;
    const deadlineMs = this.#config.drain.deadlineMs;
    this.#log({ event: 'worker.draining', calls: this.#calls.size, deadlineMs });
    const empty = this.#calls.size === 0 ? Promise.resolve() : new Promise((r) => this.#emptyWaiters.push(r));
    const timer = setTimeout(() => {
      this.#log({ event: 'worker.deadline', calls: this.#calls.size });
      for (const call of this.#calls.values()) call.end().catch(() => {});
    }, deadlineMs);
    await empty;
    clearTimeout(timer);
    await Promise.all(this.#byes);
  }

  async stop() {
    if (this.#registerer?.state === RegistererState.Registered) {
      const gone = new Promise((r) => this.#registerer.stateChange.addListener((s) => s !== RegistererState.Registered && r()));
      await this.#registerer.unregister().catch(() => {});
      await Promise.race([gone, new Promise((r) => setTimeout(r, 2000))]);
    }
    await this.#ua?.stop().catch(() => {});
    for (const src of this.ingress) src.stop();
    this.tone?.stop();
    this.mixer.stop();
  }
}

/** Packets and bytes both ways, loss and jitter of a call, from its connection's getStats(). */
async function mediaStatsOf(session) {
  const out = { packetsIn: 0, packetsOut: 0, bytesIn: 0, bytesOut: 0, lost: 0, jitter: undefined };
  const pc = session.sessionDescriptionHandler?.peerConnection;
  if (!pc || pc.signalingState === 'closed') return out;
  for (const s of (await pc.getStats()).values()) {
    if (s.type === 'inbound-rtp') {
      out.packetsIn += s.packetsReceived ?? 0;
      out.bytesIn += s.bytesReceived ?? 0;
      out.lost += s.packetsLost ?? 0;
      if (s.jitter !== undefined) out.jitter = Math.max(out.jitter ?? 0, s.jitter);
    } else if (s.type === 'outbound-rtp') {
      out.packetsOut += s.packetsSent ?? 0;
      out.bytesOut += s.bytesSent ?? 0;
    }
  }
  return out;
}
