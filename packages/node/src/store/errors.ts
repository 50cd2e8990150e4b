/**
 * Errors of the durable store. One class per kind of failure, each with a stable
 * `code` (callers match on it, never on the message) and a `hint` saying what to do
 * next. `toTapestryError` (src/errors.ts) keeps both at the CLI / control API edge.
 */

import type { DocId, Envelope, WriterKey } from '../envelope/types.js'

export abstract class StoreError extends Error {
  abstract readonly code: string
  readonly hint: string | undefined
  constructor(message: string, hint?: string, options?: { cause?: unknown }) {
    super(hint === undefined ? message : `${message}. ${hint}`, options)
    this.hint = hint
  }
}

/** Another process (a running node) holds the store's lock. */
export class StoreLockedError extends StoreError {
  override readonly name = 'StoreLockedError'
  readonly code = 'STORE_LOCKED'
  constructor(
    readonly dir: string,
    options?: { cause?: unknown },
  ) {
    super(
      `a Tapestry node is already running on this data directory (its store ${dir} is locked by another process)`,
      'stop that node first (Ctrl-C or SIGTERM to `tapestry start`), or let commands go through its control API',
      options,
    )
  }
}

/** The store's files or values are damaged. Nothing was deleted or rewritten. */
export class StoreCorruptError extends StoreError {
  override readonly name = 'StoreCorruptError'
  readonly code = 'STORE_CORRUPT'
  constructor(
    readonly dir: string,
    readonly detail: string,
    readonly key?: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the store at ${dir} is damaged: ${detail}${key === undefined ? '' : ` (key ${key})`}`,
      `restore the directory from a backup, or move it aside (mv ${dir} ${dir}.damaged) and start the node again: tapestry will re-sync your documents from the tribe's peers. Nothing has been deleted`,
      options,
    )
  }
}

/** The store was written by a newer format than this node understands. */
export class StoreVersionError extends StoreError {
  override readonly name = 'StoreVersionError'
  readonly code = 'STORE_VERSION'
  constructor(
    readonly dir: string,
    readonly found: number,
    readonly supported: number,
  ) {
    super(
      `the store at ${dir} has format ${found}; this node reads formats up to ${supported}`,
      'upgrade tapestry to a version that reads this store',
    )
  }
}

/** An operation on a store that is not open (never opened, or closed). */
export class StoreClosedError extends StoreError {
  override readonly name = 'StoreClosedError'
  readonly code = 'STORE_CLOSED'
  constructor(operation: string) {
    super(`the store is not open (${operation})`, 'call open() first')
  }
}

/** Any other failure of the underlying storage (permissions, disk full, ...). */
export class StoreIoError extends StoreError {
  override readonly name = 'StoreIoError'
  readonly code = 'STORE_IO'
  constructor(
    readonly dir: string,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(
      `the store at ${dir} could not be used: ${detail}`,
      'check the permissions and free space of the data directory',
      options,
    )
  }
}

/** A document id or sequence the store cannot key (e.g. a `!` in the id). */
export class InvalidStoreKeyError extends StoreError {
  override readonly name = 'InvalidStoreKeyError'
  readonly code = 'STORE_INVALID_KEY'
  constructor(detail: string) {
    super(`invalid store key: ${detail}`)
  }
}

/**
 * `appendEnvelopes` was given an envelope whose (document, writer, seq) already holds a
 * different envelope (or two such envelopes in one batch). Nothing of the batch was
 * written. The caller records the evidence with `putEquivocation`.
 */
export class EquivocationError extends StoreError {
  override readonly name = 'EquivocationError'
  readonly code = 'STORE_EQUIVOCATION'
  constructor(
    readonly docId: DocId,
    readonly writerKey: WriterKey,
    readonly seq: number,
    readonly first: Envelope,
    readonly second: Envelope,
  ) {
    super(
      `two different envelopes for document ${docId}, writer ${writerKey}, seq ${seq}`,
      'record the evidence with putEquivocation and report the writer',
    )
  }
}

/** `putRecord` was given different bytes under an id that is already stored. */
export class RecordConflictError extends StoreError {
  override readonly name = 'RecordConflictError'
  readonly code = 'STORE_RECORD_CONFLICT'
  constructor(
    readonly docId: DocId,
    readonly id: string,
  ) {
    super(`a different record is already stored for document ${docId} under id ${id}`)
  }
}
