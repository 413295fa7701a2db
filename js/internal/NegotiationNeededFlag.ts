/*
 * webrtc-pc §4.7.3 "update the negotiation-needed flag": when the check runs (only with an
 * empty operations chain, in stable, from a queued task) and when `negotiationneeded` fires
 * (once per change of the flag). What is checked is the pure isNegotiationNeeded().
 */

import type { OperationsChain } from './OperationsChain'

export interface NegotiationNeededHost {
  readonly chain: OperationsChain
  readonly closed: boolean
  readonly stable: boolean
  /** webrtc-pc §4.7.3 "check if negotiation is needed". */
  check(): boolean
  fire(): void
}

export class NegotiationNeededFlag {
  readonly #host: NegotiationNeededHost
  /** [[NegotiationNeeded]] */
  #needed = false
  /** [[UpdateNegotiationNeededFlagOnEmptyChain]] */
  #onEmptyChain = false

  constructor(host: NegotiationNeededHost) {
    this.#host = host
  }

  update(): void {
    const host = this.#host
    if (host.chain.length !== 0) {
      this.#onEmptyChain = true
      return
    }
    // "Queue a task": the event never fires synchronously inside the call that caused it.
    setImmediate(() => {
      if (host.closed) return
      if (host.chain.length !== 0) {
        this.#onEmptyChain = true
        return
      }
      if (!host.stable) return
      let needed: boolean
      try {
        needed = host.check()
      } catch (err) {
        // Runs from a task: a throw would be uncaught and take down every other connection.
        process.emitWarning(`gst-peerconnection: negotiation-needed check failed: ${String(err)}`, { code: 'GST_PC_NEGOTIATION_CHECK' })
        return
      }
      if (!needed) {
        this.#needed = false
        return
      }
      if (this.#needed) return
      this.#needed = true
      host.fire()
    })
  }

  /** The operations chain became empty (webrtc-pc §4.4.1.2 "chain an operation", last step). */
  chainEmptied(): void {
    if (this.#host.closed || !this.#onEmptyChain) return
    this.#onEmptyChain = false
    this.update()
  }

  /**
   * Back in stable after a description: clearing first makes the update fire again if
   * negotiation is still needed (webrtc-pc §4.4.1.5, final steps).
   */
  recheck(): void {
    this.#needed = false
    this.update()
  }
}
