/**
 * Errors of federation links. One class per kind of failure, each with a stable `code`
 * (callers match on it, never on the message) and a `hint` saying what to do next.
 */
import { TapestryError } from '../errors.js'

/** An offer code that is malformed, truncated, tampered with or signed wrongly. */
export class BadOfferError extends TapestryError {
  override readonly name = 'BadOfferError'
  static readonly code = 'BAD_OFFER'
  constructor(
    /** What exactly is wrong, for logs and tests; the message stays plain for people. */
    readonly detail: string,
  ) {
    super(
      BadOfferError.code,
      `this federation offer is damaged (${detail})`,
      'ask the other tribe’s steward to send the offer again (one line starting with tapestry-federate-1:)',
    )
  }
}

/** An offer whose `expiresAt` has passed. */
export class OfferExpiredError extends TapestryError {
  override readonly name = 'OfferExpiredError'
  static readonly code = 'OFFER_EXPIRED'
  constructor(readonly expiresAt: number) {
    super(
      OfferExpiredError.code,
      `this federation offer expired on ${new Date(expiresAt).toISOString()}`,
      'ask the other tribe’s steward for a new offer (`tapestry federate propose`)',
    )
  }
}

/** The link handshake failed on the wire (no reply, a garbled reply, a timeout). */
export class LinkProtocolError extends TapestryError {
  override readonly name = 'LinkProtocolError'
  static readonly code = 'LINK_HANDSHAKE_FAILED'
  constructor(message: string) {
    super(
      LinkProtocolError.code,
      message,
      'the proposer’s node must be running at one of the offer’s addresses; it is retried when it is',
    )
  }
}
