/* webrtc-pc §4.8.2 RTCIceCandidate */

import type {
  RTCIceCandidateInit,
  RTCIceServerTransportProtocol,
  RTCLocalIceCandidateInit,
  RTCIceCandidateType,
  RTCIceComponent,
  RTCIceProtocol,
  RTCIceTcpCandidateType,
} from './webrtcTypes'
import { ICE_SERVER_TRANSPORT_PROTOCOLS, toEnum, toUnsignedShort } from './webrtcTypes'

interface ParsedCandidate {
  foundation: string
  component: RTCIceComponent | null
  priority: number
  address: string
  protocol: RTCIceProtocol | null
  port: number
  type: RTCIceCandidateType | null
  tcpType: RTCIceTcpCandidateType | null
  relatedAddress: string | null
  relatedPort: number | null
}

const CANDIDATE_TYPES: ReadonlySet<string> = new Set(['host', 'srflx', 'prflx', 'relay'])
const TCP_TYPES: ReadonlySet<string> = new Set(['active', 'passive', 'so'])

/**
 * candidate-attribute grammar of RFC 8839 §5.1:
 * candidate:<foundation> <component> <transport> <priority> <address> <port> typ <type> [raddr <a>] [rport <p>] *(<ext> <value>)
 * Returns null when the string does not parse; the attributes are then null (webrtc-pc §4.8.2 constructor).
 */
function parseCandidate(candidate: string): ParsedCandidate | null {
  const text = candidate.startsWith('a=') ? candidate.slice(2) : candidate
  if (!text.startsWith('candidate:')) return null
  const f = text.slice('candidate:'.length).trim().split(/\s+/)
  if (f.length < 8 || f[6] !== 'typ') return null
  const [foundation, componentId, transport, priority, address, port, , type] = f as [string, string, string, string, string, string, string, string]
  const portNum = Number.parseInt(port, 10)
  const priorityNum = Number.parseInt(priority, 10)
  if (!Number.isFinite(portNum) || !Number.isFinite(priorityNum)) return null
  const out: ParsedCandidate = {
    foundation,
    component: componentId === '1' ? 'rtp' : componentId === '2' ? 'rtcp' : null,
    priority: priorityNum,
    address,
    protocol: transport.toLowerCase() === 'udp' ? 'udp' : transport.toLowerCase() === 'tcp' ? 'tcp' : null,
    port: portNum,
    type: CANDIDATE_TYPES.has(type) ? (type as RTCIceCandidateType) : null,
    tcpType: null,
    relatedAddress: null,
    relatedPort: null,
  }
  for (let i = 8; i + 1 < f.length; i += 2) {
    const name = f[i] as string
    const value = f[i + 1] as string
    if (name === 'raddr') out.relatedAddress = value
    else if (name === 'rport') out.relatedPort = Number.parseInt(value, 10)
    else if (name === 'tcptype' && TCP_TYPES.has(value)) out.tcpType = value as RTCIceTcpCandidateType
  }
  return out
}

export class RTCIceCandidate {
  readonly #candidate: string
  readonly #sdpMid: string | null
  readonly #sdpMLineIndex: number | null
  readonly #usernameFragment: string | null
  readonly #parsed: ParsedCandidate | null
  readonly #relayProtocol: RTCIceServerTransportProtocol | null
  readonly #url: string | null

  constructor(candidateInitDict: RTCLocalIceCandidateInit = {}) {
    const init = candidateInitDict ?? {}
    const sdpMid = init.sdpMid ?? null
    const sdpMLineIndex = init.sdpMLineIndex ?? null
    // webrtc-pc §4.8.2: a candidate must be attributable to an m-section.
    if (sdpMid === null && sdpMLineIndex === null) throw new TypeError('sdpMid and sdpMLineIndex are both null')
    this.#candidate = init.candidate === undefined ? '' : String(init.candidate)
    this.#sdpMid = sdpMid === null ? null : String(sdpMid)
    this.#sdpMLineIndex = sdpMLineIndex === null ? null : toUnsignedShort(sdpMLineIndex)
    this.#parsed = this.#candidate === '' ? null : parseCandidate(this.#candidate)
    // webrtc-pc §4.8.1: from the dictionary only, never from the candidate string's extensions.
    this.#usernameFragment = init.usernameFragment == null ? null : String(init.usernameFragment)
    this.#relayProtocol = init.relayProtocol == null ? null : toEnum(ICE_SERVER_TRANSPORT_PROTOCOLS, init.relayProtocol, 'RTCIceServerTransportProtocol')
    this.#url = init.url == null ? null : String(init.url)
  }

  get candidate(): string {
    return this.#candidate
  }
  get sdpMid(): string | null {
    return this.#sdpMid
  }
  get sdpMLineIndex(): number | null {
    return this.#sdpMLineIndex
  }
  get usernameFragment(): string | null {
    return this.#usernameFragment
  }
  get foundation(): string | null {
    return this.#parsed?.foundation ?? null
  }
  get component(): RTCIceComponent | null {
    return this.#parsed?.component ?? null
  }
  get priority(): number | null {
    return this.#parsed?.priority ?? null
  }
  get address(): string | null {
    return this.#parsed?.address ?? null
  }
  get protocol(): RTCIceProtocol | null {
    return this.#parsed?.protocol ?? null
  }
  get port(): number | null {
    return this.#parsed?.port ?? null
  }
  get type(): RTCIceCandidateType | null {
    return this.#parsed?.type ?? null
  }
  get tcpType(): RTCIceTcpCandidateType | null {
    return this.#parsed?.tcpType ?? null
  }
  get relatedAddress(): string | null {
    return this.#parsed?.relatedAddress ?? null
  }
  get relatedPort(): number | null {
    return this.#parsed?.relatedPort ?? null
  }
  /** The protocol to the TURN server of a relay candidate we gathered (null here: none is signalled). */
  get relayProtocol(): RTCIceServerTransportProtocol | null {
    return this.#relayProtocol
  }
  /** The STUN or TURN server URL a local candidate came from. */
  get url(): string | null {
    return this.#url
  }

  toJSON(): RTCIceCandidateInit {
    return {
      candidate: this.#candidate,
      sdpMid: this.#sdpMid,
      sdpMLineIndex: this.#sdpMLineIndex,
      usernameFragment: this.#usernameFragment,
    }
  }
}
