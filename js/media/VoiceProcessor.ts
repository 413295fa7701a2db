/*
 * A received track cleaned up for speech recognition: the agent's own voice (`reference`, what
 * is sent to this caller) removed from what the caller's line returns, noise suppressed,
 * optionally gain-controlled, as a new track; `speechstart`/`speechend` from voice activity.
 * WebRTC's AEC3 echo canceller and GStreamer's webrtcdsp; native side: src/media/voice/.
 */

import { callNative } from '../internal/errors'
import { defineEventHandlerAttributes, type EventHandler } from '../internal/eventHandlers'
import { weakCallback } from '../internal/weakCallback'
import { NativeVoiceProcessor, type NativeVoiceEvent, type NativeVoiceProcessor as NativeVoiceProcessorHandle } from '../internal/native'
import { endTrack, MediaStreamTrack, nativeTrackOf } from '../w3c/MediaStreamTrack'
import type { EventInit } from '../w3c/webrtcTypes'

export type NoiseSuppressionLevel = 'low' | 'moderate' | 'high' | 'very-high'

export interface VoiceProcessorOptions {
  /** Remove the echo of `reference` (default: true when a reference is given). */
  echoCancellation?: boolean
  /** true means 'moderate' (default true). */
  noiseSuppression?: boolean | NoiseSuppressionLevel
  /** webrtcdsp's digital gain control (default false: it lifts the caller by ~10 dB). */
  autoGainControl?: boolean
  /** Fire speechstart / speechend (default true). */
  voiceActivity?: boolean
  /** The track sent to this caller (the agent's voice): its echo is removed. */
  reference?: MediaStreamTrack
}

export interface VoiceActivityEventInit extends EventInit {
  timeMs?: number
}

/** 'speechstart' / 'speechend': `timeMs` is where the speech starts or ends, in ms of processed audio since the processor started. */
export class VoiceActivityEvent extends Event {
  readonly timeMs: number

  constructor(type: string, init: VoiceActivityEventInit = {}) {
    super(type, init)
    this.timeMs = init.timeMs ?? 0
  }
}


function flag(value: unknown, name: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be a boolean`)
  return value
}

export class VoiceProcessor extends EventTarget {
  readonly #native: NativeVoiceProcessorHandle
  readonly #track: MediaStreamTrack
  #stopped = false

  constructor(track: MediaStreamTrack, options: VoiceProcessorOptions = {}) {
    super()
    const input = nativeTrackOf(track)
    const reference = options?.reference === undefined ? null : nativeTrackOf(options.reference)
    const echoCancellation = flag(options?.echoCancellation, 'echoCancellation', reference !== null)
    const ns = options?.noiseSuppression ?? true
    let noiseSuppression: string
    if (ns === true) noiseSuppression = 'moderate'
    else if (ns === false) noiseSuppression = 'off'
    // The native side checks the level's name (src/media/voice/mod.rs).
    else if (typeof ns === 'string') noiseSuppression = ns
    else throw new TypeError("noiseSuppression must be a boolean or a level's name")
    const native = {
      echoCancellation,
      noiseSuppression,
      autoGainControl: flag(options?.autoGainControl, 'autoGainControl', false),
      voiceActivity: flag(options?.voiceActivity, 'voiceActivity', true),
    }
    // The native side holds the callback for good: it holds this processor weakly.
    const onEvent = weakCallback(this, VoiceProcessor.#dispatch)
    this.#native = callNative(() => new NativeVoiceProcessor(input, reference, native, onEvent))
    const output = new MediaStreamTrack(callNative(() => this.#native.track()), { label: 'VoiceProcessor' })
    this.#track = output
    // The input ending ends the output natively; its JS track follows (mediacapture-main
    // §4.3.1.2: 'ended' fires). The input may outlive this processor: held weakly too.
    track.addEventListener('ended', weakCallback(output, VoiceProcessor.#inputEnded), { once: true })
  }

  static #dispatch(processor: VoiceProcessor, e: NativeVoiceEvent): void {
    processor.#onEvent(e)
  }

  static #inputEnded(output: MediaStreamTrack): void {
    endTrack(output, true)
  }

  /** The processed audio. */
  get track(): MediaStreamTrack {
    return this.#track
  }

  /** The measured delay from sending the reference to its echo coming back, ms; null until measured. */
  get echoDelayMs(): number | null {
    return callNative(() => this.#native.echoDelayMs) ?? null
  }

  /** Ends the processed track (firing its 'ended') and releases the pipeline. */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    callNative(() => this.#native.stop())
    endTrack(this.#track, true)
  }

  declare onspeechstart: EventHandler<VoiceActivityEvent>
  declare onspeechend: EventHandler<VoiceActivityEvent>

  #onEvent(e: NativeVoiceEvent): void {
    if (this.#stopped) return
    this.dispatchEvent(new VoiceActivityEvent(e.kind, { timeMs: e.timeMs }))
  }
}

defineEventHandlerAttributes(VoiceProcessor, ['speechstart', 'speechend'])
