/* webrtc-pc §5.3 RTCRtpReceiver */

import type { MediaStreamTrack } from './MediaStreamTrack'

export class RTCRtpReceiver {
  readonly #track: MediaStreamTrack

  /** Not for application use: receivers are created with their transceiver, and their track with them (webrtc-pc §5.3 "create an RTCRtpReceiver"). */
  constructor(track: MediaStreamTrack) {
    this.#track = track
  }

  get track(): MediaStreamTrack {
    return this.#track
  }

  get transport(): null {
    return null
  }

  getContributingSources(): never[] {
    return []
  }

  getSynchronizationSources(): never[] {
    return []
  }

  getStats(): Promise<Map<string, unknown>> {
    return Promise.resolve(new Map())
  }
}
