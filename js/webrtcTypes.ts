/*
 * WebIDL enums and dictionaries of webrtc-pc used across the interfaces, plus
 * the enum conversion WebIDL performs (TypeError on a value outside the enum).
 * Declared here rather than taken from lib.dom so that Node users need no DOM lib.
 */

import type { MediaStream } from './MediaStream'

export const SDP_TYPES = ['offer', 'pranswer', 'answer', 'rollback'] as const
export type RTCSdpType = (typeof SDP_TYPES)[number]

export type RTCSignalingState =
  | 'stable'
  | 'have-local-offer'
  | 'have-remote-offer'
  | 'have-local-pranswer'
  | 'have-remote-pranswer'
  | 'closed'
export const SIGNALING_STATES: readonly RTCSignalingState[] = [
  'stable',
  'have-local-offer',
  'have-remote-offer',
  'have-local-pranswer',
  'have-remote-pranswer',
  'closed',
]

export type RTCIceGatheringState = 'new' | 'gathering' | 'complete'
export const ICE_GATHERING_STATES: readonly RTCIceGatheringState[] = ['new', 'gathering', 'complete']

export type RTCIceConnectionState = 'new' | 'checking' | 'connected' | 'completed' | 'failed' | 'disconnected' | 'closed'
export const ICE_CONNECTION_STATES: readonly RTCIceConnectionState[] = [
  'new',
  'checking',
  'connected',
  'completed',
  'failed',
  'disconnected',
  'closed',
]

export type RTCPeerConnectionState = 'new' | 'connecting' | 'connected' | 'disconnected' | 'failed' | 'closed'
export const PEER_CONNECTION_STATES: readonly RTCPeerConnectionState[] = [
  'new',
  'connecting',
  'connected',
  'disconnected',
  'failed',
  'closed',
]

export const TRANSCEIVER_DIRECTIONS = ['sendrecv', 'sendonly', 'recvonly', 'inactive', 'stopped'] as const
export type RTCRtpTransceiverDirection = (typeof TRANSCEIVER_DIRECTIONS)[number]

export const BUNDLE_POLICIES = ['balanced', 'max-compat', 'max-bundle'] as const
export type RTCBundlePolicy = (typeof BUNDLE_POLICIES)[number]

export const ICE_TRANSPORT_POLICIES = ['all', 'relay'] as const
export type RTCIceTransportPolicy = (typeof ICE_TRANSPORT_POLICIES)[number]

export const RTCP_MUX_POLICIES = ['require'] as const
export type RTCRtcpMuxPolicy = (typeof RTCP_MUX_POLICIES)[number]

export type RTCIceComponent = 'rtp' | 'rtcp'
export type RTCIceProtocol = 'udp' | 'tcp'
export type RTCIceCandidateType = 'host' | 'srflx' | 'prflx' | 'relay'
export type RTCIceTcpCandidateType = 'active' | 'passive' | 'so'

export interface RTCIceServer {
  urls: string | string[]
  username?: string
  credential?: string
}

export interface RTCPortRange {
  min: number
  max: number
}

export interface RTCConfiguration {
  iceServers?: RTCIceServer[]
  iceTransportPolicy?: RTCIceTransportPolicy
  bundlePolicy?: RTCBundlePolicy
  rtcpMuxPolicy?: RTCRtcpMuxPolicy
  iceCandidatePoolSize?: number
  /** Extension: gather ICE candidates only on these local IP addresses. */
  localAddresses?: string[]
  /** Extension: jitter buffer latency in milliseconds. */
  jitterBufferLatency?: number
  /** Extension: local port range used for ICE. */
  portRange?: RTCPortRange
  /** Extension: gather ICE-TCP candidates (default false). */
  iceTcp?: boolean
}

export interface RTCOfferOptions {
  iceRestart?: boolean
  /** Legacy (webrtc-pc §11.2) */
  offerToReceiveAudio?: boolean
  /** Legacy (webrtc-pc §11.2); video is not supported and is ignored. */
  offerToReceiveVideo?: boolean
  voiceActivityDetection?: boolean
}

export type RTCAnswerOptions = Record<string, never>

export interface RTCSessionDescriptionInit {
  type: RTCSdpType
  sdp?: string
}

export interface RTCLocalSessionDescriptionInit {
  type?: RTCSdpType
  sdp?: string
}

export interface RTCIceCandidateInit {
  candidate?: string
  sdpMid?: string | null
  sdpMLineIndex?: number | null
  usernameFragment?: string | null
}

export interface RTCRtpTransceiverInit {
  direction?: RTCRtpTransceiverDirection
  streams?: MediaStream[]
}

/** DOM EventInit; @types/node does not declare it globally. */
export interface EventInit {
  bubbles?: boolean
  cancelable?: boolean
  composed?: boolean
}

/** Membership test without throwing, for values coming from the native side. */
export function asEnum<T extends string>(values: readonly T[], value: unknown): T | null {
  return typeof value === 'string' && (values as readonly string[]).includes(value) ? (value as T) : null
}

/** WebIDL enum conversion. */
export function toEnum<T extends string>(values: readonly T[], value: unknown, what: string): T {
  const s = String(value)
  if ((values as readonly string[]).includes(s)) return s as T
  throw new TypeError(`The provided value '${s}' is not a valid enum value of type ${what}.`)
}
