/*
 * A track recorded to a WAV file, 48 kHz mono 16-bit (native side: src/media/recorder.rs).
 * Pauses of the producer are recorded as silence, so the file lasts as long as the
 * recording did. Native side: src/media/recorder.rs.
 */

import { callNative, invalidState } from '../internal/errors'
import { nativeTrackOf, type MediaStreamTrack } from '../w3c/MediaStreamTrack'
import { NativeTrackRecorder, type NativeTrackRecorder as NativeTrackRecorderHandle } from '../internal/native'

export interface TrackRecorderOptions {
  path: string
}

export class TrackRecorder {
  readonly #native: NativeTrackRecorderHandle
  #stopping: Promise<void> | undefined

  /** Throws an Error when the file cannot be created. The track ending finalizes the file. */
  constructor(track: MediaStreamTrack, options: TrackRecorderOptions) {
    const nativeTrack = nativeTrackOf(track)
    if (track.readyState === 'ended') throw invalidState('Cannot record an ended track')
    const path = options?.path
    if (typeof path !== 'string' || path.length === 0) throw new TypeError('TrackRecorder path must be a non-empty string')
    this.#native = callNative(() => new NativeTrackRecorder(nativeTrack, path))
  }

  /** Resolves once the WAV file is complete (its header written); the same promise on every call. */
  stop(): Promise<void> {
    this.#stopping ??= this.#native.stop()
    return this.#stopping
  }
}
