/* node-webrtc/wrtc compatible nonstandard.RTCAudioSink: a track's audio delivered to JS as 10 ms PCM frames. */

import { callNative } from '../internal/errors'
import { defineEventHandlerAttributes, type EventHandler } from '../internal/eventHandlers'
import { nativeTrackOf, type MediaStreamTrack } from '../w3c/MediaStreamTrack'
import { NativeAudioSink, type NativeAudioSink as NativeAudioSinkHandle, type NativeFrame } from '../internal/native'
import { RTCAudioDataEvent } from './RTCAudioDataEvent'

export class RTCAudioSink extends EventTarget {
  readonly #native: NativeAudioSinkHandle
  #stopped = false

  constructor(track: MediaStreamTrack) {
    super()
    const nativeTrack = nativeTrackOf(track)
    this.#native = callNative(() => new NativeAudioSink(nativeTrack, (frame) => this.#onFrame(frame)))
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

  #onFrame(frame: NativeFrame): void {
    // Frames already queued by the native side when stop() was called are dropped.
    if (this.#stopped) return
    this.dispatchEvent(new RTCAudioDataEvent(frame))
  }
}

defineEventHandlerAttributes(RTCAudioSink, ['data'])
