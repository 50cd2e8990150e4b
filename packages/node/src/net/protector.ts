/**
 * The tribe host's connection protector: the libp2p private-network ("pnet") protocol,
 * byte for byte, with more than one accepted key.
 *
 * Wire (libp2p pnet spec, unchanged):
 *
 * ```
 *   each side:  nonce (24 random bytes, plaintext)
 *   then:       XSalsa20(psk, own nonce)  ⊕ everything it sends
 *               XSalsa20(psk, peer nonce) ⊕ everything it receives
 * ```
 *
 * Choosing the key. A listener cannot tell which key a dialer used until it decrypts,
 * and pnet has no room for a key id. But every libp2p connection over pnet starts, in
 * both directions, with the multistream-select header `0x13 "/multistream/1.0.0\n"`
 * (20 bytes: the security protocol is always negotiated with multistream-select, in
 * go, rust and js alike). So:
 *
 * - Dialer: encrypts with its current key. Its protected stream checks the first 20
 *   bytes it decrypts; anything but the header aborts the connection with
 *   SwarmKeyMismatchError.
 * - Listener: after the nonces it waits for the dialer's first 20 bytes and decrypts
 *   them with the current key, then each previous key in order; the first key that
 *   yields the header is used for both directions of this connection, and the
 *   admission (which epoch) is recorded. If none does, it answers with the header
 *   encrypted under its current key (so the dialer fails fast with
 *   SwarmKeyMismatchError rather than a timeout), closes gracefully, and throws
 *   SwarmKeyMismatchError.
 *
 * Nothing is added to the wire, so a plain pnet node (Kubo, go-libp2p, @libp2p/pnet)
 * holding the same key interoperates in every mode, with or without previous keys.
 * What this does not do: a dialer with several keys does not retry with a previous
 * one; a node that missed a rotation must dial (or be dialled by a node that still
 * holds its key as `previous`).
 *
 * The cipher is @noble/ciphers (see xsalsa-stream.ts), not @libp2p/pnet's `xsalsa20`
 * dependency, which silently loses data after ~50 MB (js-libp2p#3585).
 */
import { randomBytes } from 'node:crypto'
import type {
  AbortOptions,
  ConnectionProtector,
  MessageStream,
  StreamCloseEvent,
  StreamMessageEvent,
} from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'
import { AbstractMessageStream, byteStream } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { PnetHandshakeError, SwarmKeyMismatchError } from './errors.js'
import { assertSwarmKey, networkId } from './swarm-key.js'
import { XSalsa20Stream } from './xsalsa-stream.js'

export const NONCE_LENGTH = 24
/** The first bytes every libp2p peer sends over pnet: multistream-select's header. */
export const KNOWN_PREFIX: Uint8Array = new Uint8Array([
  0x13,
  ...new TextEncoder().encode('/multistream/1.0.0\n'),
])

/** The keys a protector accepts, read on every new connection (so rotation needs no restart). */
export interface SwarmKeys {
  /** The key this node dials with and tries first. */
  current: Uint8Array
  /** Earlier epochs' keys accepted from dialers, newest first. */
  previous?: Uint8Array[]
}

/** Which key admitted a connection. */
export interface KeyAdmission {
  /** `'current'`, or `'previous'` when an earlier epoch's key was used. */
  epoch: 'current' | 'previous'
  /** 0 for the current key, i + 1 for `previous[i]`. */
  index: number
  /** networkId() of the key used: stable across rotations, unlike `index`. */
  keyId: string
  direction: 'inbound' | 'outbound'
}

export interface TribeProtectorInit {
  keys: () => SwarmKeys
  /** Nonce exchange and (listener) key identification must finish within this. @default 5000 */
  handshakeTimeout?: number
  /** Called once a connection's key is known (before the security handshake). */
  onAdmission?: (admission: KeyAdmission, remoteAddr: Multiaddr | undefined) => void
}

/** Anything that carries the raw connection: a MultiaddrConnection or a libp2p Connection. */
type ConnectionLike = object & { remoteAddr?: Multiaddr }

export class TribeProtector implements ConnectionProtector {
  readonly [Symbol.toStringTag] = '@tapestry/pnet'
  readonly #init: TribeProtectorInit
  readonly #admissions = new WeakMap<object, KeyAdmission>()
  readonly #byAddr = new Map<string, KeyAdmission>()
  /** remote address -> time of the last swarm key mismatch seen on a connection to it */
  readonly #mismatches = new Map<string, number>()

  constructor(init: TribeProtectorInit) {
    this.#init = init
    this.#currentKeys() // validate early
  }

