/* webrtc-pc §5.7 RTCTrackEvent */

import type { MediaStream } from './MediaStream'
import type { MediaStreamTrack } from './MediaStreamTrack'
import type { RTCRtpReceiver } from './RTCRtpReceiver'
import type { RTCRtpTransceiver } from './RTCRtpTransceiver'
import type { EventInit } from './webrtcTypes'

export interface RTCTrackEventInit extends EventInit {
  receiver: RTCRtpReceiver
  track: MediaStreamTrack
  streams?: MediaStream[]
  transceiver: RTCRtpTransceiver
}

export class RTCTrackEvent extends Event {
  readonly #receiver: RTCRtpReceiver
  readonly #track: MediaStreamTrack
  readonly #streams: readonly MediaStream[]
  readonly #transceiver: RTCRtpTransceiver

  constructor(type: string, eventInitDict: RTCTrackEventInit) {
    super(type, eventInitDict)
    const init = eventInitDict
    if (!init || !init.receiver || !init.track || !init.transceiver) {
      throw new TypeError('RTCTrackEventInit requires receiver, track and transceiver')
    }
    this.#receiver = init.receiver
    this.#track = init.track
    // [SameObject] FrozenArray<MediaStream>
    this.#streams = Object.freeze([...(init.streams ?? [])])
    this.#transceiver = init.transceiver
  }

  get receiver(): RTCRtpReceiver {
    return this.#receiver
  }
  get track(): MediaStreamTrack {
    return this.#track
  }
  get streams(): readonly MediaStream[] {
    return this.#streams
  }
  get transceiver(): RTCRtpTransceiver {
    return this.#transceiver
  }
}
