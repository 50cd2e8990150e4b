/**
 * Opening the LevelDB store, and asking whether a node holds it. One directory is owned
 * by one process at a time through LevelDB's own `LOCK` (an fcntl lock the kernel drops
 * when the owner dies, so a SIGKILLed node never leaves a stale lock behind). Damage is
 * refused before LevelDB can "repair" it by dropping acknowledged writes.
 */
import { access, readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import type { DocId } from '../envelope/types.js'
import { decodeMeta, encodeMeta, sealValue } from './encoding.js'
import { STORE_FORMAT } from './envelope-store.js'
import { StoreCorruptError, StoreError, StoreIoError, StoreVersionError } from './errors.js'
import { decodeValue, levelCode, messageOf, openError, storeError } from './level-failures.js'
import { type Db, META, range } from './level-keys.js'
import { checkLevelLogs } from './log-check.js'

const LEVELDB_FILE = /^(MANIFEST-\d+|\d+\.(log|ldb|sst))$/

export interface LevelStoreOptions {
  /** LevelDB block compression (Snappy). Default true. */
  readonly compression?: boolean
  /** LevelDB block cache in bytes. */
  readonly cacheSize?: number
  /** LevelDB memtable size in bytes. */
  readonly writeBufferSize?: number
}

/**
 * Opens (or creates) the database in `dir`, checks its format and reads the document
 * index. `isClosed` tells a failure's mapping whether the store is closed.
 */
export async function openLevel(
  dir: string,
  options: LevelStoreOptions,
  isClosed: () => boolean,
): Promise<{ db: Db; docs: Set<DocId> }> {
  let entries: string[]
  try {
    entries = await readdir(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StoreIoError(dir, messageOf(err), { cause: err })
    }
    entries = []
  }
  const exists = entries.includes('CURRENT')
  if (!exists && entries.some((n) => LEVELDB_FILE.test(n))) {
    // LevelDB would create a fresh database here and delete the orphaned files.
    throw new StoreCorruptError(dir, 'the CURRENT file is missing but data files are present')
  }
  // LevelDB would replay a damaged log by dropping records (acknowledged writes).
  const logDamage = exists ? await checkLevelLogs(dir) : undefined
  if (logDamage !== undefined) throw new StoreCorruptError(dir, logDamage)
  const db: Db = new ClassicLevel<string, Uint8Array>(dir, {
    keyEncoding: 'utf8',
    valueEncoding: 'view',
    createIfMissing: !exists,
    errorIfExists: false,
    ...options,
  })
  try {
    await db.open()
  } catch (err) {
    throw openError(dir, err, exists)
  }
  try {
    await checkMeta(dir, db)
    const docs = new Set<DocId>()
    for await (const key of db.keys(range('d!'))) docs.add(key.slice(2))
    return { db, docs }
  } catch (err) {
    await db.close().catch(() => {})
    throw err instanceof StoreError ? err : storeError(dir, err, isClosed())
  }
}

async function checkMeta(dir: string, db: Db): Promise<void> {
  const raw = await db.get(META)
  if (raw === undefined) {
    for await (const _ of db.keys({ limit: 1 })) {
      throw new StoreCorruptError(dir, 'the meta record is missing')
    }
    await db.put(META, sealValue(encodeMeta({ format: STORE_FORMAT, createdAt: Date.now() })), {
      sync: true,
    })
    return
  }
  const meta = decodeValue(dir, META, raw, decodeMeta)
  if (meta.format > STORE_FORMAT) throw new StoreVersionError(dir, meta.format, STORE_FORMAT)
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
