/*
 * The internal slots of one transceiver (webrtc-pc §5.4 [[Direction]],
 * [[CurrentDirection]], [[Stopping]], [[Stopped]], [[FiredDirection]], and the
 * sender's/receiver's slots). The RTCRtp* objects are views over this record,
 * shared with the connection that owns it.
 */

import type { MediaDirection } from './direction'
import type { MediaStream } from '../w3c/MediaStream'
import type { MediaStreamTrack } from '../w3c/MediaStreamTrack'
import type { RTCRtpCodec, RTCRtpEncodingParameters, RTCRtpSendParameters, RTCRtpTransceiverDirection } from '../w3c/webrtcTypes'

export interface TransceiverState {
  /** Stable native id. */
  readonly id: number
  readonly kind: string
  mid: string | null
  mlineIndex: number | null
  direction: RTCRtpTransceiverDirection
  currentDirection: RTCRtpTransceiverDirection | null
  stopping: boolean
  stopped: boolean
  /** No longer in the connection's [[Transceivers]]: stopped and negotiated away (or rolled back). */
  removed: boolean
  /** [[CurrentDirection]] has been sendrecv or sendonly at some point (addTrack reuse rule). */
  everSent: boolean
  /** [[SenderTrack]] */
  senderTrack: MediaStreamTrack | null
  /** [[AssociatedMediaStreamIds]] */
  senderStreamIds: string[]
  /** The track id our a=msid lines give this sender (RFC 8830 §2): fixed once first written. */
  msidTrackId: string | null
  /**
   * What setCodecPreferences was last given ([[PreferredCodecs]]); native applies it and is the
   * authority on what is negotiated. Kept to give it again to another backend
   * (RTCPeerConnection's move to webrtcbin for a first WebRTC offer).
   */
  codecPreferences: RTCRtpCodec[]
  /** [[SendEncodings]]: one encoding (audio has no simulcast). */
  sendEncodings: RTCRtpEncodingParameters[]
  /** [[LastReturnedParameters]] of the sender (webrtc-pc §5.2 getParameters). */
  lastReturnedParameters: RTCRtpSendParameters | null
  /** [[ReceiverTrack]] */
  readonly receiverTrack: MediaStreamTrack
  /** Whether the last fired direction included receiving ([[FiredDirection]]). */
  firedRecv: boolean
  /** Media has arrived on the receive stream: the receiver's track is unmuted while firedRecv. */
  receiving: boolean
  /** [[AssociatedRemoteMediaStreams]] */
  remoteStreams: MediaStream[]
  /** The stream used when the remote m-section carries no msid at all (RFC 9429 §5.10). */
  defaultStream: MediaStream | null
}

export function isMediaDirection(d: RTCRtpTransceiverDirection): d is MediaDirection {
  return d !== 'stopped'
}
