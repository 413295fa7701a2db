/*
 * A connection's transceivers in creation order (webrtc-pc §4.4.1 [[Transceivers]]), each
 * with its internal slots and its W3C objects. The native registry is the authority on which
 * transceivers exist and on their m-line, mid and directions; `reconcile` mirrors it after
 * every applied description. What only JS knows (tracks, streams, stopping/stopped, fired
 * direction) lives in the TransceiverState.
 */

import type { ConnectionHost } from './ConnectionHost'
import { hasSend } from './direction'
import { callNative } from './errors'
import { MediaStreamTrack, endTrackSoon } from '../w3c/MediaStreamTrack'
import type { NativeTransceiver } from './native'
import { RTCRtpReceiver } from '../w3c/RTCRtpReceiver'
import { RTCRtpSender } from '../w3c/RTCRtpSender'
import { RTCRtpTransceiver } from '../w3c/RTCRtpTransceiver'
import type { SdpMediaSection } from './sdp'
import type { TransceiverState } from './TransceiverState'
import { TRANSCEIVER_DIRECTIONS, toEnum, type RTCRtpTransceiverDirection } from '../w3c/webrtcTypes'

export interface TransceiverEntry {
  state: TransceiverState
  transceiver: RTCRtpTransceiver
}

export class TransceiverRegistry {
  readonly #host: ConnectionHost
  #entries: TransceiverEntry[] = []
  readonly #byId = new Map<number, TransceiverEntry>()

  constructor(host: ConnectionHost) {
    this.#host = host
  }

  /** In creation order, including transceivers no longer in [[Transceivers]] (`removed`). */
  get entries(): readonly TransceiverEntry[] {
    return this.#entries
  }

  /**
   * webrtc-pc §5.4 "stop sending and receiving" (disappear false): native sends and receives
   * nothing more, the direction reads 'stopped' ([[Stopping]]), the receiver's track ends
   * in a queued task.
   */
  stopSendingAndReceiving(s: TransceiverState): void {
    if (s.stopping) return
    if (!this.#host.closed) {
      callNative(() => {
        this.#host.native.setSenderTrack(s.id, null)
        this.#host.native.setDirection(s.id, 'inactive')
      })
    }
    s.stopping = true
    s.direction = 'stopped'
    endTrackSoon(s.receiverTrack)
  }

  /** The receive stream's next packet unmutes the track again (RemoteTracks.mediaArrived). */
  expectMedia(s: TransceiverState): void {
    s.receiving = false
    if (!this.#host.closed) callNative(() => this.#host.native.expectMedia(s.id))
  }

  /** webrtc-pc §5.4 "stop the RTCRtpTransceiver": a rejected m-section or a completed stop. */
  stop(s: TransceiverState): void {
    if (s.stopped) return
    this.stopSendingAndReceiving(s)
    s.stopped = true
    s.currentDirection = 'stopped'
  }

  /**
   * webrtc-pc §4.4.1.5 (answer applied): stopped transceivers leave [[Transceivers]] and their
   * m-section (JSEP §5.10: a rejected m-section has no transceiver associated).
   */
  removeStopped(): void {
    for (const { state } of this.#entries) {
      if (!state.stopped || state.removed) continue
      state.removed = true
      state.mid = null
      state.mlineIndex = null
    }
  }

  byId(id: number): TransceiverEntry | undefined {
    return this.#byId.get(id)
  }

  /** The transceiver of an m-section: by mid, else by m-line index. */
  forSection(section: SdpMediaSection): TransceiverEntry | undefined {
    return (
      (section.mid !== null ? this.#entries.find((e) => e.state.mid === section.mid) : undefined) ??
      this.#entries.find((e) => e.state.mlineIndex === section.index)
    )
  }

  /** The W3C objects over a transceiver the native side has just made. */
  create(id: number, kind: string, direction: RTCRtpTransceiverDirection): TransceiverEntry {
    // webrtc-pc §5.3.1: the receiver's track starts muted; media arriving unmutes it.
    const receiverTrack = new MediaStreamTrack(callNative(() => this.#host.native.receiverTrack(id)), { label: `remote ${kind}`, muted: true })
    const state: TransceiverState = {
      id,
      kind,
      mid: null,
      mlineIndex: null,
      direction,
      currentDirection: null,
      stopping: false,
      stopped: false,
      removed: false,
      everSent: false,
      senderTrack: null,
      senderStreamIds: [],
      msidTrackId: null,
      codecPreferences: [],
      sendEncodings: [{ active: true }],
      lastReturnedParameters: null,
      receiverTrack,
      firedRecv: false,
      receiving: false,
      remoteStreams: [],
      defaultStream: null,
    }
    const sender = new RTCRtpSender(this.#host, state)
    const receiver = new RTCRtpReceiver(receiverTrack, this.#host, state)
    const entry: TransceiverEntry = { state, transceiver: new RTCRtpTransceiver(this.#host, state, sender, receiver) }
    this.#entries.push(entry)
    this.#byId.set(id, entry)
    return entry
  }

  /**
   * Mirrors the native registry after a description was applied: adopts the transceivers
   * native made for a remote offer (recvonly there, webrtc-pc §4.4.1.6), copies m-line, mid
   * and currentDirection, and drops those a rollback removed: they are stopped, their
   * tracks end in a queued task (webrtc-pc §4.4.1.5 rollback), and they are returned for
   * the caller to process the removal of their remote tracks.
   */
  reconcile(natives: readonly NativeTransceiver[]): TransceiverState[] {
    const present = new Set<number>()
    for (const nt of natives) {
      present.add(nt.id)
      const entry = this.#byId.get(nt.id) ?? this.create(nt.id, nt.kind, toEnum(TRANSCEIVER_DIRECTIONS, nt.direction, 'RTCRtpTransceiverDirection'))
      const s = entry.state
      if (s.removed) continue // webrtcbin 1.22 keeps it; for the application it is gone
      s.mid = nt.mid ?? null
      s.mlineIndex = nt.mlineIndex ?? null
      if (!s.stopped) {
        s.currentDirection = nt.currentDirection === undefined ? null : toEnum(TRANSCEIVER_DIRECTIONS, nt.currentDirection, 'RTCRtpTransceiverDirection')
        if (hasSend(s.currentDirection)) s.everSent = true
      }
    }
    const gone = this.#entries.filter((e) => !present.has(e.state.id))
    if (gone.length === 0) return []
    for (const { state } of gone) {
      this.#byId.delete(state.id)
      Object.assign(state, { stopping: true, stopped: true, removed: true, direction: 'stopped', currentDirection: 'stopped', mid: null, mlineIndex: null })
      endTrackSoon(state.receiverTrack)
    }
    this.#entries = this.#entries.filter((e) => present.has(e.state.id))
    return gone.map((e) => e.state)
  }
}
