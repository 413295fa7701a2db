/*
 * webrtc-pc §8.3 RTCStatsReport: a read-only maplike of stats object id → stats dictionary
 * (webrtc-stats). The entries are fixed when the report is created; the mutating Map
 * methods throw, as a WebIDL readonly maplike has none.
 */

/** webrtc-stats §3 RTCStats: every stats object has these members. */
export interface RTCStats {
  id: string
  type: string
  /** Milliseconds since the Unix epoch (DOMHighResTimeStamp, Performance.timeOrigin-based). */
  timestamp: number
  [member: string]: unknown
}

export class RTCStatsReport extends Map<string, RTCStats> {
  #sealed = false

  /** Not for application use: reports come from getStats(). */
  constructor(stats: Iterable<RTCStats> = []) {
    super()
    for (const s of stats) super.set(s.id, s)
    this.#sealed = true
  }

  override set(key: string, value: RTCStats): this {
    // Map's constructor calls set(); only script calls after construction are refused.
    if (this.#sealed) throw new TypeError('RTCStatsReport is read-only')
    return super.set(key, value)
  }

  override delete(_key: string): boolean {
    throw new TypeError('RTCStatsReport is read-only')
  }

  override clear(): void {
    throw new TypeError('RTCStatsReport is read-only')
  }
}

// Map.prototype's own toStringTag is a data property; an accessor override would not type-check.
Object.defineProperty(RTCStatsReport.prototype, Symbol.toStringTag, { value: 'RTCStatsReport', configurable: true })

/** Parses the native JSON array (src/stats/) into a report. */
export function parseStatsReport(json: string | undefined): RTCStatsReport {
  const parsed: unknown = JSON.parse(json ?? '[]')
  if (!Array.isArray(parsed)) throw new TypeError('native stats are not an array')
  return new RTCStatsReport(
    parsed.filter((s): s is RTCStats => typeof s === 'object' && s !== null && typeof (s as RTCStats).id === 'string'),
  )
}

/** Which RTP stream stats a sender's or receiver's getStats() asks for. */
export interface StatsSelector {
  type: 'outbound-rtp' | 'inbound-rtp'
  /** The transceiver's mid; null before negotiation, when nothing can match. */
  mid: string | null
}

/**
 * webrtc-pc §8.5 stats selection algorithm: the RTP stream stats of the selected sender or
 * receiver, and every object they reference directly or indirectly (members named `…Id`).
 */
export function selectStats(report: RTCStatsReport, select: StatsSelector): RTCStatsReport {
  const chosen = new Map<string, RTCStats>()
  const pending: RTCStats[] = [...report.values()].filter(
    (s) => s.type === select.type && select.mid !== null && s.mid === select.mid,
  )
  while (pending.length > 0) {
    const s = pending.pop()!
    if (chosen.has(s.id)) continue
    chosen.set(s.id, s)
    for (const [member, value] of Object.entries(s)) {
      if (member === 'id' || !member.endsWith('Id') || typeof value !== 'string') continue
      const referenced = report.get(value)
      if (referenced !== undefined) pending.push(referenced)
    }
  }
  return new RTCStatsReport(chosen.values())
}
