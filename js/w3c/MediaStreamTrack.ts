/*
 * mediacapture-main §4.3 MediaStreamTrack over a native track. Tracks come
 * from sources and receivers only, so the constructor takes a native handle.
 */

import { callNative } from '../internal/errors'
import { defineEventHandlerAttributes, type EventHandler } from '../internal/eventHandlers'
import type { NativeTrack } from '../internal/native'

export type MediaStreamTrackState = 'live' | 'ended'

export interface MediaStreamTrackOptions {
  label?: string
  muted?: boolean
}

// Module-internal access to private state, assigned in the class's static block.
let nativeOf: (track: MediaStreamTrack) => NativeTrack
let isTrack: (value: unknown) => value is MediaStreamTrack
let endInternal: (track: MediaStreamTrack, fireEvent: boolean) => void
let setMutedInternal: (track: MediaStreamTrack, muted: boolean) => void

export class MediaStreamTrack extends EventTarget {
  readonly #native: NativeTrack
  readonly #id: string
  readonly #kind: string
  readonly #label: string
  #enabled = true
  #muted: boolean
  #readyState: MediaStreamTrackState = 'live'

  /** Not for application use: tracks are obtained from sources and receivers. */
  constructor(nativeTrack: NativeTrack, options: MediaStreamTrackOptions = {}) {
    super()
    this.#native = nativeTrack
    // Cached: these never change and each native getter crosses into Rust.
    this.#id = nativeTrack.id
    this.#kind = nativeTrack.kind
    this.#label = options.label ?? ''
    this.#muted = options.muted ?? false
  }

  get kind(): string {
    return this.#kind
  }

  get id(): string {
    return this.#id
  }

  get label(): string {
    return this.#label
  }

  get enabled(): boolean {
    return this.#enabled
  }

  /** mediacapture-main §4.3.1: a disabled track renders silence; the native side produces it. */
  set enabled(value: boolean) {
    const enabled = Boolean(value)
    if (enabled === this.#enabled) return
    this.#enabled = enabled
    if (this.#readyState === 'live') callNative(() => this.#native.setEnabled(enabled))
  }

  get muted(): boolean {
    return this.#muted
  }

  get readyState(): MediaStreamTrackState {
    return this.#readyState
  }

  /** mediacapture-main §4.3.1 stop(): ends the track without firing 'ended'. */
  stop(): void {
    if (this.#readyState === 'ended') return
    this.#readyState = 'ended'
    callNative(() => this.#native.stop())
  }

  /**
   * mediacapture-main §4.3.1 clone(): an independent track (own enabled and readyState) on
   * the same source. Stopping the clone does not stop the source.
   */
  clone(): MediaStreamTrack {
    const copy = new MediaStreamTrack(callNative(() => this.#native.clone()), { label: this.#label, muted: this.#muted })
    copy.enabled = this.#enabled
    if (this.#readyState === 'ended') copy.stop()
    return copy
  }

  getConstraints(): Record<string, never> {
    return {}
  }

  getSettings(): { deviceId?: string } {
    return {}
  }

  getCapabilities(): Record<string, never> {
    return {}
  }

  /** Native tracks have no adjustable constraints; accepting is what a UA does for unsupported ones. */
  applyConstraints(): Promise<void> {
    return Promise.resolve()
  }

  declare onended: EventHandler
  declare onmute: EventHandler
  declare onunmute: EventHandler

  static {
    nativeOf = (track) => track.#native
    isTrack = (value): value is MediaStreamTrack => typeof value === 'object' && value !== null && #native in value
    endInternal = (track, fireEvent) => {
      if (track.#readyState === 'ended') return
      track.#readyState = 'ended'
      try {
        track.#native.stop()
      } catch {
        // The source is already gone (e.g. its connection closed); the track is ended either way.
      }
      if (fireEvent) track.dispatchEvent(new Event('ended'))
    }
    setMutedInternal = (track, muted) => {
      if (track.#muted === muted || track.#readyState === 'ended') return
      track.#muted = muted
      track.dispatchEvent(new Event(muted ? 'mute' : 'unmute'))
    }
  }
}

/** The native handle behind a track; TypeError for tracks of other implementations. */
export function nativeTrackOf(track: unknown): NativeTrack {
  if (!isTrack(track)) throw new TypeError('Expected a MediaStreamTrack created by gst-peerconnection')
  return nativeOf(track)
}

/** "track ended" by the user agent (source ended, receiver stopped). mediacapture-main §4.3.1.2 */
export function endTrack(track: MediaStreamTrack, fireEvent: boolean): void {
  endInternal(track, fireEvent)
}

/**
 * The receiver's track of a stopped transceiver ends in a queued task, with its event
 * (webrtc-pc §5.4 "stop sending and receiving"): still 'live' when stop() or the
 * setRemoteDescription that stopped it returns.
 */
export function endTrackSoon(track: MediaStreamTrack): void {
  setImmediate(() => endInternal(track, true))
}

/** Sets the muted state, firing 'mute'/'unmute' on change (mediacapture-main §4.3.1.1). */
export function setTrackMuted(track: MediaStreamTrack, muted: boolean): void {
  setMutedInternal(track, muted)
}

defineEventHandlerAttributes(MediaStreamTrack, ['ended', 'mute', 'unmute'])
