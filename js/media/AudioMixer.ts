/*
 * AudioMixer (native side: src/media/mixer.rs, mixer/): tracks in, mixed tracks out. Each output is the full
 * mix or a mix-minus (`exclude`: typically the participant the output is sent back to, so
 * nobody hears themselves). Mixing runs natively every 10 ms on 48 kHz mono audio
 * (src/media/mixer.rs); no audio passes through JavaScript.
 */

import { callNative, invalidState } from '../internal/errors'
import { endTrack, MediaStreamTrack, nativeTrackOf } from '../w3c/MediaStreamTrack'
import { checkGain, MixerInput } from './MixerInput'
import { NativeAudioMixer, type NativeAudioMixer as NativeAudioMixerHandle } from '../internal/native'

export interface MixerInputOptions {
  /** Linear amplitude factor in [0, 16], default 1 (as Web Audio's GainNode.gain). */
  gain?: number
}

export interface MixerTrackOptions {
  /** Inputs left out of this output's mix (mix-minus). Removed inputs are ignored. */
  exclude?: MixerInput[]
}

/** Non-standard diagnostics of one input's FIFO (see src/media/mixer/fifo.rs). */
export interface MixerInputStats {
  id: number
  /** Audio queued now, ms. */
  depthMs: number
  /** Largest queue before a mixing tick since the previous inputStats() call, ms. */
  peakDepthMs: number
  /** False while the input is silent waiting for audio (start, or after an underrun). */
  primed: boolean
  /** Jitter headroom kept above one 10 ms frame, ms: 5 at first, +5 after each underrun (up to 30), −1 per 30 s without one. */
  headroomMs: number
  underruns: number
  /** Bursts beyond 80 ms cut back to the target depth (crossfaded). */
  overflows: number
  /** Net input samples removed by pitch-period removal to follow clock drift (negative: periods inserted). */
  stretchedSamples: number
  /** Audio removed plus audio inserted as whole pitch periods, ms (pitch-preserving: the audio gets shorter or longer, never higher or lower). */
  stretchedMs: number
  /** Output filled in after underruns, ms: the last pitch period continued in phase (fading out after 20 ms, silent after 60 ms) until the input was back and merged in. */
  concealedMs: number
  droppedSamples: number
}

export class AudioMixer {
  readonly #native: NativeAudioMixerHandle = callNative(() => new NativeAudioMixer())
  readonly #inputs = new Set<MixerInput>()
  #outputs: MediaStreamTrack[] = []
  #stopped = false

  get stopped(): boolean {
    return this.#stopped
  }

  /** Non-standard: whether the native 10 ms clock is running (it runs only while there are outputs). */
  get ticking(): boolean {
    return this.#native.ticking
  }

  /** Mix `track` into every output (except those that exclude the returned input). */
  addInput(track: MediaStreamTrack, options: MixerInputOptions = {}): MixerInput {
    const nativeTrack = nativeTrackOf(track)
    const gain = checkGain(options?.gain ?? 1)
    if (this.#stopped) throw invalidState('the AudioMixer is stopped')
    const id = callNative(() => this.#native.addInput(nativeTrack, gain))
    const input = new MixerInput(this.#native, id, track, gain, (removed) => this.#inputs.delete(removed))
    this.#inputs.add(input)
    return input
  }

  /** A new track carrying the mix of every input except `exclude`. */
  createTrack(options: MixerTrackOptions = {}): MediaStreamTrack {
    const exclude = options?.exclude ?? []
    if (!Array.isArray(exclude)) throw new TypeError('exclude must be an array of MixerInput')
    const ids: number[] = []
    for (const input of exclude) {
      if (!(input instanceof MixerInput)) throw new TypeError('exclude must contain only MixerInput objects')
      if (input.removed) continue
      if (!this.#inputs.has(input)) throw new TypeError('exclude contains an input of another AudioMixer')
      ids.push(input.id)
    }
    if (this.#stopped) throw invalidState('the AudioMixer is stopped')
    const track = new MediaStreamTrack(callNative(() => this.#native.createTrack(ids)), {
      label: ids.length ? 'mix-minus' : 'mix',
    })
    this.#outputs = this.#outputs.filter((t) => t.readyState === 'live')
    this.#outputs.push(track)
    return track
  }

  /** Non-standard diagnostics: FIFO depth and drift handling per input. */
  inputStats(): MixerInputStats[] {
    return callNative(() => this.#native.inputStats())
  }

  /** Detach every input and end every output track ('ended' fires on them). Idempotent. */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    callNative(() => this.#native.stop())
    for (const input of this.#inputs) input.markRemoved()
    this.#inputs.clear()
    for (const track of this.#outputs) endTrack(track, true)
    this.#outputs = []
  }
}
