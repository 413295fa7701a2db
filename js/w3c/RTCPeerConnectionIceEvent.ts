/* webrtc-pc §4.8.3 RTCPeerConnectionIceEvent */

import type { RTCIceCandidate } from './RTCIceCandidate'
import type { EventInit } from './webrtcTypes'

export interface RTCPeerConnectionIceEventInit extends EventInit {
  candidate?: RTCIceCandidate | null
  url?: string | null
}

export class RTCPeerConnectionIceEvent extends Event {
  readonly #candidate: RTCIceCandidate | null
  readonly #url: string | null

  constructor(type: string, eventInitDict: RTCPeerConnectionIceEventInit = {}) {
    super(type, eventInitDict)
    this.#candidate = eventInitDict.candidate ?? null
    this.#url = eventInitDict.url ?? null
  }

  /** null signals the end of gathering. */
  get candidate(): RTCIceCandidate | null {
    return this.#candidate
  }

  get url(): string | null {
    return this.#url
  }
}
