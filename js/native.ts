/*
 * The single place that loads the napi-rs addon. The declarations mirror
 * docs/native-contract.md by hand because the generated index.d.ts may not
 * exist when the TypeScript layer is compiled; keep them in this file only.
 * `../index.js` resolves to the package root both from js/ and from dist/.
 */

export interface NativeIceServer {
  urls: string[]
  username?: string
  credential?: string
}

export interface NativeConfig {
  iceServers: NativeIceServer[]
  /** 'all' | 'relay' */
  iceTransportPolicy: string
  /** 'balanced' | 'max-compat' | 'max-bundle' */
  bundlePolicy: string
  localAddresses?: string[]
  /** milliseconds */
  jitterBufferLatency?: number
  portMin?: number
  portMax?: number
  iceTcp?: boolean
}

/**
 * Every completion and every ICE/state change of one connection arrives through
 * one callback, in the order it happened on the native side.
 * 'result' | 'icecandidate' | 'icegatheringstatechange' | 'iceconnectionstatechange' | 'connectionstatechange'
 */
export interface NativeEvent {
  type: string
  requestId?: number
  errorCode?: string
  message?: string
  sdp?: string
  state?: string
  candidate?: string
  sdpMid?: string
  sdpMLineIndex?: number
}

export interface NativeDescription {
  type: string
  sdp: string
}

export interface NativeTransceiver {
  id: number
  kind: string
  mid?: string
  mlineIndex?: number
  direction: string
  currentDirection?: string
  stopped: boolean
}

export interface NativeTrack {
  readonly id: string
  readonly kind: string
  setEnabled(enabled: boolean): void
  stop(): void
  readonly ended: boolean
}

export interface NativePeerConnection {
  createOffer(requestId: number, iceRestart: boolean): void
  createAnswer(requestId: number): void
  setLocalDescription(requestId: number, type: string, sdp: string): void
  setRemoteDescription(requestId: number, type: string, sdp: string): void
  addIceCandidate(requestId: number, candidate: string, sdpMid?: string | null, sdpMLineIndex?: number | null): void
  addTransceiver(kind: string, direction: string): number
  transceivers(): NativeTransceiver[]
  receiverTrack(transceiverId: number): NativeTrack
  setDirection(transceiverId: number, direction: string): void
  setSenderTrack(transceiverId: number, track?: NativeTrack | null): void
  signalingState(): string
  iceGatheringState(): string
  iceConnectionState(): string
  connectionState(): string
  localDescription(): NativeDescription | null
  currentLocalDescription(): NativeDescription | null
  pendingLocalDescription(): NativeDescription | null
  remoteDescription(): NativeDescription | null
  currentRemoteDescription(): NativeDescription | null
  pendingRemoteDescription(): NativeDescription | null
  close(): void
}

export interface NativeToneSource {
  track(): NativeTrack
  stop(): void
}

export interface NativeAudioSource {
  track(): NativeTrack
  push(samples: Int16Array, sampleRate: number, channelCount: number): void
}

export interface NativeFrame {
  samples: Int16Array
  sampleRate: number
  channelCount: number
  numberOfFrames: number
}

export interface NativeAudioSink {
  stop(): void
}

interface NativeModule {
  NativePeerConnection: new (config: NativeConfig, onEvent: (ev: NativeEvent) => void) => NativePeerConnection
  NativeToneSource: new (frequency: number, amplitude: number) => NativeToneSource
  NativeAudioSource: new () => NativeAudioSource
  NativeAudioSink: new (track: NativeTrack, onFrame: (frame: NativeFrame) => void) => NativeAudioSink
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require('../index.js') as NativeModule

export const NativePeerConnection = native.NativePeerConnection
export const NativeToneSource = native.NativeToneSource
export const NativeAudioSource = native.NativeAudioSource
export const NativeAudioSink = native.NativeAudioSink
