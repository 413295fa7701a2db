/*
 * Correlates native async operations with their {type:'result', requestId}
 * completion events. `complete` runs synchronously inside the native callback
 * so that state changes (signaling state, transceivers, events) are applied in
 * the same order as the native events that follow the result, regardless of
 * when the microtask queue is drained between threadsafe-function calls.
 */

import { fromNativeCode, fromNativeThrow } from './errors'
import type { NativeEvent } from './native'

interface Pending {
  complete: (ev: NativeEvent) => unknown
  resolve: (value: unknown) => void
  reject: (err: unknown) => void
}

const MAX_REQUEST_ID = 0x7fffffff

export class NativeRequests {
  #lastId = 0
  readonly #pending = new Map<number, Pending>()

  start<T>(issue: (requestId: number) => void, complete: (ev: NativeEvent) => T): Promise<T> {
    this.#lastId = (this.#lastId % MAX_REQUEST_ID) + 1
    const requestId = this.#lastId
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(requestId, { complete, resolve: resolve as (value: unknown) => void, reject })
      try {
        issue(requestId)
      } catch (err) {
        this.#pending.delete(requestId)
        reject(fromNativeThrow(err))
      }
    })
  }

  /** Handles a 'result' event; results for unknown (already rejected) requests are dropped. */
  settle(ev: NativeEvent): void {
    if (ev.requestId === undefined) return
    const pending = this.#pending.get(ev.requestId)
    if (!pending) return
    this.#pending.delete(ev.requestId)
    if (ev.errorCode !== undefined) {
      pending.reject(fromNativeCode(ev.errorCode, ev.message, ev.sdpLineNumber))
      return
    }
    try {
      pending.resolve(pending.complete(ev))
    } catch (err) {
      pending.reject(err)
    }
  }

  rejectAll(makeError: () => Error): void {
    const all = [...this.#pending.values()]
    this.#pending.clear()
    for (const p of all) p.reject(makeError())
  }
}
