/*
 * webrtc-pc §4.4.1.5 remote-track processing: which receivers start or stop receiving when a
 * description is applied, the MediaStreams their tracks belong to (one per remote msid,
 * shared across transceivers), and the track events that result.
 */

import { randomUUID } from 'node:crypto'
import { hasRecv, hasSend } from './direction'
import { addTrackByUserAgent, createRemoteStream, type MediaStream, removeTrackByUserAgent } from '../w3c/MediaStream'
import { setTrackMuted } from '../w3c/MediaStreamTrack'
import type { RTCTrackEventInit } from '../w3c/RTCTrackEvent'
import type { ParsedSdp, SdpMediaSection } from './sdp'
import type { TransceiverRegistry } from './TransceiverRegistry'
import type { TransceiverState } from './TransceiverState'
import type { RTCSdpType } from '../w3c/webrtcTypes'

export class RemoteTracks {
  readonly #registry: TransceiverRegistry
  /** [[AssociatedRemoteMediaStreams]] by msid, shared across transceivers. */
  readonly #streams = new Map<string, MediaStream>()
  /** Each receiver as it was when the pending offer was applied: what a rollback restores. */
  readonly #beforeOffer = new Map<TransceiverState, { firedRecv: boolean; streams: MediaStream[] }>()

  constructor(registry: TransceiverRegistry) {
    this.#registry = registry
  }

  /**
   * A remote offer or answer: a track event (returned, to be fired after signalingstatechange)
   * for each receiver that starts receiving, removal for each that stops; a rejected m-line
   * stops its transceiver (webrtc-pc §4.4.1.5).
   */
  applyRemote(parsed: ParsedSdp, type: RTCSdpType): RTCTrackEventInit[] {
    const trackEvents: RTCTrackEventInit[] = []
    for (const section of parsed.media) {
      const entry = this.#registry.forSection(section)
      if (!entry || entry.state.stopped) continue
      const s = entry.state
      if (section.rejected) {
        this.remove(s)
        this.#registry.stop(s)
        continue
      }
      // The remote sends ⇔ the direction from our point of view includes recv.
      const receiving = section.port !== 0 && hasSend(section.direction)
      if (!receiving) {
        this.remove(s)
        continue
      }
      const streams = this.#streamsFor(section, s)
      this.#setAssociated(s, streams)
      if (!s.firedRecv) {
        s.firedRecv = true
        // Muted until media arrives (mediaArrived); a stream that was removed unmutes with
        // its next packet.
        if (s.receiving) this.#registry.expectMedia(s)
        trackEvents.push({ track: s.receiverTrack, receiver: entry.transceiver.receiver, transceiver: entry.transceiver, streams })
      }
    }
    return trackEvents
  }

  /** An offer (ours or theirs) leaves stable: remember each receiver for a rollback. */
  offerStarted(): void {
    this.#beforeOffer.clear()
    for (const { state } of this.#registry.entries) {
      this.#beforeOffer.set(state, { firedRecv: state.firedRecv, streams: [...state.remoteStreams] })
    }
  }

  /**
   * webrtc-pc §4.4.1.5 rollback: [[FiredDirection]] and the associated remote streams go back
   * to what they were before the offer, so a track the offer added is removed (removetrack,
   * mute) and applying the offer again fires its track event again. Call it before the
   * transceivers the offer created are dropped.
   */
  rolledBack(): void {
    for (const { state } of this.#registry.entries) {
      const before = this.#beforeOffer.get(state)
      if (before === undefined || !before.firedRecv) {
        this.remove(state)
        continue
      }
      this.#setAssociated(state, before.streams)
      if (!state.firedRecv) {
        state.firedRecv = true
        if (state.receiving) this.#registry.expectMedia(state)
      }
    }
    this.#beforeOffer.clear()
  }

  /** Our own answer can stop reception too (webrtc-pc §4.4.1.5, local answer). */
  applyLocalAnswer(parsed: ParsedSdp): void {
    for (const section of parsed.media) {
      const entry = this.#registry.forSection(section)
      if (!entry || entry.state.stopped) continue
      if (section.rejected || !hasRecv(section.direction)) this.remove(entry.state)
      if (section.rejected) this.#registry.stop(entry.state)
    }
  }

  /** The first packet of a transceiver's receive stream arrived (webrtc-pc §5.3.1: unmute). */
  mediaArrived(s: TransceiverState): void {
    s.receiving = true
    if (s.firedRecv) setTrackMuted(s.receiverTrack, false)
  }

  /** webrtc-pc §4.4.1.5 "process the removal of a remote track". */
  remove(s: TransceiverState): void {
    if (!s.firedRecv) return
    s.firedRecv = false
    this.#setAssociated(s, [])
    setTrackMuted(s.receiverTrack, true)
  }

  /** A per-transceiver default stream when the m-section has no msid at all (RFC 9429 §5.10). */
  #streamsFor(section: SdpMediaSection, s: TransceiverState): MediaStream[] {
    if (section.msidStreamIds === null) {
      s.defaultStream ??= createRemoteStream(randomUUID())
      return [s.defaultStream]
    }
    return section.msidStreamIds.map((id) => {
      let stream = this.#streams.get(id)
      if (!stream) {
        stream = createRemoteStream(id)
        this.#streams.set(id, stream)
      }
      return stream
    })
  }

  /** webrtc-pc §4.4.1.5 "set the associated remote streams". */
  #setAssociated(s: TransceiverState, streams: MediaStream[]): void {
    for (const old of s.remoteStreams) if (!streams.includes(old)) removeTrackByUserAgent(old, s.receiverTrack)
    for (const stream of streams) if (!s.remoteStreams.includes(stream)) addTrackByUserAgent(stream, s.receiverTrack)
    s.remoteStreams = streams
  }
}
