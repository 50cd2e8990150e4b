/**
 * Erasing a document's content for good: its envelopes, equivocation evidence and
 * snapshot are deleted and compacted away, so no old value stays in a log or table
 * file. The caller holds both of the store's locks exclusively.
 */
import type { DocId } from '../envelope/types.js'
import type { DocIndex } from './level-doc-index.js'
import type { EnvelopeLog } from './level-envelope-log.js'
import {
  type BatchOp,
  type Db,
  docKey,
  envPrefix,
  KEYSPACE_END,
  range,
  recPrefix,
  snapKey,
} from './level-keys.js'

export async function eraseDocument(
  db: Db,
  docId: DocId,
  index: DocIndex,
  log: EnvelopeLog,
): Promise<void> {
  // 1. Flush the memtable first, so the deletions below never share a level-0 table
  //    with the values they delete (LevelDB writes both into a flushed table and
  //    only a compaction that has both as inputs drops the value).
  await db.compactRange('', KEYSPACE_END)
  const ops: BatchOp[] = []
  for (const prefix of [envPrefix(docId), `q!${docId}!`]) {
    for await (const key of db.keys(range(prefix))) ops.push({ type: 'del', key })
  }
  ops.push({ type: 'del', key: snapKey(docId) })
  let hasRecords = false
  for await (const _ of db.keys({ ...range(recPrefix(docId)), limit: 1 })) hasRecords = true
  if (!hasRecords) ops.push({ type: 'del', key: docKey(docId) })
  await db.batch(ops, { sync: true })
  log.forget(docId)
  if (!hasRecords) index.delete(docId)
  // 2. Flush the deletions and compact every level down onto the deepest one holding
  //    the document's keys: the values meet their deletions and are dropped, and
  //    LevelDB deletes the old log and table files. No iterator or snapshot is open
  //    (we hold the read lock exclusively), so nothing pins the old values.
  await db.compactRange('', KEYSPACE_END)
}
