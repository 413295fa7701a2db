/*
 * `UserAgentOptions.sessionDescriptionHandlerFactory` for Node: SIP.js sessions whose media
 * runs on GstPeerConnection, with local audio from the application instead of getUserMedia.
 */

import { Invitation, type Session, type SessionDescriptionHandlerFactory } from 'sip.js'
import { checkOffer, installGlobals, MediaStream, MediaStreamTrack } from '../index.js'
import type { RTCConfiguration as GstConfiguration } from '../index.js'
import { GstSessionDescriptionHandler } from './SessionDescriptionHandler.mjs'
import { endOnMediaFailure } from './endOnMediaFailure.mjs'
import { settleEarlyMedia } from './settleEarlyMedia.mjs'

export type LocalMedia = MediaStreamTrack | MediaStreamTrack[] | MediaStream | null | undefined

export interface GstSessionDescriptionHandlerFactoryOptions {
  /** The local tracks of a session (a ToneSource's, an RTCAudioSource's, a mixer's …); none → receive only. */
  media?: (session: Session) => LocalMedia | Promise<LocalMedia>
  /** Merged over `{ iceServers: [] }`: unlike SIP.js's default, no public STUN server. */
  peerConnectionConfiguration?: GstConfiguration
  /** How long to wait for ICE gathering before sending the SDP (ms; SIP.js's default 5000). */
  iceGatheringTimeout?: number
  /** Receive jitter buffer (ms); also settable in peerConnectionConfiguration. */
  jitterBufferLatency?: number
  /**
   * End an established call with BYE when its media connection fails (`connectionState`
   * 'failed': the far end silent for 30 s, or its DTLS certificate refused). Default true.
   */
  endOnMediaFailure?: boolean
}

/**
 * SIP.js stops the local tracks of a session when it ends (it assumes they came from
 * getUserMedia). The application's tracks — a tone, a mixer output shared by many calls —
 * must outlive the call, so SIP.js gets clones.
 */
function toStream(media: LocalMedia): MediaStream {
  const tracks = media instanceof MediaStream ? media.getTracks() : !media ? [] : Array.isArray(media) ? media : [media]
  return new MediaStream(tracks.map((t) => t.clone()))
}

/**
 * The configuration for one session. `rtpProfile` is the least secure profile accepted, and
 * every profile accepts DTLS-SRTP: an incoming INVITE that offers it is a WebRTC call, so its
 * connection is a WebRTC one (webrtcbin) whatever profile our own offers use. The choice is
 * made here because SIP.js adds the local tracks before it applies the offer.
 */
function configurationFor(session: Session, configuration: GstConfiguration): GstConfiguration {
  const offer = session instanceof Invitation ? session.body : undefined
  if (offer === undefined || offer === '' || (configuration.rtpProfile ?? 'UDP/TLS/RTP/SAVPF') === 'UDP/TLS/RTP/SAVPF') return configuration
  try {
    return checkOffer(offer, configuration) === 'dtls' ? { ...configuration, rtpProfile: 'UDP/TLS/RTP/SAVPF' } : configuration
  } catch {
    // Refused: setDescription fails with the reason (offerRefusal turns it into a 488 first).
    return configuration
  }
}

export function sessionDescriptionHandlerFactory(options: GstSessionDescriptionHandlerFactoryOptions = {}): SessionDescriptionHandlerFactory {
  // The stock handler uses MediaStream and MediaStreamTrackEvent as globals.
  installGlobals()
  return (session, rawFactoryOptions) => {
    // SIP.js types these as `object`; they are Web.SessionDescriptionHandlerFactoryOptions.
    const factoryOptions = rawFactoryOptions as { iceGatheringTimeout?: number; peerConnectionConfiguration?: GstConfiguration } | undefined
    // SIP.js asks for the local stream on every offer/answer; the same tracks every time
    // means re-INVITEs renegotiate instead of replacing senders.
    let local: Promise<MediaStream> | undefined
    const mediaStreamFactory = (): Promise<MediaStream> => {
      local ??= Promise.resolve(options.media?.(session)).then(toStream)
      return local
    }
    const timeout = options.iceGatheringTimeout ?? factoryOptions?.iceGatheringTimeout ?? 5000
    const peerConnectionConfiguration = configurationFor(session, {
      iceServers: [],
      ...factoryOptions?.peerConnectionConfiguration,
      ...options.peerConnectionConfiguration,
      ...(options.jitterBufferLatency !== undefined ? { jitterBufferLatency: options.jitterBufferLatency } : {}),
    })
    const logger = session.userAgent.getLogger('sip.SessionDescriptionHandler')
    const handler = new GstSessionDescriptionHandler(
      logger,
      mediaStreamFactory as unknown as ConstructorParameters<typeof GstSessionDescriptionHandler>[1],
      { iceGatheringTimeout: timeout, peerConnectionConfiguration: peerConnectionConfiguration as never },
    )
    if (options.endOnMediaFailure ?? true) endOnMediaFailure(session, handler.gstPeerConnection)
    settleEarlyMedia(session, handler)
    return handler
  }
}
