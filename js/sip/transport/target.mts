/*
 * Where a SIP URI sends a message: RFC 3263 §4.1 (transport) and §4.2 (port) for a URI whose
 * host is an address or a name resolved with A/AAAA records. NAPTR and SRV lookups are not
 * made, so a URI must carry its transport and port when they differ from the defaults.
 */

import { Grammar, type URI } from 'sip.js'

export type Protocol = 'UDP' | 'TCP' | 'TLS'

export interface Target {
  protocol: Protocol
  /** Without IPv6 brackets. */
  host: string
  port: number
}

export const DEFAULT_PORT: Readonly<Record<Protocol, number>> = { UDP: 5060, TCP: 5060, TLS: 5061 }

export function protocolOf(name: string): Protocol | undefined {
  const upper = name.toUpperCase()
  return upper === 'UDP' || upper === 'TCP' || upper === 'TLS' ? upper : undefined
}

/** `sip:host[:port][;transport=udp|tcp|tls]` or `sips:host[:port]`; throws TypeError when it is neither. */
export function targetOf(uri: string | URI): Target {
  const parsed = typeof uri === 'string' ? Grammar.URIParse(uri) : uri
  if (!parsed) throw new TypeError(`not a SIP URI: ${String(uri)}`)
  const scheme = parsed.scheme.toLowerCase()
  const param = parsed.getParam('transport')
  const named = typeof param === 'string' ? protocolOf(param) : undefined
  if (typeof param === 'string' && !named) throw new TypeError(`SIP URI ${parsed.toString()}: transport "${param}" is not UDP, TCP or TLS`)
  // A sips: URI is reached over TLS only (RFC 3261 §19.1.2, RFC 3263 §4.1).
  const protocol: Protocol = scheme === 'sips' ? 'TLS' : (named ?? 'UDP')
  if (scheme === 'sips' && named && named !== 'TLS' && named !== 'TCP') throw new TypeError(`SIP URI ${parsed.toString()}: a sips: URI cannot use ${named}`)
  return { protocol, host: parsed.host.replace(/^\[(.*)\]$/, '$1'), port: parsed.port ?? DEFAULT_PORT[protocol] }
}
