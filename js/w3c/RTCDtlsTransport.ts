/*
 * webrtc-pc §5.5 RTCDtlsTransport: the one DTLS transport of a connection, shared by every
 * sender and receiver (BUNDLE). webrtcbin 1.22 reports DTLS only through the connection
 * state it combines with ICE, so this state is read from that one (webrtc-pc §4.3.3's table
 * read backwards): `connecting` until the handshake is done, `connected` after it — also
 * while ICE is disconnected, as DTLS does not notice — then `failed` or `closed`.
 */

import { defineEventHandlerAttributes, type EventHandler } from '../internal/eventHandlers'
import type { TransportStates } from '../internal/nativeEvents'
import type { RTCIceTransport } from './RTCIceTransport'

export type RTCDtlsTransportState = 'new' | 'connecting' | 'connected' | 'closed' | 'failed'

export class RTCDtlsTransport extends EventTarget {
  readonly #states: TransportStates
  readonly #iceTransport: RTCIceTransport

  /** Not for application use: made by RTCPeerConnection. */
  constructor(states: TransportStates, iceTransport: RTCIceTransport) {
    super()
    this.#states = states
    this.#iceTransport = iceTransport
  }

  get iceTransport(): RTCIceTransport {
    return this.#iceTransport
  }

  get state(): RTCDtlsTransportState {
    return dtlsStateOf(this.#states.connectionState)
  }

  /** Empty: the peer's certificate is checked natively against the SDP fingerprint (src/workarounds/fingerprint.rs), not handed to JS. */
  getRemoteCertificates(): ArrayBuffer[] {
    return []
  }

  declare onstatechange: EventHandler<Event>
  declare onerror: EventHandler<Event>
}

export function dtlsStateOf(connection: TransportStates['connectionState']): RTCDtlsTransportState {
  switch (connection) {
    case 'disconnected':
      return 'connected'
    case 'connected':
    case 'connecting':
    case 'failed':
    case 'closed':
    case 'new':
      return connection
  }
}

defineEventHandlerAttributes(RTCDtlsTransport, ['statechange', 'error'])
