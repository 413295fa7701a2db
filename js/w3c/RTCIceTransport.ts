/*
 * webrtc-pc §5.6 RTCIceTransport: the one ICE transport of a connection (everything is
 * bundled on one webrtcbin stream). Its states are the connection's own (TransportStates,
 * the one copy); the connection fires `statechange` and `gatheringstatechange` here just
 * before its own iceconnectionstatechange and icegatheringstatechange (webrtc-pc §5.6).
 */

import { defineEventHandlerAttributes, type EventHandler } from '../internal/eventHandlers'
import type { TransportStates } from '../internal/nativeEvents'
import type { RTCIceGatheringState } from './webrtcTypes'

export type RTCIceRole = 'unknown' | 'controlling' | 'controlled'
export type RTCIceTransportState = 'new' | 'checking' | 'connected' | 'completed' | 'disconnected' | 'failed' | 'closed'

export class RTCIceTransport extends EventTarget {
  readonly #states: TransportStates
  readonly #role: () => RTCIceRole

  /** Not for application use: made by RTCPeerConnection. */
  constructor(states: TransportStates, role: () => RTCIceRole) {
    super()
    this.#states = states
    this.#role = role
  }

  get role(): RTCIceRole {
    return this.#role()
  }

  /** RTCP is multiplexed (rtcp-mux-only): there is only the RTP component. */
  get component(): 'rtp' {
    return 'rtp'
  }

  get state(): RTCIceTransportState {
    return this.#states.iceConnectionState
  }

  get gatheringState(): RTCIceGatheringState {
    return this.#states.iceGatheringState
  }

  /** The selected pair is reported by getStats() (candidate-pair, nominated). */
  getSelectedCandidatePair(): null {
    return null
  }

  declare onstatechange: EventHandler<Event>
  declare ongatheringstatechange: EventHandler<Event>
  declare onselectedcandidatepairchange: EventHandler<Event>
}

defineEventHandlerAttributes(RTCIceTransport, ['statechange', 'gatheringstatechange', 'selectedcandidatepairchange'])
