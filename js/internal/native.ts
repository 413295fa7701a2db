/*
 * The single place that loads the napi-rs addon. Types come from the `index.d.ts` that
 * `napi build` generates from the Rust source (the set-up script builds it before tsc),
 * so the TypeScript layer cannot drift from the native contract.
 * `../../index.js` resolves to the package root both from js/internal/ and from dist/internal/.
 */

import type * as Native from '../../index'

export type NativeIceServer = Native.NativeIceServer
export type NativeConfig = Native.NativeConfig
export type NativeEvent = Native.NativeEvent
export type NativeDescription = Native.NativeDescription
export type NativeTransceiver = Native.NativeTransceiver
export type SenderMsid = Native.SenderMsid
export type CreateInputs = Native.CreateInputs
export type NativeCodec = Native.NativeCodec
export type NativeRtpParameters = Native.NativeRtpParameters
export type NativeTrack = Native.NativeTrack
export type NativePeerConnection = Native.NativePeerConnection
export type NativeRtpSession = Native.NativeRtpSession
export type NativeToneSource = Native.NativeToneSource
export type NativeAudioSource = Native.NativeAudioSource
export type NativeAudioSink = Native.NativeAudioSink
export type NativeAudioMixer = Native.NativeAudioMixer
export type NativeMixerInputStats = Native.NativeMixerInputStats
export type NativeUdpRtpSource = Native.NativeUdpRtpSource
export type NativeUdpRtpSourceStats = Native.NativeUdpRtpSourceStats
export type NativeRtpForwarder = Native.NativeRtpForwarder
export type NativeRtpForwarderStats = Native.NativeRtpForwarderStats
export type NativeFileSource = Native.NativeFileSource
export type NativeTrackRecorder = Native.NativeTrackRecorder
export type NativeAudioPlayer = Native.NativeAudioPlayer
export type NativeVoiceProcessor = Native.NativeVoiceProcessor
export type NativeVoiceEvent = Native.NativeVoiceEvent
export type NativePlayerEvent = Native.NativePlayerEvent

// GLib 2.74 (Debian 12, with GStreamer 1.22) still has GSlice's magazine allocator, which
// keeps per-thread caches of freed blocks; webrtcbin runs ~8 threads per connection, so the
// caches grow with every call (≈ 0.2 MB per connection, docs/performance.md). GLib 2.76
// removed that allocator for plain malloc; G_SLICE=always-malloc gives 2.74 the same
// behaviour. GLib reads it once, when libglib is loaded — that is, by the require below —
// so it is set only for that moment and only when the user has not chosen a value. (Had
// another module loaded GLib before us, the setting would do nothing.)
const sliceChosen = process.env.G_SLICE !== undefined
if (!sliceChosen) process.env.G_SLICE = 'always-malloc'
// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require('../../index.js') as typeof Native
if (!sliceChosen) delete process.env.G_SLICE

export const NativePeerConnection = native.NativePeerConnection
export const NativeRtpSession = native.NativeRtpSession
export const NativeToneSource = native.NativeToneSource
export const NativeAudioSource = native.NativeAudioSource
export const NativeAudioSink = native.NativeAudioSink
export const NativeAudioMixer = native.NativeAudioMixer
export const NativeUdpRtpSource = native.NativeUdpRtpSource
export const NativeRtpForwarder = native.NativeRtpForwarder
export const NativeFileSource = native.NativeFileSource
export const NativeTrackRecorder = native.NativeTrackRecorder
export const NativeAudioPlayer = native.NativeAudioPlayer
export const NativeVoiceProcessor = native.NativeVoiceProcessor
export const audioCodecCapabilities = native.audioCodecCapabilities
export const offerKeying = native.offerKeying
