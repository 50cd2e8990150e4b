/**
 * The messages of `/tapestry/sync/1.0.0`, one per length-prefixed frame.
 *
 * A session runs per (connection, tribe). Both sides send HELLO first. A *round* is a
 * check of the document sets, started by either side (its *initiator*; the other side
 * is the *responder*); round numbers are chosen by the initiator, and a message names
 * whose round it belongs to by its direction (DIGEST and VECTORS-request go from the
 * initiator, MATCH, BUCKETS and VECTORS-reply from the responder):
 *
 *   initiator                                   responder
 *   DIGEST(r, count, root)        ───────────▶  same as my digest for you? ─ yes ─▶ MATCH(r)
 *                                 ◀───────────  no: BUCKETS(r, 256 bucket hashes)
 *   VECTORS(r, buckets that differ,
 *           my docs in them)      ───────────▶  RECORDS/ENVELOPES you lack, then
 *                                 ◀───────────  VECTORS(r, reply, my docs in those buckets)
 *   RECORDS/ENVELOPES you lack    ───────────▶
 *
 * VECTORS may span several frames (each covers whole buckets; the last has `final`).
 * Every digest, bucket hash and vector covers only the documents the sender lets the
 * receiver have (`Replication.visibleDocuments`), so they reveal nothing else.
 * Live pushes are RECORDS and ENVELOPES outside any round.
 */
import type { DocId, Envelope, SignedRecord, VersionVector } from '../envelope/types.js'

export const SYNC_PROTOCOL = '/tapestry/sync/1.0.0'
/** Version in HELLO; a peer with another version is told so (BYE) and closed. */
export const SYNC_PROTOCOL_VERSION = 1

/** Number of digest buckets: 0..31 rosters, 32..127 profiles and links, 128..255 content. */
export const BUCKETS = 256
export const ROOT_BYTES = 16
export const BUCKET_HASH_BYTES = 8

export const MessageType = {
  hello: 0,
  digest: 1,
  match: 2,
  buckets: 3,
  vectors: 4,
  records: 5,
  envelopes: 6,
  bye: 7,
} as const
export type MessageTypeName = keyof typeof MessageType

export interface Hello {
  type: 'hello'
  version: number
  tribeId: string
}

export interface Digest {
  type: 'digest'
  round: number
  /** Number of documents covered. */
  count: number
  /** ROOT_BYTES: SHA-256 over the bucket hashes and the count, truncated. */
  root: Uint8Array
}

export interface Match {
  type: 'match'
  round: number
}

export interface Buckets {
  type: 'buckets'
  round: number
  /** BUCKETS × BUCKET_HASH_BYTES; an empty bucket hashes to zeros. */
  hashes: Uint8Array
}

/** One document's state as its sender holds it. */
export interface DocVector {
  docId: DocId
  vv: VersionVector
  /** Hex SHA-256 record ids, sorted. */
  recordIds: string[]
}

export interface Vectors {
  type: 'vectors'
  round: number
  /** False: from the round's initiator; true: the responder's answer. */
  reply: boolean
  /** Last frame of this side's vectors for the round. */
  final: boolean
  /** The bucket indexes this frame covers completely (sorted, unique). */
  buckets: number[]
  docs: DocVector[]
}

export interface Records {
  type: 'records'
  records: SignedRecord[]
}

export interface Envelopes {
  type: 'envelopes'
  envelopes: Envelope[]
}

/** Polite close with a reason (version mismatch, not a member, bad input). */
export interface Bye {
  type: 'bye'
  code: string
  message: string
}

export type SyncMessage = Hello | Digest | Match | Buckets | Vectors | Records | Envelopes | Bye

/** Limits every decoder enforces (a frame is also bounded by the framing, 4 MiB). */
export const LIMITS = {
  maxFrameBytes: 4 * 1024 * 1024,
  maxTribeIdChars: 128,
  maxDocsPerVectors: 100_000,
  maxWritersPerDoc: 10_000,
  maxRecordIdsPerDoc: 10_000,
  maxItemsPerBatch: 10_000,
  maxByeText: 1024,
  maxRound: 2 ** 32 - 1,
} as const
