/**
 * `EnvelopeStore` on LevelDB (classic-level). One directory, owned by one process at a
 * time through LevelDB's own `LOCK` (an fcntl lock the kernel drops when the owner dies,
 * so a SIGKILLed node never leaves a stale lock behind); `probeLock` asks whether a
 * node holds it. Every write is a `{ sync: true }` batch: durable when it resolves.
 *
 * Key layout (utf8 keys, `!` separated; `!` sorts below every character allowed in a
 * document id, so `prefix!` .. `prefix"` is exactly one document's range):
 *
 *   meta                                 { format, createdAt }
 *   d!<docId>                            empty: the document index (listDocuments)
 *   e!<docId>!<writerKey>!<seq:14 hex>   envelope
 *   r!<docId>!<recordId>                 signed record
 *   s!<docId>                            snapshot
 *   q!<docId>!<writerKey>!<seq:14 hex>!<sha256(second)[0..32]>  equivocation evidence
 *
 * Values are the private CBOR encoding of `./encoding.ts`, sealed with a CRC-32.
 */

import { createHash } from 'node:crypto'
import { access, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import type { DocId, Envelope, SignedRecord, VersionVector, WriterKey } from '../envelope/types.js'
import {
  bytesEqual,
  checkDocId,
  checkSeq,
  checkWriterKey,
  DecodeFailure,
  decodeEnvelope,
  decodeEquivocation,
  decodeMeta,
  decodeRecord,
  decodeSnapshot,
  encodeEnvelope,
  encodeEquivocation,
  encodeMeta,
  encodeRecord,
  encodeSnapshot,
  sealValue,
  unsealValue,
} from './encoding.js'
import {
  type DocSnapshot,
  type DocumentEntry,
  docKind,
  type EnvelopeStore,
  type EquivocationEvidence,
  STORE_FORMAT,
  type StoredRecord,
  type StoreStats,
  writerKeyOf,
} from './envelope-store.js'
import {
  EquivocationError,
  InvalidStoreKeyError,
  RecordConflictError,
  StoreClosedError,
  StoreCorruptError,
  StoreError,
  StoreIoError,
  StoreLockedError,
  StoreVersionError,
} from './errors.js'
import { checkLevelLogs } from './log-check.js'
import { RwLock } from './rw-lock.js'

type Db = ClassicLevel<string, Uint8Array>
type BatchOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }

export interface LevelStoreOptions {
  /** LevelDB block compression (Snappy). Default true. */
  readonly compression?: boolean
  /** LevelDB block cache in bytes. */
  readonly cacheSize?: number
  /** LevelDB memtable size in bytes. */
  readonly writeBufferSize?: number
}

const SEQ_HEX = 14
const EMPTY = new Uint8Array(0)
const META = 'meta'
/** Above every key the store writes (all keys are ASCII). */
const KEYSPACE_END = '\xff'
const LEVELDB_FILE = /^(MANIFEST-\d+|\d+\.(log|ldb|sst))$/

const seqHex = (seq: number): string => seq.toString(16).padStart(SEQ_HEX, '0')
/** The range of keys starting with `prefix` (which ends with `!`). */
const range = (prefix: string) => ({ gte: prefix, lt: `${prefix.slice(0, -1)}"` })
const docKey = (docId: DocId) => `d!${docId}`
const envPrefix = (docId: DocId) => `e!${docId}!`
const envKey = (docId: DocId, wk: WriterKey, seq: number) => `e!${docId}!${wk}!${seqHex(seq)}`
const recPrefix = (docId: DocId) => `r!${docId}!`
const snapKey = (docId: DocId) => `s!${docId}`
const RECORD_ID = /^[\x22-\x7e]{1,256}$/

function levelCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } }).cause
  const code = cause?.code ?? (err as { code?: unknown }).code
  return typeof code === 'string' ? code : undefined
}

function messageOf(err: unknown): string {
  const cause = (err as { cause?: unknown }).cause
  return cause instanceof Error ? cause.message : err instanceof Error ? err.message : String(err)
}

