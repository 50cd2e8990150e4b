/**
 * The durable store of a node: signed envelopes, signed records, unsigned snapshots and
 * equivocation evidence, per document. One interface, several implementations
 * (`MemoryEnvelopeStore` for unit tests, `LevelEnvelopeStore` on disk); every one of them
 * passes the shared contract suite in `test/helpers/store-contract.ts`.
 *
 * Contract (every implementation):
 * - Every operation other than `open()` throws `StoreClosedError` before `open()` and
 *   after `close()`. `open()` on an open store and `close()` on a closed one are no-ops.
 * - A write resolves only once it is durable: after the promise resolves, the data
 *   survives the process being killed (for on-disk stores: a synced write).
 * - A batch (`appendEnvelopes`) is all-or-nothing.
 * - Values handed in are copied; values handed out are fresh (mutating them never
 *   changes the store).
 * - The store does not check signatures or authority; the envelope layer does that
 *   before calling it. It does check the one thing it can see: two different envelopes
 *   for one (document, writer, seq) are refused with `EquivocationError`.
 * - Failures are typed errors from `./errors.ts`; a value that cannot be decoded is
 *   reported as `StoreCorruptError`, never skipped.
 *
 * @example
 * ```ts
 * const store = new LevelEnvelopeStore('/path/to/data/store')
 * await store.open()
 * await store.appendEnvelopes([env])            // on disk when this resolves
 * const vv = await store.versionVector(env.docId)
 * const missing = await store.envelopesSince(env.docId, peerVv)
 * await store.close()
 * ```
 */

import { type DocKind, kindOf } from '@tapestry/crdt-schema'
import type { DocId, Envelope, SignedRecord, VersionVector, WriterKey } from '../envelope/types.js'

/** Version of the store's private on-disk encoding, kept in its `meta` record. */
export const STORE_FORMAT = 1

/** An unsigned local cache of a document's state, for fast start-up. */
export interface DocSnapshot {
  /** `Y.encodeStateAsUpdate` of the document (or any update equivalent to it). */
  readonly state: Uint8Array
  /** The envelopes the state contains: load it, then apply `envelopesSince(docId, vv)`. */
  readonly vv: VersionVector
}

/** Proof that a writer signed two different envelopes with one sequence number. */
export interface EquivocationEvidence {
  readonly docId: DocId
  readonly writerKey: WriterKey
  readonly seq: number
  readonly first: Envelope
  readonly second: Envelope
}

export interface StoredRecord {
  /** The record's id (SHA-256 of its signed bytes, chosen by the caller). */
  readonly id: string
  readonly record: SignedRecord
}

export interface DocumentEntry {
  readonly id: DocId
  /** The id's prefix before the first `_` (`narrative`, `roster`, ...); `''` if none. */
  readonly kind: string
}

export interface StoreStats {
  /** Bytes the store occupies (on disk for durable stores; payload bytes in memory). */
  readonly bytes: number
  readonly documents: number
  readonly envelopes: number
}

export interface EnvelopeStore {
  /**
   * Opens (creating if missing) the store. Throws `StoreLockedError` if another process
   * owns it, `StoreCorruptError` if its files or meta record are damaged (nothing is
   * repaired or deleted), `StoreVersionError` if its format is newer than `STORE_FORMAT`.
   */
  open(): Promise<void>

  /** Waits for pending operations, then releases the store (and its lock). */
  close(): Promise<void>

  /**
   * Stores envelopes in one durable, all-or-nothing batch. Envelopes already stored
   * byte-for-byte are skipped (idempotent); a different envelope for a stored
   * (docId, writer, seq), or two different ones in the batch, fails the whole batch with
   * `EquivocationError`. Gaps in sequences are allowed (they stop `versionVector`).
   */
  appendEnvelopes(envs: readonly Envelope[]): Promise<void>

  /** The envelope at (docId, writerKey, seq), or `undefined`. */
  getEnvelope(docId: DocId, writerKey: WriterKey, seq: number): Promise<Envelope | undefined>

  /**
   * Every stored envelope of the document whose seq is above `vv`'s entry for its writer
   * (writers absent from `vv` count as 0), including envelopes past a gap, ordered by
   * writer key then seq.
   */
  envelopesSince(docId: DocId, vv: VersionVector): Promise<Envelope[]>

  /**
   * Per writer of the document, the highest seq `n` such that seqs 1..n are all stored.
   * Writers whose seq 1 is missing are absent. Empty for an unknown document.
   */
  versionVector(docId: DocId): Promise<VersionVector>

  /**
   * Stores a signed record under `id` (durably). Idempotent for the same bytes; different
   * bytes under a stored id throw `RecordConflictError`. Records survive `eraseContent`.
   */
  putRecord(rec: SignedRecord, id: string): Promise<void>

  /** The document's records, ordered by `createdAt`, then id. */
  records(docId: DocId): Promise<StoredRecord[]>

  /** Replaces the document's snapshot (durably). */
  putSnapshot(docId: DocId, snapshot: DocSnapshot): Promise<void>

  getSnapshot(docId: DocId): Promise<DocSnapshot | undefined>

  /** Stores equivocation evidence (durably); idempotent for the same pair. */
  putEquivocation(evidence: EquivocationEvidence): Promise<void>

  /** All evidence, ordered by document, writer, seq. */
  equivocations(): Promise<EquivocationEvidence[]>

  /** Every document with envelopes, records or a snapshot, ordered by id. */
  listDocuments(): Promise<DocumentEntry[]>

  /**
   * Deletes every envelope, the snapshot and the equivocation evidence of the document
   * (all of which hold its content) and makes them physically unrecoverable from the
   * store's files: once this resolves, a raw byte scan of the store's directory, its
   * logs and old files included, finds none of the content. Records stay (they are the
   * tombstones and authority). Waits for reads in progress; blocks new ones meanwhile.
   */
  eraseContent(docId: DocId): Promise<void>

  stats(): Promise<StoreStats>
}

/** The `WriterKey` of an envelope: `${hex(author)}:${hex(writerId)}`. */
export function writerKeyOf(env: Pick<Envelope, 'author' | 'writerId'>): WriterKey {
  return `${toHex(env.author)}:${toHex(env.writerId)}`
}

/** The kind of a document id (the schema's `kindOf`), `''` for no known kind. */
export function docKind(docId: DocId): DocKind | '' {
  return kindOf(docId) ?? ''
}

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')
}
