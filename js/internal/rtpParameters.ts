/*
 * The W3C rules of RTP parameters (webrtc-pc §5.2, §5.4.1): checking sendEncodings and
 * setParameters arguments, the "codec dictionary match", and turning the native facts
 * (what an answer negotiated, what we can encode: src/media/rtp_parameters.rs) into
 * the dictionaries the application sees.
 */

import { invalidModification, invalidState } from './errors'
import { audioCodecCapabilities, type NativeCodec, type NativeRtpParameters } from './native'
import type { TransceiverState } from './TransceiverState'
import type {
  RTCRtpCapabilities,
  RTCRtpCodec,
  RTCRtpCodecParameters,
  RTCRtpEncodingParameters,
  RTCRtpParameters,
  RTCRtpSendParameters,
} from '../w3c/webrtcTypes'

/** RTCRtpSender/RTCRtpReceiver.getCapabilities(kind): audio only; video has no codecs here. */
export function capabilities(kind: string): RTCRtpCapabilities | null {
  if (kind === 'video') return { codecs: [], headerExtensions: [] }
  if (kind !== 'audio') return null
  return { codecs: audioCodecCapabilities().map(toCodec), headerExtensions: [] }
}

function toCodec(n: NativeCodec): RTCRtpCodec {
  const codec: RTCRtpCodec = { mimeType: n.mimeType, clockRate: n.clockRate }
  if (n.channels != null) codec.channels = n.channels
  if (n.sdpFmtpLine != null) codec.sdpFmtpLine = n.sdpFmtpLine
  return codec
}

export function toNativeCodec(c: RTCRtpCodec): NativeCodec {
  return { mimeType: String(c.mimeType), clockRate: Number(c.clockRate), channels: c.channels ?? undefined, sdpFmtpLine: c.sdpFmtpLine ?? undefined }
}

/** The negotiated part of RTCRtpParameters (the current answer's m-section). */
export function negotiatedParameters(n: NativeRtpParameters, withCname: boolean): RTCRtpParameters {
  const rtcp: RTCRtpParameters['rtcp'] = { reducedSize: n.reducedSize }
  if (withCname && n.cname != null) rtcp.cname = n.cname
  return {
    codecs: n.codecs.map((c) => ({ ...toCodec(c), payloadType: c.payloadType ?? 0 }) as RTCRtpCodecParameters),
    headerExtensions: n.headerExtensions.map((h) => ({ uri: h.uri, id: h.id, encrypted: h.encrypted })),
    rtcp,
  }
}

/** webrtc-pc §5.2.4 "codec dictionary match" (mimeType compared ASCII case-insensitively). */
export function codecsMatch(a: RTCRtpCodec, b: RTCRtpCodec): boolean {
  if (String(a.mimeType).toLowerCase() !== String(b.mimeType).toLowerCase()) return false
  if (a.clockRate !== b.clockRate) return false
  if ((a.channels ?? null) !== (b.channels ?? null)) return false
  return (a.sdpFmtpLine ?? null) === (b.sdpFmtpLine ?? null)
}

/** webrtc-pc §5.1 addTransceiver: a rid is 1–16 case-sensitive alphanumeric characters. */
const RID = /^[A-Za-z0-9]{1,16}$/

/**
 * webrtc-pc §5.1 addTransceiver() steps for init.sendEncodings, for an audio sender:
 * TypeError on rids that are malformed, repeated or on some encodings only; RangeError on a
 * negative maxFramerate; then audio keeps one encoding (no simulcast) without the
 * video-only members.
 */
export function checkSendEncodings(kind: string, encodings: readonly RTCRtpEncodingParameters[] | undefined): RTCRtpEncodingParameters[] {
  if (encodings === undefined || encodings.length === 0) return [{ active: true }]
  const copies = encodings.map((e) => ({ ...e }))
  const rids = copies.map((e) => e.rid)
  for (const rid of rids) if (rid !== undefined && !RID.test(String(rid))) throw new TypeError(`rid '${rid}' is not 1 to 16 alphanumeric characters`)
  if (rids.some((r) => r !== undefined) && rids.some((r) => r === undefined)) throw new TypeError('Either every encoding has a rid or none has')
  if (new Set(rids.filter((r) => r !== undefined)).size !== rids.filter((r) => r !== undefined).length) throw new TypeError('Two encodings have the same rid')
  for (const e of copies) {
    if (kind === 'audio') {
      delete e.scaleResolutionDownBy
      delete e.maxFramerate
    }
    if (e.maxFramerate !== undefined && !(e.maxFramerate >= 0)) throw new RangeError('maxFramerate must not be negative')
    if (e.scaleResolutionDownBy !== undefined && !(e.scaleResolutionDownBy >= 1)) throw new RangeError('scaleResolutionDownBy must be at least 1')
    e.active ??= true
  }
  // One RTP stream per audio sender: the encodings after the first are dropped.
  return copies.slice(0, 1)
}

/**
 * webrtc-pc §5.2 setParameters() validation: against [[LastReturnedParameters]], only
 * encodings' `active` and `maxBitrate` (and the video-only members) may change.
 */
export function checkSetParameters(state: TransceiverState, parameters: RTCRtpSendParameters): RTCRtpEncodingParameters[] {
  if (state.stopping) throw invalidState('The transceiver is stopped')
  const last = state.lastReturnedParameters
  if (last === null) throw invalidState('setParameters() needs the parameters of a getParameters() call in this task')
  if (parameters.transactionId !== last.transactionId) throw invalidModification('transactionId is not the one getParameters() returned last')
  const encodings = parameters.encodings
  if (!Array.isArray(encodings) || encodings.length !== state.sendEncodings.length) throw invalidModification('The number of encodings cannot change')
  encodings.forEach((e, i) => {
    if (e.rid !== state.sendEncodings[i]!.rid) throw invalidModification('An encoding rid cannot change')
  })
  if (!sameJson(parameters.codecs, last.codecs)) throw invalidModification('codecs are read-only')
  if (!sameJson(parameters.headerExtensions, last.headerExtensions)) throw invalidModification('headerExtensions are read-only')
  if (!sameJson(parameters.rtcp, last.rtcp)) throw invalidModification('rtcp is read-only')
  for (const e of encodings) {
    if (e.maxBitrate !== undefined && !(Number(e.maxBitrate) >= 0)) throw new RangeError('maxBitrate must not be negative')
    if (e.scaleResolutionDownBy !== undefined && !(e.scaleResolutionDownBy >= 1)) throw new RangeError('scaleResolutionDownBy must be at least 1')
    if (e.maxFramerate !== undefined && !(e.maxFramerate >= 0)) throw new RangeError('maxFramerate must not be negative')
  }
  return encodings.map((e) => ({ ...e, active: e.active ?? true }))
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b)
}
