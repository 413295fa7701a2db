/*
 * What senders and transceivers need from their RTCPeerConnection, without
 * depending on its class (and without exposing its internals publicly).
 */

import type { MediaSession } from './MediaSession'
import type { TransceiverState } from './TransceiverState'
import type { RTCDtlsTransport } from '../w3c/RTCDtlsTransport'
import type { RTCStatsReport, StatsSelector } from '../w3c/RTCStatsReport'

export interface ConnectionHost {
  /** [[IsClosed]] */
  readonly closed: boolean
  readonly native: MediaSession
  /** webrtc-pc §4.4.1.2 "chain an operation". */
  chain<T>(operation: () => Promise<T>): Promise<T>
  /**
   * A script-visible change that can require negotiation (webrtc-pc §4.7.3
   * "update the negotiation-needed flag"); also invalidates the last created offer/answer.
   */
  localStateChanged(): void
  /** webrtc-pc §5.4 stop(): "stop sending and receiving" on a transceiver of this connection. */
  stopTransceiver(state: TransceiverState): void
  /** getStats() restricted to one sender's or receiver's RTP streams (webrtc-pc §8.5). */
  stats(select: StatsSelector): Promise<RTCStatsReport>
  /** The connection's one DTLS transport (BUNDLE), for senders and receivers. */
  readonly transport: RTCDtlsTransport
}
