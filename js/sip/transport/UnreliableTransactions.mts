/*
 * The parts of RFC 3261 §17 that SIP.js leaves to an unreliable transport. SIP.js's
 * transaction layer assumes a reliable one (WebSocket): it never retransmits a request
 * (Timers A and E), never retransmits a non-2xx final response until its ACK (Timer G), and
 * ends its transactions at once where UDP needs them to linger and absorb retransmissions
 * (Timers D, I, J, K are 0). This class runs those timers for one UDP socket, keyed the way
 * §17.1.3 and §17.2.3 match messages to transactions (top Via branch and CSeq method).
 *
 * What SIP.js already does and this leaves to it: 2xx retransmission by the UAS core and the
 * ACK it gets back (RFC 6026 §8.1), re-ACKing a retransmitted 2xx, provisional resends to a
 * retransmitted INVITE, Timers B/F/H (the transaction timeouts), and absorbing duplicates while
 * its transactions live.
 */

import type { SipMessage } from './message.mjs'

export interface Timers {
  T1: number
  T2: number
  T4: number
}

export const RFC3261_TIMERS: Timers = { T1: 500, T2: 4000, T4: 5000 }

/** Where a datagram goes; `send` is given it back with the bytes. */
export type Destination = { address: string; port: number }
type Send = (wire: Buffer, to: Destination) => void

interface ClientTransaction {
  invite: boolean
  wire: Buffer
  to: Destination
  start: number
  timer?: NodeJS.Timeout
  /** Set once a final response came: until then Timer A/E runs; after, duplicates are absorbed. */
  completed: boolean
  /** The ACK to a non-2xx final response, sent again for each retransmission of that response. */
  ack?: { wire: Buffer; to: Destination }
  expiry?: NodeJS.Timeout
}

interface ServerTransaction {
  final?: { wire: Buffer; to: Destination; status: number }
  timerG?: NodeJS.Timeout
  acked: boolean
  expiry?: NodeJS.Timeout
}

/** At most this many server transactions are remembered: a flood of requests costs bounded memory. */
const MAX_SERVER_TRANSACTIONS = 4096

export class UnreliableTransactions {
  private readonly client = new Map<string, ClientTransaction>()
  private readonly server = new Map<string, ServerTransaction>()
  retransmissions = 0
  absorbed = 0

  constructor(
    private readonly send: Send,
    private readonly t: Timers = RFC3261_TIMERS,
  ) {}

  /** A request we sent (its first transmission). */
  requestSent(message: SipMessage, wire: Buffer, to: Destination): void {
    const key = message.transactionKey
    if (message.method === 'ACK') {
      // Only the ACK to a non-2xx response shares its INVITE's branch (§17.1.1.3).
      const tx = this.client.get(key)
      if (tx?.completed) tx.ack = { wire, to }
      return
    }
    this.endClient(key)
    const tx: ClientTransaction = { invite: message.method === 'INVITE', completed: false, wire, to, start: Date.now() }
    this.client.set(key, tx)
    this.retransmit(tx, this.t.T1)
  }

  /**
   * Timer A (INVITE) doubles without bound; Timer E doubles up to T2, and stays at T2 once a
   * provisional response came (§17.1.1.2, §17.1.2.2). Both stop at 64·T1, when SIP.js's
   * Timer B/F reports the timeout.
   */
  private retransmit(tx: ClientTransaction, interval: number): void {
    clearTimeout(tx.timer)
    if (Date.now() - tx.start + interval > 64 * this.t.T1) return
    tx.timer = setTimeout(() => {
      this.retransmissions++
      this.send(tx.wire, tx.to)
      this.retransmit(tx, tx.invite ? interval * 2 : Math.min(interval * 2, this.t.T2))
    }, interval)
  }

