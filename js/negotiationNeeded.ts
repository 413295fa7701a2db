/*
 * webrtc-pc §4.7.3 "check if negotiation is needed", as a pure function of
 * the transceivers and the current descriptions.
 *
 * Not checked: the msid step (5.3.1), because the native side chooses the
 * a=msid lines itself and a mismatch would renegotiate forever; and the
 * "stopped but not rejected" step (5.4), because the native side cannot
 * reject m-lines (a stopped transceiver negotiates as inactive).
 */

import { answerDirection, reverseDirection } from './direction'
import { findMediaSection, type ParsedSdp } from './sdp'
import type { TransceiverState } from './TransceiverState'
import type { RTCSdpType } from './webrtcTypes'

export interface CurrentDescription {
  type: RTCSdpType
  parsed: ParsedSdp
}

export interface NegotiationInput {
  transceivers: readonly TransceiverState[]
  currentLocal: CurrentDescription | null
  currentRemote: CurrentDescription | null
  /** [[LocalIceCredentialsToReplace]] is not empty (restartIce). */
  iceRestartPending: boolean
}

export function isNegotiationNeeded(input: NegotiationInput): boolean {
  if (input.iceRestartPending) return true
  const { currentLocal, currentRemote } = input
  for (const t of input.transceivers) {
    if (t.stopping && !t.stopped) return true
    if (t.stopped) continue
    // Not yet associated with an m-section.
    if (t.mid === null) return true
    const local = currentLocal ? findMediaSection(currentLocal.parsed, t.mid, t.mlineIndex) : null
    // Associated only through a description that is no longer current: a new offer is needed.
    if (!currentLocal || !local) return true
    const remote = currentRemote ? findMediaSection(currentRemote.parsed, t.mid, t.mlineIndex) : null
    if (currentLocal.type === 'offer') {
      // We offered: fine if either our offer or the (reversed) answer already says what we want.
      const answered = remote ? reverseDirection(remote.direction) : null
      if (local.direction !== t.direction && answered !== t.direction) return true
    } else {
      // We answered: compare with what JSEP would answer now (RFC 9429 §5.3.1).
      const expected = remote ? answerDirection(t.direction, remote.direction) : t.direction
      if (local.direction !== expected) return true
    }
  }
  return false
}
