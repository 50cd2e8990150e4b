/**
 * The envelope log on LevelDB: appends (with the equivocation check), reads since a
 * version vector, and version vectors, with the in-memory bounds and caches that keep
 * the local write path free of reads. The caller holds the store's locks.
 */
import type { DocId, Envelope, VersionVector, WriterKey } from '../envelope/types.js'
import {
  bytesEqual,
  checkDocId,
  checkSeq,
  decodeEnvelope,
  encodeEnvelope,
  sealValue,
} from './encoding.js'
import { writerKeyOf } from './envelope-store.js'
import { EquivocationError } from './errors.js'
import type { DocIndex } from './level-doc-index.js'
import { decodeValue } from './level-failures.js'
import { type BatchOp, type Db, envKey, envPrefix, parseEnvKey, range } from './level-keys.js'

/** An envelope ready to append: its writer, key and sealed value. */
export interface AppendItem {
  env: Envelope
  wk: WriterKey
  key: string
  value: Uint8Array
}

/** Checks and encodes envelopes to append (before any lock is taken). */
export function appendItems(envs: readonly Envelope[]): AppendItem[] {
  return envs.map((env) => {
    checkDocId(env.docId)
    checkSeq(env.seq)
    const wk = writerKeyOf(env)
    return { env, wk, key: envKey(env.docId, wk, env.seq), value: sealValue(encodeEnvelope(env)) }
  })
}

export class EnvelopeLog {
  /**
   * Version vectors already computed, kept up to date by appends that extend them
   * contiguously; dropped when a document has gaps (a later append may fill one).
   */
  readonly #vvCache = new Map<DocId, Map<WriterKey, number>>()
  /**
   * Per `${docId}!${writerKey}`: a bound at or above the highest sequence stored for that
   * writer (past gaps too), read once from disk (the writer's last key) and raised by every
   * append. No envelope is stored above it, so the equivocation check reads nothing for an
   * envelope above it: a writer appending its own fresh sequences (the local write path)
   * costs no read. Only this process writes the store (LevelDB's lock) and appends are
   * serialised, so the bound never falls below what is on disk; it is dropped when a write
   * fails (its outcome is unknown) and when content is erased.
   */
  readonly #highest = new Map<string, number>()
  /** Bumped by every change to a document's envelopes: a vector computed meanwhile is stale. */
  readonly #generation = new Map<DocId, number>()

  constructor(private readonly dir: string) {}

  /** Forgets the caches (the store closed). */
  clear(): void {
    this.#vvCache.clear()
    this.#highest.clear()
  }

