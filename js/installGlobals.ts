/*
 * Browser-style globals for code written against the DOM (SIP.js's Web
 * SessionDescriptionHandler calls `new RTCPeerConnection()` directly).
 * Existing globals are never replaced.
 */

import { MediaStream } from './w3c/MediaStream'
import { MediaStreamTrack } from './w3c/MediaStreamTrack'
import { MediaStreamTrackEvent } from './w3c/MediaStreamTrackEvent'
import { GstPeerConnection } from './w3c/RTCPeerConnection'
import { RTCIceCandidate } from './w3c/RTCIceCandidate'
import { RTCSessionDescription } from './w3c/RTCSessionDescription'
import { RTCRtpSender } from './w3c/RTCRtpSender'
import { RTCRtpReceiver } from './w3c/RTCRtpReceiver'
import { RTCRtpTransceiver } from './w3c/RTCRtpTransceiver'
import { RTCDtlsTransport } from './w3c/RTCDtlsTransport'
import { RTCError } from './w3c/RTCError'
import { RTCErrorEvent } from './w3c/RTCErrorEvent'
import { RTCIceTransport } from './w3c/RTCIceTransport'
import { RTCTrackEvent } from './w3c/RTCTrackEvent'
import { RTCPeerConnectionIceEvent } from './w3c/RTCPeerConnectionIceEvent'
import { RTCDTMFSender } from './w3c/RTCDTMFSender'
import { RTCDTMFToneChangeEvent } from './w3c/RTCDTMFToneChangeEvent'

export function installGlobals(): void {
  const globals: Record<string, unknown> = {
    RTCPeerConnection: GstPeerConnection,
    RTCSessionDescription,
    RTCIceCandidate,
    MediaStream,
    MediaStreamTrack,
    MediaStreamTrackEvent,
    RTCRtpSender,
    RTCRtpReceiver,
    RTCRtpTransceiver,
    RTCDtlsTransport,
    RTCError,
    RTCErrorEvent,
    RTCIceTransport,
    RTCTrackEvent,
    RTCPeerConnectionIceEvent,
    RTCDTMFSender,
    RTCDTMFToneChangeEvent,
  }
  const target = globalThis as Record<string, unknown>
  for (const [name, value] of Object.entries(globals)) {
    if (target[name] !== undefined) continue
    // Same property shape as the built-in interface objects of a browser.
    Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false })
  }
}
