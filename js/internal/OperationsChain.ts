/*
 * webrtc-pc §4.4.1.2 "chain an operation": createOffer, createAnswer,
 * setLocal/RemoteDescription, addIceCandidate and replaceTrack run one at a
 * time, in call order.
 *
 * Once the connection is closed, an operation already chained never settles
 * (§4.4.1.2: "if connection.[[IsClosed]] is true, abort these steps"), so a
 * hang-up leaves no rejected promise behind for Node to treat as unhandled;
 * a new one rejects with InvalidStateError.
 */

import { invalidState } from './errors'

export class OperationsChain {
  readonly #queue: Array<() => void> = []
  readonly #isClosed: () => boolean
  readonly #onEmpty: () => void

  /** `onEmpty` runs whenever the last queued operation settles. */
  constructor(isClosed: () => boolean, onEmpty: () => void) {
    this.#isClosed = isClosed
    this.#onEmpty = onEmpty
  }

  get length(): number {
    return this.#queue.length
  }

  run<T>(operation: () => Promise<T>): Promise<T> {
    if (this.#isClosed()) return Promise.reject(invalidState('The RTCPeerConnection is closed'))
    return new Promise<T>((resolve, reject) => {
      const execute = (): void => {
        let result: Promise<T>
        if (this.#isClosed()) {
          result = Promise.reject(invalidState('The RTCPeerConnection is closed'))
        } else {
          try {
            result = Promise.resolve(operation())
          } catch (err) {
            result = Promise.reject(err)
          }
        }
        result.then(
          (value) => this.#settled(() => resolve(value)),
          (err: unknown) => this.#settled(() => reject(err)),
        )
      }
      this.#queue.push(execute)
      if (this.#queue.length === 1) execute()
    })
  }

  #settled(settle: () => void): void {
    if (!this.#isClosed()) settle()
    this.#queue.shift()
    const next = this.#queue[0]
    if (next) next()
    else this.#onEmpty()
  }
}
