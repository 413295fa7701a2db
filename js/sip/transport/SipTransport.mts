/*
 * SipTransport: SIP over UDP, TCP and TLS for SIP.js in Node (RFC 3261 §18), given to
 * `UserAgentOptions.transportConstructor`. SIP.js writes messages as if for a WebSocket: a Via
 * sent-by of `<random>.invalid` and a Contact with `transport=ws`. This transport owns the wire
 * form: on the way out it writes our reachable address, port and transport into the top Via
 * (with `rport`, RFC 3581) and into our Contact; on the way in it puts back the Via SIP.js
 * checks responses against, and adds `received`/`rport` to requests (§18.2.1, RFC 3581 §4).
 * On UDP it runs the retransmission timers SIP.js leaves out (UnreliableTransactions.mts).
 *
 * Next hop of a request: the `server` (an outbound proxy or trunk) when given; otherwise the
 * top Route, or the Request-URI (RFC 3261 §8.1.2, RFC 3263 §4 without NAPTR/SRV). A response
 * goes back on the connection its request came on, or per its top Via (§18.2.2, RFC 3581 §5).
 *
 * Everything runs on the Node event loop; nothing a peer sends makes it throw.
 */

import dgram from 'node:dgram'
import dns from 'node:dns/promises'
import net from 'node:net'
import tls from 'node:tls'
import { EmitterImpl, Grammar, TransportState, type Core, type Emitter, type Transport } from 'sip.js'
import { parseDatagram } from './framing.mjs'
import { type Via, SipMessage } from './message.mjs'
import { StreamConnection, type StreamLimits } from './StreamConnection.mjs'
import { DEFAULT_PORT, type Protocol, type Target, protocolOf, targetOf } from './target.mjs'
import { type Destination, UnreliableTransactions } from './UnreliableTransactions.mjs'

export interface ListenAddress {
  /** Default: all IPv4 addresses. */
  host?: string
  /** Default: any free port. */
  port?: number
}

export interface SipTransportOptions {
  /** Where every request goes: `sip:trunk.example.org;transport=udp`, `sip:pbx:5060;transport=tcp`, `sips:trunk:5061`. */
  server?: string
  /**
   * The sockets that receive requests. Default: UDP on any free port when `server` is UDP or
   * absent, nothing else. Connections we open to a TCP or TLS server carry requests both ways.
   */
  listen?: { udp?: ListenAddress; tcp?: ListenAddress; tls?: ListenAddress }
  /**
   * Node's TLS options: `ca`, `cert`, `key`, `servername` (SNI), `rejectUnauthorized` (default
   * true: a server whose certificate does not verify is refused). `cert`/`key` also serve
   * `listen.tls`.
   */
  tls?: tls.ConnectionOptions & tls.TlsOptions
  /** The host written into Via and Contact (a public address in front of NAT). Default: the local address the message leaves from. */
  advertise?: string
  /** RFC 5626 CRLF pings on the connections we open (ms; 0: none). Default 30000. */
  keepAliveInterval?: number
  /** A connection whose pong does not come within this is closed (ms). Default 10000. */
  keepAliveTimeout?: number
  /** Largest message taken from the network (bytes). Default 65535. */
  maxMessageSize?: number
  /** How long a partly received message may wait for the rest before its connection is closed (ms). Default 30000. */
  incompleteMessageTimeout?: number
  /** Reconnecting to a TCP/TLS `server`: first delay, doubling to `max` (ms). Default 500 and 30000. */
  reconnectDelay?: { initial?: number; max?: number }
  /** Incoming TCP/TLS connections held at once; more are closed. Default 1024. */
  maxConnections?: number
  /**
   * Called for every incoming request before SIP.js sees it; an answer is sent at once,
   * statelessly (RFC 3261 §8.2.7), and SIP.js never sees the request. For what SIP.js answers
   * by itself: a health probe's OPTIONS answered 503 while draining (SIP.js always says 200).
   */
  screen?: (request: ScreenedRequest) => ScreenAnswer | undefined
}

/** What `screen` sees of a request. */
export interface ScreenedRequest {
  method: string
  requestUri: string
  /** The first value of a header (case-insensitive name, compact forms too). */
  header(name: string): string | undefined
}

export interface ScreenAnswer {
  statusCode: number
  reasonPhrase: string
  extraHeaders?: string[]
}