  #currentKeys(): Uint8Array[] {
    const { current, previous = [] } = this.#init.keys()
    assertSwarmKey(current)
    const out = [current]
    for (const key of previous) {
      assertSwarmKey(key)
      if (!out.some((k) => equal(k, key))) out.push(key)
    }
    return out
  }

  /**
   * The admission of a connection: pass the MultiaddrConnection a gater receives, or a
   * libp2p Connection (looked up by its raw connection, then by remote address).
   */
  admissionOf(connection: ConnectionLike): KeyAdmission | undefined {
    const direct = this.#admissions.get(connection)
    if (direct !== undefined) return direct
    const raw = (connection as { maConn?: object }).maConn
    if (raw !== undefined) {
      const viaRaw = this.#admissions.get(raw)
      if (viaRaw !== undefined) return viaRaw
    }
    const addr = connection.remoteAddr
    return addr === undefined ? undefined : this.#byAddr.get(addrKey(addr))
  }

  /**
   * Whether a connection to `addr` (its `/p2p` part ignored) failed with a swarm key
   * mismatch at or after `since` (ms since epoch). libp2p's upgrader rethrows protector
   * errors as EncryptionFailedError with only the message kept, so a dialer asks here.
   */
  mismatchSince(addr: Multiaddr, since: number): boolean {
    return (this.#mismatches.get(addrKey(addr)) ?? -1) >= since
  }

  #noteMismatch(addr: Multiaddr | undefined): void {
    if (addr === undefined) return
    if (this.#mismatches.size > 1024) this.#mismatches.clear()
    this.#mismatches.set(addrKey(addr), Date.now())
  }

  async protect(connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    const keys = this.#currentKeys()
    const direction = connection.direction
    const remoteAddr = (connection as ConnectionLike).remoteAddr
    const log = connection.log.newScope('tapestry-pnet')
    const timeout = AbortSignal.timeout(this.#init.handshakeTimeout ?? 5000)
    const signal = options?.signal == null ? timeout : AbortSignal.any([options.signal, timeout])
    const localNonce = new Uint8Array(randomBytes(NONCE_LENGTH))
    const bytes = byteStream(connection)

    let remoteNonce: Uint8Array
    let firstCiphertext: Uint8Array | undefined
    try {
      connection.send(localNonce)
      remoteNonce = (await bytes.read({ bytes: NONCE_LENGTH, signal })).subarray()
      if (direction === 'inbound') {
        firstCiphertext = (await bytes.read({ bytes: KNOWN_PREFIX.length, signal })).subarray()
      }
    } catch (err) {
      const error = new PnetHandshakeError(
        signal.aborted ? 'timed out waiting for the peer' : 'the peer closed the connection',
        { cause: err },
      )
      connection.abort(error)
      throw error
    }

    let index = 0
    if (firstCiphertext !== undefined) {
      index = keys.findIndex((key) =>
        equal(new XSalsa20Stream(key, remoteNonce).xor(firstCiphertext), KNOWN_PREFIX),
      )
      if (index < 0) {
        log('no accepted swarm key decrypts the dialer; rejecting')
        const error = new SwarmKeyMismatchError()
        this.#noteMismatch(remoteAddr)
        await this.#rejectGracefully(connection, keys[0] as Uint8Array, localNonce, bytes)
        throw error
      }
    }
    const key = keys[index] as Uint8Array
    const admission: KeyAdmission = {
      epoch: index === 0 ? 'current' : 'previous',
      index,
      keyId: networkId(key),
      direction,
    }
    this.#record(connection, admission)
    this.#init.onAdmission?.(admission, remoteAddr)
    log('admitted with %s key (%s)', admission.epoch, admission.keyId)

    const reader = new XSalsa20Stream(key, remoteNonce)
    const prefix = firstCiphertext === undefined ? undefined : reader.xor(firstCiphertext)
    // unwrap() hands back unread bytes; PnetMessageStream reads them after `prefix`
    bytes.unwrap()
    return new PnetMessageStream({
      inner: connection,
      reader,
      writer: new XSalsa20Stream(key, localNonce),
      verifiedPrefix: prefix,
      onMismatch: () => this.#noteMismatch(remoteAddr),
    })
  }

  /** Answer with a header under our key (the dialer then fails fast), then close. */
  async #rejectGracefully(
    connection: MessageStream,
    key: Uint8Array,
    localNonce: Uint8Array,
    bytes: ReturnType<typeof byteStream>,
  ): Promise<void> {
    try {
      connection.send(new XSalsa20Stream(key, localNonce).xor(KNOWN_PREFIX))
      bytes.unwrap()
      // keep reading (and dropping) so the close is a FIN, not a reset that could
      // discard the answer before the dialer reads it
      connection.addEventListener('message', () => {})
      await connection.close({ signal: AbortSignal.timeout(2000) })
    } catch (err) {
      connection.abort(new SwarmKeyMismatchError({ cause: err }))
    }
  }

  #record(connection: MessageStream, admission: KeyAdmission): void {
    this.#admissions.set(connection, admission)
    const addr = (connection as ConnectionLike).remoteAddr
    if (addr === undefined) return
    const key = addrKey(addr)
    this.#byAddr.set(key, admission)
    connection.addEventListener(
      'close',
      () => {
        if (this.#byAddr.get(key) === admission) this.#byAddr.delete(key)
      },
      { once: true },
    )
  }
}

