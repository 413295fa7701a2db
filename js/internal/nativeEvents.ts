/*
 * The routing of a connection's one ordered native event channel (docs/architecture.md):
 * request results settle their promises; ICE and connection state changes update the
 * attributes and fire their events (webrtc-pc §4.3.3, §5.6); received DTMF digits fire on
 * the receiver and the connection. Runs on the JS thread, in native order. A malformed
 * event is dropped with a warning rather than thrown: an exception here would be uncaught
 * and take down every other connection.
 */

import type { NativeEvent } from './native'
import { RTCDTMFEvent } from '../w3c/RTCDTMFEvent'
import { RTCIceCandidate } from '../w3c/RTCIceCandidate'
import { RTCPeerConnectionIceEvent } from '../w3c/RTCPeerConnectionIceEvent'
import type { RTCRtpReceiver } from '../w3c/RTCRtpReceiver'
import {
  asEnum,
  ICE_CONNECTION_STATES,
  ICE_GATHERING_STATES,
  PEER_CONNECTION_STATES,
  type RTCIceConnectionState,
  type RTCIceGatheringState,
  type RTCPeerConnectionState,
} from '../w3c/webrtcTypes'

/** The attributes the native channel reports; the connection's getters read them. */
export interface TransportStates {
  iceGatheringState: RTCIceGatheringState
  iceConnectionState: RTCIceConnectionState
  connectionState: RTCPeerConnectionState
}

export interface NativeEventTarget {
  /** [[IsClosed]], read again after each dispatch: a handler may close the connection. */
  readonly closed: boolean
  readonly states: TransportStates
  /** Settles the pending request a `result` event answers. */
  settle(ev: NativeEvent): void
  receiverOf(transceiverId: number): RTCRtpReceiver | undefined
  /** The first packet of a transceiver's receive stream arrived. */
  mediaArrived(transceiverId: number): void
  dispatchEvent(event: Event): boolean
  /** The local description gained a candidate or end-of-candidates (webrtc-pc §5.6: before the event). */
  localCandidatesChanged(): void
  /**
   * A state of `states` changed: the transport objects fire their events first (webrtc-pc
   * §5.5, §5.6), then the connection fires its own.
   */
  transportChanged(what: 'gathering' | 'ice' | 'dtls'): void
  /** The DTLS transport failed for the given RTCErrorDetailType (webrtc-pc §5.5.1): fire its `error`. */
  dtlsFailed(detail: string): void
}

export function routeNativeEvent(ev: NativeEvent, target: NativeEventTarget): void {
  if (ev.type === 'result') {
    // After close() every pending request was already rejected with InvalidStateError.
    target.settle(ev)
    return
  }
  if (target.closed) return
  const states = target.states
  switch (ev.type) {
    case 'icecandidate': {
      const sdpMid = ev.sdpMid ?? null
      const sdpMLineIndex = ev.sdpMLineIndex ?? null
      if (sdpMid === null && sdpMLineIndex === null) return warnMalformed(ev)
      const candidate = new RTCIceCandidate({ candidate: ev.candidate ?? '', sdpMid, sdpMLineIndex, usernameFragment: ev.usernameFragment ?? null })
      target.localCandidatesChanged()
      target.dispatchEvent(new RTCPeerConnectionIceEvent('icecandidate', { candidate, url: null }))
      break
    }
    case 'icegatheringstatechange': {
      const state = asEnum(ICE_GATHERING_STATES, ev.state)
      if (state === null) return warnMalformed(ev)
      if (state === states.iceGatheringState) break
      states.iceGatheringState = state
      if (state === 'complete') target.localCandidatesChanged()
      target.transportChanged('gathering')
      target.dispatchEvent(new Event('icegatheringstatechange'))
      // webrtc-pc §5.6 "update the ICE gathering state": completion is also announced as a null candidate.
      if (state === 'complete' && !target.closed) {
        target.dispatchEvent(new RTCPeerConnectionIceEvent('icecandidate', { candidate: null, url: null }))
      }
      break
    }
    case 'iceconnectionstatechange': {
      const state = asEnum(ICE_CONNECTION_STATES, ev.state)
      if (state === null) return warnMalformed(ev)
      if (state === states.iceConnectionState) break
      // webrtc-pc §4.3.3: 'completed' is only reached through 'connected'; native ICE may report
      // the nominated pair directly, so the intermediate state is made visible here.
      if (state === 'completed' && states.iceConnectionState !== 'connected') {
        states.iceConnectionState = 'connected'
        target.transportChanged('ice')
        target.dispatchEvent(new Event('iceconnectionstatechange'))
        if (target.closed) break
      }
      states.iceConnectionState = state
      target.transportChanged('ice')
      target.dispatchEvent(new Event('iceconnectionstatechange'))
      break
    }
    case 'connectionstatechange': {
      const state = asEnum(PEER_CONNECTION_STATES, ev.state)
      if (state === null) return warnMalformed(ev)
      if (state === states.connectionState) break
      states.connectionState = state
      target.transportChanged('dtls')
      target.dispatchEvent(new Event('connectionstatechange'))
      break
    }
    case 'dtlserror': {
      if (typeof ev.errorCode !== 'string') return warnMalformed(ev)
      target.dtlsFailed(ev.errorCode)
      break
    }
    case 'dtmf': {
      // Non-standard: a received RFC 4733 digit, on the receiver and then on the connection.
      const receiver = ev.transceiverId == null ? undefined : target.receiverOf(ev.transceiverId)
      if (receiver === undefined || typeof ev.tone !== 'string') return warnMalformed(ev)
      const init = { tone: ev.tone, duration: ev.duration ?? 0, receiver }
      receiver.dispatchEvent(new RTCDTMFEvent('dtmf', init))
      target.dispatchEvent(new RTCDTMFEvent('dtmf', init))
      break
    }
    case 'receiving': {
      if (ev.transceiverId == null) return warnMalformed(ev)
      target.mediaArrived(ev.transceiverId)
      break
    }
    default:
      // Newer native builds may add event types; older JS ignores them.
      break
  }
}

function warnMalformed(ev: NativeEvent): void {
  process.emitWarning(`gst-peerconnection: ignoring malformed native '${ev.type}' event`, { code: 'GST_PC_NATIVE_EVENT' })
}

/**
 * Routes a connection's native events in order, each where webrtc-pc runs it. Node runs a
 * batch of threadsafe-function calls without a microtask checkpoint between them, but the
 * spec gives gathering completion a task of its own after the transports' end-of-candidates
 * (webrtc-pc §5.6): so that event, and everything after it, waits for the next turn of the
 * event loop (an immediate), where the order is kept.
 */
export function nativeEventRouter(target: NativeEventTarget): (ev: NativeEvent) => void {
  const queue: NativeEvent[] = []
  let scheduled = false
  const startsTask = (ev: NativeEvent): boolean => ev.type === 'icegatheringstatechange' && ev.state === 'complete'
  const schedule = (): void => {
    if (scheduled) return
    scheduled = true
    setImmediate(drain)
  }
  const drain = (): void => {
    scheduled = false
    let first = true
    while (queue.length > 0) {
      const next = queue[0] as NativeEvent
      if (!first && startsTask(next)) return schedule()
      queue.shift()
      first = false
      routeNativeEvent(next, target)
    }
  }
  return (ev) => {
    if (queue.length > 0 || startsTask(ev)) {
      queue.push(ev)
      schedule()
      return
    }
    routeNativeEvent(ev, target)
  }
}
