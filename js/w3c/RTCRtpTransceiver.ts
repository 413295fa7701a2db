/* webrtc-pc §5.4 RTCRtpTransceiver */

import type { ConnectionHost } from '../internal/ConnectionHost'
import { callNative, invalidModification, invalidState } from '../internal/errors'
import { capabilities, codecsMatch, toNativeCodec } from '../internal/rtpParameters'
import type { RTCRtpReceiver } from './RTCRtpReceiver'
import type { RTCRtpSender } from './RTCRtpSender'
import type { TransceiverState } from '../internal/TransceiverState'
import { TRANSCEIVER_DIRECTIONS, toEnum, type RTCRtpCodec, type RTCRtpTransceiverDirection } from './webrtcTypes'

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

  /** The former webrtc-pc `stopped` attribute ([[Stopped]]), kept for code and tests that read it. */
  get stopped(): boolean {
    return this.#state.stopped
  }

  /**
   * webrtc-pc §5.4.1 setCodecPreferences(): the codecs, in order, of our next offer or answer
   * on this transceiver; each must match one of RTCRtpReceiver.getCapabilities(kind)
   * (InvalidModificationError otherwise); an empty list restores the default. In an answer
   * the offerer's order is kept (webrtcbin 1.22 intersects with the offer). Once a codec is
   * sending, webrtcbin 1.22 offers only that one (it intersects the preferences with what
   * the linked encoder produces), so a choice made mid-call narrows but cannot switch.
   */
  setCodecPreferences(codecs: RTCRtpCodec[]): void {
    if (!Array.isArray(codecs)) throw new TypeError('setCodecPreferences expects a sequence of RTCRtpCodec')
    const known = capabilities(this.#state.kind)?.codecs ?? []
    const unique: RTCRtpCodec[] = []
    for (const codec of codecs) {
      if (codec === null || typeof codec !== 'object') throw new TypeError('setCodecPreferences expects RTCRtpCodec dictionaries')
      if (unique.some((u) => codecsMatch(u, codec))) continue
      if (!known.some((k) => codecsMatch(k, codec))) throw invalidModification(`${codec.mimeType} is not one of the receiver's capabilities`)
      unique.push(codec)
    }
    if (this.#host.closed) return
    callNative(() => this.#host.native.setCodecPreferences(this.#state.id, unique.map(toNativeCodec)))
    this.#state.codecPreferences = unique
  }

  /**
   * webrtc-pc §5.4 stop(): [[Stopping]] at once (nothing sent or received, the receiver's
   * track ends in a queued task); an answer has it inactive, the next offer rejects the
   * m-section (port 0), and the answer to that offer makes it [[Stopped]] and removes it.
   */
  stop(): void {
    if (this.#host.closed) throw invalidState('The RTCPeerConnection is closed')
    if (this.#state.stopping) return
    this.#host.stopTransceiver(this.#state)
    this.#host.localStateChanged()
  }
}
