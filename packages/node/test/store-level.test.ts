import { randomUUID } from 'node:crypto'
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { encode } from 'cborg'
import { ClassicLevel } from 'classic-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { sealValue } from '../src/store/encoding.js'
import {
  LevelEnvelopeStore,
  probeLock,
  StoreCorruptError,
  StoreLockedError,
  StoreVersionError,
} from '../src/store/index.js'
import { runEnvelopeStoreContract } from '../src/testing/index.js'
import {
  buildStoreForChild,
  filesContaining,
  holdStoreInChild,
  readAllFiles,
  removeDir,
  spawnModule,
  tempDir,
} from './helpers/store-files.js'
import { fakeRecord, fakeWriter } from './helpers/store-fixtures.js'

runEnvelopeStoreContract(
  'LevelEnvelopeStore',
  async () => {
    const dir = await tempDir()
    return { store: new LevelEnvelopeStore(join(dir, 'store')), cleanup: () => removeDir(dir) }
  },
  { describe, it, expect, beforeEach, afterEach },
)

const DOC = 'narrative_aaaa'
const OTHER = 'narrative_bbbb'
const w = fakeWriter(0xa1)

describe('LevelEnvelopeStore on disk', () => {
  let root: string
  let dir: string
  const open: LevelEnvelopeStore[] = []
  const store = async (): Promise<LevelEnvelopeStore> => {
    const s = new LevelEnvelopeStore(dir)
    await s.open()
    open.push(s)
    return s
  }

  beforeEach(async () => {
    root = await tempDir()
    dir = join(root, 'store')
  })
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close()
    await removeDir(root)
  })

  it('keeps everything across close and a new instance', async () => {
    const s = await store()
    await s.appendEnvelopes([w.env(DOC, 1), w.env(DOC, 2)])
    await s.putRecord(fakeRecord(DOC, 'genesis', 1), 'g')
    await s.putSnapshot(DOC, { state: new Uint8Array([5]), vv: new Map([[w.key, 2]]) })
    await s.close()
    const t = await store()
    expect(await t.versionVector(DOC)).toEqual(new Map([[w.key, 2]]))
    expect(await t.getEnvelope(DOC, w.key, 2)).toEqual(w.env(DOC, 2))
    expect((await t.records(DOC)).map((r) => r.id)).toEqual(['g'])
    expect((await t.getSnapshot(DOC))?.state).toEqual(new Uint8Array([5]))
    expect(await t.listDocuments()).toEqual([{ id: DOC, kind: 'narrative' }])
    const stats = await t.stats()
    expect(stats).toMatchObject({ documents: 1, envelopes: 2 })
    expect(stats.bytes).toBeGreaterThan(0)
  })

  it('refuses a second open in the same process', async () => {
    await store()
    const err = await new LevelEnvelopeStore(dir).open().catch((e: unknown) => e)
    expect(err).toBeInstanceOf(StoreLockedError)
    expect(await probeLock(dir)).toBe(true)
  })

  it('refuses to open a store another process holds, and says a node is running', async () => {
    const s = await store()
    await s.appendEnvelopes([w.env(DOC, 1)])
    await s.close()
    open.length = 0
    expect(await probeLock(dir)).toBe(false)
    const { child, exited } = await holdStoreInChild(dir)
    try {
      const err = await new LevelEnvelopeStore(dir).open().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StoreLockedError)
      expect(err).toMatchObject({ code: 'STORE_LOCKED', name: 'StoreLockedError', dir })
      expect((err as Error).message).toMatch(/already running on this data directory/)
      expect(await probeLock(dir)).toBe(true)
    } finally {
      child.kill('SIGKILL')
      await exited
    }
  })

  it('opens after the process holding it was killed with SIGKILL, with its synced writes', async () => {
    await (await store()).close()
    open.length = 0
    const { child, exited } = await holdStoreInChild(
      dir,
      `await db.put('x!child', new Uint8Array([42]), { sync: true })`,
    )
    expect(await probeLock(dir)).toBe(true)
    child.kill('SIGKILL')
    expect(await exited).toBe('SIGKILL')
    expect(await probeLock(dir)).toBe(false)
    const s = await store()
    expect((await s.stats()).envelopes).toBe(0)
    await s.close()
    const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
    expect([...((await db.get('x!child')) ?? [])]).toEqual([42])
    await db.close()
  })

  it('probeLock is false for a missing directory and does not create it', async () => {
    expect(await probeLock(dir)).toBe(false)
    await expect(readdir(dir)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  describe('damaged stores', () => {
    /** The files LevelDB must not rewrite on a failed open (its LOG and LOCK may change). */
    const dataFiles = async () => {
      const files = await readAllFiles(dir)
      for (const name of ['LOG', 'LOG.old', 'LOCK']) files.delete(name)
      return files
    }
    const populated = async () => {
      const s = await store()
      await s.appendEnvelopes([w.env(DOC, 1), w.env(DOC, 2)])
      await s.close()
      open.length = 0
      // Reopen once so the data is in a table file, not only in the log.
      await (await store()).close()
      open.length = 0
    }
    const expectCorrupt = async (detail?: RegExp) => {
      const before = await dataFiles()
      const err = await new LevelEnvelopeStore(dir).open().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StoreCorruptError)
      expect(err).toMatchObject({ code: 'STORE_CORRUPT', name: 'StoreCorruptError', dir })
      const message = (err as Error).message
      expect(message).toMatch(/backup/)
      expect(message).toMatch(/re-sync/)
      if (detail) expect(message).toMatch(detail)
      expect(await dataFiles()).toEqual(before)
    }

    it('garbage CURRENT file', async () => {
      await populated()
      await writeFile(join(dir, 'CURRENT'), 'garbage without newline')
      await expectCorrupt()
    })

    it('CURRENT naming a missing manifest', async () => {
      await populated()
      await writeFile(join(dir, 'CURRENT'), 'MANIFEST-999999\n')
      await expectCorrupt()
    })

    it('truncated MANIFEST', async () => {
      await populated()
      const manifest = (await readdir(dir)).find((n) => n.startsWith('MANIFEST-'))!
      await truncate(join(dir, manifest), 7)
      await expectCorrupt()
    })

    it('missing CURRENT beside data files (LevelDB would start afresh and delete them)', async () => {
      await populated()
      const { rm } = await import('node:fs/promises')
      await rm(join(dir, 'CURRENT'))
      await expectCorrupt(/CURRENT file is missing/)
    })

    it('data without a meta record (LevelDB itself opens it: keys are left as they were)', async () => {
      const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
      await db.put('e!x', new Uint8Array([1]))
      await db.close()
      const err = await new LevelEnvelopeStore(dir).open().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StoreCorruptError)
      expect((err as Error).message).toMatch(/meta record is missing.*backup/)
      await db.open()
      expect(await db.keys().all()).toEqual(['e!x'])
      await db.close()
    })

    it('value bytes that do not decode are reported, not skipped', async () => {
      await populated()
      const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
      const key = (await db.keys({ gte: 'e!', lt: 'e"' }).all())[0]!
      await db.put(key, new Uint8Array([0xff, 0x00, 0x13]))
      await db.close()
      const s = await store()
      for (const read of [
        () => s.getEnvelope(DOC, w.key, 1),
        () => s.envelopesSince(DOC, new Map()),
      ]) {
        const err = await read().catch((e: unknown) => e)
        expect(err).toBeInstanceOf(StoreCorruptError)
        expect(err).toMatchObject({ code: 'STORE_CORRUPT', key })
      }
      // The intact envelope is still there.
      expect(await s.getEnvelope(DOC, w.key, 2)).toEqual(w.env(DOC, 2))
    })

    it('a flipped bit inside a value is caught by its checksum', async () => {
      await populated()
      const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
      const key = (await db.keys({ gte: 'e!', lt: 'e"' }).all())[1]!
      const value = new Uint8Array((await db.get(key))!)
      value[value.length - 70]! ^= 0x01 // inside the update bytes: still valid CBOR
      await db.put(key, value)
      await db.close()
      const s = await store()
      await expect(s.getEnvelope(DOC, w.key, 2)).rejects.toMatchObject({
        code: 'STORE_CORRUPT',
        key,
        message: expect.stringMatching(/checksum/),
      })
    })

    /** Damage is found when opening (the meta record shares the block) or on read. */
    const expectCorruptOnOpenOrRead = async () => {
      const s = new LevelEnvelopeStore(dir)
      const opening = await s.open().catch((e: unknown) => e)
      if (opening !== undefined) {
        expect(opening).toBeInstanceOf(StoreCorruptError)
        expect((opening as Error).message).toMatch(/backup/)
        return
      }
      open.push(s)
      const results = await Promise.allSettled([
        s.getEnvelope(DOC, w.key, 1),
        s.envelopesSince(DOC, new Map()),
        s.versionVector(DOC),
      ])
      for (const r of results) {
        expect(r.status === 'rejected' ? r.reason : r.value).toBeInstanceOf(StoreCorruptError)
      }
    }

    it('a truncated table file is reported, not skipped', async () => {
      await populated()
      const table = (await readdir(dir)).find((n) => n.endsWith('.ldb'))!
      await truncate(join(dir, table), 40)
      await expectCorruptOnOpenOrRead()
    })

    it('a table file with damaged bytes is reported, not skipped', async () => {
      await populated()
      const table = (await readdir(dir)).find((n) => n.endsWith('.ldb'))!
      const bytes = await readFile(join(dir, table))
      bytes.fill(0x5a, 0, Math.min(120, bytes.length - 48))
      await writeFile(join(dir, table), bytes)
      await expectCorruptOnOpenOrRead()
    })

    it('a store written by a newer format', async () => {
      await populated()
      const db = new ClassicLevel<string, Uint8Array>(dir, { valueEncoding: 'view' })
      await db.put('meta', sealValue(encode({ format: 99, createdAt: 1 })))
      await db.close()
      const err = await new LevelEnvelopeStore(dir).open().catch((e: unknown) => e)
      expect(err).toBeInstanceOf(StoreVersionError)
      expect(err).toMatchObject({ code: 'STORE_VERSION', found: 99 })
    })
  })

  describe('erasure leaves no trace in the files', () => {
    const marker = () => `erase-me-${randomUUID()}`
    const text = (m: string, seq: number) => `{"body":"${m} paragraph ${seq}"}`

    it('after close and reopen (content in table files)', async () => {
      const secret = marker()
      const kept = marker()
      let s = await store()
      await s.appendEnvelopes([1, 2, 3].map((seq) => w.env(DOC, seq, text(secret, seq))))
      await s.appendEnvelopes([w.env(OTHER, 1, text(kept, 1))])
      await s.putSnapshot(DOC, {
        state: new TextEncoder().encode(secret),
        vv: new Map([[w.key, 3]]),
      })
      await s.putRecord(fakeRecord(DOC, 'withdrawal', 9), 'withdrawal')
      await s.close()
      expect(await filesContaining(dir, secret)).not.toEqual([])
      s = await store()
      await s.eraseContent(DOC)
      expect(await filesContaining(dir, secret)).toEqual([])
      await s.close()
      expect(await filesContaining(dir, secret)).toEqual([])
      expect(await filesContaining(dir, kept)).not.toEqual([])
      s = await store()
      expect(await s.envelopesSince(DOC, new Map())).toEqual([])
      expect((await s.records(DOC)).map((r) => r.id)).toEqual(['withdrawal'])
      expect(await s.envelopesSince(OTHER, new Map())).toHaveLength(1)
    })

    it('right after writing (content still in the log and memtable)', async () => {
      const secret = marker()
      const s = await store()
      await s.appendEnvelopes([w.env(OTHER, 1, 'unrelated')])
      await s.appendEnvelopes([1, 2].map((seq) => w.env(DOC, seq, text(secret, seq))))
      for (let i = 0; i < 3; i++) {
        await s.putSnapshot(DOC, {
          state: new TextEncoder().encode(`${secret} v${i}`),
          vv: new Map(),
        })
      }
      expect(await filesContaining(dir, secret)).not.toEqual([])
      await s.eraseContent(DOC)
      expect(await filesContaining(dir, secret)).toEqual([])
    })

    it('with many envelopes spread over several levels and files', async () => {
      const secret = marker()
      const s = await store()
      const filler = 'x'.repeat(900)
      for (let batch = 0; batch < 12; batch++) {
        const envs = []
        for (let i = 1; i <= 500; i++) {
          const seq = batch * 500 + i
          const doc = seq % 3 === 0 ? DOC : OTHER
          envs.push(
            w.env(doc, seq, doc === DOC ? `${text(secret, seq)}${filler}` : `${seq}${filler}`),
          )
        }
        await s.appendEnvelopes(envs)
      }
      await s.close()
      expect((await readdir(dir)).filter((n) => n.endsWith('.ldb')).length).toBeGreaterThan(0)
      expect(await filesContaining(dir, secret)).not.toEqual([])
      const t = await store()
      await t.appendEnvelopes([w.env(DOC, 1_000_000, text(secret, 0))])
      await t.eraseContent(DOC)
      expect(await filesContaining(dir, secret)).toEqual([])
      expect((await t.stats()).envelopes).toBe(4000)
    })
  })
})

