/**
 * `LevelEnvelopeStore.appendEnvelopes` reads nothing for an envelope above its writer's
 * stored highest sequence (the local write path appends only fresh ones). These check that
 * the equivocation check still sees every stored envelope: after a restart, past gaps,
 * after erasure, and after a failed write.
 */
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { EquivocationError, LevelEnvelopeStore } from '../src/store/index.js'
import { removeDir, tempDir } from './helpers/store-files.js'
import { fakeWriter } from './helpers/store-fixtures.js'

const DOC = 'narrative_aaaa'
const OTHER = 'narrative_bbbb'
const w = fakeWriter(0xb2)
const v = fakeWriter(0xc3)

describe('LevelEnvelopeStore: fresh sequences skip the read, equivocation is still caught', () => {
  let root: string
  let dir: string
  const open: LevelEnvelopeStore[] = []
  const store = async (): Promise<LevelEnvelopeStore> => {
    const s = new LevelEnvelopeStore(dir)
    await s.open()
    open.push(s)
    return s
  }
  const close = async (s: LevelEnvelopeStore) => {
    open.splice(open.indexOf(s), 1)
    await s.close()
  }

  beforeEach(async () => {
    root = await tempDir()
    dir = join(root, 'store')
  })
  afterEach(async () => {
    for (const s of open.splice(0)) await s.close()
    await removeDir(root)
  })

  it('after a restart, past a gap, per writer and document', async () => {
    let s = await store()
    await s.appendEnvelopes([w.env(DOC, 1), w.env(DOC, 2), w.env(DOC, 7), v.env(OTHER, 3)])
    await close(s)
    s = await store()
    for (const [env, seq] of [
      [w.env(DOC, 7, 'other bytes'), 7],
      [w.env(DOC, 2, 'other bytes'), 2],
      [v.env(OTHER, 3, 'other bytes'), 3],
    ] as const) {
      const err = await s.appendEnvelopes([w.env(DOC, 8), env]).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(EquivocationError)
      expect((err as EquivocationError).seq).toBe(seq)
    }
    // Fresh sequences (and identical duplicates) are appended; the batch above wrote nothing.
    await s.appendEnvelopes([w.env(DOC, 8), w.env(DOC, 7), v.env(DOC, 1)])
    expect(await s.getEnvelope(DOC, w.key, 8)).toEqual(w.env(DOC, 8))
    await expect(s.appendEnvelopes([w.env(DOC, 8, 'again')])).rejects.toBeInstanceOf(
      EquivocationError,
    )
    expect(await s.envelopesSince(DOC, new Map())).toHaveLength(5)
  })

  it('within one batch and across appends of one instance', async () => {
    const s = await store()
    await expect(s.appendEnvelopes([w.env(DOC, 1), w.env(DOC, 1, 'twin')])).rejects.toBeInstanceOf(
      EquivocationError,
    )
    await s.appendEnvelopes([w.env(DOC, 1)])
    await expect(s.appendEnvelopes([w.env(DOC, 1, 'twin')])).rejects.toBeInstanceOf(
      EquivocationError,
    )
  })

  it('after erasure the document starts afresh', async () => {
    const s = await store()
    await s.appendEnvelopes([w.env(DOC, 1), w.env(DOC, 2)])
    await s.eraseContent(DOC)
    await s.appendEnvelopes([w.env(DOC, 1, 'new life')])
    await expect(s.appendEnvelopes([w.env(DOC, 1, 'twin')])).rejects.toBeInstanceOf(
      EquivocationError,
    )
  })

  it('a failed write leaves nothing assumed: the next append reads what is on disk', async () => {
    const s = await store()
    await s.appendEnvelopes([w.env(DOC, 1)])
    // A batch that reports failure although LevelDB did write it (its outcome is unknown).
    const real = ClassicLevel.prototype.batch as (...a: unknown[]) => Promise<void>
    const spy = vi.spyOn(ClassicLevel.prototype, 'batch').mockImplementationOnce(async function (
      this: unknown,
      ...args: unknown[]
    ) {
      await real.apply(this, args)
      throw new Error('EIO after the write')
    } as never)
    await expect(s.appendEnvelopes([w.env(DOC, 2)])).rejects.toThrow()
    spy.mockRestore()
    await expect(s.appendEnvelopes([w.env(DOC, 2, 'twin')])).rejects.toBeInstanceOf(
      EquivocationError,
    )
    await s.appendEnvelopes([w.env(DOC, 2), w.env(DOC, 3)])
  })
})
