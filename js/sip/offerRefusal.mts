/*
 * The refusal an incoming INVITE's offer needs, decided before `accept()`: SIP.js answers a
 * failed accept() with 480, where an offer we cannot take must get 488 Not Acceptable Here
 * (RFC 3261 §21.4.26), e.g. a plain-RTP offer to a bridge that only takes DTLS-SRTP.
 *
 *   onInvite: (inv) => { const r = offerRefusal(inv, config); r ? inv.reject(r) : inv.accept() }
 */

import type { Invitation } from 'sip.js'
import { checkOffer } from '../index.js'
import type { RTCConfiguration } from '../index.js'

export interface OfferRefusal {
  statusCode: 488
  reasonPhrase: string
}

/** undefined when the INVITE carries no offer (late offer) or one a connection with `configuration` takes. */
export function offerRefusal(invitation: Invitation, configuration: RTCConfiguration = {}): OfferRefusal | undefined {
  const body = invitation.body
  if (body === undefined || body === '') return undefined
  try {
    checkOffer(body, configuration)
    return undefined
  } catch {
    return { statusCode: 488, reasonPhrase: 'Not Acceptable Here' }
  }
}
