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
export const RTP_PROFILES = ['UDP/TLS/RTP/SAVPF', 'RTP/SAVP', 'RTP/AVP'] as const
export type RTCIceTransportPolicy = (typeof ICE_TRANSPORT_POLICIES)[number]
/** Extension: the media profile of our offers and the least secure one accepted (src/sdp/profile.rs). */
export type RTCRtpProfile = (typeof RTP_PROFILES)[number]
/** Extension: an SDES-SRTP crypto suite (RFC 4568 §6.2; src/sdp/crypto.rs checks the names). */
export type RTCSrtpCryptoSuite = 'AES_CM_128_HMAC_SHA1_80' | 'AES_CM_128_HMAC_SHA1_32'

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
  /**
   * Extension: limits on what the remote side may send (docs/robustness.md). Defaults:
   * maxSdpBytes 131072, maxMediaSections 32, maxAttributesPerSection 256,
   * maxFormatsPerSection 64, maxRemoteCandidates 256.
   */
  limits?: RTCDescriptionLimits
  /**
   * Extension: the profile our offers use and the least secure one we accept (default
   * 'UDP/TLS/RTP/SAVPF', DTLS-SRTP for WebRTC peers). 'RTP/SAVP' (SDES-SRTP) and 'RTP/AVP'
   * (plain RTP too) make a session for SIP trunks and phones (docs/plain-rtp.md).
   */
  rtpProfile?: RTCRtpProfile
  /**
   * Extension, plain-RTP sessions only: ms of silence on every sendrecv stream before the
   * connection is `disconnected` (default 15000); no first packet within twice that is
   * `failed`. Streams on hold or inactive are never timed out.
   */
  mediaTimeout?: number
  /**
   * Extension, SDES-SRTP sessions only: the crypto suites we offer and accept, in our order of
   * preference (default both, AES_CM_128_HMAC_SHA1_80 first). An offer with none of them is
   * refused with InvalidAccessError.
   */
  srtpCryptoSuites?: RTCSrtpCryptoSuite[]
}

export interface RTCDescriptionLimits {
  maxSdpBytes?: number
  maxMediaSections?: number
  maxAttributesPerSection?: number
  maxFormatsPerSection?: number
  maxRemoteCandidates?: number
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

export type RTCIceServerTransportProtocol = 'udp' | 'tcp' | 'tls'
export const ICE_SERVER_TRANSPORT_PROTOCOLS: readonly RTCIceServerTransportProtocol[] = ['udp', 'tcp', 'tls']

/** webrtc-pc §4.8.1: what the constructor takes; relayProtocol and url are never signalled (toJSON omits them). */
export interface RTCLocalIceCandidateInit extends RTCIceCandidateInit {
  relayProtocol?: RTCIceServerTransportProtocol | null
  url?: string | null
}

export interface RTCRtpTransceiverInit {
  direction?: RTCRtpTransceiverDirection
  streams?: MediaStream[]
  sendEncodings?: RTCRtpEncodingParameters[]
}

/** webrtc-pc §5.2.4 RTCRtpCodec */
export interface RTCRtpCodec {
  mimeType: string
  clockRate: number
  channels?: number
  sdpFmtpLine?: string
}

/** webrtc-pc §5.2.3 RTCRtpCodecParameters */
export interface RTCRtpCodecParameters extends RTCRtpCodec {
  payloadType: number
}

export interface RTCRtpHeaderExtensionCapability {
  uri: string
}

export interface RTCRtpHeaderExtensionParameters {
  uri: string
  id: number
  encrypted?: boolean
}

export interface RTCRtcpParameters {
  cname?: string
  reducedSize?: boolean
}

/** webrtc-pc §5.2.1 RTCRtpEncodingParameters; audio uses active and maxBitrate. */
export interface RTCRtpEncodingParameters {
  rid?: string
  active?: boolean
  maxBitrate?: number
  maxFramerate?: number
  scaleResolutionDownBy?: number
  priority?: string
  networkPriority?: string
}

export interface RTCRtpParameters {
  headerExtensions: RTCRtpHeaderExtensionParameters[]
  rtcp: RTCRtcpParameters
  codecs: RTCRtpCodecParameters[]
}

export interface RTCRtpSendParameters extends RTCRtpParameters {
  transactionId: string
  encodings: RTCRtpEncodingParameters[]
}

export type RTCRtpReceiveParameters = RTCRtpParameters

export interface RTCRtpCapabilities {
  codecs: RTCRtpCodec[]
  headerExtensions: RTCRtpHeaderExtensionCapability[]
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

/**
 * WebIDL `unsigned short` without [EnforceRange] (WebIDL §3.2.4.3 "ConvertToInt"): ToNumber
 * (a Symbol or BigInt throws TypeError), NaN and infinities become 0, then truncation modulo
 * 2^16. So `sdpMLineIndex: '0'` is m-line 0, as in a browser.
 */
export function toUnsignedShort(value: unknown): number {
  if (typeof value === 'bigint') throw new TypeError('Cannot convert a BigInt value to a number')
  const n = Number(value)
  if (!Number.isFinite(n)) return 0
  return ((Math.trunc(n) % 65536) + 65536) % 65536
}
