/*
 * A call whose media connection has failed is over: nothing will carry its audio again
 * (connectionState 'failed' is final without an ICE restart, webrtc-pc §4.3.3, and the far
 * end has gone silent for 30 s or refused our DTLS certificate). SIP.js does not notice —
 * the dialog would stay up, billing, with no audio — so the call is ended with a BYE
 * (RFC 3261 §15), whose Reason (RFC 3326) says why, and everything it held is freed.
 */

import { SessionState, type Session } from 'sip.js'
import type { GstPeerConnection } from '../index.js'

/** The Reason header of that BYE: Q.850 cause 41, "temporary failure" (network out of order). */
export const MEDIA_FAILURE_REASON = 'Reason: Q.850;cause=41;text="media connection failed"'

export function endOnMediaFailure(session: Session, pc: GstPeerConnection): void {
  const logger = session.userAgent.getLogger('sip.SessionDescriptionHandler')
  const onChange = (): void => {
    if (pc.connectionState !== 'failed') return
    pc.removeEventListener('connectionstatechange', onChange)
    // After the event's dispatch: the BYE closes the connection, and every other listener
    // of this 'failed' event must still see 'failed'.
    queueMicrotask(() => {
      if (session.state !== SessionState.Established) return
      logger.warn('the media connection failed: ending the call with BYE')
      session.bye({ requestOptions: { extraHeaders: [MEDIA_FAILURE_REASON] } }).catch((error: unknown) => {
        logger.error(`BYE after media failure: ${(error as Error).message}`)
      })
    })
  }
  pc.addEventListener('connectionstatechange', onChange)
}
