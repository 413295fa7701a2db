/* webrtc-pc §4.4 RTCPeerConnection over a media backend (MediaSession.ts; webrtcbin today). */

import { randomUUID } from 'node:crypto'
import {
  normalizeConfiguration,
  toNativeConfig,
  toRTCConfiguration,
  type NormalizedConfiguration,
} from '../internal/configuration'
import type { ConnectionHost } from '../internal/ConnectionHost'
import { hasRecv, hasSend, withoutSend, withSend } from '../internal/direction'
import {
  callNative,
  invalidAccess,
  invalidModification,
  invalidState,
  notSupported,
  operationError,
} from '../internal/errors'
import { defineEventHandlerAttributes, type EventHandler } from '../internal/eventHandlers'
import { acquireKeepAlive, type KeepAlive } from '../internal/keepalive'
import { MediaStream } from './MediaStream'
import { endTrack, MediaStreamTrack, nativeTrackOf } from './MediaStreamTrack'
import { sessionFor, sessionForOffer, webrtcbinSession, type MediaSession, type MediaSessionFactory } from '../internal/MediaSession'
import type { CreateInputs, NativeEvent, SenderMsid } from '../internal/native'
import { nativeEventRouter, type NativeEventTarget, type TransportStates } from '../internal/nativeEvents'
import { NativeRequests } from '../internal/NativeRequests'
import { NegotiationNeededFlag } from '../internal/NegotiationNeededFlag'
import { isNegotiationNeeded } from '../internal/negotiationNeeded'
import { OperationsChain } from '../internal/OperationsChain'
import { RemoteTracks } from '../internal/RemoteTracks'
import type { RTCDTMFEvent } from './RTCDTMFEvent'
import type { RTCIceCandidate } from './RTCIceCandidate'
import type { RTCPeerConnectionIceEvent } from './RTCPeerConnectionIceEvent'
import type { RTCRtpReceiver } from './RTCRtpReceiver'
import { RTCRtpSender } from './RTCRtpSender'
import type { RTCRtpTransceiver } from './RTCRtpTransceiver'
import { RTCSessionDescription } from './RTCSessionDescription'
import { RTCDtlsTransport, type RTCDtlsTransportState } from './RTCDtlsTransport'
import { RTC_ERROR_DETAILS, RTCError, type RTCErrorDetailType } from './RTCError'
import { RTCErrorEvent } from './RTCErrorEvent'
import { RTCIceTransport, type RTCIceRole } from './RTCIceTransport'
import { parseStatsReport, RTCStatsReport, selectStats, type StatsSelector } from './RTCStatsReport'
import { RTCTrackEvent, type RTCTrackEventInit } from './RTCTrackEvent'
import { checkSendEncodings, toNativeCodec } from '../internal/rtpParameters'
import { iceUfragsOf, parseSdp, type ParsedSdp } from '../internal/sdp'
import { TransceiverRegistry, type TransceiverEntry } from '../internal/TransceiverRegistry'
import { isMediaDirection, type TransceiverState } from '../internal/TransceiverState'
import {
  SDP_TYPES,
  SIGNALING_STATES,
  TRANSCEIVER_DIRECTIONS,
  toEnum,
  toUnsignedShort,
  type RTCAnswerOptions,
  type RTCConfiguration,
  type RTCIceCandidateInit,
  type RTCIceConnectionState,
  type RTCIceGatheringState,
  type RTCLocalSessionDescriptionInit,
  type RTCOfferOptions,
  type RTCPeerConnectionState,
  type RTCRtpTransceiverInit,
  type RTCSdpType,
  type RTCSessionDescriptionInit,
  type RTCSignalingState,
} from './webrtcTypes'

interface CreatedDescription {
  sdp: string
  /** Value of the local-state generation when it was created: a later change makes it outdated. */
  generation: number
}

type DescriptionGetter =
  | 'localDescription'
  | 'currentLocalDescription'
  | 'pendingLocalDescription'
  | 'remoteDescription'
  | 'currentRemoteDescription'
  | 'pendingRemoteDescription'


const LOCAL_DESCRIPTION_GETTERS: readonly DescriptionGetter[] = ['localDescription', 'currentLocalDescription', 'pendingLocalDescription']
const REMOTE_DESCRIPTION_GETTERS: readonly DescriptionGetter[] = ['remoteDescription', 'currentRemoteDescription', 'pendingRemoteDescription']
const DESCRIPTION_GETTERS: readonly DescriptionGetter[] = [
  'localDescription',
  'currentLocalDescription',
  'pendingLocalDescription',
  'remoteDescription',
  'currentRemoteDescription',
  'pendingRemoteDescription',
]

/** Signaling states in which an implicit setLocalDescription() makes an offer (webrtc-pc §4.4.3.2 setLocalDescription step "type"). */
const IMPLICIT_OFFER_STATES: ReadonlySet<RTCSignalingState> = new Set(['stable', 'have-local-offer', 'have-remote-pranswer'])

const CLOSED_MESSAGE = 'The RTCPeerConnection is closed'

