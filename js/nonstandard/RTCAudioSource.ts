/* node-webrtc/wrtc compatible nonstandard.RTCAudioSource: PCM pushed from JS becomes a track. */

import { callNative } from '../internal/errors'
import { MediaStreamTrack } from '../w3c/MediaStreamTrack'
import { NativeAudioSource, type NativeAudioSource as NativeAudioSourceHandle } from '../internal/native'

export interface RTCAudioData {
  samples: Int16Array
  sampleRate: number
  /** Only 16 is supported (as in wrtc). */
  bitsPerSample?: number
  /** Default 1. */
  channelCount?: number
  /**
   * Default samples.length / channelCount. wrtc accepts only 10 ms frames; any length works
   * here (the samples are pushed into the track at once; for a paced queue see AudioPlayer).
   */
  numberOfFrames?: number
}

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`)
  return value
}

export class RTCAudioSource {
  readonly #native: NativeAudioSourceHandle = callNative(() => new NativeAudioSource())

  /** Each call returns a new MediaStreamTrack over the source's native track. */
  createTrack(): MediaStreamTrack {
    return new MediaStreamTrack(callNative(() => this.#native.track()), { label: 'RTCAudioSource' })
  }

  onData(data: RTCAudioData): void {
    if (typeof data !== 'object' || data === null) throw new TypeError('onData expects an RTCAudioData object')
    const { samples } = data
    if (!(samples instanceof Int16Array)) throw new TypeError('samples must be an Int16Array')
    const sampleRate = positiveInteger(data.sampleRate, 'sampleRate')
    const bitsPerSample = data.bitsPerSample ?? 16
    if (bitsPerSample !== 16) throw new TypeError('bitsPerSample must be 16')
    const channelCount = positiveInteger(data.channelCount ?? 1, 'channelCount')
    if (samples.length === 0 || samples.length % channelCount !== 0) throw new TypeError('samples.length must be a positive multiple of channelCount')
    const numberOfFrames = positiveInteger(data.numberOfFrames ?? samples.length / channelCount, 'numberOfFrames')
    if (samples.length !== numberOfFrames * channelCount) {
      throw new TypeError(`samples.length (${samples.length}) must equal numberOfFrames * channelCount (${numberOfFrames * channelCount})`)
    }
    callNative(() => this.#native.push(samples, sampleRate, channelCount))
  }
}
