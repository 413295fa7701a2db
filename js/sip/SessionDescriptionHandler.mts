/*
 * SIP.js's stock Web SessionDescriptionHandler, running on GstPeerConnection.
 *
 * Extending the stock handler (rather than re-implementing the interface) keeps everything
 * SIP.js builds on it — SimpleUser/SessionManager hold, mute and DTMF, which check
 * `instanceof Web.SessionDescriptionHandler` — working unchanged. What it adds: the peer
 * connection it constructs is always ours, `rollbackDescription()` (SIP.js calls it after a
 * rejected re-INVITE, RFC 3261 §14.1), early answers applied as provisional ones, and access
 * to the remote track for the application.
 */

import { Web } from 'sip.js'
import { GstPeerConnection, MediaStreamTrack } from '../index.js'

type StockParameters = ConstructorParameters<typeof Web.SessionDescriptionHandler>
type Logger = StockParameters[0]
type StockConfiguration = StockParameters[2]

export class GstSessionDescriptionHandler extends Web.SessionDescriptionHandler {
  /**
   * Whether an answer applied now comes before the call is answered (set by the factory: an
   * Inviter without a confirmed dialog). Such an answer is early media, a 183 with SDP that
   * SIP.js's Inviter applies with `earlyMedia`.
   */
  earlyAnswer: () => boolean = () => false

  constructor(logger: Logger, mediaStreamFactory: Web.MediaStreamFactory, configuration?: StockConfiguration) {
    // The stock constructor calls the global `new RTCPeerConnection(...)`: make that ours
    // for the duration of the call, whatever the global is otherwise.
    const scope = globalThis as Record<string, unknown>
    const saved = Object.getOwnPropertyDescriptor(scope, 'RTCPeerConnection')
    Object.defineProperty(scope, 'RTCPeerConnection', { value: GstPeerConnection, writable: true, configurable: true })
    try {
      super(logger, mediaStreamFactory, configuration)
    } finally {
      if (saved) Object.defineProperty(scope, 'RTCPeerConnection', saved)
      else delete scope.RTCPeerConnection
    }
  }

  /** The GstPeerConnection behind this session. */
  get gstPeerConnection(): GstPeerConnection {
    return this.peerConnection as unknown as GstPeerConnection
  }

  /** The first remote audio track, once the far end's media is negotiated. */
  get remoteTrack(): MediaStreamTrack | undefined {
    return this.remoteMediaStream.getAudioTracks()[0] as unknown as MediaStreamTrack | undefined
  }

  /** Resolves with the remote audio track as soon as there is one. */
  waitForRemoteTrack(): Promise<MediaStreamTrack> {
    const existing = this.remoteTrack
    if (existing) return Promise.resolve(existing)
    return new Promise((resolve) => {
      const stream = this.remoteMediaStream
      const onAdd = (): void => {
        const track = this.remoteTrack
        if (!track) return
        stream.removeEventListener('addtrack', onAdd)
        resolve(track)
      }
      stream.addEventListener('addtrack', onAdd)
    })
  }

  /**
   * An early answer is applied as a provisional one (webrtc-pc "pranswer"): media flows, and
   * the plain-RTP media timeout waits for the final answer, since a callee may ring for a
   * minute without sending. `settleEarlyMedia` makes it final when the call is answered.
   */
  protected override setRemoteSessionDescription(sessionDescription: { type?: string; sdp?: string }): Promise<void> {
    const pc = this.peerConnection
    if (pc?.signalingState === 'have-local-offer' && this.earlyAnswer()) return pc.setRemoteDescription({ type: 'pranswer', sdp: sessionDescription.sdp })
    return super.setRemoteSessionDescription(sessionDescription)
  }

  /**
   * Undo a description that was set but not answered (SIP.js calls this when a re-INVITE
   * is rejected): webrtc-pc §4.4.1.5 rollback. The stock handler has no such method.
   */
  async rollbackDescription(): Promise<void> {
    const pc = this.peerConnection
    if (!pc) return
    if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' })
    else if (pc.signalingState === 'have-remote-offer') await pc.setRemoteDescription({ type: 'rollback' })
  }
}
