/* A native sine-tone source (native side: src/media/tone.rs): handy for tests and demos. */

import { callNative } from '../internal/errors'
import { endTrack, MediaStreamTrack } from '../w3c/MediaStreamTrack'
import { NativeToneSource, type NativeToneSource as NativeToneSourceHandle } from '../internal/native'

export interface ToneSourceOptions {
  /** Hz */
  frequency: number
  /** 0..1, default 0.5 */
  amplitude?: number
}

export class ToneSource {
  readonly #native: NativeToneSourceHandle
  readonly #track: MediaStreamTrack

  constructor(options: ToneSourceOptions) {
    const { frequency, amplitude = 0.5 } = options ?? ({} as ToneSourceOptions)
    if (typeof frequency !== 'number' || !Number.isFinite(frequency) || frequency <= 0) {
      throw new TypeError('ToneSource frequency must be a positive number of Hz')
    }
    if (typeof amplitude !== 'number' || !(amplitude >= 0 && amplitude <= 1)) {
      throw new TypeError('ToneSource amplitude must be a number in [0, 1]')
    }
    this.#native = callNative(() => new NativeToneSource(frequency, amplitude))
    this.#track = new MediaStreamTrack(callNative(() => this.#native.track()), { label: `tone ${frequency} Hz` })
  }

  get track(): MediaStreamTrack {
    return this.#track
  }

  /** Stopping the source ends its track, which (unlike track.stop()) fires 'ended'. */
  stop(): void {
    callNative(() => this.#native.stop())
    endTrack(this.#track, true)
  }
}
