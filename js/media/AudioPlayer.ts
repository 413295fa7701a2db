/*
 * A track played from a native queue of PCM (text-to-speech output, prompts): write chunks of
 * any size, rate and channel count; `clear()` for barge-in; `mark()` to learn when a point of
 * the audio has been sent. The queue lives and plays natively (src/media/audio_player.rs), so
 * a busy JS event loop never leaves a gap: only the events arrive late.
 */

import { callNative, invalidState } from '../internal/errors'
import { defineEventHandlerAttributes, type EventHandler } from '../internal/eventHandlers'
import { weakCallback } from '../internal/weakCallback'
import { NativeAudioPlayer, type NativeAudioPlayer as NativeAudioPlayerHandle, type NativePlayerEvent } from '../internal/native'
import { endTrack, MediaStreamTrack } from '../w3c/MediaStreamTrack'
import type { EventInit } from '../w3c/webrtcTypes'

export interface AudioPlayerOptions {
  /** Queue depth at which `enqueue()` returns false and 'highwater' fires (default 5000 ms). */
  highWaterMs?: number
  /** Queue depth at which 'lowwater' fires after 'highwater' (default 1000 ms). */
  lowWaterMs?: number
}

export interface AudioChunkFormat {
  sampleRate: number
  /** Default 1; samples are interleaved. */
  channelCount?: number
}

export interface AudioPlayerEventInit extends EventInit {
  name?: string
  cleared?: boolean
  playedMs?: number
  queuedMs?: number
}

/** 'mark' (with `name`, `cleared`), 'drain', 'highwater', 'lowwater'. */
export class AudioPlayerEvent extends Event {
  /** The mark's name ('' for other events). */
  readonly name: string
  /** True for a mark dropped by `clear()` before its point was sent. */
  readonly cleared: boolean
  readonly playedMs: number
  readonly queuedMs: number

  constructor(type: string, init: AudioPlayerEventInit = {}) {
    super(type, init)
    this.name = init.name ?? ''
    this.cleared = init.cleared ?? false
    this.playedMs = init.playedMs ?? 0
    this.queuedMs = init.queuedMs ?? 0
  }
}

function nonNegative(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a non-negative number`)
  return value
}

function positiveInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new TypeError(`${name} must be a positive integer`)
  return value
}

export class AudioPlayer extends EventTarget {
  readonly #native: NativeAudioPlayerHandle
  readonly #track: MediaStreamTrack
  #stopped = false

  constructor(options: AudioPlayerOptions = {}) {
    super()
    const highWaterMs = nonNegative(options?.highWaterMs ?? 5000, 'highWaterMs')
    const lowWaterMs = nonNegative(options?.lowWaterMs ?? Math.min(1000, highWaterMs / 2), 'lowWaterMs')
    if (lowWaterMs >= highWaterMs) throw new TypeError('lowWaterMs must be below highWaterMs')
    // The native side holds the callback for good: it holds this player weakly.
    const onEvent = weakCallback(this, AudioPlayer.#dispatch)
    this.#native = callNative(() => new NativeAudioPlayer(highWaterMs, lowWaterMs, onEvent))
    this.#track = new MediaStreamTrack(callNative(() => this.#native.track()), { label: 'AudioPlayer' })
  }

  get track(): MediaStreamTrack {
    return this.#track
  }

  /** Audio queued and not yet sent, ms (48 kHz). */
  get queuedMs(): number {
    return callNative(() => this.#native.queuedMs)
  }

  /** Audio sent since the player started, ms. */
  get playedMs(): number {
    return callNative(() => this.#native.playedMs)
  }

  /**
   * Queue interleaved 16-bit PCM of any length, rate and channel count (converted to 48 kHz
   * mono natively). Returns false once the queue reaches `highWaterMs`: wait for 'lowwater'.
   */
  enqueue(samples: Int16Array, format: AudioChunkFormat): boolean {
    if (this.#stopped) throw invalidState('The AudioPlayer is stopped')
    if (!(samples instanceof Int16Array)) throw new TypeError('samples must be an Int16Array')
    if (typeof format !== 'object' || format === null) throw new TypeError('enqueue expects a format { sampleRate, channelCount }')
    const sampleRate = positiveInteger(format.sampleRate, 'sampleRate')
    const channelCount = positiveInteger(format.channelCount ?? 1, 'channelCount')
    if (samples.length % channelCount !== 0) throw new TypeError('samples.length must be a multiple of channelCount')
    return callNative(() => this.#native.enqueue(samples, sampleRate, channelCount))
  }

  /** Fires 'mark' with this name once everything enqueued before it has been sent. */
  mark(name: string): void {
    if (this.#stopped) throw invalidState('The AudioPlayer is stopped')
    callNative(() => this.#native.mark(String(name)))
  }

  /**
   * Barge-in: drops everything queued; the audio being sent fades out within 10 ms. Pending
   * marks fire at once with `cleared: true`. Returns the ms of audio dropped.
   */
  clear(): number {
    if (this.#stopped) return 0
    return callNative(() => this.#native.clear())
  }

  /** Ends the track (firing its 'ended') and drops the queue. */
  stop(): void {
    if (this.#stopped) return
    this.#stopped = true
    callNative(() => this.#native.stop())
    endTrack(this.#track, true)
  }

  declare onmark: EventHandler<AudioPlayerEvent>
  declare ondrain: EventHandler<AudioPlayerEvent>
  declare onhighwater: EventHandler<AudioPlayerEvent>
  declare onlowwater: EventHandler<AudioPlayerEvent>

  static #dispatch(player: AudioPlayer, e: NativePlayerEvent): void {
    player.#onEvent(e)
  }

  #onEvent(e: NativePlayerEvent): void {
    this.dispatchEvent(new AudioPlayerEvent(e.kind, { name: e.name ?? undefined, cleared: e.cleared, playedMs: e.playedMs, queuedMs: e.queuedMs }))
  }
}

defineEventHandlerAttributes(AudioPlayer, ['mark', 'drain', 'highwater', 'lowwater'])