/** Messages dropped by the transport, by reason; all counted, none thrown. */
export interface SipTransportDrops {
  /** Not a SIP message (start line, Via, CSeq or Call-ID missing or wrong). */
  malformed: number
  /** Larger than `maxMessageSize`. */
  oversized: number
  /** A stream message without Content-Length: the connection is closed (RFC 3261 §18.3). */
  unframed: number
  /** A message that never completed (a Content-Length larger than what came). */
  incomplete: number
  /** A response whose top Via is not ours (§18.1.2). */
  stray: number
  /** Incoming connections over `maxConnections`. */
  connections: number
}

export interface SipTransportStats {
  received: number
  sent: number
  /** Requests and responses sent again by the UDP timers (A, E, G). */
  retransmissions: number
  /** Retransmitted requests and responses the UDP timers answered or absorbed. */
  absorbed: number
  dropped: SipTransportDrops
  /** Open TCP/TLS connections. */
  connections: number
}

const UDP_MAX = 65507
/** RFC 3261 §18.1.1: a request larger than this goes over TCP when the path MTU is unknown. */
const UDP_REQUEST_LIMIT = 1300

type Source = { protocol: Protocol; address: string; port: number; connection?: StreamConnection }

/** At most this many requests/calls remember the connection they came on. */
const MAX_REMEMBERED = 8192

function remember<K, V>(map: Map<K, V>, key: K, value: V): void {
  map.delete(key)
  map.set(key, value)
  if (map.size > MAX_REMEMBERED) map.delete(map.keys().next().value as K)
}

const hostForSip = (host: string): string => (net.isIPv6(host) ? `[${host}]` : host)
const isWildcard = (host?: string): boolean => !host || host === '0.0.0.0' || host === '::'

export class SipTransport implements Transport {
  private _state: TransportState = TransportState.Disconnected
  private readonly _stateChange = new EmitterImpl<TransportState>()
  onConnect: (() => void) | undefined
  onDisconnect: ((error?: Error) => void) | undefined
  onMessage: ((message: string) => void) | undefined

  private readonly server?: Target
  private readonly limits: StreamLimits
  private udp?: dgram.Socket
  private udpTransactions?: UnreliableTransactions
  private readonly listeners = new Map<'TCP' | 'TLS', net.Server>()
  /** Open connections by `PROTOCOL|host|port` of the far end as we dialled it or as it came. */
  private readonly connections = new Map<string, StreamConnection>()
  private readonly dialling = new Map<string, Promise<StreamConnection>>()
  private serverConnection?: StreamConnection
  /** The connection each incoming request came on (its response goes back there), by transaction. */
  private readonly requestConnections = new Map<string, StreamConnection>()
  /** The connection a call's messages last came on: its requests use it too (as phones expect). */
  private readonly callConnections = new Map<string, StreamConnection>()
  /** The Via sent-by host SIP.js writes (its `viaHost`), restored in responses. */
  private placeholder?: string
  /** The sent-bys we have written: a response whose top Via is not one of them is not ours. */
  private readonly sentBy = new Set<string>()
  private readonly localAddressCache = new Map<string, string>()
  private connecting?: Promise<void>
  private reconnectTimer?: NodeJS.Timeout
  private reconnectAttempt = 0
  private readonly drops: SipTransportDrops = { malformed: 0, oversized: 0, unframed: 0, incomplete: 0, stray: 0, connections: 0 }
  private received = 0
  private sent = 0

  constructor(
    private readonly logger: Core.Logger,
    private readonly options: SipTransportOptions = {},
  ) {
    this.server = options.server === undefined ? undefined : targetOf(options.server)
    this.limits = {
      maxMessageSize: options.maxMessageSize ?? 65535,
      incompleteMessageTimeout: options.incompleteMessageTimeout ?? 30000,
      keepAliveInterval: options.keepAliveInterval ?? 30000,
      keepAliveTimeout: options.keepAliveTimeout ?? 10000,
    }
    if (this.server?.protocol === 'UDP' && options.listen && !options.listen.udp) {
      throw new TypeError('SipTransport: a UDP server needs a UDP socket: give listen.udp')
    }
  }

  /** The transport SIP.js writes into Via before we rewrite it: the server's, else UDP. */
  get protocol(): string {
    return this.server?.protocol ?? 'UDP'
  }

  get state(): TransportState {
    return this._state
  }

  get stateChange(): Emitter<TransportState> {
    return this._stateChange
  }

  get stats(): SipTransportStats {
    return {
      received: this.received,
      sent: this.sent,
      retransmissions: this.udpTransactions?.retransmissions ?? 0,
      absorbed: this.udpTransactions?.absorbed ?? 0,
      dropped: { ...this.drops },
      connections: [...this.connections.values()].filter((c) => c.open).length,
    }
  }

