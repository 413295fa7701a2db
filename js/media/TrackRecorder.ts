/*
 * Tracks recorded to one file, one channel per track (a call: caller left, agent right), as
 * 48 kHz 16-bit WAV or Ogg/Opus. Native side: src/media/recorder.rs.
 * A channel whose producer pauses, or whose track has ended, records silence, so the file lasts
 * as long as the recording did; a channel's track can be replaced mid-call.
 */

import { callNative, invalidState } from '../internal/errors'
import { nativeTrackOf, type MediaStreamTrack } from '../w3c/MediaStreamTrack'
import { NativeTrackRecorder, type NativeTrackRecorder as NativeTrackRecorderHandle } from '../internal/native'

export type TrackRecorderFormat = 'wav' | 'ogg'

export interface TrackRecorderOptions {
  path: string
  /** Default: 'ogg' (Opus) for a path ending in .ogg, .oga or .opus, else 'wav'. */
  format?: TrackRecorderFormat
}

function formatFor(path: string, format: unknown): TrackRecorderFormat {
  if (format === undefined) return /\.(ogg|oga|opus)$/i.test(path) ? 'ogg' : 'wav'
  if (format !== 'wav' && format !== 'ogg') throw new TypeError("TrackRecorder format must be 'wav' or 'ogg'")
  return format
}

function nativeOrNull(track: MediaStreamTrack | null) {
  if (track === null) return null
  if (track.readyState === 'ended') throw invalidState('Cannot record an ended track')
  return nativeTrackOf(track)
}

export class TrackRecorder {
  readonly #native: NativeTrackRecorderHandle
  readonly #channels: number
  #stopping: Promise<void> | undefined

  /**
   * `tracks`: one track (a mono file) or one entry per channel, `null` for a channel silent
   * until `replaceTrack`. Throws an Error when the file cannot be created. The file is
   * finalized by `stop()`, or once every channel's track has ended.
   */
  constructor(tracks: MediaStreamTrack | ReadonlyArray<MediaStreamTrack | null>, options: TrackRecorderOptions) {
    const list = Array.isArray(tracks) ? [...(tracks as ReadonlyArray<MediaStreamTrack | null>)] : [tracks as MediaStreamTrack]
    if (list.length === 0) throw new TypeError('TrackRecorder needs at least one track')
    const natives = list.map(nativeOrNull)
    const path = options?.path
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('TrackRecorder path must be a non-empty string')
    const format = formatFor(path, options.format)
    this.#native = callNative(() => new NativeTrackRecorder(natives, path, format))
    this.#channels = list.length
  }

  get channelCount(): number {
    return this.#channels
  }

  /** Records `track` (or silence, for null) on `channel` from now on, with no gap. */
  replaceTrack(channel: number, track: MediaStreamTrack | null): void {
    if (!Number.isInteger(channel) || channel < 0 || channel >= this.#channels) throw new TypeError(`channel must be an integer in [0, ${this.#channels})`)
    const native = nativeOrNull(track)
    callNative(() => this.#native.replaceTrack(channel, native))
  }

  /** Resolves once the file is complete (its header written); the same promise on every call. */
  stop(): Promise<void> {
    this.#stopping ??= this.#native.stop()
    return this.#stopping
  }
}
