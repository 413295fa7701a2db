/*
 * RTCConfiguration validation and defaults (webrtc-pc §4.4.1.1 "set a
 * configuration") and its translation to the native configuration.
 */

import { invalidAccess, syntaxError } from './errors'
import type { NativeConfig, NativeIceServer } from './native'
import {
  BUNDLE_POLICIES,
  ICE_TRANSPORT_POLICIES,
  RTP_PROFILES,
  RTCP_MUX_POLICIES,
  toEnum,
  type RTCBundlePolicy,
  type RTCConfiguration,
  type RTCDescriptionLimits,
  type RTCIceServer,
  type RTCIceTransportPolicy,
  type RTCRtpProfile,
  type RTCSrtpCryptoSuite,
  type RTCPortRange,
  type RTCRtcpMuxPolicy,
} from '../w3c/webrtcTypes'

/** A configuration with every default applied and every value validated. */
export interface NormalizedConfiguration {
  iceServers: Array<{ urls: string[]; username?: string; credential?: string }>
  iceTransportPolicy: RTCIceTransportPolicy
  bundlePolicy: RTCBundlePolicy
  rtcpMuxPolicy: RTCRtcpMuxPolicy
  iceCandidatePoolSize: number
  localAddresses?: string[]
  jitterBufferLatency?: number
  portRange?: RTCPortRange
  iceTcp: boolean
  limits?: RTCDescriptionLimits
  rtpProfile: RTCRtpProfile
  mediaTimeout?: number
  srtpCryptoSuites?: RTCSrtpCryptoSuite[]
}

const LIMIT_KEYS = ['maxSdpBytes', 'maxMediaSections', 'maxAttributesPerSection', 'maxFormatsPerSection', 'maxRemoteCandidates'] as const

/** Each limit a positive integer; the defaults live with the checks (src/sdp/limits.rs). */
function validateLimits(limits: RTCDescriptionLimits): RTCDescriptionLimits {
  if (typeof limits !== 'object' || limits === null) throw new TypeError('limits must be an object')
  const out: RTCDescriptionLimits = {}
  for (const key of LIMIT_KEYS) {
    const v = limits[key]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > 0xffffffff) throw new TypeError(`limits.${key} must be a positive integer`)
    out[key] = v
  }
  return out
}

const ICE_SCHEMES: ReadonlySet<string> = new Set(['stun', 'stuns', 'turn', 'turns'])

function validateIceServer(server: RTCIceServer): NormalizedConfiguration['iceServers'][number] {
  if (typeof server !== 'object' || server === null) throw new TypeError('iceServers entries must be RTCIceServer dictionaries')
  if (server.urls === undefined) throw new TypeError("RTCIceServer.urls is required")
  const urls = typeof server.urls === 'string' ? [server.urls] : Array.from(server.urls, String)
  // webrtc-pc §4.4.1.1 step "validate ICE servers": an empty list and unparsable URLs are SyntaxErrors.
  if (urls.length === 0) throw syntaxError('RTCIceServer.urls is empty')
  const out: NormalizedConfiguration['iceServers'][number] = { urls }
  for (const url of urls) {
    const colon = url.indexOf(':')
    const scheme = colon > 0 ? url.slice(0, colon).toLowerCase() : ''
    if (!ICE_SCHEMES.has(scheme) || url.length === colon + 1) throw syntaxError(`Invalid ICE server URL '${url}'`)
    if (scheme === 'turn' || scheme === 'turns') {
      // webrtc-pc §4.4.1.1: TURN without credentials is an InvalidAccessError.
      if (server.username === undefined || server.credential === undefined) {
        throw invalidAccess(`ICE server '${url}' requires username and credential`)
      }
    }
  }
  if (server.username !== undefined) out.username = String(server.username)
  if (server.credential !== undefined) out.credential = String(server.credential)
  return out
}

function validatePortRange(range: RTCPortRange): RTCPortRange {
  if (typeof range !== 'object' || range === null) throw new TypeError('portRange must be {min, max}')
  const { min, max } = range
  const isPort = (p: unknown): p is number => Number.isInteger(p) && (p as number) >= 0 && (p as number) <= 65535
  if (!isPort(min) || !isPort(max) || min > max) throw new TypeError('portRange must be integers with 0 <= min <= max <= 65535')
  return { min, max }
}

