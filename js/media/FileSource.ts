/*
 * An audio file (anything GStreamer decodes: WAV, Ogg/Opus, MP3…) played in real time
 * as a track. Native side: src/media/file_source.rs.
 */

import { callNative } from '../internal/errors'
import { endTrack, MediaStreamTrack } from '../w3c/MediaStreamTrack'
import { NativeFileSource, type NativeFileSource as NativeFileSourceHandle } from '../internal/native'

export interface FileSourceOptions {
  /** Start again at the end (default false: the track ends, firing 'ended'). */
  loop?: boolean
}

export class FileSource {
  readonly #native: NativeFileSourceHandle
  readonly #track: MediaStreamTrack

  /** Throws an Error when the file is missing or cannot be decoded. */
  constructor(path: string, options: FileSourceOptions = {}) {
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('FileSource path must be a non-empty string')
    const loop = options?.loop ?? false
    if (typeof loop !== 'boolean') throw new TypeError('loop must be a boolean')
    let track: MediaStreamTrack | undefined
    // mediacapture-main §4.3.1.2: the source ending ends the track and fires 'ended'.
    this.#native = callNative(() => new NativeFileSource(path, loop, () => track && endTrack(track, true)))
    track = new MediaStreamTrack(callNative(() => this.#native.track()), { label: path })
    this.#track = track
    // The file may have ended before `track` existed (a very short file): catch up.
    if (callNative(() => this.#native.track().ended)) queueMicrotask(() => endTrack(this.#track, true))
  }

  get track(): MediaStreamTrack {
    return this.#track
  }

  /** Stops playback; the track ends (firing 'ended'). */
  stop(): void {
    callNative(() => this.#native.stop())
    endTrack(this.#track, true)
  }
}
