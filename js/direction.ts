/*
 * RTCRtpTransceiverDirection algebra used by JSEP answer generation
 * (RFC 9429 §5.3.1) and by webrtc-pc §4.7.3 "check if negotiation is needed".
 */

import type { RTCRtpTransceiverDirection } from './webrtcTypes'

export type MediaDirection = Exclude<RTCRtpTransceiverDirection, 'stopped'>

export function hasSend(d: RTCRtpTransceiverDirection | null): boolean {
  return d === 'sendrecv' || d === 'sendonly'
}

export function hasRecv(d: RTCRtpTransceiverDirection | null): boolean {
  return d === 'sendrecv' || d === 'recvonly'
}

export function directionOf(send: boolean, recv: boolean): MediaDirection {
  if (send) return recv ? 'sendrecv' : 'sendonly'
  return recv ? 'recvonly' : 'inactive'
}

/** The same m-line seen from the other peer. */
export function reverseDirection(d: MediaDirection): MediaDirection {
  return directionOf(hasRecv(d), hasSend(d))
}

/** What an answerer with local direction `local` can answer to an offer that offered `offered` (remote point of view). */
export function answerDirection(local: RTCRtpTransceiverDirection, offered: MediaDirection): MediaDirection {
  const theirs = reverseDirection(offered)
  return directionOf(hasSend(local) && hasSend(theirs), hasRecv(local) && hasRecv(theirs))
}

/** Direction after adding sending (addTrack reusing a transceiver, webrtc-pc §4.4.4 addTrack). */
export function withSend(d: MediaDirection): MediaDirection {
  return directionOf(true, hasRecv(d))
}

/** Direction after removing sending (webrtc-pc §4.4.4 removeTrack). */
export function withoutSend(d: MediaDirection): MediaDirection {
  return directionOf(false, hasRecv(d))
}
