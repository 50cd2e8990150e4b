/**
 * Errors of the transport layer. Each kind of failure has its own class with a stable
 * `code`; callers match on `code` (or `instanceof`), never on the message. `hint` says
 * what a person can do next; `toTapestryError` (../errors.ts) keeps both at the edge.
 */
export class NetError extends Error {
  override readonly name: string = 'NetError'
  constructor(
    readonly code: string,
    message: string,
    readonly hint?: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

/** A `swarm.key` file or key bytes that are not a valid 32-byte pre-shared key. */
export class BadSwarmKeyError extends NetError {
  override readonly name = 'BadSwarmKeyError'
  static readonly code = 'BAD_SWARM_KEY'
  constructor(message: string) {
    super(
      BadSwarmKeyError.code,
      `invalid swarm key: ${message}`,
      'a swarm.key has three lines: /key/swarm/psk/1.0.0/, /base16/ and 64 hex digits',
    )
  }
}

/** The remote end of a connection uses a swarm key we do not hold. */
export class SwarmKeyMismatchError extends NetError {
  override readonly name = 'SwarmKeyMismatchError'
  static readonly code = 'SWARM_KEY_MISMATCH'
  constructor(options?: ErrorOptions) {
    super(
      SwarmKeyMismatchError.code,
      'this peer is not in the same tribe network (swarm key differs)',
      'check that the address belongs to this tribe, or ask a steward for a fresh invitation',
      options,
    )
  }
}

/** The private-network handshake did not complete (timeout, early close, bad nonce). */
export class PnetHandshakeError extends NetError {
  override readonly name = 'PnetHandshakeError'
  static readonly code = 'PNET_HANDSHAKE_FAILED'
  constructor(message: string, options?: ErrorOptions) {
    super(
      PnetHandshakeError.code,
      `private network handshake failed: ${message}`,
      undefined,
      options,
    )
  }
}

/** A frame larger than the negotiated maximum, or a stream used after it ended. */
export class FrameError extends NetError {
  override readonly name = 'FrameError'
  static readonly code = 'BAD_FRAME'
  constructor(message: string, options?: ErrorOptions) {
    super(FrameError.code, message, undefined, options)
  }
}

/** True when `err`, or any error in its `cause` chain, is a swarm key mismatch. */
export function isSwarmKeyMismatch(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e != null && depth < 8; depth++) {
    if ((e as { code?: unknown }).code === SwarmKeyMismatchError.code) return true
    if (e instanceof AggregateError && e.errors.some(isSwarmKeyMismatch)) return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}
