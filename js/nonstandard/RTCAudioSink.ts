/* node-webrtc/wrtc compatible nonstandard.RTCAudioSink: a track's audio delivered to JS as 10 ms PCM frames. */

import { callNative } from '../internal/errors'
import { defineEventHandlerAttributes, type EventHandler } from '../internal/eventHandlers'
import { nativeTrackOf, type MediaStreamTrack } from '../w3c/MediaStreamTrack'
import { NativeAudioSink, type NativeAudioSink as NativeAudioSinkHandle } from '../internal/native'
import { RTCAudioDataEvent } from './RTCAudioDataEvent'

export class RTCAudioSink extends EventTarget {
  readonly #native: NativeAudioSinkHandle
  #stopped = false

  constructor(track: MediaStreamTrack) {
    super()
    const nativeTrack = nativeTrackOf(track)
    this.#native = callNative(
      () =>
        new NativeAudioSink(nativeTrack, (samples, sampleRate, channelCount, numberOfFrames) =>
          this.#onFrames(samples, sampleRate, channelCount, numberOfFrames),
        ),
    )
  }

  get stopped(): boolean {
    return this.#stopped
  }

  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    callNative(() => this.#native.stop())
  }

  declare ondata: EventHandler<RTCAudioDataEvent>

  // The native side hands over every whole 10 ms frame of a buffer at once (`samples`, each
  // frame `numberOfFrames` × `channelCount` long); each is its own event with its own copy of
  // the samples. Frames still queued when stop() was called (also by a listener of an earlier
  // frame) are dropped.
  #onFrames(samples: Int16Array, sampleRate: number, channelCount: number, numberOfFrames: number): void {
    const frameLength = numberOfFrames * channelCount
    for (let at = 0; at < samples.length && !this.#stopped; at += frameLength) {
      // A crossing of one frame is that frame's own copy already.
      const frame = samples.length === frameLength ? samples : samples.slice(at, at + frameLength)
      this.dispatchEvent(new RTCAudioDataEvent({ samples: frame, sampleRate, channelCount, numberOfFrames }))
    }
  }
}

defineEventHandlerAttributes(RTCAudioSink, ['data'])
