/*
 * A track sent as plain RTP over UDP (native side: src/media/rtp_forwarder.rs), e.g. to an SFU.
 * A remote Opus track forwarded as Opus is relayed without decode/encode (`passthrough`).
 * Native side: src/media/rtp_forwarder.rs.
 */

import { callNative, invalidState } from '../internal/errors'
import { nativeTrackOf, type MediaStreamTrack } from '../w3c/MediaStreamTrack'
import { NativeRtpForwarder, type NativeRtpForwarder as NativeRtpForwarderHandle } from '../internal/native'
import { address, codecName, integerIn, type RtpCodecName } from './rtpOptions'

export interface RtpForwarderOptions {
  address: string
  port: number
  /** Default 'opus'. */
  codec?: RtpCodecName
  /** Default: the codec's usual one (opus 111, pcmu 0, pcma 8, g722 9). */
  payloadType?: number
  /** Default: random (RFC 3550 §8.1). */
  ssrc?: number
  /** ms of audio per packet (default 20). */
  ptime?: number
  /** false: always decode/encode, even for a remote Opus track. Default true. */
  passthrough?: boolean
}

export interface RtpForwarderStats {
  packetsSent: number
  /** RTP packet bytes (headers included). */
  bytesSent: number
}

export class RtpForwarder {
  readonly #native: NativeRtpForwarderHandle
  #stopped = false

  constructor(track: MediaStreamTrack, options: RtpForwarderOptions) {
    const nativeTrack = nativeTrackOf(track)
    if (track.readyState === 'ended') throw invalidState('Cannot forward an ended track')
    const o = options ?? ({} as RtpForwarderOptions)
    if (o.passthrough !== undefined && typeof o.passthrough !== 'boolean') throw new TypeError('passthrough must be a boolean')
    const native = {
      address: address(o.address),
      port: integerIn(o.port, 'port', 1, 65535),
      codec: codecName(o.codec, 'opus'),
      payloadType: integerIn(o.payloadType, 'payloadType', 0, 127, true),
      ssrc: integerIn(o.ssrc, 'ssrc', 0, 0xffffffff, true),
      ptime: integerIn(o.ptime, 'ptime', 10, 120, true),
      passthrough: o.passthrough,
    }
    this.#native = callNative(() => new NativeRtpForwarder(nativeTrack, native))
  }

  /** True when received Opus packets are relayed as they are (no decoder or encoder). */
  get passthrough(): boolean {
    return this.#native.passthrough
  }

  get ssrc(): number {
    return this.#native.ssrc
  }

  get payloadType(): number {
    return this.#native.payloadType
  }

  get stats(): RtpForwarderStats {
    return callNative(() => this.#native.stats())
  }

  get stopped(): boolean {
    return this.#stopped
  }

  /** GStreamer element factories in the forwarding pipeline (diagnostics). */
  elementFactories(): string[] {
    return callNative(() => this.#native.elementFactories())
  }

  /** Closes the socket; the track keeps running. */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    callNative(() => this.#native.stop())
  }
}