  /** A response that came in; false when it is a retransmission to absorb here. */
  responseReceived(message: SipMessage): boolean {
    const key = message.transactionKey
    const tx = this.client.get(key)
    if (!tx) return true
    const status = message.statusCode ?? 0
    if (tx.completed) {
      this.absorbed++
      if (tx.ack && status >= 300) this.send(tx.ack.wire, tx.ack.to)
      return false
    }
    if (status < 200) {
      // Proceeding: Timer A stops; Timer E goes on at T2.
      if (tx.invite) clearTimeout(tx.timer)
      else this.retransmit(tx, this.t.T2)
      return true
    }
    clearTimeout(tx.timer)
    tx.timer = undefined
    if (tx.invite && status < 300) {
      // 2xx: SIP.js's UAC core owns ACK and its retransmissions (§13.2.2.4).
      this.client.delete(key)
      return true
    }
    tx.completed = true
    // Timer D (32 s, INVITE) or K (T4): how long retransmissions of this response are absorbed.
    tx.expiry = setTimeout(() => this.client.delete(key), tx.invite ? 64 * this.t.T1 : this.t.T4)
    return true
  }

  /** A request that came in; false when it is a retransmission answered or absorbed here. */
  requestReceived(message: SipMessage): boolean {
    const key = message.transactionKey
    const tx = this.server.get(key)
    if (message.method === 'ACK') {
      if (!tx?.final || tx.final.status < 300) return true // an ACK to a 2xx is its own transaction
      clearTimeout(tx.timerG)
      if (tx.acked) {
        this.absorbed++
        return false
      }
      tx.acked = true // Confirmed: later ACKs are absorbed until Timer I (T4)
      clearTimeout(tx.expiry)
      tx.expiry = setTimeout(() => this.server.delete(key), this.t.T4)
      return true
    }
    if (tx?.final && !(message.method === 'INVITE' && tx.final.status < 300)) {
      this.absorbed++
      this.send(tx.final.wire, tx.final.to) // §17.2.1, §17.2.2: the final response again
      return false
    }
    if (!tx) {
      if (this.server.size >= MAX_SERVER_TRANSACTIONS) this.endServer(this.server.keys().next().value as string)
      const created: ServerTransaction = { acked: false }
      created.expiry = setTimeout(() => this.server.delete(key), 64 * this.t.T1)
      this.server.set(key, created)
    }
    return true
  }

  /** A response we sent. */
  responseSent(message: SipMessage, wire: Buffer, to: Destination): void {
    const status = message.statusCode ?? 0
    if (status < 200) return
    const key = message.transactionKey
    const invite = message.cseqMethod === 'INVITE'
    if (invite && status < 300) {
      // SIP.js retransmits its 2xx until the ACK and absorbs retransmitted INVITEs (RFC 6026).
      this.endServer(key)
      return
    }
    const tx = this.server.get(key) ?? { acked: false }
    this.server.set(key, tx)
    const first = !tx.final
    tx.final = { wire, to, status }
    clearTimeout(tx.expiry)
    // Timer J (non-INVITE) and H (INVITE): 64·T1 of answering retransmissions from here.
    tx.expiry = setTimeout(() => this.endServer(key), 64 * this.t.T1)
    if (invite && first) {
      // Timer G: the non-2xx final response again at T1, doubling to T2, until the ACK (§17.2.1).
      let interval = this.t.T1
      const fire = (): void => {
        if (tx.acked || !tx.final) return
        this.retransmissions++
        this.send(tx.final.wire, tx.final.to)
        interval = Math.min(interval * 2, this.t.T2)
        tx.timerG = setTimeout(fire, interval)
      }
      tx.timerG = setTimeout(fire, interval)
    }
  }

  private endClient(key: string): void {
    const tx = this.client.get(key)
    if (!tx) return
    clearTimeout(tx.timer)
    clearTimeout(tx.expiry)
    this.client.delete(key)
  }

  private endServer(key: string): void {
    const tx = this.server.get(key)
    if (!tx) return
    clearTimeout(tx.timerG)
    clearTimeout(tx.expiry)
    this.server.delete(key)
  }

  /** Stops every timer (the socket is closing). */
  close(): void {
    for (const key of [...this.client.keys()]) this.endClient(key)
    for (const key of [...this.server.keys()]) this.endServer(key)
  }
}
