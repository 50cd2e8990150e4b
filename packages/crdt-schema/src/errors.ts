/**
 * One error class per kind of failure, each with a stable `code` (match on it,
 * or on `instanceof`, never on the message). Reads of peer data return these
 * inside a {@link Result}; they are thrown only by functions documented to throw
 * (encoders given invalid local input, {@link unwrap}).
 */

export type SchemaErrorCode =
  | 'ERR_SCHEMA_VALIDATION'
  | 'ERR_OVERSIZED'
  | 'ERR_UNKNOWN_KIND'
  | 'ERR_KIND_MISMATCH'
  | 'ERR_FUTURE_SCHEMA_VERSION'
  | 'ERR_EMPTY_DOCUMENT'
  | 'ERR_INVALID_ID'
  | 'ERR_INVALID_UPDATE'
  | 'ERR_INVALID_RECORD'
  | 'ERR_MISSING_GENESIS'

export abstract class SchemaError extends Error {
  abstract readonly code: SchemaErrorCode
  /** The document (or record subject) this error is about, when known. */
  readonly docId: string | undefined
  constructor(message: string, docId?: string) {
    super(message)
    this.docId = docId
  }
}

/** A value does not have the shape the schema requires (wrong type, bad format, missing field). */
export class SchemaValidationError extends SchemaError {
  override readonly name = 'SchemaValidationError'
  readonly code = 'ERR_SCHEMA_VALIDATION' as const
  /** Human-readable issues, each prefixed by the path of the offending value. */
  readonly issues: readonly string[]
  constructor(message: string, issues: readonly string[] = [], docId?: string) {
    super(issues.length > 0 ? `${message}: ${issues.join('; ')}` : message, docId)
    this.issues = issues
  }
}

/** A value is larger than a limit exported from `limits.ts`. */
export class OversizedError extends SchemaError {
  override readonly name = 'OversizedError'
  readonly code = 'ERR_OVERSIZED' as const
  constructor(
    readonly field: string,
    readonly limit: number,
    readonly actual?: number,
    docId?: string,
  ) {
    super(
      `${field} is larger than the limit of ${limit}${actual === undefined ? '' : ` (got ${actual})`}`,
      docId,
    )
  }
}

/** A document kind or record type this version does not know (maybe from a newer node). */
export class UnknownKindError extends SchemaError {
  override readonly name = 'UnknownKindError'
  readonly code = 'ERR_UNKNOWN_KIND' as const
  constructor(
    readonly kind: string,
    docId?: string,
  ) {
    super(`unknown document kind or record type "${kind.slice(0, 64)}"`, docId)
  }
}

/** The document says it is of another (known) kind than the one asked for. */
export class KindMismatchError extends SchemaError {
  override readonly name = 'KindMismatchError'
  readonly code = 'ERR_KIND_MISMATCH' as const
  constructor(
    readonly expected: string,
    readonly actual: string,
    docId?: string,
  ) {
    super(`expected a ${expected} document, found ${actual.slice(0, 64)}`, docId)
  }
}

/**
 * The document or record was written with a newer major schema version than this
 * node understands. Keep storing and forwarding it; do not render it. Upgrade the node.
 */
export class FutureSchemaVersionError extends SchemaError {
  override readonly name = 'FutureSchemaVersionError'
  readonly code = 'ERR_FUTURE_SCHEMA_VERSION' as const
  constructor(
    readonly version: number,
    readonly supported: number,
    docId?: string,
  ) {
    super(
      `schema version ${version} is newer than the supported ${supported}: upgrade Tapestry to read it`,
      docId,
    )
  }
}

/** The document has no content yet (nothing synced, or not created). */
export class EmptyDocumentError extends SchemaError {
  override readonly name = 'EmptyDocumentError'
  readonly code = 'ERR_EMPTY_DOCUMENT' as const
  constructor(docId?: string) {
    super('the document is empty (not created or not synced yet)', docId)
  }
}

/** A document id, member id or tribe id string is malformed. */
export class InvalidIdError extends SchemaError {
  override readonly name = 'InvalidIdError'
  readonly code = 'ERR_INVALID_ID' as const
  constructor(
    message: string,
    readonly input?: string,
  ) {
    super(message)
  }
}

/** Yjs update bytes that do not decode (garbage, truncated) or that Yjs refused. */
export class InvalidUpdateError extends SchemaError {
  override readonly name = 'InvalidUpdateError'
  readonly code = 'ERR_INVALID_UPDATE' as const
  override readonly cause: unknown
  constructor(message: string, cause?: unknown, docId?: string) {
    super(message, docId)
    this.cause = cause
  }
}

/** Authority record bytes that are not canonical CBOR of a valid record. */
export class InvalidRecordError extends SchemaError {
  override readonly name = 'InvalidRecordError'
  readonly code = 'ERR_INVALID_RECORD' as const
  override readonly cause: unknown
  constructor(message: string, cause?: unknown) {
    super(message)
    this.cause = cause
  }
}

/** No valid creator-signed genesis record among the authority records of a document. */
export class MissingGenesisError extends SchemaError {
  override readonly name = 'MissingGenesisError'
  readonly code = 'ERR_MISSING_GENESIS' as const
  constructor(docId?: string) {
    super('no valid genesis record signed by its creator', docId)
  }
}
