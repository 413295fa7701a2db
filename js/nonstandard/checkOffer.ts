/*
 * Whether a connection made with `configuration` would take an offer, before making one:
 * SIP needs the answer to an initial INVITE decided before `accept()` (a refused offer gets
 * 488 Not Acceptable Here, RFC 3261 §21.4.26), and SIP.js answers 480 to an accept() that
 * fails. The rule is the native one (src/sdp/profile.rs: the keying each audio m-line asks
 * for against `rtpProfile`).
 */

import { callNative } from '../internal/errors'
import { offerKeying } from '../internal/native'
import type { RTCConfiguration } from '../w3c/webrtcTypes'

/** How the media of an accepted offer is keyed. */
export type OfferKeying = 'dtls' | 'sdes' | 'plain'

/**
 * How a new connection made with `configuration` would key its answer to `sdp`: 'dtls'
 * (DTLS-SRTP, answered on webrtcbin), 'sdes' (SDES-SRTP) or 'plain' (RTP/AVP). Throws the
 * DOMException setRemoteDescription would reject with (InvalidAccessError, …).
 */
export function checkOffer(sdp: string, configuration: RTCConfiguration = {}): OfferKeying {
  return callNative(() => offerKeying(String(sdp), configuration.rtpProfile, configuration.srtpCryptoSuites)) as OfferKeying
}
