/* webrtc-pc §5.3 RTCRtpReceiver */

import type { ConnectionHost } from '../internal/ConnectionHost'
import { callNative, invalidState } from '../internal/errors'
import { capabilities, negotiatedParameters } from '../internal/rtpParameters'
import { defineEventHandlerAttributes, type EventHandler } from '../internal/eventHandlers'
import type { MediaStreamTrack } from './MediaStreamTrack'
import type { RTCDTMFEvent } from './RTCDTMFEvent'
import type { RTCStatsReport } from './RTCStatsReport'
import type { TransceiverState } from '../internal/TransceiverState'
import type { RTCDtlsTransport } from './RTCDtlsTransport'
import type { RTCRtpCapabilities, RTCRtpReceiveParameters } from './webrtcTypes'

/** An EventTarget only for the non-standard `dtmf` event (RTCDTMFEvent). */
export class RTCRtpReceiver extends EventTarget {
  readonly #track: MediaStreamTrack
  readonly #host: ConnectionHost
  readonly #state: TransceiverState

  /** Not for application use: receivers are created with their transceiver, and their track with them (webrtc-pc §5.3 "create an RTCRtpReceiver"). */
  constructor(track: MediaStreamTrack, host: ConnectionHost, state: TransceiverState) {
    super()
    this.#track = track
    this.#host = host
    this.#state = state
  }

  get track(): MediaStreamTrack {
    return this.#track
  }

  /** Non-standard: received RFC 4733 DTMF digits (RTCDTMFEvent). */
  declare ondtmf: EventHandler<RTCDTMFEvent>

  /** webrtc-pc §5.3 transport: the connection's DTLS transport once a description has associated the transceiver. */
  get transport(): RTCDtlsTransport | null {
    return this.#state.mid === null ? null : this.#host.transport
  }

  /**
   * webrtc-extensions §6 jitterBufferTarget, read-only here: the `latency` (ms) of the
   * rtpjitterbuffer that actually serves this receiver's stream inside webrtcbin (set for
   * the whole connection with the `jitterBufferLatency` configuration extension), or null
   * while no stream has arrived yet or once the connection is closed. Assigning it is
   * ignored (webrtcbin 1.22 cannot retarget one stream's jitter buffer without the others).
   */
  get jitterBufferTarget(): number | null {
    if (this.#host.closed) return null
    try {
      return this.#host.native.jitterBufferLatency(this.#state.id) ?? null
    } catch {
      return null
    }
  }

  /** webrtc-pc §5.3 getCapabilities(): what we can receive (no video codecs). */
  static getCapabilities(kind: string): RTCRtpCapabilities | null {
    return capabilities(String(kind))
  }

  /** webrtc-pc §5.3 getParameters(): the negotiated codecs and header extensions. */
  getParameters(): RTCRtpReceiveParameters {
    if (this.#host.closed) return { codecs: [], headerExtensions: [], rtcp: { reducedSize: false } }
    return negotiatedParameters(callNative(() => this.#host.native.rtpParameters(this.#state.id)), false)
  }

  getContributingSources(): never[] {
    return []
  }

  getSynchronizationSources(): never[] {
    return []
  }

  /** webrtc-pc §5.3 getStats(): the connection's report, selected for this receiver (§8.5). */
  getStats(): Promise<RTCStatsReport> {
    if (this.#host.closed) return Promise.reject(invalidState('The RTCPeerConnection is closed'))
    return this.#host.stats({ type: 'inbound-rtp', mid: this.#state.mid })
  }
}

defineEventHandlerAttributes(RTCRtpReceiver, ['dtmf'])
