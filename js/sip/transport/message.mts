/*
 * A SIP message as the transport sees it: a start line, header lines and a body (RFC 3261 §7).
 * The transport reads only what it needs to frame, route and match retransmissions (Via,
 * CSeq, Content-Length) and edits only the top Via and our Contact; SIP.js parses the rest.
 */

/** Compact header forms (RFC 3261 §7.3.3) of the headers read or edited here. */
const COMPACT: Readonly<Record<string, string>> = { v: 'via', m: 'contact', l: 'content-length', i: 'call-id' }

const REQUEST_LINE = /^([A-Za-z]+) (\S+) SIP\/2\.0$/
const STATUS_LINE = /^SIP\/2\.0 ([1-6]\d\d) /

export interface Via {
  protocol: string
  host: string
  port?: number
  /** Parameters in order; a flag parameter (`rport`) has the value ''. */
  params: Map<string, string>
}

export function canonicalName(name: string): string {
  const lower = name.trim().toLowerCase()
  return COMPACT[lower] ?? lower
}

export class SipMessage {
  private constructor(
    public readonly startLine: string,
    /** Header lines, continuation lines unfolded (§7.3.1). */
    private readonly headers: string[],
    public readonly body: Buffer,
  ) {}

  /**
   * `head` is everything before the blank line; `body` the bytes after it (already cut to
   * Content-Length by the caller). Undefined when the start line or the headers a transport
   * needs (Via, CSeq, Call-ID) are missing or malformed.
   */
  static parse(head: string, body: Buffer): SipMessage | undefined {
    const lines = head.split('\r\n')
    const startLine = lines.shift() ?? ''
    if (!REQUEST_LINE.test(startLine) && !STATUS_LINE.test(startLine)) return undefined
    const headers: string[] = []
    for (const line of lines) {
      if (/^[ \t]/.test(line) && headers.length > 0) headers[headers.length - 1] += ' ' + line.trim()
      else if (/^[!-9;-~]+[ \t]*:/.test(line)) headers.push(line)
      else return undefined
    }
    const message = new SipMessage(startLine, headers, body)
    const cseq = message.header('cseq')
    if (!message.topVia() || !cseq || !/^\d+\s+[A-Za-z]+$/.test(cseq) || !message.header('call-id')) return undefined
    return message
  }

  /** A message SIP.js gave us (trusted text). */
  static fromText(text: string): SipMessage {
    const split = text.indexOf('\r\n\r\n')
    const head = split < 0 ? text.replace(/\r\n$/, '') : text.slice(0, split)
    const body = split < 0 ? Buffer.alloc(0) : Buffer.from(text.slice(split + 4), 'utf8')
    const message = SipMessage.parse(head, body)
    if (!message) throw new TypeError('SIP.js handed the transport a message it cannot read')
    return message
  }

  get isRequest(): boolean {
    return REQUEST_LINE.test(this.startLine)
  }

  /** The request's method (undefined for a response). */
  get method(): string | undefined {
    return REQUEST_LINE.exec(this.startLine)?.[1].toUpperCase()
  }

  get requestUri(): string | undefined {
    return REQUEST_LINE.exec(this.startLine)?.[2]
  }

  get statusCode(): number | undefined {
    const m = STATUS_LINE.exec(this.startLine)
    return m ? Number(m[1]) : undefined
  }

  /** The method in CSeq: for a response, the method of the request it answers. */
  get cseqMethod(): string {
    return (this.header('cseq') ?? '').split(/\s+/)[1].toUpperCase()
  }

  get callId(): string {
    return this.header('call-id') ?? ''
  }

  /** The first value of header `name` (any form), trimmed. */
  header(name: string): string | undefined {
    const want = canonicalName(name)
    for (const line of this.headers) {
      const colon = line.indexOf(':')
      if (canonicalName(line.slice(0, colon)) === want) return line.slice(colon + 1).trim()
    }
    return undefined
  }

  /** Every value of header `name`, comma-separated values split (for Route, Via). */
  headerValues(name: string): string[] {
    const want = canonicalName(name)
    return this.headers
      .filter((line) => canonicalName(line.slice(0, line.indexOf(':'))) === want)
      .flatMap((line) => splitCommas(line.slice(line.indexOf(':') + 1)))
  }

  topVia(): Via | undefined {
    const value = this.headerValues('via')[0]
    return value === undefined ? undefined : parseVia(value)
  }

