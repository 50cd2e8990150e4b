/**
 * Live push: which queue items a newly stored item becomes for one peer. It is sent if
 * the peer may receive it (records of withdrawn narratives too, so erasure spreads),
 * unless it came from this peer.
 */
import type { Replication, StoredItem } from '../core/replication.js'
import { encodeEnvelope, encodeRecord } from '../envelope/codec.js'
import type { Out } from './outgoing-queue.js'
import { envKey, type RecentItems, recordIdOf } from './recent-items.js'

export async function prepareOffer(
  item: StoredItem,
  replication: Replication,
  peer: string,
  recent: RecentItems,
): Promise<Out[]> {
  const item_ = (type: 'records' | 'envelopes', bytes: Uint8Array): Out => ({
    kind: 'item',
    type,
    bytes,
    size: bytes.byteLength,
  })
  switch (item.type) {
    case 'envelope': {
      const e = item.envelope
      if (recent.has(envKey(e))) return []
      if (!(await replication.mayReceive(e.docId, peer))) return []
      return [item_('envelopes', encodeEnvelope(e))]
    }
    case 'record': {
      const bytes = encodeRecord(item.record)
      const id = recordIdOf(bytes)
      if (recent.has(`r/${id}`)) return []
      const allowed = await replication.recordsFor(item.record.docId, peer)
      return allowed.some((r) => recordIdOf(encodeRecord(r)) === id)
        ? [item_('records', bytes)]
        : []
    }
    case 'erased': {
      // The records that erased it (a withdrawal, a narrowed audience) go with it.
      const out: Out[] = []
      for (const r of await replication.recordsFor(item.docId, peer)) {
        const bytes = encodeRecord(r)
        if (!recent.has(`r/${recordIdOf(bytes)}`)) out.push(item_('records', bytes))
      }
      return out
    }
  }
}