describe('LevelEnvelopeStore durability under SIGKILL', () => {
  let root: string
  afterEach(async () => {
    await removeDir(root)
  })

  it('keeps every acknowledged batch, whole, across 25 kills at random moments', async () => {
    root = await tempDir()
    const dir = join(root, 'store')
    const storeUrl = await buildStoreForChild(join(root, 'build'))
    // The child appends batches of 1..5 envelopes in a loop and prints the last seq of
    // each batch once appendEnvelopes has resolved (the acknowledgement).
    const writer = `
      const { LevelEnvelopeStore } = await import(${JSON.stringify(storeUrl)})
      const store = new LevelEnvelopeStore(process.argv[1])
      await store.open()
      const author = new Uint8Array(32).fill(0xa1), writerId = new Uint8Array(8).fill(0xa1)
      const env = (seq) => ({ version: 1, docId: ${JSON.stringify(DOC)}, author, writerId, seq,
        update: new TextEncoder().encode('update ${DOC} ' + seq), signature: new Uint8Array(64).fill(seq % 256) })
      let seq = ((await store.versionVector(${JSON.stringify(DOC)})).get(${JSON.stringify(w.key)}) ?? 0)
      process.stdout.write('start ' + seq + '\\n')
      for (;;) {
        const n = 1 + Math.floor(Math.random() * 5)
        const batch = []
        for (let i = 0; i < n; i++) batch.push(env(++seq))
        await store.appendEnvelopes(batch)
        process.stdout.write(seq + '\\n')
      }
    `
    let acked = 0
    for (let round = 0; round < 25; round++) {
      const child = spawnModule(writer, [dir])
      const exited = new Promise((resolve) => child.once('exit', (_c, signal) => resolve(signal)))
      const killAfter = 1 + Math.floor(Math.random() * 15)
      let seen = 0
      let buffer = ''
      let stderr = ''
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString()
      })
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d: Buffer) => {
          buffer += d.toString()
          const lines = buffer.split('\n')
          buffer = lines.pop()!
          for (const line of lines) {
            if (line.startsWith('start ')) {
              if (Number(line.slice(6)) < acked)
                reject(new Error(`restarted below ${acked}: ${line}`))
              continue
            }
            acked = Math.max(acked, Number(line))
            if (++seen === killAfter) {
              // A random moment inside the next write (or between writes).
              setTimeout(() => child.kill('SIGKILL'), Math.random() * 3)
              resolve()
            }
          }
        })
        exited.then(() => reject(new Error(`writer exited early: ${stderr}`)))
      })
      expect(await exited).toBe('SIGKILL')
      const store = new LevelEnvelopeStore(dir)
      await store.open()
      try {
        const top = (await store.versionVector(DOC)).get(w.key) ?? 0
        expect(top).toBeGreaterThanOrEqual(acked)
        const all = await store.envelopesSince(DOC, new Map())
        // No gaps, nothing partial: seqs 1..top exactly, each one intact.
        expect(all.map((e) => e.seq)).toEqual(Array.from({ length: top }, (_, i) => i + 1))
        for (const e of all) expect(e).toEqual(w.env(DOC, e.seq))
      } finally {
        await store.close()
      }
    }
    expect(acked).toBeGreaterThan(25)
  })
})
