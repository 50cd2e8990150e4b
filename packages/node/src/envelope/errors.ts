/**
 * One error class per reason the envelope layer refuses something. Each has a stable
 * `code` and `name` and carries the document id (undefined only when the bytes were
 * too broken to contain one). Callers match on `code`, never on the message.
 */
export abstract class EnvelopeError extends Error {
  abstract readonly code: string
  constructor(
    message: string,
    readonly docId: string | undefined,
  ) {
    super(docId === undefined ? message : `${message} (document ${docId})`)
  }
}

/** Bytes that are not a canonical, well-typed, size-bounded envelope/record/Yjs update. */
export class MalformedEnvelopeError extends EnvelopeError {
  override readonly name = 'MalformedEnvelopeError'
  readonly code = 'MALFORMED_ENVELOPE'
  constructor(detail: string, docId?: string) {
    super(`malformed envelope: ${detail}`, docId)
  }
}

/** The Ed25519 signature does not verify over the envelope's fields. */
export class BadSignatureError extends EnvelopeError {
  override readonly name = 'BadSignatureError'
  readonly code = 'BAD_SIGNATURE'
  constructor(
    docId: string,
    readonly writerKey: string,
    readonly seq: number,
  ) {
    super(`bad signature on envelope ${writerKey}#${seq}`, docId)
  }
}

/** The author may not write this document (not a steward/owner/author). */
export class NotAuthorizedError extends EnvelopeError {
  override readonly name = 'NotAuthorizedError'
  readonly code = 'NOT_AUTHORIZED'
  constructor(
    docId: string,
    readonly author: string,
  ) {
    super(`member ${author} may not write this document`, docId)
  }
}

/** The update inserts items under a Yjs client id not registered to the writer. */
export class ForeignClientError extends EnvelopeError {
  override readonly name = 'ForeignClientError'
  readonly code = 'FOREIGN_CLIENT'
  constructor(
    docId: string | undefined,
    readonly allowed: number,
    readonly found: number,
  ) {
    super(`update inserts items under client ${found}; the writer's client is ${allowed}`, docId)
  }
}

/** The author was removed and this envelope is past their cut-off sequence. */
export class BeyondCutoffError extends EnvelopeError {
  override readonly name = 'BeyondCutoffError'
  readonly code = 'BEYOND_CUTOFF'
  constructor(
    docId: string,
    readonly writerKey: string,
    readonly seq: number,
    readonly cutoff: number,
  ) {
    super(`envelope ${writerKey}#${seq} is past the writer's removal cut-off ${cutoff}`, docId)
  }
}

/** A local change is larger than one envelope may carry. */
export class UpdateTooLargeError extends EnvelopeError {
  override readonly name = 'UpdateTooLargeError'
  readonly code = 'UPDATE_TOO_LARGE'
  constructor(
    docId: string,
    readonly bytes: number,
    readonly limit: number,
  ) {
    super(`a change of ${bytes} bytes exceeds the ${limit}-byte envelope limit`, docId)
  }
}