interface PnetMessageStreamInit {
  inner: MessageStream
  reader: XSalsa20Stream
  writer: XSalsa20Stream
  /** Bytes already read and decrypted by the listener's key identification. */
  verifiedPrefix?: Uint8Array | undefined
  onMismatch: () => void
}

/**
 * The protected stream: decrypts what the raw connection delivers, encrypts what is sent
 * to it, passes on flow control and close/reset, and (dialer side) checks that the first
 * bytes it decrypts are the multistream header.
 */
class PnetMessageStream extends AbstractMessageStream {
  readonly #inner: MessageStream
  readonly #reader: XSalsa20Stream
  readonly #writer: XSalsa20Stream
  readonly #onMismatch: () => void
  /** How many bytes of KNOWN_PREFIX have been checked on the inbound side. */
  #checked: number

  constructor(init: PnetMessageStreamInit) {
    const inner = init.inner
    super({
      log: inner.log,
      direction: inner.direction,
      inactivityTimeout: inner.inactivityTimeout,
      maxReadBufferLength: inner.maxReadBufferLength,
    })
    this.#inner = inner
    this.#reader = init.reader
    this.#writer = init.writer
    this.#onMismatch = init.onMismatch
    this.#checked = 0
    if (init.verifiedPrefix !== undefined) {
      this.#checked = KNOWN_PREFIX.length
      this.onData(init.verifiedPrefix)
    }

    inner.addEventListener('message', (evt: StreamMessageEvent) => {
      try {
        const data = evt.data
        if (data instanceof Uint8Array) {
          this.#deliver(this.#reader.xor(data, data))
        } else {
          for (const chunk of data) this.#deliver(this.#reader.xor(chunk, chunk))
        }
      } catch (err) {
        this.abort(err as Error)
      }
    })
    inner.addEventListener('close', (evt: StreamCloseEvent) => {
      if (evt.error != null) {
        if (evt.local === true) this.abort(evt.error)
        else this.onRemoteReset()
      } else if (this.#checked < KNOWN_PREFIX.length && this.status === 'open') {
        this.abort(
          new PnetHandshakeError(
            'the peer closed the connection before its first bytes (its swarm key may differ)',
          ),
        )
      } else {
        this.onTransportClosed()
      }
    })
    inner.addEventListener('drain', () => this.safeDispatchEvent('drain'))
    inner.addEventListener('remoteCloseWrite', () => this.onRemoteCloseWrite())
  }

  #deliver(plain: Uint8Array): void {
    if (this.#checked < KNOWN_PREFIX.length) {
      const n = Math.min(plain.length, KNOWN_PREFIX.length - this.#checked)
      for (let i = 0; i < n; i++) {
        if (plain[i] !== KNOWN_PREFIX[this.#checked + i]) {
          this.#onMismatch()
          this.abort(new SwarmKeyMismatchError())
          return
        }
      }
      this.#checked += n
    }
    this.onData(plain)
  }

  override async close(options?: AbortOptions): Promise<void> {
    await this.#inner.close(options)
  }

  sendData(data: Parameters<AbstractMessageStream['sendData']>[0]): SendResult {
    const out = new Uint8Array(data.byteLength)
    let offset = 0
    for (const chunk of data) {
      out.set(chunk, offset)
      offset += chunk.byteLength
    }
    return {
      sentBytes: data.byteLength,
      canSendMore: this.#inner.send(this.#writer.xor(out, out)),
    }
  }

  sendReset(err: Error): void {
    this.#inner.abort(err)
  }

  sendPause(): void {
    this.#inner.pause()
  }

  sendResume(): void {
    this.#inner.resume()
  }
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  let diff = 0
  for (let i = 0; i < a.byteLength; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}

function addrKey(addr: Multiaddr): string {
  return addr
    .getComponents()
    .filter((c) => c.name !== 'p2p')
    .map((c) => `/${c.name}${c.value === undefined ? '' : `/${c.value}`}`)
    .join('')
}