  /** The local address and port of each listening socket (after connect()). */
  get addresses(): Partial<Record<Protocol, { address: string; port: number }>> {
    const out: Partial<Record<Protocol, { address: string; port: number }>> = {}
    if (this.udp) out.UDP = this.udp.address()
    for (const [protocol, server] of this.listeners) {
      const a = server.address()
      if (a && typeof a === 'object') out[protocol] = { address: a.address, port: a.port }
    }
    return out
  }

  isConnected(): boolean {
    return this._state === TransportState.Connected
  }

  connect(): Promise<void> {
    if (this._state === TransportState.Connected) return Promise.resolve()
    if (this.connecting) return this.connecting
    clearTimeout(this.reconnectTimer)
    this.transition(TransportState.Connecting)
    this.connecting = this.open()
      .then(() => {
        this.reconnectAttempt = 0
        this.transition(TransportState.Connected)
      })
      .catch((error: Error) => {
        this.closeAll()
        this.transition(TransportState.Disconnected, error)
        throw error
      })
      .finally(() => {
        this.connecting = undefined
      })
    return this.connecting
  }

  async disconnect(): Promise<void> {
    clearTimeout(this.reconnectTimer)
    this.reconnectTimer = undefined
    if (this.connecting) await this.connecting.catch(() => undefined)
    if (this._state === TransportState.Disconnected) {
      this.closeAll()
      return
    }
    this.transition(TransportState.Disconnecting)
    this.closeAll()
    this.transition(TransportState.Disconnected)
  }

  async dispose(): Promise<void> {
    await this.disconnect()
    this._stateChange.removeAllListeners()
  }

  async send(text: string): Promise<void> {
    if (this._state !== TransportState.Connected) throw new Error(`SipTransport: cannot send while ${this._state}`)
    const message = SipMessage.fromText(text)
    if (message.isRequest) await this.sendRequest(message)
    else await this.sendResponse(message)
    this.sent++
  }

  // ── opening and closing ──────────────────────────────────────────────────────────────

  private async open(): Promise<void> {
    const listen = this.options.listen ?? (this.server && this.server.protocol !== 'UDP' ? {} : { udp: {} })
    if (listen.udp) await this.openUdp(listen.udp)
    for (const protocol of ['TCP', 'TLS'] as const) {
      const where = protocol === 'TCP' ? listen.tcp : listen.tls
      if (where) await this.openListener(protocol, where)
    }
    if (this.server && this.server.protocol !== 'UDP') await this.openServerConnection()
  }

  private openUdp(where: ListenAddress): Promise<void> {
    const ipv6 = net.isIPv6(where.host ?? '') || (this.server !== undefined && net.isIPv6(this.server.host))
    const socket = dgram.createSocket({ type: ipv6 ? 'udp6' : 'udp4' })
    this.udp = socket
    this.udpTransactions = new UnreliableTransactions((wire, to) => this.sendDatagram(wire, to))
    socket.on('message', (data, rinfo) => this.receiveDatagram(data, rinfo))
    // ICMP errors surface here; SIP over UDP goes on (the transaction timers report failures).
    socket.on('error', (error) => this.logger.warn(`SipTransport: UDP socket: ${error.message}`))
    return new Promise((resolve, reject) => {
      socket.once('error', reject)
      socket.bind(where.port ?? 0, where.host ?? (ipv6 ? '::' : '0.0.0.0'), () => {
        socket.off('error', reject)
        resolve()
      })
    })
  }

  private openListener(protocol: 'TCP' | 'TLS', where: ListenAddress): Promise<void> {
    const accept = (socket: net.Socket): void => {
      const open = [...this.connections.values()].filter((c) => !c.outbound && c.open).length
      if (open >= (this.options.maxConnections ?? 1024)) {
        this.drops.connections++
        socket.destroy()
        return
      }
      const connection = this.adopt(socket, protocol, false)
      this.connections.set(`${protocol}|${connection.remoteAddress}|${connection.remotePort}`, connection)
    }
    const server = protocol === 'TLS' ? tls.createServer(this.options.tls ?? {}, accept) : net.createServer(accept)
    // A TLS handshake that fails (a client that does not trust us, garbage) ends that socket only.
    server.on('tlsClientError', (error: Error) => this.logger.log(`SipTransport: TLS client: ${error.message}`))
    server.on('error', (error) => this.logger.warn(`SipTransport: ${protocol} listener: ${error.message}`))
    this.listeners.set(protocol, server)
    return new Promise((resolve, reject) => {
      server.once('error', reject)
      server.listen(where.port ?? 0, where.host ?? '0.0.0.0', () => {
        server.off('error', reject)
        resolve()
      })
    })
  }

