/*
 * Read-only SDP inspection for the few facts the W3C layer needs and the
 * native contract does not report: m-line directions (negotiation-needed),
 * remote MSIDs (track event streams), ICE credentials (restartIce) and
 * ice-options (canTrickleIceCandidates). It never rewrites SDP.
 */

import type { MediaDirection } from './direction'

export interface SdpMediaSection {
  index: number
  kind: string
  port: number
  /** Port 0 without a=bundle-only: the section is rejected (RFC 3264 §6, RFC 8843 §6). */
  rejected: boolean
  mid: string | null
  /** Media-level direction, else session-level, else sendrecv (RFC 3264 §5.1). */
  direction: MediaDirection
  /** Stream ids from a=msid (or legacy a=ssrc msid); null when the section has no msid at all. '-' is dropped. */
  msidStreamIds: string[] | null
  iceUfrag: string | null
}

export interface ParsedSdp {
  media: SdpMediaSection[]
  /** ice-options tokens, session and media level together. */
  iceOptions: string[]
}

const DIRECTIONS: ReadonlySet<string> = new Set(['sendrecv', 'sendonly', 'recvonly', 'inactive'])

interface SectionDraft {
  index: number
  kind: string
  port: number
  mid: string | null
  direction: MediaDirection | null
  msid: string[]
  ssrcMsid: string[]
  iceUfrag: string | null
  bundleOnly: boolean
}

export function parseSdp(sdp: string): ParsedSdp {
  let sessionDirection: MediaDirection = 'sendrecv'
  let sessionUfrag: string | null = null
  const iceOptions: string[] = []
  const drafts: SectionDraft[] = []
  let current: SectionDraft | null = null

  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim()
    if (line.startsWith('m=')) {
      const [kind = '', port = '0'] = line.slice(2).split(' ')
      current = {
        index: drafts.length,
        kind,
        port: Number.parseInt(port, 10) || 0,
        mid: null,
        direction: null,
        msid: [],
        ssrcMsid: [],
        iceUfrag: null,
        bundleOnly: false,
      }
      drafts.push(current)
      continue
    }
    if (!line.startsWith('a=')) continue
    const attr = line.slice(2)
    const colon = attr.indexOf(':')
    const name = colon < 0 ? attr : attr.slice(0, colon)
    const value = colon < 0 ? '' : attr.slice(colon + 1)

    if (DIRECTIONS.has(name)) {
      if (current) current.direction = name as MediaDirection
      else sessionDirection = name as MediaDirection
    } else if (name === 'ice-options') {
      iceOptions.push(...value.split(/\s+/).filter(Boolean))
    } else if (name === 'ice-ufrag') {
      if (current) current.iceUfrag = value
      else sessionUfrag = value
    } else if (current && name === 'bundle-only') {
      current.bundleOnly = true
    } else if (current && name === 'mid') {
      current.mid = value
    } else if (current && name === 'msid') {
      const streamId = value.split(/\s+/)[0]
      if (streamId !== undefined) current.msid.push(streamId)
    } else if (current && name === 'ssrc') {
      // Legacy "a=ssrc:<ssrc> msid:<stream> <track>" from pre-unified-plan peers.
      const m = /^\S+\s+msid:(\S+)/.exec(value)
      if (m?.[1] !== undefined) current.ssrcMsid.push(m[1])
    }
  }

  const media = drafts.map((d): SdpMediaSection => {
    const ids = d.msid.length > 0 ? d.msid : d.ssrcMsid
    return {
      index: d.index,
      kind: d.kind,
      port: d.port,
      rejected: d.port === 0 && !d.bundleOnly,
      mid: d.mid,
      direction: d.direction ?? sessionDirection,
      msidStreamIds: ids.length > 0 ? [...new Set(ids.filter((id) => id !== '-'))] : null,
      iceUfrag: d.iceUfrag ?? sessionUfrag,
    }
  })
  return { media, iceOptions }
}

/** The m-section associated with a transceiver: by mid, else by m-line index. */
export function findMediaSection(parsed: ParsedSdp, mid: string | null, mlineIndex: number | null): SdpMediaSection | null {
  if (mid !== null) {
    const byMid = parsed.media.find((m) => m.mid === mid)
    if (byMid) return byMid
  }
  if (mlineIndex !== null) return parsed.media[mlineIndex] ?? null
  return null
}

export function iceUfragsOf(parsed: ParsedSdp): Set<string> {
  const out = new Set<string>()
  for (const m of parsed.media) if (m.iceUfrag !== null) out.add(m.iceUfrag)
  return out
}
