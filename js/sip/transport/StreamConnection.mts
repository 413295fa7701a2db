/*
 * One TCP or TLS connection carrying SIP: framing (framing.mts), RFC 5626 §4.4.1 CRLF
 * keep-alives — a pong to every ping, and on the connections we opened a ping every
 * `keepAliveInterval`, closing the connection when no pong comes within `keepAliveTimeout` —
 * and a bound on how long half a message may sit in the buffer.
 */

import type { Socket } from 'node:net'
import { FramingError, StreamFramer } from './framing.mjs'
import type { SipMessage } from './message.mjs'

export interface StreamLimits {
  maxMessageSize: number
  /** How long the start of a message may wait for its end before the connection is closed (ms). */
  incompleteMessageTimeout: number
  /** 0: no pings from this side. */
  keepAliveInterval: number
  keepAliveTimeout: number
}

export interface StreamEvents {
  message(message: SipMessage, connection: StreamConnection): void
  /** A message, or the stream, that could not be read: counted by the transport. */
  dropped(reason: 'malformed' | 'oversized' | 'unframed' | 'incomplete'): void
  closed(connection: StreamConnection, error?: Error): void
}

export class StreamConnection {
  private readonly framer: StreamFramer
  private keepAlive?: NodeJS.Timeout
  private pongDue?: NodeJS.Timeout
  private incomplete?: NodeJS.Timeout
  private closedWith?: Error | null

  constructor(
    readonly socket: Socket,
    readonly kind: 'TCP' | 'TLS',
    /** True on connections we opened: they send the pings. */
    readonly outbound: boolean,
    private readonly limits: StreamLimits,
    private readonly events: StreamEvents,
  ) {
    this.framer = new StreamFramer(limits.maxMessageSize)
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => this.receive(chunk))
    socket.on('error', (error) => this.close(error))
    socket.on('close', () => this.close())
    if (outbound && limits.keepAliveInterval > 0) this.keepAlive = setInterval(() => this.ping(), limits.keepAliveInterval)
  }

  get remoteAddress(): string {
    return this.socket.remoteAddress ?? ''
  }

  get remotePort(): number {
    return this.socket.remotePort ?? 0
  }

  get localAddress(): string {
    return this.socket.localAddress ?? ''
  }

  get localPort(): number {
    return this.socket.localPort ?? 0
  }

  get open(): boolean {
    return this.closedWith === undefined && !this.socket.destroyed
  }

  write(wire: Buffer): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!this.open) {
        reject(new Error(`the ${this.kind} connection to ${this.remoteAddress}:${this.remotePort} is closed`))
        return
      }
      this.socket.write(wire, (error) => (error ? reject(error) : resolve()))
    })
  }

  private ping(): void {
    if (!this.open || this.pongDue) return
    this.socket.write('\r\n\r\n')
    this.pongDue = setTimeout(() => this.close(new Error(`no keep-alive pong from ${this.remoteAddress}:${this.remotePort} (RFC 5626 §4.4.1)`)), this.limits.keepAliveTimeout)
  }

  private receive(chunk: Buffer): void {
    let frames
    try {
      frames = this.framer.push(chunk)
    } catch (error) {
      if (!(error instanceof FramingError)) throw error
      this.events.dropped(error.reason)
      this.close(error)
      return
    }
    for (const frame of frames) {
      if (!this.open) return
      if (frame.kind === 'ping') this.socket.write('\r\n')
      else if (frame.kind === 'pong') {
        clearTimeout(this.pongDue)
        this.pongDue = undefined
      } else if (frame.kind === 'malformed') this.events.dropped('malformed')
      else this.events.message(frame.message, this)
    }
    clearTimeout(this.incomplete)
    this.incomplete = undefined
    if (this.framer.pending > 0 && this.open) {
      this.incomplete = setTimeout(() => {
        this.events.dropped('incomplete')
        this.close(new Error(`an incomplete message from ${this.remoteAddress}:${this.remotePort} for ${this.limits.incompleteMessageTimeout} ms`))
      }, this.limits.incompleteMessageTimeout)
    }
  }

  /** Closes the connection (idempotent); `closed` is emitted once. */
  close(error?: Error): void {
    if (this.closedWith !== undefined) return
    this.closedWith = error ?? null
    clearInterval(this.keepAlive)
    clearTimeout(this.pongDue)
    clearTimeout(this.incomplete)
    this.socket.destroy()
    this.events.closed(this, error)
  }
}