export class LevelEnvelopeStore implements EnvelopeStore {
  #db: Db | undefined
  #docs = new Set<DocId>()
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
  /** Serialises writes (appends check then write). Erasure holds it too. */
  readonly #writes = new RwLock()
  /** Reads share it; erasure and close take it exclusively (no iterator may be open). */
  readonly #reads = new RwLock()

  constructor(
    readonly dir: string,
    readonly options: LevelStoreOptions = {},
  ) {}

  async open(): Promise<void> {
    if (this.#db !== undefined) return
    let entries: string[]
    try {
      entries = await readdir(this.dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new StoreIoError(this.dir, messageOf(err), { cause: err })
      }
      entries = []
    }
    const exists = entries.includes('CURRENT')
    if (!exists && entries.some((n) => LEVELDB_FILE.test(n))) {
      // LevelDB would create a fresh database here and delete the orphaned files.
      throw new StoreCorruptError(
        this.dir,
        'the CURRENT file is missing but data files are present',
      )
    }
    // LevelDB would replay a damaged log by dropping records (acknowledged writes).
    const logDamage = exists ? await checkLevelLogs(this.dir) : undefined
    if (logDamage !== undefined) throw new StoreCorruptError(this.dir, logDamage)
    const db: Db = new ClassicLevel<string, Uint8Array>(this.dir, {
      keyEncoding: 'utf8',
      valueEncoding: 'view',
      createIfMissing: !exists,
      errorIfExists: false,
      ...this.options,
    })
    try {
      await db.open()
    } catch (err) {
      throw this.#openError(err, exists)
    }
    try {
      await this.#checkMeta(db)
      const docs = new Set<DocId>()
      for await (const key of db.keys(range('d!'))) docs.add(key.slice(2))
      this.#docs = docs
    } catch (err) {
      await db.close().catch(() => {})
      throw err instanceof StoreError ? err : this.#error(err)
    }
    this.#db = db
  }

  async close(): Promise<void> {
    const db = this.#db
    if (db === undefined) return
    await this.#writes.exclusive(() =>
      this.#reads.exclusive(async () => {
        this.#db = undefined
        this.#vvCache.clear()
        this.#highest.clear()
        await db.close()
      }),
    )
  }

  #openError(err: unknown, exists: boolean): StoreError {
    const code = levelCode(err)
    const msg = messageOf(err)
    if (code === 'LEVEL_LOCKED') return new StoreLockedError(this.dir, { cause: err })
    if (code === 'LEVEL_CORRUPTION')
      return new StoreCorruptError(this.dir, msg, undefined, { cause: err })
    if (exists && this.#isDamagedFile(code, msg)) {
      return new StoreCorruptError(this.dir, msg, undefined, { cause: err })
    }
    return new StoreIoError(this.dir, msg, { cause: err })
  }

  async #checkMeta(db: Db): Promise<void> {
    const raw = await db.get(META)
    if (raw === undefined) {
      for await (const _ of db.keys({ limit: 1 })) {
        throw new StoreCorruptError(this.dir, 'the meta record is missing')
      }
      await db.put(META, sealValue(encodeMeta({ format: STORE_FORMAT, createdAt: Date.now() })), {
        sync: true,
      })
      return
    }
    const meta = this.#decode(META, raw, decodeMeta)
    if (meta.format > STORE_FORMAT) throw new StoreVersionError(this.dir, meta.format, STORE_FORMAT)
  }

  /** Maps a classic-level failure to a store error. */
  #error(err: unknown): StoreError {
    if (err instanceof StoreError) return err
    const code = levelCode(err)
    if (code === 'LEVEL_CORRUPTION' || this.#isDamagedFile(code, messageOf(err))) {
      return new StoreCorruptError(this.dir, messageOf(err), undefined, { cause: err })
    }
    if (code === 'LEVEL_DATABASE_NOT_OPEN' && this.#db === undefined) {
      return new StoreClosedError('the store was closed')
    }
    return new StoreIoError(this.dir, messageOf(err), { cause: err })
  }

  /**
   * LevelDB reports a missing file named by CURRENT or the MANIFEST (ENOENT) and a
   * truncated table (a read past its end: EINVAL) as I/O errors; they are damage.
   */
  #isDamagedFile(code: string | undefined, msg: string): boolean {
    return (
      code === 'LEVEL_IO_ERROR' &&
      /No such file|not found|Invalid argument/i.test(msg) &&
      /(CURRENT|MANIFEST-\d+|\d+\.(ldb|sst|log))\b/.test(msg)
    )
  }

  #decode<T>(key: string, bytes: Uint8Array, decode: (b: Uint8Array) => T): T {
    try {
      return decode(unsealValue(bytes))
    } catch (err) {
      if (err instanceof DecodeFailure) {
        throw new StoreCorruptError(this.dir, `a value cannot be read: ${err.message}`, key)
      }
      throw err
    }
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

  #indexOps(docIds: Iterable<DocId>): BatchOp[] {
    const ops: BatchOp[] = []
    for (const id of docIds)
      if (!this.#docs.has(id)) ops.push({ type: 'put', key: docKey(id), value: EMPTY })
    return ops
  }

  async appendEnvelopes(envs: readonly Envelope[]): Promise<void> {
    if (envs.length === 0) return this.#write('appendEnvelopes', async () => {})
    const items = envs.map((env) => {
      checkDocId(env.docId)
      checkSeq(env.seq)
      const wk = writerKeyOf(env)
      return { env, wk, key: envKey(env.docId, wk, env.seq), value: sealValue(encodeEnvelope(env)) }
    })
    await this.#write('appendEnvelopes', async (db) => {
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
      const pending = new Map<string, (typeof items)[number]>()
      const ops: BatchOp[] = []
      const docs = new Set<DocId>()
      items.forEach((item, i) => {
        const prior = pending.get(item.key)
        const existing = prior?.value ?? stored[i]
        if (existing !== undefined) {
          if (!bytesEqual(existing, item.value)) {
            const first = prior?.env ?? this.#decode(item.key, existing, decodeEnvelope)
            throw new EquivocationError(item.env.docId, item.wk, item.env.seq, first, item.env)
          }
          return
        }
        pending.set(item.key, item)
        ops.push({ type: 'put', key: item.key, value: item.value })
        docs.add(item.env.docId)
      })
      if (ops.length === 0) return
      const index = this.#indexOps(docs)
      try {
        await db.batch([...index, ...ops], { sync: true })
      } catch (err) {
        for (const id of bounds.keys()) this.#highest.delete(id)
        throw err
      }
      for (const { env, wk } of pending.values()) {
        const id = `${env.docId}!${wk}`
        if (env.seq > this.#highest.get(id)!) this.#highest.set(id, env.seq)
      }
      for (const id of docs) this.#docs.add(id)
      this.#extendVersionVectors([...pending.values()])
    })
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

  async getEnvelope(
    docId: DocId,
    writerKey: WriterKey,
    seq: number,
  ): Promise<Envelope | undefined> {
    checkDocId(docId)
    checkWriterKey(writerKey)
    checkSeq(seq)
    const key = envKey(docId, writerKey, seq)
    return this.#read('getEnvelope', async (db) => {
      const raw = await db.get(key)
      return raw === undefined ? undefined : this.#decode(key, raw, decodeEnvelope)
    })
  }

  async envelopesSince(docId: DocId, vv: VersionVector): Promise<Envelope[]> {
    checkDocId(docId)
    const prefix = envPrefix(docId)
    return this.#read('envelopesSince', async (db) => {
      const out: Envelope[] = []
      const it = db.iterator(range(prefix))
      try {
        for (;;) {
          const entry = await it.next()
          if (entry === undefined) break
          const [key, value] = entry
          const { wk, seq } = this.#parseEnvKey(key, prefix)
          const from = vv.get(wk) ?? 0
          if (seq <= from) {
            it.seek(envKey(docId, wk, from + 1))
            continue
          }
          out.push(this.#decode(key, value, decodeEnvelope))
        }
      } finally {
        await it.close()
      }
      return out
    })
  }

  #parseEnvKey(key: string, prefix: string): { wk: WriterKey; seq: number } {
    const rest = key.slice(prefix.length)
    const bang = rest.lastIndexOf('!')
    const seq = Number.parseInt(rest.slice(bang + 1), 16)
    if (bang < 0 || !Number.isSafeInteger(seq)) {
      throw new StoreCorruptError(this.dir, 'an envelope key is malformed', key)
    }
    return { wk: rest.slice(0, bang), seq }
  }

  async versionVector(docId: DocId): Promise<VersionVector> {
    checkDocId(docId)
    const prefix = envPrefix(docId)
    return this.#read('versionVector', async (db) => {
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
          const { wk, seq } = this.#parseEnvKey(key, prefix)
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
    })
  }

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
      await db.batch([...this.#indexOps([rec.docId]), { type: 'put', key, value }], { sync: true })
      this.#docs.add(rec.docId)
    })
  }

  async records(docId: DocId): Promise<StoredRecord[]> {
    checkDocId(docId)
    const prefix = recPrefix(docId)
    return this.#read('records', async (db) => {
      const out: StoredRecord[] = []
      for await (const [key, value] of db.iterator(range(prefix))) {
        out.push({ id: key.slice(prefix.length), record: this.#decode(key, value, decodeRecord) })
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
      const ops = [...this.#indexOps([docId]), { type: 'put' as const, key: snapKey(docId), value }]
      await db.batch(ops, { sync: true })
      this.#docs.add(docId)
    })
  }

  async getSnapshot(docId: DocId): Promise<DocSnapshot | undefined> {
    checkDocId(docId)
    const key = snapKey(docId)
    return this.#read('getSnapshot', async (db) => {
      const raw = await db.get(key)
      return raw === undefined ? undefined : this.#decode(key, raw, decodeSnapshot)
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
        out.push(this.#decode(key, value, decodeEquivocation))
      }
      return out
    })
  }

  async listDocuments(): Promise<DocumentEntry[]> {
    return this.#read('listDocuments', async () =>
      [...this.#docs].sort().map((id) => ({ id, kind: docKind(id) })),
    )
  }

  async eraseContent(docId: DocId): Promise<void> {
    checkDocId(docId)
    await this.#writes.exclusive(() =>
      this.#reads.exclusive(async () => {
        const db = this.#db
        if (db === undefined) throw new StoreClosedError('eraseContent')
        try {
          await this.#erase(db, docId)
        } catch (err) {
          throw this.#error(err)
        }
      }),
    )
  }

  async #erase(db: Db, docId: DocId): Promise<void> {
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
    this.#vvCache.delete(docId)
    for (const id of this.#highest.keys()) if (id.startsWith(`${docId}!`)) this.#highest.delete(id)
    this.#generation.set(docId, (this.#generation.get(docId) ?? 0) + 1)
    if (!hasRecords) this.#docs.delete(docId)
    // 2. Flush the deletions and compact every level down onto the deepest one holding
    //    the document's keys: the values meet their deletions and are dropped, and
    //    LevelDB deletes the old log and table files. No iterator or snapshot is open
    //    (we hold the read lock exclusively), so nothing pins the old values.
    await db.compactRange('', KEYSPACE_END)
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

/**
 * Whether another process (or this one) holds the store in `dir`, i.e. whether a node
 * is running on it. Opens and closes the store without keeping it: a lock left by a
 * killed process is released by the kernel, so this never reports a dead node. A
 * missing or damaged store reports `false` (opening it will say what is wrong).
 */
export async function probeLock(dir: string): Promise<boolean> {
  try {
    await access(join(dir, 'CURRENT'))
  } catch {
    return false
  }
  // Opening replays the logs: never on a damaged one (opening the store reports it).
  if ((await checkLevelLogs(dir)) !== undefined) return false
  const db = new ClassicLevel(dir, { createIfMissing: false })
  try {
    await db.open()
  } catch (err) {
    return levelCode(err) === 'LEVEL_LOCKED'
  }
  await db.close()
  return false
}