export function normalizeConfiguration(config: RTCConfiguration | null | undefined): NormalizedConfiguration {
  const c: RTCConfiguration = config ?? {}
  if (typeof c !== 'object') throw new TypeError('RTCConfiguration must be an object')

  const servers = c.iceServers ?? []
  if (!Array.isArray(servers)) throw new TypeError('iceServers must be an array')
  const out: NormalizedConfiguration = {
    iceServers: servers.map(validateIceServer),
    iceTransportPolicy: c.iceTransportPolicy === undefined ? 'all' : toEnum(ICE_TRANSPORT_POLICIES, c.iceTransportPolicy, 'RTCIceTransportPolicy'),
    bundlePolicy: c.bundlePolicy === undefined ? 'balanced' : toEnum(BUNDLE_POLICIES, c.bundlePolicy, 'RTCBundlePolicy'),
    rtcpMuxPolicy: c.rtcpMuxPolicy === undefined ? 'require' : toEnum(RTCP_MUX_POLICIES, c.rtcpMuxPolicy, 'RTCRtcpMuxPolicy'),
    iceCandidatePoolSize: 0,
    iceTcp: false,
    rtpProfile: c.rtpProfile === undefined ? 'UDP/TLS/RTP/SAVPF' : toEnum(RTP_PROFILES, c.rtpProfile, 'RTCRtpProfile'),
  }

  if (c.iceCandidatePoolSize !== undefined) {
    const n = Number(c.iceCandidatePoolSize)
    if (!Number.isInteger(n) || n < 0 || n > 255) throw new TypeError('iceCandidatePoolSize must be an integer in [0, 255]')
    out.iceCandidatePoolSize = n
  }
  if (c.localAddresses !== undefined) {
    if (!Array.isArray(c.localAddresses) || !c.localAddresses.every((a) => typeof a === 'string')) {
      throw new TypeError('localAddresses must be an array of IP address strings')
    }
    out.localAddresses = [...c.localAddresses]
  }
  if (c.jitterBufferLatency !== undefined) {
    const ms = c.jitterBufferLatency
    if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new TypeError('jitterBufferLatency must be a non-negative number of milliseconds')
    out.jitterBufferLatency = ms
  }
  if (c.portRange !== undefined) out.portRange = validatePortRange(c.portRange)
  if (c.mediaTimeout !== undefined) {
    const ms = c.mediaTimeout
    if (typeof ms !== 'number' || !Number.isInteger(ms) || ms < 1 || ms > 3_600_000) throw new TypeError('mediaTimeout must be an integer number of milliseconds in [1, 3600000]')
    out.mediaTimeout = ms
  }
  if (c.srtpCryptoSuites !== undefined) {
    // The names are checked natively (src/sdp/crypto.rs) when the session is made.
    if (!Array.isArray(c.srtpCryptoSuites) || !c.srtpCryptoSuites.every((s) => typeof s === 'string')) {
      throw new TypeError('srtpCryptoSuites must be an array of crypto suite names')
    }
    out.srtpCryptoSuites = [...c.srtpCryptoSuites]
  }
  if (c.iceTcp !== undefined) {
    if (typeof c.iceTcp !== 'boolean') throw new TypeError('iceTcp must be a boolean')
    out.iceTcp = c.iceTcp
  }
  if (c.limits !== undefined) out.limits = validateLimits(c.limits)
  // WebIDL sequence<RTCCertificate>: null or a non-sequence is a TypeError, and so is any
  // entry, since there is no RTCCertificate here (webrtcbin 1.22 makes its own per connection).
  const certificates = (c as { certificates?: unknown }).certificates
  if (certificates !== undefined) {
    if (certificates === null || typeof certificates !== 'object' || !(Symbol.iterator in certificates)) {
      throw new TypeError('certificates must be a sequence of RTCCertificate')
    }
    if ([...(certificates as Iterable<unknown>)].length > 0) throw new TypeError('RTCCertificate is not supported: certificates must be empty')
  }
  return out
}

export function toNativeConfig(c: NormalizedConfiguration): NativeConfig {
  const iceServers: NativeIceServer[] = c.iceServers.map((s) => ({ ...s, urls: [...s.urls] }))
  const out: NativeConfig = {
    iceServers,
    iceTransportPolicy: c.iceTransportPolicy,
    bundlePolicy: c.bundlePolicy,
    iceTcp: c.iceTcp,
    rtpProfile: c.rtpProfile,
  }
  if (c.localAddresses !== undefined) out.localAddresses = [...c.localAddresses]
  if (c.jitterBufferLatency !== undefined) out.jitterBufferLatency = c.jitterBufferLatency
  if (c.mediaTimeout !== undefined) out.mediaTimeout = c.mediaTimeout
  if (c.srtpCryptoSuites !== undefined) out.srtpCryptoSuites = [...c.srtpCryptoSuites]
  if (c.limits !== undefined) out.limits = { ...c.limits }
  if (c.portRange !== undefined) {
    out.portMin = c.portRange.min
    out.portMax = c.portRange.max
  }
  return out
}

/** A deep copy in RTCConfiguration shape, for getConfiguration(). */
export function toRTCConfiguration(c: NormalizedConfiguration): RTCConfiguration {
  const out: RTCConfiguration = {
    iceServers: c.iceServers.map((s) => ({ ...s, urls: [...s.urls] })),
    iceTransportPolicy: c.iceTransportPolicy,
    bundlePolicy: c.bundlePolicy,
    rtcpMuxPolicy: c.rtcpMuxPolicy,
    iceCandidatePoolSize: c.iceCandidatePoolSize,
    iceTcp: c.iceTcp,
    rtpProfile: c.rtpProfile,
  }
  if (c.localAddresses !== undefined) out.localAddresses = [...c.localAddresses]
  if (c.jitterBufferLatency !== undefined) out.jitterBufferLatency = c.jitterBufferLatency
  if (c.portRange !== undefined) out.portRange = { ...c.portRange }
  if (c.limits !== undefined) out.limits = { ...c.limits }
  if (c.mediaTimeout !== undefined) out.mediaTimeout = c.mediaTimeout
  if (c.srtpCryptoSuites !== undefined) out.srtpCryptoSuites = [...c.srtpCryptoSuites]
  return out
}
