/*
 * webrtc-pc §4.7.3 "check if negotiation is needed", as a pure function of
 * the transceivers and the current descriptions.
 *
 * The msid step (5.3.1) is checked where the m-section says we send: an
 * answer that only receives has no a=msid to compare. Not checked: the
 * "stopped but not rejected" step (5.4), because the native side cannot
 * reject m-lines (a stopped transceiver negotiates as inactive).
 */

import { findMediaSection, type ParsedSdp } from './sdp'
import type { TransceiverState } from './TransceiverState'
import type { RTCRtpTransceiverDirection, RTCSdpType } from '../w3c/webrtcTypes'

export interface CurrentDescription {
  type: RTCSdpType
  parsed: ParsedSdp
}

/**
 * A transceiver's slots plus the one fact the native side derives: what it would answer the
 * current remote offer with now (src/sdp/direction.rs holds the RFC 3264 §6.1 rule; it
 * writes the answers, so it is the only copy).
 */
export interface NegotiationTransceiver
  extends Pick<TransceiverState, 'mid' | 'mlineIndex' | 'direction' | 'currentDirection' | 'stopping' | 'stopped' | 'senderStreamIds'> {
  answerDirection: RTCRtpTransceiverDirection | null
}

export interface NegotiationInput {
  transceivers: readonly NegotiationTransceiver[]
  currentLocal: CurrentDescription | null
  /** [[LocalIceCredentialsToReplace]] is not empty (restartIce). */
  iceRestartPending: boolean
}

export function isNegotiationNeeded(input: NegotiationInput): boolean {
  if (input.iceRestartPending) return true
  const { currentLocal } = input
  for (const t of input.transceivers) {
    if (t.stopping && !t.stopped) return true
    if (t.stopped) continue
    // Not yet associated with an m-section.
    if (t.mid === null) return true
    const local = currentLocal ? findMediaSection(currentLocal.parsed, t.mid, t.mlineIndex) : null
    // Associated only through a description that is no longer current: a new offer is needed.
    if (!currentLocal || !local) return true
    if (currentLocal.type === 'offer') {
      // We offered: fine if either our offer or the answer (currentDirection, the answer seen
      // from our side) already says what we want.
      if (local.direction !== t.direction && t.currentDirection !== t.direction) return true
    } else {
      // We answered: compare with what JSEP would answer now (RFC 9429 §5.3.1).
      if (local.direction !== (t.answerDirection ?? t.direction)) return true
    }
    // 5.3.1: the a=msid lines no longer name [[AssociatedMediaStreamIds]] (setStreams).
    if (SENDING.has(local.direction) && SENDING.has(t.direction) && !sameIds(local.msidStreamIds ?? [], t.senderStreamIds)) return true
  }
  return false
}

const SENDING: ReadonlySet<string> = new Set(['sendrecv', 'sendonly'])

function sameIds(a: readonly string[], b: readonly string[]): boolean {
  const set = new Set(a)
  return set.size === new Set(b).size && b.every((id) => set.has(id))
}