  /** A document's envelopes were erased: its caches and bounds are stale. */
  forget(docId: DocId): void {
    this.#vvCache.delete(docId)
    for (const id of this.#highest.keys()) if (id.startsWith(`${docId}!`)) this.#highest.delete(id)
    this.#generation.set(docId, (this.#generation.get(docId) ?? 0) + 1)
  }

  /** Appends `items` (under the write lock); an envelope stored with other bytes throws. */
  async append(db: Db, items: AppendItem[], index: DocIndex): Promise<void> {
    // Only envelopes at or below their writer's stored highest can collide: read those.
    const bounds = new Map<string, number>()
    for (const item of items) {
      const id = `${item.env.docId}!${item.wk}`
      if (!bounds.has(id)) bounds.set(id, await this.#highestStored(db, item.env.docId, item.wk))
    }
    const toRead: number[] = []
    items.forEach((item, i) => {
      if (item.env.seq <= bounds.get(`${item.env.docId}!${item.wk}`)!) toRead.push(i)
    })
    const stored: (Uint8Array | undefined)[] = new Array(items.length)
    if (toRead.length > 0) {
      const read = await db.getMany(toRead.map((i) => items[i]!.key))
      toRead.forEach((i, j) => {
        stored[i] = read[j]
      })
    }
    const pending = new Map<string, AppendItem>()
    const ops: BatchOp[] = []
    const docs = new Set<DocId>()
    items.forEach((item, i) => {
      const prior = pending.get(item.key)
      const existing = prior?.value ?? stored[i]
      if (existing !== undefined) {
        if (!bytesEqual(existing, item.value)) {
          const first = prior?.env ?? decodeValue(this.dir, item.key, existing, decodeEnvelope)
          throw new EquivocationError(item.env.docId, item.wk, item.env.seq, first, item.env)
        }
        return
      }
      pending.set(item.key, item)
      ops.push({ type: 'put', key: item.key, value: item.value })
      docs.add(item.env.docId)
    })
    if (ops.length === 0) return
    const indexOps = index.ops(docs)
    try {
      await db.batch([...indexOps, ...ops], { sync: true })
    } catch (err) {
      for (const id of bounds.keys()) this.#highest.delete(id)
      throw err
    }
    for (const { env, wk } of pending.values()) {
      const id = `${env.docId}!${wk}`
      if (env.seq > this.#highest.get(id)!) this.#highest.set(id, env.seq)
    }
    for (const id of docs) index.add(id)
    this.#extendVersionVectors([...pending.values()])
  }

  /** The bound of `#highest` for this writer, reading the writer's last key the first time. */
  async #highestStored(db: Db, docId: DocId, wk: WriterKey): Promise<number> {
    const id = `${docId}!${wk}`
    let bound = this.#highest.get(id)
    if (bound === undefined) {
      const prefix = `${envPrefix(docId)}${wk}!`
      const [last] = await db.keys({ ...range(prefix), reverse: true, limit: 1 }).all()
      const seq = last === undefined ? 0 : Number.parseInt(last.slice(prefix.length), 16)
      // A key that does not parse bounds nothing: every envelope of this writer is read.
      bound = Number.isSafeInteger(seq) ? seq : Number.POSITIVE_INFINITY
      this.#highest.set(id, bound)
    }
    return bound
  }

  #extendVersionVectors(added: { env: Envelope; wk: WriterKey }[]): void {
    added.sort((x, y) =>
      x.env.docId !== y.env.docId
        ? x.env.docId < y.env.docId
          ? -1
          : 1
        : x.wk !== y.wk
          ? x.wk < y.wk
            ? -1
            : 1
          : x.env.seq - y.env.seq,
    )
    for (const { env, wk } of added) {
      this.#generation.set(env.docId, (this.#generation.get(env.docId) ?? 0) + 1)
      const vv = this.#vvCache.get(env.docId)
      if (vv === undefined) continue
      if (env.seq === (vv.get(wk) ?? 0) + 1) vv.set(wk, env.seq)
      else this.#vvCache.delete(env.docId)
    }
  }

  async get(db: Db, key: string): Promise<Envelope | undefined> {
    const raw = await db.get(key)
    return raw === undefined ? undefined : decodeValue(this.dir, key, raw, decodeEnvelope)
  }

  async since(db: Db, docId: DocId, vv: VersionVector): Promise<Envelope[]> {
    const prefix = envPrefix(docId)
    const out: Envelope[] = []
    const it = db.iterator(range(prefix))
    try {
      for (;;) {
        const entry = await it.next()
        if (entry === undefined) break
        const [key, value] = entry
        const { wk, seq } = parseEnvKey(this.dir, key, prefix)
        const from = vv.get(wk) ?? 0
        if (seq <= from) {
          it.seek(envKey(docId, wk, from + 1))
          continue
        }
        out.push(decodeValue(this.dir, key, value, decodeEnvelope))
      }
    } finally {
      await it.close()
    }
    return out
  }

  async versionVector(db: Db, docId: DocId): Promise<VersionVector> {
    const prefix = envPrefix(docId)
    const cached = this.#vvCache.get(docId)
    if (cached !== undefined) return new Map(cached)
    const generation = this.#generation.get(docId) ?? 0
    let gaps = false
    const vv = new Map<WriterKey, number>()
    const it = db.keys(range(prefix))
    let writer: WriterKey | undefined
    let contiguous = 0
    try {
      for (;;) {
        const key = await it.next()
        if (key === undefined) break
        const { wk, seq } = parseEnvKey(this.dir, key, prefix)
        if (wk !== writer) {
          writer = wk
          contiguous = 0
        }
        if (seq === contiguous + 1) {
          contiguous = seq
          vv.set(wk, seq)
        } else {
          // A gap: skip the rest of this writer.
          gaps = true
          it.seek(`${prefix}${wk}"`)
        }
      }
    } finally {
      await it.close()
    }
    if (!gaps && (this.#generation.get(docId) ?? 0) === generation) {
      this.#vvCache.set(docId, new Map(vv))
    }
    return vv
  }
}
