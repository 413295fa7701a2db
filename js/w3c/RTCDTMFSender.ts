/*
 * webrtc-pc §7.2 RTCDTMFSender. The W3C timing (tone buffer, tonechange, inter-tone gap,
 * ',' pauses) runs here; the native side puts each tone into the sender's RTP stream as
 * an RFC 4733 telephone-event, in the order given (src/media/dtmf_send.rs). Every sender
 * has its own timers, so one connection's tones never wait for another's.
 */

import type { ConnectionHost } from '../internal/ConnectionHost'
import { invalidState } from '../internal/errors'
import { defineEventHandlerAttributes, type EventHandler } from '../internal/eventHandlers'
import { RTCDTMFToneChangeEvent } from './RTCDTMFToneChangeEvent'
import type { TransceiverState } from '../internal/TransceiverState'

const VALID_TONES = /^[0-9A-D#*,]*$/i
/** webrtc-pc §7.2 insertDTMF steps 6-7. */
const MIN_DURATION = 40
const MAX_DURATION = 6000
const MIN_GAP = 30
/** webrtc-pc §7.2 playout task: ',' is a 2 s pause. */
const COMMA_PAUSE = 2000

export class RTCDTMFSender extends EventTarget {
  readonly #host: ConnectionHost
  readonly #state: TransceiverState
  #toneBuffer = ''
  #duration = 100
  #interToneGap = 70
  #timer: NodeJS.Timeout | null = null

  /** Not for application use: created with its RTCRtpSender. */
  constructor(host: ConnectionHost, state: TransceiverState) {
    super()
    this.#host = host
    this.#state = state
  }

  get toneBuffer(): string {
    return this.#toneBuffer
  }

  /** webrtc-pc §7.2 canInsertDTMF: the answer lets us send, with negotiated telephone-event, and the transport is connected. */
  get canInsertDTMF(): boolean {
    if (this.#host.closed || this.#state.stopping) return false
    try {
      return this.#host.native.canInsertDtmf(this.#state.id)
    } catch {
      return false
    }
  }

  declare ontonechange: EventHandler<RTCDTMFToneChangeEvent>

  /** webrtc-pc §7.2 insertDTMF() */
  insertDTMF(tones: string, duration = 100, interToneGap = 70): void {
    const state = this.#state
    if (this.#host.closed || state.stopping) throw invalidState('The transceiver is stopped')
    const current = state.currentDirection
    if (current !== 'sendrecv' && current !== 'sendonly') {
      throw invalidState(`Cannot send DTMF: the transceiver's currentDirection is ${current ?? 'null'}`)
    }
    const text = String(tones)
    if (!VALID_TONES.test(text)) throw new DOMException(`Invalid DTMF tones '${text}'`, 'InvalidCharacterError')
    this.#toneBuffer = text.toUpperCase()
    this.#duration = clamp(Math.trunc(Number(duration) || 0), MIN_DURATION, MAX_DURATION)
    this.#interToneGap = Math.max(MIN_GAP, Math.trunc(Number(interToneGap) || 0))
    // A running playout task picks up the new buffer; else start one (queued as a task).
    if (this.#timer === null && this.#toneBuffer !== '') this.#schedule(0)
  }

  #schedule(ms: number): void {
    this.#timer = setTimeout(() => this.#playout(), ms)
  }

  /** webrtc-pc §7.2 "playout task". */
  #playout(): void {
    this.#timer = null
    if (this.#host.closed || this.#state.stopping) {
      this.#toneBuffer = ''
      return
    }
    // A negotiation that stopped us sending ends the playout, without an event.
    const current = this.#state.currentDirection
    if (current !== 'sendrecv' && current !== 'sendonly') return
    if (this.#toneBuffer === '') {
      this.dispatchEvent(new RTCDTMFToneChangeEvent('tonechange', { tone: '' }))
      return
    }
    const tone = this.#toneBuffer[0]
    this.#toneBuffer = this.#toneBuffer.slice(1)
    if (tone === ',') {
      this.#schedule(COMMA_PAUSE)
    } else {
      let sent = false
      try {
        sent = this.#host.native.insertDtmf(this.#state.id, tone, this.#duration)
      } catch {
        sent = false
      }
      if (!sent) {
        // The sender cannot send DTMF any more (e.g. renegotiated away): stop playing out.
        this.#toneBuffer = ''
      }
      this.#schedule(this.#duration + this.#interToneGap)
    }
    this.dispatchEvent(new RTCDTMFToneChangeEvent('tonechange', { tone }))
  }
}

function clamp(v: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, v))
}

defineEventHandlerAttributes(RTCDTMFSender, ['tonechange'])
