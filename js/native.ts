/*
 * The single place that loads the napi-rs addon. Types come from the `index.d.ts` that
 * `napi build` generates from the Rust source (the set-up script builds it before tsc),
 * so the TypeScript layer cannot drift from the native contract.
 * `../index.js` resolves to the package root both from js/ and from dist/.
 */

import type * as Native from '../index'

export type NativeIceServer = Native.NativeIceServer
export type NativeConfig = Native.NativeConfig
export type NativeEvent = Native.NativeEvent
export type NativeDescription = Native.NativeDescription
export type NativeTransceiver = Native.NativeTransceiver
export type NativeFrame = Native.NativeFrame
export type NativeTrack = Native.NativeTrack
export type NativePeerConnection = Native.NativePeerConnection
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

// eslint-disable-next-line @typescript-eslint/no-require-imports
const native = require('../index.js') as typeof Native

export const NativePeerConnection = native.NativePeerConnection
export const NativeToneSource = native.NativeToneSource
export const NativeAudioSource = native.NativeAudioSource
export const NativeAudioSink = native.NativeAudioSink
export const NativeAudioMixer = native.NativeAudioMixer
export const NativeUdpRtpSource = native.NativeUdpRtpSource
export const NativeRtpForwarder = native.NativeRtpForwarder
export const NativeFileSource = native.NativeFileSource
export const NativeTrackRecorder = native.NativeTrackRecorder
