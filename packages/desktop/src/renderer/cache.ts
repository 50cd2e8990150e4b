import { IndexeddbPersistence, storeState } from 'y-indexeddb'
import * as Y from 'yjs'
import type { ShownNarrative, UiSnapshot, WeaveItem } from '../shared/wire.js'

/** What the page showed last, enough to draw it again before (or without) the node. */
export interface CachedMeta {
  memberId: string
  name: string
  tribes: UiSnapshot['tribes']
  names: Record<string, string>
  savedAt: number
}

/** A change made on this page while the node could not take it, sent when it can. */
export interface OutboxEntry {
  id: string
  method: 'narrate' | 'echo'
  args: unknown[]
  label: string
  at: number
}

/**
 * The page's cache in IndexedDB through y-indexeddb: one Yjs document per origin (one
 * origin per member: `tapestry ui` keeps its port) holding the projection's items, the
 * bodies the reader opened, and the outbox. Removing a narrative (withdrawn or no longer
 * visible) deletes it here and then rewrites the stored state from scratch, so its text
 * does not linger in older stored updates.
 */
export class PageCache {
  readonly doc = new Y.Doc()
  readonly #items = this.doc.getMap<WeaveItem>('items')
  readonly #bodies = this.doc.getMap<ShownNarrative>('bodies')
  readonly #meta = this.doc.getMap<CachedMeta>('meta')
  readonly #outbox = this.doc.getMap<OutboxEntry>('outbox')
  readonly #persistence: IndexeddbPersistence

  constructor(name = 'tapestry-page-cache') {
    this.#persistence = new IndexeddbPersistence(name, this.doc)
  }

  /** Resolves once the stored state is loaded (immediately usable offline). */
  async ready(): Promise<void> {
    await this.#persistence.whenSynced
  }

  meta(): CachedMeta | undefined {
    return this.#meta.get('current')
  }
  items(): WeaveItem[] {
    return [...this.#items.values()]
  }
  body(id: string): ShownNarrative | undefined {
    return this.#bodies.get(id)
  }
  outbox(): OutboxEntry[] {
    return [...this.#outbox.values()].sort((a, b) => a.at - b.at)
  }

  /** Makes the cache match a snapshot: new and changed items in, missing ones purged. */
  async saveSnapshot(s: UiSnapshot): Promise<void> {
    const keep = new Set(s.items.map((i) => i.id))
    const gone = [...this.#items.keys()].filter((id) => !keep.has(id))
    this.doc.transact(() => {
      if (this.meta()?.memberId !== undefined && this.meta()?.memberId !== s.memberId) {
        this.#items.clear()
        this.#bodies.clear()
      }
      this.#meta.set('current', {
        memberId: s.memberId,
        name: s.name,
        tribes: s.tribes,
        names: s.names,
        savedAt: s.at,
      })
      for (const item of s.items) {
        const old = this.#items.get(item.id)
        if (!old || JSON.stringify(old) !== JSON.stringify(item)) this.#items.set(item.id, item)
      }
      for (const id of gone) this.#forget(id)
    })
    if (gone.length > 0) await this.compact()
  }

  upsert(item: WeaveItem): void {
    this.#items.set(item.id, item)
  }

  async remove(id: string): Promise<void> {
    this.doc.transact(() => this.#forget(id))
    await this.compact()
  }

  saveBody(n: ShownNarrative): void {
    if (this.#items.has(n.id)) this.#bodies.set(n.id, n)
  }

  queue(entry: OutboxEntry): void {
    this.#outbox.set(entry.id, entry)
  }
  dequeue(id: string): void {
    this.#outbox.delete(id)
  }

  /** Rewrites the stored state as one update: deleted content is gone from IndexedDB. */
  async compact(): Promise<void> {
    await storeState(this.#persistence, true)
  }

  async close(): Promise<void> {
    await this.#persistence.destroy()
    this.doc.destroy()
  }

  #forget(id: string): void {
    this.#items.delete(id)
    this.#bodies.delete(id)
  }
}
