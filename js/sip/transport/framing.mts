/*
 * Messages out of a byte stream (TCP, TLS): RFC 3261 §18.3 frames each message by its
 * Content-Length, which a stream MUST carry; RFC 5626 §4.4.1 keep-alives are a CRLF pair
 * ("ping") answered by one CRLF ("pong") between messages. And messages out of a datagram,
 * where the datagram is the frame.
 */

import { SipMessage } from './message.mjs'

export type Frame =
  | { kind: 'message'; message: SipMessage }
  | { kind: 'ping' }
  | { kind: 'pong' }
  /** A message whose framing held but whose content did not parse: dropped, the stream goes on. */
  | { kind: 'malformed' }

/** The stream cannot be framed any more (no Content-Length, too large): the connection must close. */
export class FramingError extends Error {
  constructor(
    message: string,
    readonly reason: 'oversized' | 'unframed',
  ) {
    super(message)
  }
}

const HEAD_END = Buffer.from('\r\n\r\n')

/** Length of the Content-Length value in `head` (any form), or undefined when absent or not a number. */
function contentLength(head: string): number | undefined {
  const m = /\r\n(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*(?:\r\n|$)/i.exec(head)
  return m ? Number(m[1]) : undefined
}

export class StreamFramer {
  private buffer: Buffer = Buffer.alloc(0)

  constructor(private readonly maxMessageSize: number) {}

  /** Bytes held for a message not yet complete. */
  get pending(): number {
    return this.buffer.length
  }

  /** The frames completed by `chunk`; throws FramingError when the stream is beyond repair. */
  push(chunk: Buffer): Frame[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk])
    const frames: Frame[] = []
    for (;;) {
      const b = this.buffer
      if (b.length >= 4 && b.subarray(0, 4).equals(HEAD_END)) {
        frames.push({ kind: 'ping' })
        this.buffer = b.subarray(4)
        continue
      }
      // A lone CRLF is a pong, or a stray line ending before a message (§7.5 lets a stream
      // carry leading CRLFs): either way it is consumed. A CRLF still alone in the buffer may
      // be half a ping whose second half has not come; pings are written as one 4-byte write.
      if (b.length >= 2 && b[0] === 0x0d && b[1] === 0x0a && !(b.length >= 3 && b[2] === 0x0d)) {
        frames.push({ kind: 'pong' })
        this.buffer = b.subarray(2)
        continue
      }
      const end = b.indexOf(HEAD_END)
      if (end < 0) {
        if (b.length > this.maxMessageSize) throw new FramingError(`no end of headers in ${b.length} bytes`, 'oversized')
        return frames
      }
      const head = b.subarray(0, end).toString('utf8')
      const length = contentLength(head)
      if (length === undefined) throw new FramingError('a message on a stream without Content-Length (RFC 3261 §18.3)', 'unframed')
      if (end + 4 + length > this.maxMessageSize) {
        throw new FramingError(`a message of ${end + 4 + length} bytes, more than the ${this.maxMessageSize} allowed`, 'oversized')
      }
      if (b.length < end + 4 + length) return frames
      const message = SipMessage.parse(head, Buffer.from(b.subarray(end + 4, end + 4 + length)))
      frames.push(message ? { kind: 'message', message } : { kind: 'malformed' })
      this.buffer = b.subarray(end + 4 + length)
    }
  }
}

/**
 * The message in one datagram: a body shorter than its Content-Length is an error, a longer
 * one is cut (RFC 3261 §18.3); without Content-Length the body is the rest of the datagram.
 * Undefined for anything else, including keep-alive CRLFs.
 */
export function parseDatagram(datagram: Buffer): SipMessage | undefined {
  let start = 0
  while (datagram[start] === 0x0d && datagram[start + 1] === 0x0a) start += 2 // §7.5: leading CRLFs are ignored
  const data = datagram.subarray(start)
  const end = data.indexOf(HEAD_END)
  if (end < 0) return undefined
  const head = data.subarray(0, end).toString('utf8')
  const rest = data.subarray(end + 4)
  const length = contentLength(head)
  if (length !== undefined && length > rest.length) return undefined
  return SipMessage.parse(head, Buffer.from(rest.subarray(0, length ?? rest.length)))
}
