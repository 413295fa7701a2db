/*
 * The send and receive halves of an RTCRtpTransceiverDirection, for the W3C rules that
 * change or read one half (webrtc-pc §4.4.4 addTrack/removeTrack, track events). How an
 * answer intersects directions (RFC 3264 §6.1) is the native side's rule
 * (src/sdp/direction.rs), since it writes the SDP.
 */

import type { RTCRtpTransceiverDirection } from '../w3c/webrtcTypes'

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

/** Direction after adding sending (addTrack reusing a transceiver, webrtc-pc §4.4.4 addTrack). */
export function withSend(d: MediaDirection): MediaDirection {
  return directionOf(true, hasRecv(d))
}

/** Direction after removing sending (webrtc-pc §4.4.4 removeTrack). */
export function withoutSend(d: MediaDirection): MediaDirection {
  return directionOf(false, hasRecv(d))
}
