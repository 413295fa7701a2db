/* mediacapture-main §4.2 MediaStream */

import { randomUUID } from 'node:crypto'
import { defineEventHandlerAttributes, type EventHandler } from '../internal/eventHandlers'
import { MediaStreamTrack } from './MediaStreamTrack'
import { MediaStreamTrackEvent } from './MediaStreamTrackEvent'

let createWithId: (id: string) => MediaStream

export class MediaStream extends EventTarget {
  #id: string
  // A Set keeps insertion order, which getTracks() exposes.
  readonly #tracks = new Set<MediaStreamTrack>()

  constructor(streamOrTracks?: MediaStream | readonly MediaStreamTrack[]) {
    super()
    this.#id = randomUUID()
    if (streamOrTracks === undefined) return
    const tracks = streamOrTracks instanceof MediaStream ? streamOrTracks.getTracks() : streamOrTracks
    if (!Array.isArray(tracks)) {
      throw new TypeError('MediaStream expects a MediaStream or a sequence of MediaStreamTrack')
    }
    for (const t of tracks) {
      if (!(t instanceof MediaStreamTrack)) throw new TypeError('MediaStream expects MediaStreamTrack objects')
      this.#tracks.add(t)
    }
  }

  get id(): string {
    return this.#id
  }

  get active(): boolean {
    for (const t of this.#tracks) if (t.readyState === 'live') return true
    return false
  }

  getTracks(): MediaStreamTrack[] {
    return [...this.#tracks]
  }

  getAudioTracks(): MediaStreamTrack[] {
    return this.getTracks().filter((t) => t.kind === 'audio')
  }

  getVideoTracks(): MediaStreamTrack[] {
    return this.getTracks().filter((t) => t.kind === 'video')
  }

  getTrackById(trackId: string): MediaStreamTrack | null {
    for (const t of this.#tracks) if (t.id === trackId) return t
    return null
  }

  /** Script-initiated changes do not fire addtrack/removetrack (mediacapture-main §4.2.1). */
  addTrack(track: MediaStreamTrack): void {
    if (!(track instanceof MediaStreamTrack)) throw new TypeError('addTrack expects a MediaStreamTrack')
    this.#tracks.add(track)
  }

  removeTrack(track: MediaStreamTrack): void {
    if (!(track instanceof MediaStreamTrack)) throw new TypeError('removeTrack expects a MediaStreamTrack')
    this.#tracks.delete(track)
  }

  declare onaddtrack: EventHandler<MediaStreamTrackEvent>
  declare onremovetrack: EventHandler<MediaStreamTrackEvent>

  static {
    createWithId = (id) => {
      const s = new MediaStream()
      s.#id = id
      return s
    }
  }
}

/** A stream whose id comes from the remote description's msid (webrtc-pc §4.4.1.5 "set the associated remote streams"). */
export function createRemoteStream(id: string): MediaStream {
  return createWithId(id)
}

/** User-agent-initiated addition: fires 'addtrack' (mediacapture-main §4.2.1 "add a track"). */
export function addTrackByUserAgent(stream: MediaStream, track: MediaStreamTrack): void {
  if (stream.getTrackById(track.id) === track) return
  stream.addTrack(track)
  stream.dispatchEvent(new MediaStreamTrackEvent('addtrack', { track }))
}

/** User-agent-initiated removal: fires 'removetrack'. */
export function removeTrackByUserAgent(stream: MediaStream, track: MediaStreamTrack): void {
  if (!stream.getTracks().includes(track)) return
  stream.removeTrack(track)
  stream.dispatchEvent(new MediaStreamTrackEvent('removetrack', { track }))
}

defineEventHandlerAttributes(MediaStream, ['addtrack', 'removetrack'])
