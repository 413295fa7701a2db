/* mediacapture-main §4.4 MediaStreamTrackEvent */

import { MediaStreamTrack } from './MediaStreamTrack'
import type { EventInit } from './webrtcTypes'

export interface MediaStreamTrackEventInit extends EventInit {
  track: MediaStreamTrack
}

export class MediaStreamTrackEvent extends Event {
  readonly #track: MediaStreamTrack

  constructor(type: string, eventInitDict: MediaStreamTrackEventInit) {
    super(type, eventInitDict)
    if (!(eventInitDict?.track instanceof MediaStreamTrack)) throw new TypeError('MediaStreamTrackEventInit.track must be a MediaStreamTrack')
    this.#track = eventInitDict.track
  }

  get track(): MediaStreamTrack {
    return this.#track
  }
}
