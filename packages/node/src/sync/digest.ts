/**
 * The compact digest of a document set (pure).
 *
 *   docHash(d)    = SHA-256(CBOR(docVectorWire(d)))            docId, sorted vv, sorted record ids
 *   bucket(d)     = roster:          SHA-256(docId)[0] mod 32           (0..31)
 *                   profile, link:   32 + SHA-256(docId)[0] mod 96      (32..127)
 *                   anything else:  128 + SHA-256(docId)[0] mod 128     (128..255)
 *                   Rounds walk buckets in order, so rosters are compared and sent
 *                   first, then the other rules documents, then content.
 *   bucketHash(b) = SHA-256(docHash of b's documents in docId order)[0..8], zeros if empty
 *   root          = SHA-256(CBOR([count, bucketHashes]))[0..16]
 *
 * Two sides with the same documents at the same versions have the same root whatever
 * the number of documents, so an in-sync check costs one DIGEST each way.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { kindOf } from '@tapestry/crdt-schema'
import { encode } from 'cborg'
import type { VisibleDocument } from '../core/replication.js'
import type { DocId } from '../envelope/types.js'
import { docVectorWire } from './codec.js'
import { BUCKET_HASH_BYTES, BUCKETS, ROOT_BYTES } from './messages.js'

const enc = new TextEncoder()

export function isRulesDocument(docId: DocId): boolean {
  const kind = kindOf(docId)
  return kind === 'roster' || kind === 'profile' || kind === 'link'
}

export function bucketOf(docId: DocId): number {
  const h = sha256(enc.encode(docId))[0]!
  if (kindOf(docId) === 'roster') return h % 32
  if (isRulesDocument(docId)) return 32 + (h % 96)
  return BUCKETS / 2 + (h % (BUCKETS / 2))
}

/** A side's view of the documents it lets one peer have, hashed for comparison. */
export interface Snapshot {
  count: number
  root: Uint8Array
  /** BUCKETS × BUCKET_HASH_BYTES. */
  hashes: Uint8Array
  byId: Map<DocId, VisibleDocument>
  /** Documents per bucket, in the order `visibleDocuments` gave them (rules first). */
  byBucket: Map<number, VisibleDocument[]>
  createdAt: number
}

export function snapshotOf(docs: readonly VisibleDocument[], now = Date.now()): Snapshot {
  const byId = new Map<DocId, VisibleDocument>()
  const byBucket = new Map<number, VisibleDocument[]>()
  for (const d of docs) {
    if (byId.has(d.docId)) continue
    byId.set(d.docId, d)
    const b = bucketOf(d.docId)
    const list = byBucket.get(b)
    if (list === undefined) byBucket.set(b, [d])
    else list.push(d)
  }
  const hashes = new Uint8Array(BUCKETS * BUCKET_HASH_BYTES)
  for (const [b, list] of byBucket) {
    const sorted = [...list].sort((x, y) => (x.docId < y.docId ? -1 : x.docId > y.docId ? 1 : 0))
    const h = sha256.create()
    for (const d of sorted) h.update(sha256(encode(docVectorWire(d))))
    hashes.set(h.digest().subarray(0, BUCKET_HASH_BYTES), b * BUCKET_HASH_BYTES)
  }
  const root = sha256(encode([byId.size, hashes])).slice(0, ROOT_BYTES)
  return { count: byId.size, root, hashes, byId, byBucket, createdAt: now }
}

/** Bucket indexes whose hashes differ (ascending). */
export function differingBuckets(mine: Uint8Array, theirs: Uint8Array): number[] {
  const out: number[] = []
  for (let b = 0; b < BUCKETS; b++) {
    const o = b * BUCKET_HASH_BYTES
    for (let i = 0; i < BUCKET_HASH_BYTES; i++) {
      if (mine[o + i] !== theirs[o + i]) {
        out.push(b)
        break
      }
    }
  }
  return out
}

export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}
