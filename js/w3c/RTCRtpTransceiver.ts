/* webrtc-pc §5.4 RTCRtpTransceiver */

import type { ConnectionHost } from '../internal/ConnectionHost'
import { callNative, invalidState } from '../internal/errors'
import { endTrack } from './MediaStreamTrack'
import type { RTCRtpReceiver } from './RTCRtpReceiver'
import type { RTCRtpSender } from './RTCRtpSender'
import type { TransceiverState } from '../internal/TransceiverState'
import { TRANSCEIVER_DIRECTIONS, toEnum, type RTCRtpTransceiverDirection } from './webrtcTypes'

export class RTCRtpTransceiver {
  readonly #host: ConnectionHost
  readonly #state: TransceiverState
  readonly #sender: RTCRtpSender
  readonly #receiver: RTCRtpReceiver

  /** Not for application use: transceivers are created by RTCPeerConnection. */
  constructor(host: ConnectionHost, state: TransceiverState, sender: RTCRtpSender, receiver: RTCRtpReceiver) {
    this.#host = host
    this.#state = state
    this.#sender = sender
    this.#receiver = receiver
  }

  get mid(): string | null {
    return this.#state.mid
  }

  get sender(): RTCRtpSender {
    return this.#sender
  }

  get receiver(): RTCRtpReceiver {
    return this.#receiver
  }

  get direction(): RTCRtpTransceiverDirection {
    return this.#state.direction
  }

  /**
   * webrtc-pc §5.4 direction setter. Deliberately stricter than WebIDL (which
   * ignores unknown enum values on attribute assignment): a typo must not
   * silently leave a call on hold.
   */
  set direction(value: RTCRtpTransceiverDirection) {
    const direction = toEnum(TRANSCEIVER_DIRECTIONS, value, 'RTCRtpTransceiverDirection')
    if (direction === 'stopped') throw new TypeError("Use stop() instead of setting direction to 'stopped'")
    // A closed connection has stopped all its transceivers (webrtc-pc §4.4.1.6 close).
    if (this.#host.closed) throw invalidState('The RTCPeerConnection is closed')
    if (this.#state.stopping) throw invalidState('The transceiver is stopped')
    if (direction === this.#state.direction) return
    callNative(() => this.#host.native.setDirection(this.#state.id, direction))
    this.#state.direction = direction
    this.#host.localStateChanged()
  }

  get currentDirection(): RTCRtpTransceiverDirection | null {
    return this.#state.currentDirection
  }

  /**
   * webrtc-pc §5.4 stop(). The native side has no m-line rejection (port 0),
   * so the transceiver negotiates as inactive and becomes [[Stopped]] when the
   * next negotiation completes.
   */
  stop(): void {
    if (this.#host.closed) throw invalidState('The RTCPeerConnection is closed')
    if (this.#state.stopping) return
    const id = this.#state.id
    callNative(() => {
      this.#host.native.setSenderTrack(id, null)
      this.#host.native.setDirection(id, 'inactive')
    })
    this.#state.stopping = true
    this.#state.direction = 'stopped'
    // "stop receiving": the receiver's track ends, and since the transceiver does not disappear the event fires.
    endTrack(this.#state.receiverTrack, true)
    this.#host.localStateChanged()
  }
}
