/* webrtc-pc §7.3 RTCDTMFToneChangeEvent */

import type { EventInit } from './webrtcTypes'

export interface RTCDTMFToneChangeEventInit extends EventInit {
  tone?: string
}

export class RTCDTMFToneChangeEvent extends Event {
  readonly #tone: string

  constructor(type: string, eventInitDict: RTCDTMFToneChangeEventInit = {}) {
    super(type, eventInitDict)
    this.#tone = String(eventInitDict?.tone ?? '')
  }

  /** The tone that starts playing, ',' for a pause, or '' once the tone buffer is empty. */
  get tone(): string {
    return this.#tone
  }
}
