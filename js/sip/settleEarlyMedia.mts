/*
 * SIP early media (RFC 3960: a 183 Session Progress with SDP, ringback or an announcement)
 * is applied as a provisional answer (`GstSessionDescriptionHandler.earlyAnswer`). When the
 * call is answered, SIP.js's Inviter only ACKs the 200 OK of that dialog, whose SDP is the
 * early one (it accepts no other), so the provisional answer becomes the final one here.
 */

import { Inviter, SessionState, type Session } from 'sip.js'
import type { GstSessionDescriptionHandler } from './SessionDescriptionHandler.mjs'

export function settleEarlyMedia(session: Session, handler: GstSessionDescriptionHandler): void {
  if (!(session instanceof Inviter)) return
  const pc = handler.gstPeerConnection
  // The confirmed dialog appears with the 2xx, before SIP.js applies its answer.
  handler.earlyAnswer = () => session.state === SessionState.Establishing && session.dialog === undefined
  const logger = session.userAgent.getLogger('sip.SessionDescriptionHandler')
  const onState = (state: SessionState): void => {
    if (state === SessionState.Terminated) session.stateChange.removeListener(onState)
    if (state !== SessionState.Established) return
    session.stateChange.removeListener(onState)
    const early = pc.remoteDescription
    if (pc.signalingState !== 'have-remote-pranswer' || !early) return
    pc.setRemoteDescription({ type: 'answer', sdp: early.sdp }).catch((error: unknown) => {
      logger.error(`making the early answer final: ${(error as Error).message}`)
    })
  }
  session.stateChange.addListener(onState)
}
