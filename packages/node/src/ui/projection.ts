import * as Y from 'yjs'
import type { DocumentEvent, NodeApi } from '../core/node-api.js'
import type { UiEvent, WeaveItem } from './wire.js'

/** What the projection reads from the node: the NodeApi's read side. */
export type ProjectionSource = Pick<NodeApi, 'narratives' | 'show'>

const EXCERPT_CHARS = 240
const SHOW_CONCURRENCY = 4

/**
 * The compact, current picture of the tapestry that `tapestry ui` serves: one `WeaveItem`
 * per published narrative this member may see, with its echoes' authors and times.
 *
 * `rebuild()` reads everything (`narratives()`, then `show()` per narrative for its
 * echoes); `apply(event)` keeps it current from the node's live DocumentEvents by
 * re-reading only the narrative an event touches, and returns what changed for the
 * renderer. An echo names its narrative inside its own document, so a new echo's first
 * update says which narrative gained a knot.
 */
export class Projection {
  readonly #items = new Map<string, WeaveItem>()
  /** echo id -> narrative id, for echoes seen in `show()` or decoded from an update. */
  readonly #echoOwner = new Map<string, string>()

  constructor(private readonly source: ProjectionSource) {}

  items(): WeaveItem[] {
    return [...this.#items.values()]
  }

  async rebuild(): Promise<void> {
    const views = (await this.source.narratives({})).filter((n) => n.status === 'published')
    const next = new Map<string, WeaveItem>()
    let i = 0
    const worker = async () => {
      while (i < views.length) {
        const view = views[i++]!
        const item = await this.#read(view.id)
        if (item) next.set(item.id, item)
      }
    }
    await Promise.all(Array.from({ length: SHOW_CONCURRENCY }, worker))
    this.#items.clear()
    for (const view of views) {
      const item = next.get(view.id)
      if (item) this.#items.set(item.id, item)
    }
  }

  /** Which narrative an event concerns, or undefined when it is not about narratives. */
  narrativeOf(event: DocumentEvent): string | undefined {
    if (event.kind === 'narrative') return event.docId
    if (event.kind !== 'echo') return undefined
    const known = this.#echoOwner.get(event.docId)
    if (known || !event.update) return known
    try {
      const doc = new Y.Doc()
      Y.applyUpdate(doc, event.update)
      const owner = doc.getMap('echo').get('narrativeId')
      doc.destroy()
      if (typeof owner === 'string') {
        this.#echoOwner.set(event.docId, owner)
        return owner
      }
    } catch {
      // not a creation update: the periodic rebuild finds its narrative
    }
    return undefined
  }

  /** Re-reads one narrative; returns the renderer event for the change, if any. */
  async refresh(narrativeId: string): Promise<UiEvent | undefined> {
    const item = await this.#read(narrativeId)
    if (!item) {
      if (!this.#items.delete(narrativeId)) return undefined
      return { type: 'remove', id: narrativeId }
    }
    const before = this.#items.get(narrativeId)
    this.#items.set(narrativeId, item)
    if (before && JSON.stringify(before) === JSON.stringify(item)) return undefined
    return { type: 'upsert', item }
  }

  async #read(id: string): Promise<WeaveItem | undefined> {
    let shown: Awaited<ReturnType<ProjectionSource['show']>>
    try {
      shown = await this.source.show(id)
    } catch (err) {
      if ((err as { code?: unknown }).code === 'NOT_FOUND') return undefined
      throw err
    }
    if (shown.status !== 'published') return undefined
    for (const e of shown.echoes) this.#echoOwner.set(e.id, id)
    return {
      id,
      tribeId: shown.tribeId,
      title: shown.title,
      authors: shown.authors,
      audience: shown.audience,
      tags: shown.tags,
      mood: shown.mood,
      createdAt: shown.createdAt,
      excerpt: shown.body.slice(0, EXCERPT_CHARS),
      echoes: shown.echoes.map((e) => ({ id: e.id, author: e.author, at: e.createdAt })),
    }
  }
}
