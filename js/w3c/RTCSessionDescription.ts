/* webrtc-pc §4.8.1 RTCSessionDescription */

import { SDP_TYPES, toEnum, type RTCSdpType, type RTCSessionDescriptionInit } from './webrtcTypes'

export class RTCSessionDescription {
  readonly #type: RTCSdpType
  readonly #sdp: string

  constructor(descriptionInitDict: RTCSessionDescriptionInit) {
    if (typeof descriptionInitDict !== 'object' || descriptionInitDict === null) {
      throw new TypeError('RTCSessionDescription requires an RTCSessionDescriptionInit')
    }
    // `type` is a required dictionary member.
    if (descriptionInitDict.type === undefined) throw new TypeError("RTCSessionDescriptionInit.type is required")
    this.#type = toEnum(SDP_TYPES, descriptionInitDict.type, 'RTCSdpType')
    this.#sdp = descriptionInitDict.sdp === undefined ? '' : String(descriptionInitDict.sdp)
  }

  get type(): RTCSdpType {
    return this.#type
  }

  get sdp(): string {
    return this.#sdp
  }

  toJSON(): RTCSessionDescriptionInit {
    return { type: this.#type, sdp: this.#sdp }
  }
}
