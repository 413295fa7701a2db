/* Public entry point of gst-peerconnection (CommonJS; esm/index.mjs wraps it). */

import { RTCAudioSink } from './nonstandard/RTCAudioSink'
import { RTCAudioSource } from './nonstandard/RTCAudioSource'

export { GstPeerConnection, RTCPeerConnection } from './RTCPeerConnection'
export { RTCSessionDescription } from './RTCSessionDescription'
export { RTCIceCandidate } from './RTCIceCandidate'
export { MediaStream } from './MediaStream'
export { MediaStreamTrack } from './MediaStreamTrack'
export type { MediaStreamTrackState } from './MediaStreamTrack'
export { MediaStreamTrackEvent } from './MediaStreamTrackEvent'
export type { MediaStreamTrackEventInit } from './MediaStreamTrackEvent'
export { RTCRtpSender } from './RTCRtpSender'
export { RTCRtpReceiver } from './RTCRtpReceiver'
export { RTCRtpTransceiver } from './RTCRtpTransceiver'
export { RTCPeerConnectionIceEvent } from './RTCPeerConnectionIceEvent'
export type { RTCPeerConnectionIceEventInit } from './RTCPeerConnectionIceEvent'
export { RTCTrackEvent } from './RTCTrackEvent'
export type { RTCTrackEventInit } from './RTCTrackEvent'
export { ToneSource } from './ToneSource'
export type { ToneSourceOptions } from './ToneSource'
export { installGlobals } from './installGlobals'
export type { EventHandler } from './eventHandlers'
export type { RTCAudioData } from './nonstandard/RTCAudioSource'
export type { RTCAudioDataEvent } from './nonstandard/RTCAudioDataEvent'
export type * from './webrtcTypes'

export const nonstandard = { RTCAudioSource, RTCAudioSink }
