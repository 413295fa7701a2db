/*
 * One input of an AudioMixer (native side: src/media/mixer.rs): a track being mixed, with its gain
 * and mute. Obtained from AudioMixer.addInput(); never constructed by applications.
 * Every change (gain, mute, remove) is applied as a linear ramp over one 10 ms frame by the
 * native mixer, so none of them clicks.
 */

import { callNative, invalidState } from '../internal/errors'
import type { MediaStreamTrack } from '../w3c/MediaStreamTrack'
import type { NativeAudioMixer } from '../internal/native'

/** Gain is a linear amplitude factor, as Web Audio's GainNode.gain: 0.5 is −6 dB. */
export const MAX_MIXER_GAIN = 16

export function checkGain(gain: unknown): number {
  if (typeof gain !== 'number' || !Number.isFinite(gain) || gain < 0 || gain > MAX_MIXER_GAIN) {
    throw new TypeError(`gain must be a number in [0, ${MAX_MIXER_GAIN}]`)
  }
  return gain
}

export class MixerInput {
  readonly #native: NativeAudioMixer
  readonly #id: number
  readonly #track: MediaStreamTrack
  readonly #onRemove: (input: MixerInput) => void
  #gain: number
  #muted = false
  #removed = false

  /** Not for application use: see AudioMixer.addInput(). */
  constructor(native: NativeAudioMixer, id: number, track: MediaStreamTrack, gain: number, onRemove: (input: MixerInput) => void) {
    this.#native = native
    this.#id = id
    this.#track = track
    this.#gain = gain
    this.#onRemove = onRemove
  }

  /** The native input id (diagnostics: matches `id` in AudioMixer.inputStats()). */
  get id(): number {
    return this.#id
  }

  get track(): MediaStreamTrack {
    return this.#track
  }

  get gain(): number {
    return this.#gain
  }

  get muted(): boolean {
    return this.#muted
  }

  get removed(): boolean {
    return this.#removed
  }

  /** Linear amplitude factor in [0, 16]; TypeError outside, InvalidStateError once removed. */
  setGain(gain: number): void {
    checkGain(gain)
    this.#checkLive()
    callNative(() => this.#native.setGain(this.#id, gain))
    this.#gain = gain
  }

  setMuted(muted: boolean): void {
    this.#checkLive()
    const value = Boolean(muted)
    callNative(() => this.#native.setMuted(this.#id, value))
    this.#muted = value
  }

  /** Detach the track from the mixer (it fades out over 10 ms). Idempotent. */
  remove(): void {
    if (this.#removed) return
    this.#removed = true
    callNative(() => this.#native.removeInput(this.#id))
    this.#onRemove(this)
  }

  /** Called by AudioMixer.stop(): the native side has already dropped every input. */
  markRemoved(): void {
    this.#removed = true
  }

  #checkLive(): void {
    if (this.#removed) throw invalidState('this mixer input has been removed')
  }
}
