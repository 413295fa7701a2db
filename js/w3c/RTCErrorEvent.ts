/* webrtc-pc §11.2 RTCErrorEvent: an event carrying an RTCError (the DTLS transport's `error`). */

import { RTCError } from './RTCError'
import type { EventInit } from './webrtcTypes'

export interface RTCErrorEventInit extends EventInit {
  error: RTCError
}

export class RTCErrorEvent extends Event {
  readonly #error: RTCError

  constructor(type: string, init: RTCErrorEventInit) {
    super(type, init)
    if (!(init?.error instanceof RTCError)) throw new TypeError('RTCErrorEvent needs an RTCError')
    this.#error = init.error
  }

  get error(): RTCError {
    return this.#error
  }
}
