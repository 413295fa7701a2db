/*
 * Plain RTP over UDP received as a track (native side: src/media/udp_rtp_source.rs), e.g. an SFU's
 * stream: jitter buffer, decoder with packet-loss concealment, 48 kHz mono.
 * Native side: src/media/udp_rtp_source.rs.
 */

import { callNative } from '../internal/errors'
import { endTrack, MediaStreamTrack } from '../w3c/MediaStreamTrack'
import { NativeUdpRtpSource, type NativeUdpRtpSource as NativeUdpRtpSourceHandle } from '../internal/native'
import { address, codecName, integerIn, type RtpCodecName } from './rtpOptions'

export interface UdpRtpSourceOptions {
  /** Local address to bind, e.g. '127.0.0.1' or '0.0.0.0'. */
  address: string
  /** Local UDP port; 0 lets the system pick one (read it back from `port`). */
  port: number
  codec: RtpCodecName
  /** Default: the codec's usual one (opus 111, pcmu 0, pcma 8, g722 9). Other payload types are ignored. */
  payloadType?: number
  /**
   * How long the jitter buffer waits for a missing packet before concealing it, in ms, which is
   * also the playout delay (default 5: an AudioMixer's input FIFO absorbs jitter adaptively).
   * When packets arrive reordered later than that, the wait grows to cover them (the delay grows
   * by inserting whole pitch periods, without a gap), up to `maxLatency`.
   */
  latency?: number
  /** Upper bound of that growth in ms (default 100, or `latency` if larger); equal to `latency`: a fixed wait. */
  maxLatency?: number
}

/** What happened at ingress (docs/robustness.md, "RTP ingress"). */
export interface UdpRtpSourceStats {
  /** Valid RTP packets of the expected payload type (duplicates included). */
  packetsReceived: number
  bytesReceived: number
  /** Gaps the jitter buffer concealed; a sequence number jump is a resync, not loss. */
  packetsLost: number
  /** Datagrams not played: not valid RTP of the expected payload type, no playable payload, or held in probation (RFC 3550 §A.1). */
  packetsDiscarded: number
  /** Copies of packets already received, dropped. */
  packetsDuplicated: number
  /** New SSRCs taken over (another sender on the port). */
  ssrcChanges: number
  /** Sequence number jumps taken as a new sequence (renumbering), not as loss. */
  sequenceResyncs: number
  /** RTP timestamp jumps (backwards, or ahead of real time) rebased. */
  timestampResyncs: number
  /** Decoded audio cut because it ran ahead of its timestamps (ms). */
  trimmedMs: number
  /** Packets that arrived after a later one (overtaken on the way). */
  packetsReordered: number
  /** The current wait for a missing packet (= playout delay), ms: `latency`, raised to cover the reordering seen. */
  latencyMs: number
}

export class UdpRtpSource {
  readonly #native: NativeUdpRtpSourceHandle
  readonly #track: MediaStreamTrack

  /** Throws an Error ('address already in use: …') when the port is taken. */
  constructor(options: UdpRtpSourceOptions) {
    const o = options ?? ({} as UdpRtpSourceOptions)
    const native = {
      address: address(o.address),
      port: integerIn(o.port, 'port', 0, 65535),
      codec: codecName(o.codec),
      payloadType: integerIn(o.payloadType, 'payloadType', 0, 127, true),
      latency: integerIn(o.latency, 'latency', 0, 10000, true),
      maxLatency: integerIn(o.maxLatency, 'maxLatency', 0, 10000, true),
    }
    this.#native = callNative(() => new NativeUdpRtpSource(native))
    this.#track = new MediaStreamTrack(callNative(() => this.#native.track()), { label: `rtp ${native.codec} udp:${this.#native.port}` })
  }

  get track(): MediaStreamTrack {
    return this.#track
  }

  /** The bound local port. */
  get port(): number {
    return this.#native.port
  }

  get stats(): UdpRtpSourceStats {
    return callNative(() => this.#native.stats())
  }

  /** Closes the socket and ends the track (firing 'ended'). */
  stop(): void {
    callNative(() => this.#native.stop())
    endTrack(this.#track, true)
  }
}