  private async openServerConnection(): Promise<void> {
    const server = this.server as Target
    const connection = await this.connection(server.protocol as 'TCP' | 'TLS', server.host, server.port)
    this.serverConnection = connection
  }

  /** The server connection went away: Disconnected, then connect again with backoff while not asked to stop. */
  private serverLost(error?: Error): void {
    this.serverConnection = undefined
    if (this._state !== TransportState.Connected) return
    this.transition(TransportState.Disconnected, error ?? new Error('SipTransport: the server closed the connection'))
    this.scheduleReconnect()
  }

  private scheduleReconnect(): void {
    const initial = this.options.reconnectDelay?.initial ?? 500
    const max = this.options.reconnectDelay?.max ?? 30000
    const delay = Math.min(initial * 2 ** this.reconnectAttempt++, max)
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined
      if (this._state !== TransportState.Disconnected) return
      this.connect().catch(() => this.scheduleReconnect())
    }, delay)
  }

  private closeAll(): void {
    this.udpTransactions?.close()
    this.udp?.close()
    this.udp = undefined
    for (const server of this.listeners.values()) server.close()
    this.listeners.clear()
    const connections = [...this.connections.values()]
    this.connections.clear()
    this.serverConnection = undefined
    for (const connection of connections) connection.close()
    this.requestConnections.clear()
    this.callConnections.clear()
  }

  private transition(state: TransportState, error?: Error): void {
    if (state === this._state) return
    this._state = state
    this.logger.log(`SipTransport: ${state}`)
    this._stateChange.emit(state)
    try {
      if (state === TransportState.Connected) this.onConnect?.()
      if (state === TransportState.Disconnected) this.onDisconnect?.(error)
    } catch (e) {
      this.logger.error(`SipTransport: a connect/disconnect handler threw: ${(e as Error).message}`)
    }
  }

  // ── connections ──────────────────────────────────────────────────────────────────────

  private adopt(socket: net.Socket, protocol: 'TCP' | 'TLS', outbound: boolean): StreamConnection {
    return new StreamConnection(socket, protocol, outbound, this.limits, {
      message: (message, connection) =>
        this.receive(message, { protocol, address: connection.remoteAddress, port: connection.remotePort, connection }),
      dropped: (reason) => this.drops[reason]++,
      closed: (connection, error) => {
        for (const [key, c] of this.connections) if (c === connection) this.connections.delete(key)
        if (error) this.logger.log(`SipTransport: ${protocol} connection closed: ${error.message}`)
        if (connection === this.serverConnection) this.serverLost(error)
      },
    })
  }

  /** An open connection to `host`:`port`, dialled when there is none. */
  private connection(protocol: 'TCP' | 'TLS', host: string, port: number): Promise<StreamConnection> {
    const key = `${protocol}|${host}|${port}`
    const existing = this.connections.get(key)
    if (existing?.open) return Promise.resolve(existing)
    const pending = this.dialling.get(key)
    if (pending) return pending
    const dial = new Promise<StreamConnection>((resolve, reject) => {
      const socket =
        protocol === 'TLS'
          ? tls.connect({
              ...this.options.tls,
              host,
              port,
              // Verification is on unless the application turns it off (RFC 5922 §7).
              rejectUnauthorized: this.options.tls?.rejectUnauthorized ?? true,
              servername: this.options.tls?.servername ?? (net.isIP(host) ? undefined : host),
            })
          : net.connect({ host, port })
      const ready = protocol === 'TLS' ? 'secureConnect' : 'connect'
      const timer = setTimeout(() => socket.destroy(new Error(`SipTransport: ${protocol} connection to ${host}:${port} timed out`)), 10000)
      socket.once('error', (error) => {
        clearTimeout(timer)
        reject(new Error(`SipTransport: ${protocol} connection to ${host}:${port} failed: ${error.message}`))
      })
      socket.once(ready, () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        const connection = this.adopt(socket, protocol, true)
        this.connections.set(key, connection)
        resolve(connection)
      })
    }).finally(() => this.dialling.delete(key))
    this.dialling.set(key, dial)
    return dial
  }

  // ── sending ──────────────────────────────────────────────────────────────────────────

  private async nextHop(message: SipMessage): Promise<Target> {
    if (this.server) return this.server
    const route = message.headerValues('route')[0]
    const uri = route !== undefined ? Grammar.nameAddrHeaderParse(route)?.uri : Grammar.URIParse(message.requestUri ?? '')
    if (!uri) throw new Error(`SipTransport: no next hop for ${message.method} ${message.requestUri}`)
    return targetOf(uri)
  }

  private async sendRequest(message: SipMessage): Promise<void> {
    const via = message.topVia() as Via
    this.placeholder ??= via.host
    const hop = await this.nextHop(message)
    let protocol = hop.protocol
    if (protocol === 'UDP') {
      const address = await this.resolve(hop.host)
      const to = { address, port: hop.port }
      const local = { host: this.options.advertise ?? (await this.localAddressToward(address)), port: this.udpPort() }
      const wire = this.outgoingRequest(message, via, 'UDP', local).toBuffer()
      if (wire.length <= UDP_REQUEST_LIMIT || message.method === 'ACK') {
        await this.sendDatagram(wire, to)
        this.udpTransactions?.requestSent(message, wire, to)
        return
      }
      protocol = 'TCP' // §18.1.1: too large for UDP without a known path MTU
    }
    let connection: StreamConnection
    const call = this.callConnections.get(message.callId)
    try {
      connection =
        call?.open && call.kind === protocol && call.remoteAddress === (await this.resolve(hop.host).catch(() => hop.host))
          ? call
          : await this.connection(protocol as 'TCP' | 'TLS', hop.host, hop.port)
    } catch (error) {
      if (hop.protocol === 'UDP') {
        throw new Error(`SipTransport: a ${message.method} larger than ${UDP_REQUEST_LIMIT} bytes must go over TCP (RFC 3261 §18.1.1), and ${(error as Error).message}`)
      }
      throw error
    }
    const local = { host: this.options.advertise ?? connection.localAddress, port: this.listenPort(protocol) ?? connection.localPort }
    await connection.write(this.outgoingRequest(message, via, protocol, local).toBuffer())
  }

  private async sendResponse(message: SipMessage): Promise<void> {
    const via = message.topVia() as Via
    const protocol = protocolOf(via.protocol) ?? 'UDP'
    const received = via.params.get('received') || via.host.replace(/^\[(.*)\]$/, '$1')
    const rport = Number(via.params.get('rport'))
    const port = rport > 0 ? rport : (via.port ?? DEFAULT_PORT[protocol])
    if (protocol === 'UDP' && this.udp) {
      const to = { address: await this.resolve(received), port }
      const local = { host: this.options.advertise ?? (await this.localAddressToward(to.address)), port: this.udpPort() }
      const wire = message.withContacts((c) => this.ourContact(c, 'UDP', local)).toBuffer()
      if (wire.length > UDP_MAX) throw new Error(`SipTransport: a ${wire.length}-byte response does not fit a UDP datagram`)
      await this.sendDatagram(wire, to)
      this.udpTransactions?.responseSent(message, wire, to)
      return
    }
    // §18.2.2: on the connection the request came on while it is open, else a new one to the Via.
    const came = this.requestConnections.get(message.transactionKey)
    const connection = came?.open ? came : await this.connection(protocol === 'TLS' ? 'TLS' : 'TCP', received, port)
    const local = { host: this.options.advertise ?? connection.localAddress, port: this.listenPort(connection.kind) ?? connection.localPort }
    await connection.write(message.withContacts((c) => this.ourContact(c, connection.kind, local)).toBuffer())
  }

  /** Our request as it goes on the wire: the top Via and our Contact carry where we are. */
  private outgoingRequest(message: SipMessage, via: Via, protocol: Protocol, local: { host: string; port: number }): SipMessage {
    const host = hostForSip(local.host)
    this.sentBy.add(`${host}:${local.port}`)
    const params = new Map(via.params)
    params.set('rport', '') // RFC 3581 §3: ask for responses to our source port
    return message.withTopVia({ protocol, host, port: local.port, params }).withContacts((c) => this.ourContact(c, protocol, local))
  }

  /** A Contact value SIP.js wrote for us (its host is the Via placeholder or `.invalid`), made reachable. */
  private ourContact(value: string, protocol: Protocol, local: { host: string; port: number }): string {
    const header = Grammar.nameAddrHeaderParse(value)
    if (!header) return value
    const host = header.uri.host
    if (host !== this.placeholder && !host.endsWith('.invalid')) return value
    header.uri.host = hostForSip(local.host)
    header.uri.port = local.port
    header.uri.setParam('transport', protocol.toLowerCase())
    return header.toString()
  }

  private sendDatagram(wire: Buffer, to: Destination): Promise<void> {
    const socket = this.udp
    if (!socket) return Promise.reject(new Error('SipTransport: no UDP socket'))
    return new Promise((resolve, reject) => socket.send(wire, to.port, to.address, (error) => (error ? reject(error) : resolve())))
  }

  private udpPort(): number {
    if (!this.udp) throw new Error('SipTransport: no UDP socket (listen.udp)')
    return this.udp.address().port
  }

  private listenPort(protocol: Protocol): number | undefined {
    const a = this.listeners.get(protocol as 'TCP' | 'TLS')?.address()
    return a && typeof a === 'object' ? a.port : undefined
  }

  private async resolve(host: string): Promise<string> {
    if (net.isIP(host)) return host
    return (await dns.lookup(host)).address
  }

  /** The local address a datagram to `address` leaves from: the bound one, or the route's. */
  private async localAddressToward(address: string): Promise<string> {
    const bound = this.udp?.address().address
    if (!isWildcard(bound)) return bound as string
    const cached = this.localAddressCache.get(address)
    if (cached) return cached
    const probe = dgram.createSocket(net.isIPv6(address) ? 'udp6' : 'udp4')
    try {
      // connect() on UDP sends nothing; it picks the route and so the source address.
      await new Promise<void>((resolve, reject) => {
        probe.once('error', reject)
        probe.connect(9, address, () => resolve())
      })
      const local = probe.address().address
      remember(this.localAddressCache, address, local)
      return local
    } finally {
      probe.close()
    }
  }

  // ── receiving ────────────────────────────────────────────────────────────────────────

  private receiveDatagram(data: Buffer, rinfo: dgram.RemoteInfo): void {
    if (data.length > this.limits.maxMessageSize) {
      this.drops.oversized++
      return
    }
    const message = parseDatagram(data)
    if (!message) {
      // Keep-alive CRLFs and STUN (RFC 5626 §4.4.2) are not messages, and not errors either.
      if (!/^(\r\n)+$/.test(data.toString('latin1'))) this.drops.malformed++
      return
    }
    this.receive(message, { protocol: 'UDP', address: rinfo.address, port: rinfo.port })
  }

  private receive(message: SipMessage, source: Source): void {
    this.received++
    const via = message.topVia() as Via
    if (message.isRequest) {
      // §18.2.1: where the request really came from, for the response; RFC 3581 §4 for rport.
      const params = new Map(via.params)
      if (params.has('rport')) {
        params.set('received', source.address)
        params.set('rport', String(source.port))
      } else if (via.host.replace(/^\[(.*)\]$/, '$1') !== source.address) {
        params.set('received', source.address)
      }
      if (source.connection) {
        remember(this.requestConnections, message.transactionKey, source.connection)
        remember(this.callConnections, message.callId, source.connection)
      }
      if (source.protocol === 'UDP' && !this.udpTransactions?.requestReceived(message)) return
      const request = message.withTopVia({ ...via, params })
      const answer = this.options.screen?.({ method: message.method ?? '', requestUri: message.requestUri ?? '', header: (name) => message.header(name) })
      if (answer) {
        this.sendResponse(request.statelessResponse(answer.statusCode, answer.reasonPhrase, answer.extraHeaders)).catch((error: Error) => {
          this.logger.warn(`SipTransport: the screened ${message.method} could not be answered: ${error.message}`)
        })
        return
      }
      this.deliver(request)
      return
    }
    if (!this.sentBy.has(`${via.host}:${via.port}`) || this.placeholder === undefined) {
      this.drops.stray++
      return
    }
    if (source.connection) remember(this.callConnections, message.callId, source.connection)
    if (source.protocol === 'UDP' && !this.udpTransactions?.responseReceived(message)) return
    // SIP.js takes a response only when its Via is the one it wrote (host, no port).
    this.deliver(message.withTopVia({ protocol: this.protocol, host: this.placeholder, port: undefined, params: via.params }))
  }

  private deliver(message: SipMessage): void {
    try {
      this.onMessage?.(message.toString())
    } catch (error) {
      this.logger.error(`SipTransport: SIP.js failed on a ${message.method ?? message.statusCode}: ${(error as Error).message}`)
    }
  }
}
