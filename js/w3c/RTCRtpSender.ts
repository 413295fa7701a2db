/* webrtc-pc §5.2 RTCRtpSender */

import type { ConnectionHost } from '../internal/ConnectionHost'
import { randomUUID } from 'node:crypto'
import { callNative, invalidState } from '../internal/errors'
import { capabilities, checkSetParameters, negotiatedParameters } from '../internal/rtpParameters'
import type { MediaStream } from './MediaStream'
import { MediaStreamTrack, nativeTrackOf } from './MediaStreamTrack'
import { RTCDTMFSender } from './RTCDTMFSender'
import type { RTCStatsReport } from './RTCStatsReport'
import type { TransceiverState } from '../internal/TransceiverState'
import type { RTCDtlsTransport } from './RTCDtlsTransport'
import type { RTCRtpCapabilities, RTCRtpEncodingParameters, RTCRtpSendParameters } from './webrtcTypes'

export class RTCRtpSender {
  readonly #host: ConnectionHost
  readonly #state: TransceiverState
  readonly #dtmf: RTCDTMFSender | null

  /** Not for application use: senders are created by RTCPeerConnection. */
  constructor(host: ConnectionHost, state: TransceiverState) {
    this.#host = host
    this.#state = state
    this.#dtmf = state.kind === 'audio' ? new RTCDTMFSender(host, state) : null
  }

  get track(): MediaStreamTrack | null {
    return this.#state.senderTrack
  }

  /** webrtc-pc §5.2 transport: the connection's DTLS transport once a description has associated the transceiver. */
  get transport(): RTCDtlsTransport | null {
    return this.#state.mid === null ? null : this.#host.transport
  }

  /** webrtc-pc §5.2 dtmf: RFC 4733 telephone-events on this sender's RTP stream (audio only). */
  get dtmf(): RTCDTMFSender | null {
    return this.#dtmf
  }

  /**
   * webrtc-pc §5.2 replaceTrack(): chained, never renegotiates; rejected once
   * the transceiver is stopping or the connection is closed.
   */
  replaceTrack(withTrack: MediaStreamTrack | null): Promise<void> {
    if (withTrack !== null && !(withTrack instanceof MediaStreamTrack)) {
      return Promise.reject(new TypeError('replaceTrack expects a MediaStreamTrack or null'))
    }
    if (withTrack !== null && withTrack.kind !== this.#state.kind) {
      return Promise.reject(new TypeError(`Cannot replace a ${this.#state.kind} track with a ${withTrack.kind} track`))
    }
    return this.#host.chain(async () => {
      if (this.#state.stopping) throw invalidState('The transceiver is stopped')
      const nativeTrack = withTrack === null ? null : nativeTrackOf(withTrack)
      callNative(() => this.#host.native.setSenderTrack(this.#state.id, nativeTrack))
      // "In parallel … queue a task" to set [[SenderTrack]] and resolve: the chain stays
      // busy until then.
      await nextTask()
      this.#state.senderTrack = withTrack
    })
  }

  /** webrtc-pc §5.2 getCapabilities(): what we can send (no video codecs). */
  static getCapabilities(kind: string): RTCRtpCapabilities | null {
    return capabilities(String(kind))
  }

  /**
   * webrtc-pc §5.2 getParameters(): the negotiated codecs and header extensions, our CNAME,
   * [[SendEncodings]] and a new transactionId, valid for setParameters() until the end of
   * the current task.
   */
  getParameters(): RTCRtpSendParameters {
    const negotiated = this.#host.closed
      ? { codecs: [], headerExtensions: [], rtcp: { reducedSize: false } }
      : negotiatedParameters(callNative(() => this.#host.native.rtpParameters(this.#state.id)), true)
    const parameters: RTCRtpSendParameters = {
      transactionId: randomUUID(),
      encodings: this.#state.sendEncodings.map((e) => ({ ...e })),
      ...negotiated,
    }
    this.#state.lastReturnedParameters = structuredClone(parameters)
    setTimeout(() => {
      if (this.#state.lastReturnedParameters?.transactionId === parameters.transactionId) this.#state.lastReturnedParameters = null
    }, 0)
    return parameters
  }

  /**
   * webrtc-pc §5.2 setParameters(): only what getParameters() returned last, with the same
   * transactionId; encodings' `active` and `maxBitrate` take effect at once, without
   * renegotiation (src/media/sender.rs).
   */
  setParameters(parameters: RTCRtpSendParameters, _options: Record<string, unknown> = {}): Promise<void> {
    let encodings: RTCRtpEncodingParameters[]
    try {
      if (parameters === null || typeof parameters !== 'object') throw new TypeError('setParameters expects RTCRtpSendParameters')
      encodings = checkSetParameters(this.#state, parameters)
    } catch (err) {
      return Promise.reject(err)
    }
    const [encoding] = encodings
    if (!this.#host.closed) {
      try {
        callNative(() => this.#host.native.setEncoding(this.#state.id, encoding!.active !== false, encoding!.maxBitrate))
      } catch (err) {
        return Promise.reject(err)
      }
    }
    // webrtc-pc §5.2 setParameters: the media stack is configured in parallel, then a task
    // stores the parameters and resolves.
    return nextTask().then(() => {
      this.#state.sendEncodings = encodings
      this.#state.lastReturnedParameters = null
    })
  }

  /** webrtc-pc §5.2 setStreams(): changes the msid association, which needs negotiation. */
  setStreams(...streams: MediaStream[]): void {
    if (this.#host.closed) throw invalidState('The RTCPeerConnection is closed')
    this.#state.senderStreamIds = [...new Set(streams.map((s) => s.id))]
    this.#host.localStateChanged()
  }

  /** webrtc-pc §5.2 getStats(): the connection's report, selected for this sender (§8.5). */
  getStats(): Promise<RTCStatsReport> {
    if (this.#host.closed) return Promise.reject(invalidState('The RTCPeerConnection is closed'))
    return this.#host.stats({ type: 'outbound-rtp', mid: this.#state.mid })
  }
}

function nextTask(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve))
}
