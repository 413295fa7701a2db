/*
 * The seam between the W3C layer and a media backend. RTCPeerConnection and its senders,
 * receivers and DTMF senders talk to a MediaSession only, never to a backend class.
 *
 * A MediaSession is any native class with NativePeerConnection's methods: the shape is
 * derived from the generated index.d.ts, so the Rust side stays the one authority for it,
 * and each backend type-checks against it where its factory is written. What every
 * backend keeps:
 * - requests that take an id answer exactly once, with a `result` or `failure` NativeEvent;
 * - the events of one session arrive in order on the JS thread, through `onEvent`;
 * - a thrown error carries its W3C name as the code (errors.ts maps it);
 * - the signaling state machine is src/negotiation.rs, shared by every backend.
 */

import { NativePeerConnection, NativeRtpSession, offerKeying, type NativeConfig, type NativeEvent } from './native'

export type MediaSession = { [K in keyof NativePeerConnection]: NativePeerConnection[K] }

export type MediaSessionFactory = (config: NativeConfig, onEvent: (ev: NativeEvent) => void) => MediaSession

/** ICE, DTLS-SRTP and BUNDLE through GStreamer's webrtcbin (src/peer_connection/). */
export const webrtcbinSession: MediaSessionFactory = (config, onEvent) => new NativePeerConnection(config, onEvent)

/** Plain RTP/AVP over rtpbin and UDP, for SIP trunks and phones (src/rtp_session/). */
export const rtpSession: MediaSessionFactory = (config, onEvent) => new NativeRtpSession(config, onEvent)

/** The backend our offers need: webrtcbin for `rtpProfile` 'UDP/TLS/RTP/SAVPF' (the default), rtpbin otherwise. */
export function sessionFor(config: NativeConfig): MediaSessionFactory {
  return config.rtpProfile === undefined || config.rtpProfile === 'UDP/TLS/RTP/SAVPF' ? webrtcbinSession : rtpSession
}

/**
 * The backend that answers `offer`: webrtcbin for DTLS-SRTP, which every `rtpProfile`
 * accepts, rtpbin for SDES-SRTP and plain RTP (src/sdp/profile.rs decides the keying).
 * undefined when the connection would refuse the offer: the backend for our own offers then
 * refuses it with the right error.
 */
export function sessionForOffer(config: NativeConfig, offer: string): MediaSessionFactory | undefined {
  let keying: string
  try {
    keying = offerKeying(offer, config.rtpProfile, config.srtpCryptoSuites)
  } catch {
    return undefined
  }
  return keying === 'dtls' ? webrtcbinSession : rtpSession
}
