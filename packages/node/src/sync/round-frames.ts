/**
 * The frames that answer a digest round, produced lazily while they are written:
 * VECTORS for the buckets that differ, then the RECORDS and ENVELOPES the peer lacks
 * (records before envelopes), each frame near `maxBatchBytes`.
 */
import type { Replication, VisibleDocument } from '../core/replication.js'
import { encodeEnvelope, encodeRecord } from '../envelope/codec.js'
import type { WriterKey } from '../envelope/types.js'
import { encodeBatch, encodeMessage } from './codec.js'
import type { Snapshot } from './digest.js'
import type { Vectors } from './messages.js'
import type { Frame } from './outgoing-queue.js'
import { recordIdOf } from './recent-items.js'

/** VECTORS frames for `buckets` from `snapshot`, each covering whole buckets. */
export async function* vectorFrames(
  round: number,
  reply: boolean,
  buckets: readonly number[],
  snapshot: Snapshot,
  final: boolean,
  maxBatchBytes: number,
): AsyncIterable<Frame> {
  let group: number[] = []
  let docs: VisibleDocument[] = []
  let size = 0
  const frame = (last: boolean): Frame => ({
    bytes: encodeMessage({
      type: 'vectors',
      round,
      reply,
      final: final && last,
      buckets: group,
      docs,
    }),
  })
  for (const b of buckets) {
    const inBucket = snapshot.byBucket.get(b) ?? []
    const bucketSize = inBucket.reduce(
      (n, d) => n + d.docId.length + 8 + d.vv.size * 48 + d.recordIds.length * 32,
      4,
    )
    if (group.length > 0 && size + bucketSize > maxBatchBytes) {
      yield frame(false)
      group = []
      docs = []
      size = 0
    }
    group.push(b)
    docs = docs.concat(inBucket)
    size += bucketSize
  }
  yield frame(true)
}

/** RECORDS then ENVELOPES the peer lacks, for the buckets its VECTORS frame covers. */
export async function* missingFrames(
  theirs: Vectors,
  snapshot: Snapshot,
  replication: Replication,
  peer: string,
  maxBatchBytes: number,
): AsyncIterable<Frame> {
  const peerDocs = new Map(theirs.docs.map((d) => [d.docId, d]))
  const mine = theirs.buckets.flatMap((b) => snapshot.byBucket.get(b) ?? [])
  let batch: Uint8Array[] = []
  let size = 0
  const flush = (type: 'records' | 'envelopes'): Frame => {
    const f: Frame = { bytes: encodeBatch(type, batch), [type]: batch.length }
    batch = []
    size = 0
    return f
  }
  for (const doc of mine) {
    const have = new Set(peerDocs.get(doc.docId)?.recordIds ?? [])
    if (doc.recordIds.every((id) => have.has(id))) continue
    for (const rec of await replication.recordsFor(doc.docId, peer)) {
      const bytes = encodeRecord(rec)
      if (have.has(recordIdOf(bytes))) continue
      if (size > 0 && size + bytes.byteLength > maxBatchBytes) yield flush('records')
      batch.push(bytes)
      size += bytes.byteLength
    }
  }
  if (batch.length > 0) yield flush('records')
  for (const doc of mine) {
    if (!doc.content) continue
    const vv: ReadonlyMap<WriterKey, number> = peerDocs.get(doc.docId)?.vv ?? new Map()
    if (![...doc.vv].some(([w, seq]) => seq > (vv.get(w) ?? 0))) continue
    for (const env of await replication.envelopesFor(doc.docId, vv, peer)) {
      const bytes = encodeEnvelope(env)
      if (size > 0 && size + bytes.byteLength > maxBatchBytes) yield flush('envelopes')
      batch.push(bytes)
      size += bytes.byteLength
    }
  }
  if (batch.length > 0) yield flush('envelopes')
}
