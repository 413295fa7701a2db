/*
 * Non-standard: a DTMF digit received as RFC 4733 telephone-event, fired as `dtmf` on the
 * RTCRtpReceiver and on the connection (browsers offer no way to receive DTMF; a SIP
 * bridge needs one). Fired once per digit, when the sender ends it.
 */

import type { RTCRtpReceiver } from './RTCRtpReceiver'
import type { EventInit } from './webrtcTypes'

export interface RTCDTMFEventInit extends EventInit {
  tone: string
  /** ms, as the sender reported in the event's final packet (RFC 4733 §2.5.1.3). */
  duration: number
  receiver: RTCRtpReceiver
}

export class RTCDTMFEvent extends Event {
  readonly #tone: string
  readonly #duration: number
  readonly #receiver: RTCRtpReceiver

  constructor(type: string, init: RTCDTMFEventInit) {
    super(type, init)
    if (!init || typeof init.tone !== 'string' || !init.receiver) throw new TypeError('RTCDTMFEventInit requires tone and receiver')
    this.#tone = init.tone
    this.#duration = Number(init.duration) || 0
    this.#receiver = init.receiver
  }

  get tone(): string {
    return this.#tone
  }
  get duration(): number {
    return this.#duration
  }
  get receiver(): RTCRtpReceiver {
    return this.#receiver
  }
}
