/**
 * `EnvelopeStore` on LevelDB (classic-level). One directory, owned by one process at a
 * time through LevelDB's own `LOCK` (an fcntl lock the kernel drops when the owner dies,
 * so a SIGKILLed node never leaves a stale lock behind); `probeLock` asks whether a
 * node holds it. Every write is a `{ sync: true }` batch: durable when it resolves.
 *
 * This file holds the store's locks and its records, snapshots and equivocation
 * evidence; the key layout is in level-keys.ts, opening and `probeLock` in
 * level-open.ts, the envelope log in level-envelope-log.ts, erasure in level-erase.ts,
 * the document index in level-doc-index.ts and the mapping of failures in
 * level-failures.ts.
 */
import { createHash } from 'node:crypto'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { DocId, Envelope, SignedRecord, VersionVector, WriterKey } from '../envelope/types.js'
import {
  bytesEqual,
  checkDocId,
  checkSeq,
  checkWriterKey,
  decodeEquivocation,
  decodeRecord,
  decodeSnapshot,
  encodeEnvelope,
  encodeEquivocation,
  encodeRecord,
  encodeSnapshot,
  sealValue,
} from './encoding.js'
import {
  type DocSnapshot,
  type DocumentEntry,
  docKind,
  type EnvelopeStore,
  type EquivocationEvidence,
  type StoredRecord,
  type StoreStats,
} from './envelope-store.js'
import {
  InvalidStoreKeyError,
  RecordConflictError,
  StoreClosedError,
  type StoreError,
} from './errors.js'
import { DocIndex } from './level-doc-index.js'
import { appendItems, EnvelopeLog } from './level-envelope-log.js'
import { eraseDocument } from './level-erase.js'
import { decodeValue, storeError } from './level-failures.js'
import { type Db, envKey, RECORD_ID, range, recPrefix, seqHex, snapKey } from './level-keys.js'
import { type LevelStoreOptions, openLevel } from './level-open.js'
import { RwLock } from './rw-lock.js'

export { type LevelStoreOptions, probeLock } from './level-open.js'

export class LevelEnvelopeStore implements EnvelopeStore {
  #db: Db | undefined
  #docs = new DocIndex()
  readonly #log: EnvelopeLog
  /** Serialises writes (appends check then write). Erasure holds it too. */
  readonly #writes = new RwLock()
  /** Reads share it; erasure and close take it exclusively (no iterator may be open). */
  readonly #reads = new RwLock()

  constructor(
    readonly dir: string,
    readonly options: LevelStoreOptions = {},
  ) {
    this.#log = new EnvelopeLog(dir)
  }