export class GstPeerConnection extends EventTarget {
  /** The media backend behind this connection (MediaSession.ts). */
  #native!: MediaSession
  /** Which backend #native is: the one our offers need, or the one the first remote offer needed. */
  #backend!: MediaSessionFactory
  readonly #route: (ev: NativeEvent) => void
  #configuration: NormalizedConfiguration
  readonly #host: ConnectionHost
  readonly #chain: OperationsChain
  readonly #requests = new NativeRequests()
  readonly #keepAlive: KeepAlive

  #closed = false
  #signalingState: RTCSignalingState = 'stable'
  readonly #states: TransportStates = { iceGatheringState: 'new', iceConnectionState: 'new', connectionState: 'new' }
  #canTrickleIceCandidates: boolean | null = null
  /**
   * The six description attributes as of the last settled change: a description operation
   * (webrtc-pc §4.4.1.5 sets them as its promise resolves, not while it is pending), a local
   * candidate (§5.6, before its icecandidate event) or an added remote one. One object per
   * description, so reading twice gives the same object; kept as they were at close().
   */
  #descriptions: Record<DescriptionGetter, RTCSessionDescription | null> = {
    localDescription: null,
    currentLocalDescription: null,
    pendingLocalDescription: null,
    remoteDescription: null,
    currentRemoteDescription: null,
    pendingRemoteDescription: null,
  }

  readonly #transceivers: TransceiverRegistry
  readonly #remoteTracks: RemoteTracks
  readonly #negotiationNeeded: NegotiationNeededFlag

  // webrtc-pc §5.5, §5.6: the one DTLS and ICE transport (everything is bundled).
  readonly #iceTransport: RTCIceTransport
  readonly #dtlsTransport: RTCDtlsTransport
  #iceRole: RTCIceRole = 'unknown'
  #dtlsState: RTCDtlsTransportState = 'new'

  // webrtc-pc §4.4.1 internal slots.
  #localIceCredentialsToReplace = new Set<string>()
  #lastCreatedOffer: CreatedDescription | null = null
  #lastCreatedAnswer: CreatedDescription | null = null
  /** Bumped on every change that makes a previously created offer/answer outdated. */
  #generation = 0

  // A default, not an optional parameter: RTCPeerConnection.length is 0 (WebIDL: the optional argument does not count).
  constructor(configuration: RTCConfiguration = {}) {
    super()
    this.#configuration = normalizeConfiguration(configuration)
    this.#iceTransport = new RTCIceTransport(this.#states, () => this.#iceRole)
    this.#dtlsTransport = new RTCDtlsTransport(this.#states, this.#iceTransport)
    const self = this
    this.#host = {
      get closed(): boolean {
        return self.#closed
      },
      get native(): MediaSession {
        return self.#native
      },
      chain: <T>(operation: () => Promise<T>): Promise<T> => this.#chain.run(operation),
      localStateChanged: (): void => this.#localStateChanged(),
      stopTransceiver: (state: TransceiverState): void => this.#transceivers.stopSendingAndReceiving(state),
      stats: (select: StatsSelector): Promise<RTCStatsReport> => this.#stats(select),
      transport: this.#dtlsTransport,
    }
    this.#chain = new OperationsChain(
      () => this.#closed,
      () => this.#negotiationNeeded.chainEmptied(),
    )
    this.#transceivers = new TransceiverRegistry(this.#host)
    this.#remoteTracks = new RemoteTracks(this.#transceivers)
    this.#negotiationNeeded = new NegotiationNeededFlag({
      chain: this.#chain,
      get closed(): boolean {
        return self.#closed
      },
      get stable(): boolean {
        return self.#signalingState === 'stable'
      },
      check: (): boolean => this.#checkIfNegotiationIsNeeded(),
      fire: (): void => void this.dispatchEvent(new Event('negotiationneeded')),
    })
    const events: NativeEventTarget = {
      get closed(): boolean {
        return self.#closed
      },
      states: this.#states,
      settle: (ev: NativeEvent): void => this.#requests.settle(ev),
      receiverOf: (id: number): RTCRtpReceiver | undefined => this.#transceivers.byId(id)?.transceiver.receiver,
      mediaArrived: (id: number): void => {
        const entry = this.#transceivers.byId(id)
        if (entry !== undefined) this.#remoteTracks.mediaArrived(entry.state)
      },
      dispatchEvent: (event: Event): boolean => this.dispatchEvent(event),
      localCandidatesChanged: (): void => this.#refreshDescriptions(LOCAL_DESCRIPTION_GETTERS),
      transportChanged: (what): void => this.#transportChanged(what),
      dtlsFailed: (detail: string): void => {
        const errorDetail = (RTC_ERROR_DETAILS as readonly string[]).includes(detail) ? (detail as RTCErrorDetailType) : 'dtls-failure'
        const message = errorDetail === 'fingerprint-failure' ? "The peer's DTLS certificate does not match the remote description's fingerprint" : 'DTLS failed'
        this.#dtlsTransport.dispatchEvent(new RTCErrorEvent('error', { error: new RTCError({ errorDetail }, message) }))
      },
    }
    this.#route = nativeEventRouter(events)
    this.#open(sessionFor(toNativeConfig(this.#configuration)))
    this.#keepAlive = acquireKeepAlive()
  }

  // ---------------------------------------------------------------- offer/answer

  /** webrtc-pc §4.4.3.2 createOffer(), with the legacy offerToReceiveAudio of §11.2. */
  createOffer(options: RTCOfferOptions = {}): Promise<RTCSessionDescriptionInit> {
    if (!this.#closed) {
      try {
        this.#applyLegacyOfferOptions(options ?? {})
      } catch (err) {
        return Promise.reject(err)
      }
    }
    return this.#chain.run(() => this.#createOffer(options ?? {}))
  }

  /** webrtc-pc §4.4.3.2 createAnswer() */
  createAnswer(_options: RTCAnswerOptions = {}): Promise<RTCSessionDescriptionInit> {
    return this.#chain.run(() => this.#createAnswer())
  }

  /** webrtc-pc §4.4.3.2 setLocalDescription(), including the parameterless (implicit) form. */
  setLocalDescription(description?: RTCLocalSessionDescriptionInit | null): Promise<void> {
    let requestedType: RTCSdpType | undefined
    let sdp: string
    try {
      requestedType = description?.type === undefined ? undefined : toEnum(SDP_TYPES, description.type, 'RTCSdpType')
      sdp = description?.sdp == null ? '' : String(description.sdp)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#chain.run(async () => {
      const type: RTCSdpType = requestedType ?? (IMPLICIT_OFFER_STATES.has(this.#signalingState) ? 'offer' : 'answer')
      if (type === 'rollback') return this.#setDescription('local', 'rollback', '')
      // Deliberately unlike webrtc-pc §4.4.1.5 step 4 (InvalidModificationError for an SDP that
      // differs from the last created one) and like Chromium: SIP.js applies its SDP
      // modifiers (hold, codec filters) between createOffer and setLocalDescription.
      // Which states accept which type is src/negotiation.rs's rule: the native call rejects.
      if (type === 'offer') {
        const last = this.#lastCreatedOffer
        if (sdp === '') sdp = last !== null && last.generation === this.#generation ? last.sdp : (await this.#createOffer({})).sdp ?? ''
      } else {
        const last = this.#lastCreatedAnswer
        if (sdp === '') sdp = last !== null && last.generation === this.#generation ? last.sdp : (await this.#createAnswer()).sdp ?? ''
      }
      return this.#setDescription('local', type, sdp)
    })
  }

  /** webrtc-pc §4.4.3.2 setRemoteDescription(), including the implicit rollback of perfect negotiation. */
  setRemoteDescription(description: RTCSessionDescriptionInit): Promise<void> {
    let type: RTCSdpType
    let sdp: string
    try {
      if (typeof description !== 'object' || description === null || description.type === undefined) {
        throw new TypeError('setRemoteDescription requires an RTCSessionDescriptionInit with a type')
      }
      type = toEnum(SDP_TYPES, description.type, 'RTCSdpType')
      sdp = description.sdp == null ? '' : String(description.sdp)
    } catch (err) {
      return Promise.reject(err)
    }
    return this.#chain.run(async () => {
      if (type === 'offer') this.#moveToBackendFor(sdp)
      // An offer is invalid in have-local-offer: roll our offer back first (glare).
      if (type === 'offer' && this.#signalingState === 'have-local-offer') {
        await this.#setDescription('local', 'rollback', '')
      }
      return this.#setDescription('remote', type, type === 'rollback' ? '' : sdp)
    })
  }

  /** Makes this connection's native session; the events of a session it replaced are dropped. */
  #open(factory: MediaSessionFactory): void {
    const config = toNativeConfig(this.#configuration)
    const route = this.#route
    const session: MediaSession = callNative(() => factory(config, (ev) => session === this.#native && route(ev)))
    this.#native = session
    this.#backend = factory
  }

  /**
   * A connection whose rtpProfile also takes SDES-SRTP or plain RTP starts on rtpbin, the
   * backend its own offers need; a DTLS-SRTP (WebRTC) offer, which every rtpProfile accepts,
   * needs webrtcbin. While nothing is negotiated, the connection moves to the backend the first
   * remote offer needs: its transceivers are made again there, in order (both backends number
   * them from 0), with their directions, sender tracks, encodings and codec preferences, and
   * keep their receiver tracks (the new backend adopts them, with whatever consumes them).
   * Later, the backend refuses an offer it cannot answer (InvalidAccessError).
   */
  #moveToBackendFor(offer: string): void {
    if (this.#backend === webrtcbinSession) return
    if (this.#descriptions.localDescription !== null || this.#descriptions.remoteDescription !== null) return
    const entries = this.#transceivers.entries
    // A stopped transceiver is not made again: its m-line is only ever rejected.
    if (entries.some(({ state }) => state.stopping)) return
    const factory = sessionForOffer(toNativeConfig(this.#configuration), offer)
    if (factory === undefined || factory === this.#backend) return
    const replaced = this.#native
    this.#open(factory)
    this.#generation++
    try {
      for (const { state } of entries) this.#remake(state, replaced)
    } finally {
      replaced.close()
    }
  }

  /** One transceiver of #moveToBackendFor, made again on the new backend under its id. */
  #remake(state: TransceiverState, replaced: MediaSession): void {
    const native = this.#native
    const id = callNative(() => native.addTransceiver(state.kind, isMediaDirection(state.direction) ? state.direction : 'inactive'))
    if (id !== state.id) throw operationError(`moving to webrtcbin made transceiver ${id} for ${state.id}`)
    // The receiver tracks change hands: ours to the new backend; the one it made to the
    // replaced session, which ends the tracks it holds when it closes.
    const made = callNative(() => native.receiverTrack(id))
    callNative(() => native.adoptReceiverTrack(id, nativeTrackOf(state.receiverTrack)))
    callNative(() => replaced.adoptReceiverTrack(id, made))
    if (state.senderTrack !== null) {
      const track = nativeTrackOf(state.senderTrack)
      callNative(() => native.setSenderTrack(id, track))
    }
    const [encoding] = state.sendEncodings
    if (encoding !== undefined) callNative(() => native.setEncoding(id, encoding.active !== false, encoding.maxBitrate))
    if (state.codecPreferences.length > 0) callNative(() => native.setCodecPreferences(id, state.codecPreferences.map(toNativeCodec)))
  }

  /** webrtc-pc §4.4.3.2 addIceCandidate(); no argument, null or an empty candidate means end-of-candidates. */
  addIceCandidate(candidate?: RTCIceCandidateInit | RTCIceCandidate | null): Promise<void> {
    let text: string, sdpMid: string | null, sdpMLineIndex: number | null, usernameFragment: string | null
    try {
      // WebIDL dictionary conversion of RTCIceCandidateInit (webrtc-pc §4.8.1): each member
      // read once, in lexicographic order; a value that cannot be converted rejects with
      // TypeError before anything else happens.
      const init = candidate ?? {}
      const candidateValue = init.candidate
      const midValue = init.sdpMid
      const indexValue = init.sdpMLineIndex
      const ufragValue = init.usernameFragment
      text = candidateValue == null ? '' : String(candidateValue)
      sdpMid = midValue == null ? null : String(midValue)
      sdpMLineIndex = indexValue == null ? null : toUnsignedShort(indexValue)
      usernameFragment = ufragValue == null ? null : String(ufragValue)
    } catch (err) {
      return Promise.reject(err instanceof TypeError ? err : new TypeError(String(err)))
    }
    if (text !== '' && sdpMid === null && sdpMLineIndex === null) {
      return Promise.reject(new TypeError('sdpMid and sdpMLineIndex are both null'))
    }
    return this.#chain.run(async () => {
      const remote = this.#descriptions.remoteDescription
      if (remote === null) throw invalidState('No remote description')
      if (text === '' && sdpMid === null && sdpMLineIndex === null) {
        // End-of-candidates for every media description; the native call needs an m-line per call.
        const count = parseSdp(remote.sdp).media.length
        for (let index = 0; index < count; index++) {
          await this.#requests.start(
            (id) => this.#native.addIceCandidate(id, '', null, index, usernameFragment),
            () => undefined,
          )
        }
        this.#refreshDescriptions(REMOTE_DESCRIPTION_GETTERS)
        return
      }
      await this.#requests.start(
        (id) => this.#native.addIceCandidate(id, text, sdpMid, sdpMLineIndex, usernameFragment),
        () => this.#refreshDescriptions(REMOTE_DESCRIPTION_GETTERS),
      )
    })
  }

  // ---------------------------------------------------------------- media

  /** webrtc-pc §5.1 addTrack() */
  addTrack(track: MediaStreamTrack, ...streams: MediaStream[]): RTCRtpSender {
    if (!(track instanceof MediaStreamTrack)) throw new TypeError('addTrack expects a MediaStreamTrack')
    for (const s of streams) if (!(s instanceof MediaStream)) throw new TypeError('addTrack expects MediaStream arguments')
    this.#assertOpen()
    const nativeTrack = nativeTrackOf(track)
    if (track.kind !== 'audio') throw notSupported(`${track.kind} tracks are not supported`)
    if (this.getSenders().some((s) => s.track === track)) throw invalidAccess('The track already has a sender')
    const streamIds = [...new Set(streams.map((s) => s.id))]

    // Reuse a transceiver that was never used to send (webrtc-pc §5.1 addTrack step "reuse").
    const reusable = this.#transceivers.entries.find(
      ({ state: s }) => !s.stopping && s.kind === track.kind && s.senderTrack === null && !s.everSent,
    )
    let entry: TransceiverEntry
    if (reusable) {
      entry = reusable
      const s = entry.state
      const direction = isMediaDirection(s.direction) ? withSend(s.direction) : 'sendrecv'
      callNative(() => {
        this.#native.setSenderTrack(s.id, nativeTrack)
        if (direction !== s.direction) this.#native.setDirection(s.id, direction)
      })
      s.direction = direction
    } else {
      const id = callNative(() => this.#native.addTransceiver(track.kind, 'sendrecv'))
      entry = this.#transceivers.create(id, track.kind, 'sendrecv')
      callNative(() => this.#native.setSenderTrack(id, nativeTrack))
    }
    entry.state.senderTrack = track
    entry.state.senderStreamIds = streamIds
    this.#localStateChanged()
    return entry.transceiver.sender
  }

  /** webrtc-pc §5.1 removeTrack() */
  removeTrack(sender: RTCRtpSender): void {
    if (!(sender instanceof RTCRtpSender)) throw new TypeError('removeTrack expects an RTCRtpSender')
    this.#assertOpen()
    const entry = this.#transceivers.entries.find((e) => e.transceiver.sender === sender)
    if (!entry) throw invalidAccess('The sender does not belong to this RTCPeerConnection')
    const s = entry.state
    // A stopping transceiver keeps its sender as it is (webrtc-pc §5.1 removeTrack; w3c/webrtc-pc#2874).
    if (s.stopping || s.senderTrack === null) return
    const direction = isMediaDirection(s.direction) ? withoutSend(s.direction) : s.direction
    callNative(() => {
      this.#native.setSenderTrack(s.id, null)
      if (direction !== s.direction) this.#native.setDirection(s.id, direction)
    })
    s.senderTrack = null
    s.direction = direction
    this.#localStateChanged()
  }

  /** webrtc-pc §5.1 addTransceiver(); audio only. */
  addTransceiver(trackOrKind: MediaStreamTrack | string, init: RTCRtpTransceiverInit = {}): RTCRtpTransceiver {
    const options = init ?? {}
    const direction = options.direction === undefined ? 'sendrecv' : toEnum(TRANSCEIVER_DIRECTIONS, options.direction, 'RTCRtpTransceiverDirection')
    if (direction === 'stopped') throw new TypeError("A transceiver cannot be created with direction 'stopped'")
    const streams = options.streams ?? []
    for (const s of streams) if (!(s instanceof MediaStream)) throw new TypeError('init.streams must contain MediaStream objects')

    let track: MediaStreamTrack | null = null
    let kind: string
    if (typeof trackOrKind === 'string') {
      if (trackOrKind !== 'audio' && trackOrKind !== 'video') throw new TypeError(`Invalid media kind '${trackOrKind}'`)
      kind = trackOrKind
    } else if (trackOrKind instanceof MediaStreamTrack) {
      track = trackOrKind
      kind = track.kind
    } else {
      throw new TypeError('addTransceiver expects a MediaStreamTrack or a kind')
    }
    const sendEncodings = checkSendEncodings(kind, options.sendEncodings)
    this.#assertOpen()
    if (kind !== 'audio') throw notSupported(`${kind} transceivers are not supported`)
    const nativeTrack = track === null ? null : nativeTrackOf(track)

    const id = callNative(() => this.#native.addTransceiver(kind, direction))
    const entry = this.#transceivers.create(id, kind, direction)
    if (track !== null) {
      callNative(() => this.#native.setSenderTrack(id, nativeTrack))
      entry.state.senderTrack = track
    }
    entry.state.sendEncodings = sendEncodings
    const [encoding] = sendEncodings
    if (encoding!.active === false || encoding!.maxBitrate !== undefined) {
      callNative(() => this.#native.setEncoding(id, encoding!.active !== false, encoding!.maxBitrate))
    }
    entry.state.senderStreamIds = [...new Set(streams.map((s) => s.id))]
    this.#localStateChanged()
    return entry.transceiver
  }

  /** webrtc-pc §4.4.4 CollectSenders: senders of transceivers that are not [[Stopped]]. */
  getSenders(): RTCRtpSender[] {
    return this.#transceivers.entries.filter((e) => !e.state.stopped).map((e) => e.transceiver.sender)
  }

  getReceivers(): RTCRtpReceiver[] {
    return this.#transceivers.entries.filter((e) => !e.state.stopped).map((e) => e.transceiver.receiver)
  }

  getTransceivers(): RTCRtpTransceiver[] {
    return this.#transceivers.entries.filter((e) => !e.state.removed).map((e) => e.transceiver)
  }

  // ---------------------------------------------------------------- misc methods

  /** webrtc-pc §4.4.3.2 restartIce(): the next offer gets new ICE credentials. */
  restartIce(): void {
    if (this.#closed) return
    // webrtc-pc §4.4.3.2 restartIce: every credential of the current and the pending local description.
    this.#localIceCredentialsToReplace.clear()
    for (const d of [this.#descriptions.currentLocalDescription, this.#descriptions.pendingLocalDescription]) {
      if (d !== null) for (const ufrag of iceUfragsOf(parseSdp(d.sdp))) this.#localIceCredentialsToReplace.add(ufrag)
    }
    this.#localStateChanged()
  }

  /**
   * webrtc-pc §8.2 getStats(selector): not chained; resolves an RTCStatsReport built from
   * webrtcbin's get-stats (src/stats/ maps its structures to webrtc-stats dictionaries).
   * With a selector, only the sender's or receiver's RTP stream stats and the objects they
   * reference (webrtc-pc §8.5 stats selection algorithm).
   */
  getStats(selector: MediaStreamTrack | null = null): Promise<RTCStatsReport> {
    if (this.#closed) return Promise.reject(invalidState(CLOSED_MESSAGE))
    let select: StatsSelector | null = null
    if (selector !== null && selector !== undefined) {
      if (!(selector instanceof MediaStreamTrack)) return Promise.reject(new TypeError('getStats selector must be a MediaStreamTrack or null'))
      const senders = this.#transceivers.entries.filter((e) => !e.state.stopped && e.state.senderTrack === selector)
      const receivers = this.#transceivers.entries.filter((e) => !e.state.stopped && e.state.receiverTrack === selector)
      if (senders.length + receivers.length !== 1) {
        return Promise.reject(invalidAccess('getStats selector must be the track of exactly one sender or receiver'))
      }
      const entry = senders[0] ?? receivers[0]!
      select = { type: senders.length === 1 ? 'outbound-rtp' : 'inbound-rtp', mid: entry.state.mid }
    }
    return this.#stats(select)
  }

  #stats(select: StatsSelector | null): Promise<RTCStatsReport> {
    if (this.#closed) return Promise.reject(invalidState(CLOSED_MESSAGE))
    return this.#requests.start(
      (id) => this.#native.getStats(id),
      (ev) => {
        const report = parseStatsReport(ev.stats)
        return select === null ? report : selectStats(report, select)
      },
    )
  }

  getConfiguration(): RTCConfiguration {
    return toRTCConfiguration(this.#configuration)
  }

  /**
   * webrtc-pc §4.4.1.1 setConfiguration(). The native connection cannot be
   * reconfigured, so only a configuration equivalent to the current one is
   * accepted.
   */
  setConfiguration(configuration: RTCConfiguration = {}): void {
    this.#assertOpen()
    const next = normalizeConfiguration(configuration)
    const current = this.#configuration
    if (next.bundlePolicy !== current.bundlePolicy || next.rtcpMuxPolicy !== current.rtcpMuxPolicy) {
      throw invalidModification('bundlePolicy and rtcpMuxPolicy cannot be changed')
    }
    if (JSON.stringify(toNativeConfig(next)) !== JSON.stringify(toNativeConfig(current))) {
      throw notSupported('Changing the configuration of an existing connection is not supported')
    }
    this.#configuration = next
  }

  /** webrtc-pc §4.4.1.6 close(): no state change events are fired. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    this.#signalingState = 'closed'
    // "stop the RTCRtpTransceiver" with disappear = true: tracks end silently.
    for (const { state } of this.#transceivers.entries) {
      state.stopping = true
      state.stopped = true
      state.direction = 'stopped'
      state.currentDirection = 'stopped'
      endTrack(state.receiverTrack, false)
    }
    this.#states.iceConnectionState = 'closed'
    this.#states.connectionState = 'closed'
    try {
      this.#native.close()
    } finally {
      this.#requests.rejectAll(() => invalidState(CLOSED_MESSAGE))
      this.#keepAlive.release()
    }
  }

  // ---------------------------------------------------------------- attributes

  get localDescription(): RTCSessionDescription | null {
    return this.#descriptions.localDescription
  }
  get currentLocalDescription(): RTCSessionDescription | null {
    return this.#descriptions.currentLocalDescription
  }
  get pendingLocalDescription(): RTCSessionDescription | null {
    return this.#descriptions.pendingLocalDescription
  }
  get remoteDescription(): RTCSessionDescription | null {
    return this.#descriptions.remoteDescription
  }
  get currentRemoteDescription(): RTCSessionDescription | null {
    return this.#descriptions.currentRemoteDescription
  }
  get pendingRemoteDescription(): RTCSessionDescription | null {
    return this.#descriptions.pendingRemoteDescription
  }
  get signalingState(): RTCSignalingState {
    return this.#signalingState
  }
  get iceGatheringState(): RTCIceGatheringState {
    return this.#states.iceGatheringState
  }
  get iceConnectionState(): RTCIceConnectionState {
    return this.#states.iceConnectionState
  }
  get connectionState(): RTCPeerConnectionState {
    return this.#states.connectionState
  }
  get canTrickleIceCandidates(): boolean | null {
    return this.#canTrickleIceCandidates
  }
  /** No data channels. */
  get sctp(): null {
    return null
  }

  // ---------------------------------------------------------------- event handler attributes

  declare onicecandidate: EventHandler<RTCPeerConnectionIceEvent>
  declare onicecandidateerror: EventHandler
  declare onicegatheringstatechange: EventHandler
  declare oniceconnectionstatechange: EventHandler
  declare onconnectionstatechange: EventHandler
  declare onsignalingstatechange: EventHandler
  declare onnegotiationneeded: EventHandler
  /** Non-standard: received RFC 4733 DTMF digits of any receiver (RTCDTMFEvent). */
  declare ondtmf: EventHandler<RTCDTMFEvent>
  declare ontrack: EventHandler<RTCTrackEvent>
  declare ondatachannel: EventHandler

  // ---------------------------------------------------------------- internals

  #assertOpen(): void {
    if (this.#closed) throw invalidState(CLOSED_MESSAGE)
  }

  /**
   * Reads the native descriptions into the attributes; an unchanged one keeps its object, and
   * localDescription/remoteDescription are the pending or current object itself (webrtc-pc
   * §4.4.1.1: "return pendingLocalDescription if it is not null, otherwise currentLocalDescription").
   */
  #refreshDescriptions(getters: readonly DescriptionGetter[]): void {
    if (this.#closed) return
    for (const getter of getters) {
      if (getter === 'localDescription' || getter === 'remoteDescription') continue
      const d = callNative(() => this.#native[getter]())
      const old = this.#descriptions[getter]
      if (d === null) {
        this.#descriptions[getter] = null
        continue
      }
      const type = (SDP_TYPES as readonly string[]).includes(d.type) ? (d.type as RTCSdpType) : 'offer'
      if (old === null || old.type !== type || old.sdp !== d.sdp) this.#descriptions[getter] = new RTCSessionDescription({ type, sdp: d.sdp })
    }
    const d = this.#descriptions
    d.localDescription = d.pendingLocalDescription ?? d.currentLocalDescription
    d.remoteDescription = d.pendingRemoteDescription ?? d.currentRemoteDescription
  }

  /** webrtc-pc §11.2 legacy offerToReceiveAudio, applied before createOffer is chained. */
  #applyLegacyOfferOptions(options: RTCOfferOptions): void {
    if (options.offerToReceiveAudio === undefined) return
    const audio = this.#transceivers.entries.filter((e) => e.state.kind === 'audio' && !e.state.stopping)
    if (options.offerToReceiveAudio) {
      if (!audio.some((e) => hasRecv(e.state.direction))) this.addTransceiver('audio', { direction: 'recvonly' })
      return
    }
    for (const e of audio) {
      const d = e.state.direction
      if (isMediaDirection(d) && hasRecv(d)) e.transceiver.direction = hasSend(d) ? 'sendonly' : 'inactive'
    }
  }

  #createOffer(options: RTCOfferOptions): Promise<RTCSessionDescriptionInit> {
    this.#assertOpen()
    const generation = this.#generation
    const iceRestart = options.iceRestart === true || this.#localIceCredentialsToReplace.size > 0
    return this.#requests.start(
      (id) => this.#native.createOffer(id, iceRestart, this.#createInputs()),
      (ev) => {
        if (typeof ev.sdp !== 'string') throw operationError('The native side returned no offer')
        this.#lastCreatedOffer = { sdp: ev.sdp, generation }
        return { type: 'offer', sdp: ev.sdp }
      },
    )
  }

  /** What native needs of our transceivers to write an offer or answer. */
  #createInputs(): CreateInputs {
    const stopping = this.#transceivers.entries.filter(({ state }) => state.stopping).map(({ state }) => state.id)
    return { msids: this.#senderMsids(), stopping }
  }

  /** Each sender's streams and msid track id, for the a=msid lines native writes (RFC 8830). */
  #senderMsids(): SenderMsid[] {
    return this.#transceivers.entries
      .filter(({ state }) => !state.stopped)
      .map(({ state }) => {
        state.msidTrackId ??= state.senderTrack?.id ?? randomUUID()
        return { transceiver: state.id, streams: state.senderStreamIds, track: state.msidTrackId }
      })
  }

  #createAnswer(): Promise<RTCSessionDescriptionInit> {
    this.#assertOpen()
    const generation = this.#generation
    return this.#requests.start(
      (id) => this.#native.createAnswer(id, this.#createInputs()),
      (ev) => {
        if (typeof ev.sdp !== 'string') throw operationError('The native side returned no answer')
        this.#lastCreatedAnswer = { sdp: ev.sdp, generation }
        return { type: 'answer', sdp: ev.sdp }
      },
    )
  }

  #setDescription(side: 'local' | 'remote', type: RTCSdpType, sdp: string): Promise<void> {
    this.#assertOpen()
    return this.#requests.start(
      (id) =>
        side === 'local' ? this.#native.setLocalDescription(id, type, sdp) : this.#native.setRemoteDescription(id, type, sdp),
      (ev) => this.#descriptionApplied(side, type, sdp, ev),
    )
  }

  /**
   * The tail of webrtc-pc §4.4.1.5 "set the RTCSessionDescription", run
   * synchronously with the native result: update state, process remote
   * tracks, then fire signalingstatechange before any track event.
   */
  /** webrtc-pc §5.5, §5.6: the transports' events, fired before the connection's own. */
  #transportChanged(what: 'gathering' | 'ice' | 'dtls'): void {
    if (what === 'gathering') {
      this.#iceTransport.dispatchEvent(new Event('gatheringstatechange'))
    } else if (what === 'ice') {
      this.#iceTransport.dispatchEvent(new Event('statechange'))
    } else if (this.#dtlsTransport.state !== this.#dtlsState) {
      this.#dtlsState = this.#dtlsTransport.state
      this.#dtlsTransport.dispatchEvent(new Event('statechange'))
    }
  }

  #descriptionApplied(side: 'local' | 'remote', type: RTCSdpType, sdp: string, ev: NativeEvent): void {
    const previous = this.#signalingState
    // RFC 8445 §6.1.1: the offerer's agent is controlling; fixed by the first exchange.
    if (this.#iceRole === 'unknown' && side === 'remote' && type !== 'rollback') {
      this.#iceRole = type === 'offer' ? 'controlled' : 'controlling'
    }
    const reported = ev.state ?? callNative(() => this.#native.signalingState())
    this.#signalingState = toEnum(SIGNALING_STATES, reported, 'RTCSignalingState')
    this.#generation++
    this.#refreshDescriptions(DESCRIPTION_GETTERS)

    // Native's part of applying a description, on this thread: the transceivers webrtcbin made,
    // one for each m-section of a remote offer (webrtc-pc §4.4.1.6), and the send chains switched
    // to what an answer negotiated. Its failure (an OperationError) fails the operation, though
    // the description itself is already applied.
    callNative(() => this.#native.applyMedia())
    if (type === 'rollback') this.#remoteTracks.rolledBack()
    else if (type === 'offer' && previous === 'stable') this.#remoteTracks.offerStarted()
    this.#reconcileTransceivers()
    const remote = this.#descriptions.remoteDescription
    this.#canTrickleIceCandidates = remote === null ? null : parseSdp(remote.sdp).iceOptions.includes('trickle')

    let trackEvents: RTCTrackEventInit[] = []
    if (type !== 'rollback') {
      const parsed = parseSdp(sdp)
      if (side === 'remote') trackEvents = this.#remoteTracks.applyRemote(parsed, type)
      else if (type === 'answer' || type === 'pranswer') this.#remoteTracks.applyLocalAnswer(parsed)
    }
    // A restart is done once a negotiation completes without the replaced credentials: an
    // offer that is rolled back leaves it pending (webrtc-pc §4.4.1.6, restartIce).
    const currentLocal = this.#descriptions.currentLocalDescription
    if (this.#signalingState === 'stable' && type !== 'rollback' && currentLocal !== null) {
      this.#forgetReplacedIceCredentials(parseSdp(currentLocal.sdp))
    }
    // Negotiation completed: the transceivers the answer's rejected m-sections stopped leave
    // the set (webrtc-pc §4.4.1.5); one still only stopping waits for the next offer.
    if (type === 'answer') this.#transceivers.removeStopped()

    if (previous !== this.#signalingState) this.dispatchEvent(new Event('signalingstatechange'))
    for (const init of trackEvents) {
      if (this.#closed) return
      this.dispatchEvent(new RTCTrackEvent('track', init))
    }
    if (this.#signalingState === 'stable' && !this.#closed) {
      this.#negotiationNeeded.recheck()
    }
  }

  /** Brings the transceiver list in line with native after a description was applied. */
  #reconcileTransceivers(): void {
    // Transceivers created by a remote offer disappear when it is rolled back (webrtc-pc §4.4.1.5 rollback).
    for (const state of this.#transceivers.reconcile(callNative(() => this.#native.transceivers()))) {
      this.#remoteTracks.remove(state)
    }
  }

  /** [[LocalIceCredentialsToReplace]] empties once a local description no longer uses any of them. */
  #forgetReplacedIceCredentials(local: ParsedSdp): void {
    if (this.#localIceCredentialsToReplace.size === 0) return
    for (const ufrag of iceUfragsOf(local)) if (this.#localIceCredentialsToReplace.has(ufrag)) return
    this.#localIceCredentialsToReplace.clear()
  }

  #localStateChanged(): void {
    this.#generation++
    this.#negotiationNeeded.update()
  }

  /** webrtc-pc §4.7.3 "check if negotiation is needed". */
  #checkIfNegotiationIsNeeded(): boolean {
    const current = this.#descriptions.currentLocalDescription
    const answerDirections = new Map(callNative(() => this.#native.transceivers()).map((nt) => [nt.id, nt.answerDirection ?? null]))
    return isNegotiationNeeded({
      transceivers: this.#transceivers.entries.map((e) => {
        const answer = answerDirections.get(e.state.id) ?? null
        return { ...e.state, answerDirection: answer === null ? null : toEnum(TRANSCEIVER_DIRECTIONS, answer, 'RTCRtpTransceiverDirection') }
      }),
      currentLocal: current === null ? null : { type: current.type, parsed: parseSdp(current.sdp) },
      iceRestartPending: this.#localIceCredentialsToReplace.size > 0,
    })
  }
}

export { GstPeerConnection as RTCPeerConnection }

defineEventHandlerAttributes(GstPeerConnection, ['icecandidate', 'icecandidateerror', 'icegatheringstatechange', 'iceconnectionstatechange', 'connectionstatechange', 'signalingstatechange', 'negotiationneeded', 'dtmf', 'track', 'datachannel'])