  /** The top Via's branch plus the CSeq method: what RFC 3261 §17.1.3 and §17.2.3 match transactions on. */
  get transactionKey(): string {
    const method = this.cseqMethod
    // An ACK to a non-2xx final response belongs to its INVITE's transaction (§17.1.1.3).
    return `${this.topVia()?.params.get('branch') ?? ''} ${method === 'ACK' ? 'INVITE' : method}`
  }

  /** This message with its top Via replaced by `via`. */
  withTopVia(via: Via): SipMessage {
    let done = false
    const headers = this.headers.map((line) => {
      const colon = line.indexOf(':')
      if (done || canonicalName(line.slice(0, colon)) !== 'via') return line
      done = true
      const rest = splitCommas(line.slice(colon + 1)).slice(1)
      return `${line.slice(0, colon)}: ${[formatVia(via), ...rest].join(', ')}`
    })
    return new SipMessage(this.startLine, headers, this.body)
  }

  /** This message with `edit` applied to every Contact value. */
  withContacts(edit: (value: string) => string): SipMessage {
    const headers = this.headers.map((line) => {
      const colon = line.indexOf(':')
      if (canonicalName(line.slice(0, colon)) !== 'contact') return line
      return `${line.slice(0, colon)}: ${splitCommas(line.slice(colon + 1)).map(edit).join(', ')}`
    })
    return new SipMessage(this.startLine, headers, this.body)
  }

  /**
   * A response to this request made without SIP.js (RFC 3261 §8.2.6.2: Via, From, Call-ID and
   * CSeq copied, To copied with a tag added when it has none; no Contact, no body).
   */
  statelessResponse(statusCode: number, reasonPhrase: string, extraHeaders: string[] = []): SipMessage {
    const copied = this.headers.filter((line) => ['via', 'from', 'call-id', 'cseq'].includes(canonicalName(line.slice(0, line.indexOf(':')))))
    let to = `To: ${this.header('to') ?? ''}`
    if (!/;\s*tag=/i.test(to)) to += `;tag=${Math.random().toString(36).slice(2, 12)}`
    return new SipMessage(`SIP/2.0 ${statusCode} ${reasonPhrase}`, [...copied, to, ...extraHeaders], Buffer.alloc(0))
  }

  /** The message on the wire, Content-Length set to the body's byte length (§18.3, §20.14). */
  toBuffer(): Buffer {
    const headers = this.headers.filter((line) => canonicalName(line.slice(0, line.indexOf(':'))) !== 'content-length')
    const head = [this.startLine, ...headers, `Content-Length: ${this.body.length}`, '', ''].join('\r\n')
    return Buffer.concat([Buffer.from(head, 'utf8'), this.body])
  }

  /** What SIP.js's onMessage takes. */
  toString(): string {
    return this.toBuffer().toString('utf8')
  }
}

/** Splits a header value at commas outside quotes and angle brackets. */
function splitCommas(value: string): string[] {
  const parts: string[] = []
  let depth = 0
  let quoted = false
  let start = 0
  for (let i = 0; i < value.length; i++) {
    const c = value[i]
    if (c === '"' && value[i - 1] !== '\\') quoted = !quoted
    else if (!quoted && c === '<') depth++
    else if (!quoted && c === '>') depth--
    else if (!quoted && depth === 0 && c === ',') {
      parts.push(value.slice(start, i).trim())
      start = i + 1
    }
  }
  parts.push(value.slice(start).trim())
  return parts.filter((p) => p.length > 0)
}

/** `SIP/2.0/UDP host[:port];params` (RFC 3261 §20.42); IPv6 hosts in brackets. */
export function parseVia(value: string): Via | undefined {
  const m = /^SIP\s*\/\s*2\.0\s*\/\s*([A-Za-z]+)\s+(\[[0-9A-Fa-f:.]+\]|[^\s:;]+)(?:\s*:\s*(\d{1,5}))?\s*((?:;.*)?)$/.exec(value)
  if (!m) return undefined
  const params = new Map<string, string>()
  for (const p of m[4].split(';').slice(1)) {
    const eq = p.indexOf('=')
    if (eq < 0) params.set(p.trim().toLowerCase(), '')
    else params.set(p.slice(0, eq).trim().toLowerCase(), p.slice(eq + 1).trim())
  }
  return { protocol: m[1].toUpperCase(), host: m[2], port: m[3] === undefined ? undefined : Number(m[3]), params }
}

export function formatVia(via: Via): string {
  const params = [...via.params].map(([k, v]) => (v === '' ? `;${k}` : `;${k}=${v}`)).join('')
  return `SIP/2.0/${via.protocol} ${via.host}${via.port === undefined ? '' : `:${via.port}`}${params}`
}