  async open(): Promise<void> {
    if (this.#db !== undefined) return
    const { db, docs } = await openLevel(this.dir, this.options, () => this.#db === undefined)
    this.#docs = new DocIndex(docs)
    this.#db = db
  }

  async close(): Promise<void> {
    const db = this.#db
    if (db === undefined) return
    await this.#writes.exclusive(() =>
      this.#reads.exclusive(async () => {
        this.#db = undefined
        this.#log.clear()
        await db.close()
      }),
    )
  }

  /** Maps a classic-level failure to a store error. */
  #error(err: unknown): StoreError {
    return storeError(this.dir, err, this.#db === undefined)
  }

  async #read<T>(op: string, fn: (db: Db) => Promise<T>): Promise<T> {
    return this.#reads.shared(async () => {
      const db = this.#db
      if (db === undefined) throw new StoreClosedError(op)
      try {
        return await fn(db)
      } catch (err) {
        throw this.#error(err)
      }
    })
  }

  async #write<T>(op: string, fn: (db: Db) => Promise<T>): Promise<T> {
    return this.#writes.exclusive(async () => {
      const db = this.#db
      if (db === undefined) throw new StoreClosedError(op)
      try {
        return await fn(db)
      } catch (err) {
        throw this.#error(err)
      }
    })
  }

  // ---- envelopes (level-envelope-log.ts) --------------------------------------------

  async appendEnvelopes(envs: readonly Envelope[]): Promise<void> {
    if (envs.length === 0) return this.#write('appendEnvelopes', async () => {})
    const items = appendItems(envs)
    await this.#write('appendEnvelopes', (db) => this.#log.append(db, items, this.#docs))
  }

  async getEnvelope(
    docId: DocId,
    writerKey: WriterKey,
    seq: number,
  ): Promise<Envelope | undefined> {
    checkDocId(docId)
    checkWriterKey(writerKey)
    checkSeq(seq)
    const key = envKey(docId, writerKey, seq)
    return this.#read('getEnvelope', (db) => this.#log.get(db, key))
  }

  async envelopesSince(docId: DocId, vv: VersionVector): Promise<Envelope[]> {
    checkDocId(docId)
    return this.#read('envelopesSince', (db) => this.#log.since(db, docId, vv))
  }

  async versionVector(docId: DocId): Promise<VersionVector> {
    checkDocId(docId)
    return this.#read('versionVector', (db) => this.#log.versionVector(db, docId))
  }

  // ---- records, snapshots, equivocation evidence ------------------------------------

  async putRecord(rec: SignedRecord, id: string): Promise<void> {
    checkDocId(rec.docId)
    if (!RECORD_ID.test(id)) throw new InvalidStoreKeyError(`record id ${JSON.stringify(id)}`)
    const key = `${recPrefix(rec.docId)}${id}`
    const value = sealValue(encodeRecord(rec))
    await this.#write('putRecord', async (db) => {
      const existing = await db.get(key)
      if (existing !== undefined) {
        if (!bytesEqual(existing, value)) throw new RecordConflictError(rec.docId, id)
        return
      }
      await db.batch([...this.#docs.ops([rec.docId]), { type: 'put', key, value }], { sync: true })
      this.#docs.add(rec.docId)
    })
  }

  async records(docId: DocId): Promise<StoredRecord[]> {
    checkDocId(docId)
    const prefix = recPrefix(docId)
    return this.#read('records', async (db) => {
      const out: StoredRecord[] = []
      for await (const [key, value] of db.iterator(range(prefix))) {
        out.push({
          id: key.slice(prefix.length),
          record: decodeValue(this.dir, key, value, decodeRecord),
        })
      }
      return out.sort(
        (a, b) =>
          a.record.createdAt - b.record.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
      )
    })
  }

  async putSnapshot(docId: DocId, snapshot: DocSnapshot): Promise<void> {
    checkDocId(docId)
    const value = sealValue(encodeSnapshot(snapshot))
    await this.#write('putSnapshot', async (db) => {
      const ops = [...this.#docs.ops([docId]), { type: 'put' as const, key: snapKey(docId), value }]
      await db.batch(ops, { sync: true })
      this.#docs.add(docId)
    })
  }

  async getSnapshot(docId: DocId): Promise<DocSnapshot | undefined> {
    checkDocId(docId)
    const key = snapKey(docId)
    return this.#read('getSnapshot', async (db) => {
      const raw = await db.get(key)
      return raw === undefined ? undefined : decodeValue(this.dir, key, raw, decodeSnapshot)
    })
  }

  async putEquivocation(ev: EquivocationEvidence): Promise<void> {
    checkDocId(ev.docId)
    checkWriterKey(ev.writerKey)
    checkSeq(ev.seq)
    const hash = createHash('sha256').update(encodeEnvelope(ev.second)).digest('hex').slice(0, 32)
    const key = `q!${ev.docId}!${ev.writerKey}!${seqHex(ev.seq)}!${hash}`
    const value = sealValue(encodeEquivocation(ev))
    await this.#write('putEquivocation', async (db) => {
      await db.batch([{ type: 'put', key, value }], { sync: true })
    })
  }

  async equivocations(): Promise<EquivocationEvidence[]> {
    return this.#read('equivocations', async (db) => {
      const out: EquivocationEvidence[] = []
      for await (const [key, value] of db.iterator(range('q!'))) {
        out.push(decodeValue(this.dir, key, value, decodeEquivocation))
      }
      return out
    })
  }

  // ---- the document index, erasure, stats -------------------------------------------

  async listDocuments(): Promise<DocumentEntry[]> {
    return this.#read('listDocuments', async () =>
      this.#docs
        .ids()
        .sort()
        .map((id) => ({ id, kind: docKind(id) })),
    )
  }

  async eraseContent(docId: DocId): Promise<void> {
    checkDocId(docId)
    await this.#writes.exclusive(() =>
      this.#reads.exclusive(async () => {
        const db = this.#db
        if (db === undefined) throw new StoreClosedError('eraseContent')
        try {
          await eraseDocument(db, docId, this.#docs, this.#log)
        } catch (err) {
          throw this.#error(err)
        }
      }),
    )
  }

  async stats(): Promise<StoreStats> {
    return this.#read('stats', async (db) => {
      let envelopes = 0
      for await (const _ of db.keys(range('e!'))) envelopes++
      let bytes = 0
      for (const name of await readdir(this.dir)) {
        const s = await stat(join(this.dir, name)).catch(() => undefined)
        if (s?.isFile()) bytes += s.size
      }
      return { bytes, documents: this.#docs.size, envelopes }
    })
  }
}
