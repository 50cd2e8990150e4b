/**
 * The document index (`d!<docId>` keys), mirrored in memory: which documents the store
 * holds anything of, and the batch operations that add new ones.
 */
import type { DocId } from '../envelope/types.js'
import { type BatchOp, docKey, EMPTY } from './level-keys.js'

export class DocIndex {
  readonly #docs: Set<DocId>

  constructor(docs: Set<DocId> = new Set()) {
    this.#docs = docs
  }

  get size(): number {
    return this.#docs.size
  }

  has(id: DocId): boolean {
    return this.#docs.has(id)
  }

  add(id: DocId): void {
    this.#docs.add(id)
  }

  delete(id: DocId): void {
    this.#docs.delete(id)
  }

  ids(): DocId[] {
    return [...this.#docs]
  }

  /** Puts of the index keys of those of `docIds` not indexed yet. */
  ops(docIds: Iterable<DocId>): BatchOp[] {
    const ops: BatchOp[] = []
    for (const id of docIds)
      if (!this.#docs.has(id)) ops.push({ type: 'put', key: docKey(id), value: EMPTY })
    return ops
  }
}
