import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import * as Y from 'yjs'
import {
  type AcceptanceContext,
  acceptEnvelope,
  clientIdFor,
  type Envelope,
  EnvelopeCoalescer,
  writerKey,
} from '../src/envelope/index.js'
import { createIdentity, type Identity } from '../src/identity/index.js'

const docId = 'narrative_baaaaaaaaaaaaaaaaaaaaaaaaaa'
let dir: string
let me: Identity

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tapestry-coalescer-'))
  me = await createIdentity(dir, 'Alice')
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

function writerDoc(): Y.Doc {
  const doc = new Y.Doc()
  doc.clientID = clientIdFor(me.publicKey, me.writerId)
  return doc
}

/** A persist that stores into an array after a real asynchronous hop (like a disk write). */
function memoryStore() {
  const stored: Envelope[] = []
  const persist = async (envs: Envelope[]) => {
    await new Promise<void>((resolve) => setImmediate(resolve))
    stored.push(...envs)
  }
  return { stored, persist }
}

describe('EnvelopeCoalescer', () => {
  it('coalesces 1,000 tight-loop transactions into few contiguous envelopes', async () => {
    const doc = writerDoc()
    const { stored, persist } = memoryStore()
    const w = new EnvelopeCoalescer({ doc, docId, signer: me, highestSeq: 41, persist })
    const forwarded: Envelope[] = []
    w.onEnvelope((e) => forwarded.push(e))
    const text = doc.getText('body')
    for (let i = 0; i < 1000; i++) text.insert(i, String.fromCharCode(97 + (i % 26)))
    await w.flush()
    expect(stored.length).toBeGreaterThan(0)
    expect(stored.length).toBeLessThan(10)
    expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => 42 + i))
    expect(forwarded).toEqual(stored)

    const fresh = new Y.Doc()
    const seen = new Map<string, Envelope>()
    const ctx: AcceptanceContext = {
      mayWrite: (_d, a) => a === me.memberId,
      known: (_d, wk, seq) => seen.get(`${wk}/${seq}`),
      highestSeq: () => (seen.size === 0 ? 41 : 41 + seen.size),
    }
    for (const env of stored) {
      expect(acceptEnvelope(env, ctx)).toEqual({ kind: 'apply' })
      seen.set(`${writerKey(env.author, env.writerId)}/${env.seq}`, env)
      Y.applyUpdate(fresh, env.update)
    }
    expect(fresh.getText('body').toString()).toBe(text.toString())
    expect(text.length).toBe(1000)
    await w.close()
  })

  it('coalesces edits made while an envelope is in flight into one', async () => {
    const doc = writerDoc()
    const { stored, persist } = memoryStore()
    const w = new EnvelopeCoalescer({ doc, docId, signer: me, highestSeq: 0, persist })
    const text = doc.getText('body')
    text.insert(0, 'a')
    await Promise.resolve() // the first round has started
    await Promise.resolve()
    for (let i = 0; i < 50; i++) text.insert(text.length, 'b')
    await w.flush()
    expect(stored.map((e) => e.seq)).toEqual([1, 2])
    await w.close()
  })

  it('sends a lone transaction after idle at once, with no timer', async () => {
    const doc = writerDoc()
    const { stored, persist } = memoryStore()
    const w = new EnvelopeCoalescer({ doc, docId, signer: me, highestSeq: 0, persist })
    doc.getText('body').insert(0, 'first')
    await w.flush()
    expect(stored).toHaveLength(1)
    vi.useFakeTimers({ toFake: ['setTimeout', 'setInterval', 'Date'] })
    try {
      doc.getText('body').insert(0, 'k') // one key press
      await w.flush() // resolves although no timer can fire
      expect(stored).toHaveLength(2)
      expect(stored[1]!.seq).toBe(2)
      expect(vi.getTimerCount()).toBe(0)
    } finally {
      vi.useRealTimers()
    }
    await w.close()
  })

  it('skips remote transactions', async () => {
    const doc = writerDoc()
    const remote = Symbol('remote')
    const { stored, persist } = memoryStore()
    const w = new EnvelopeCoalescer({
      doc,
      docId,
      signer: me,
      highestSeq: 0,
      persist,
      remoteOrigins: [remote],
    })
    const other = new Y.Doc()
    other.getText('body').insert(0, 'from elsewhere')
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(other), remote)
    doc.transact(() => doc.getText('meta').insert(0, 'x'), remote)
    await w.flush()
    expect(stored).toHaveLength(0)
    await w.close()
  })

  it('retries the identical envelope after a failed persist; flush reports the failure', async () => {
    const doc = writerDoc()
    const stored: Envelope[] = []
    let fail = true
    const w = new EnvelopeCoalescer({
      doc,
      docId,
      signer: me,
      highestSeq: 0,
      persist: async (envs) => {
        if (fail) throw new Error('disk full')
        stored.push(...envs)
      },
    })
    doc.getText('body').insert(0, 'a')
    const failed = w.flush()
    await expect(failed).rejects.toThrow('disk full')
    fail = false
    doc.getText('body').insert(1, 'b')
    await w.flush()
    expect(stored.map((e) => e.seq)).toEqual([1, 2])
    const fresh = new Y.Doc()
    for (const e of stored) Y.applyUpdate(fresh, e.update)
    expect(fresh.getText('body').toString()).toBe('ab')
    await w.close()
  })

  it('refuses a document whose clientID is not the writer’s', () => {
    const { persist } = memoryStore()
    expect(
      () => new EnvelopeCoalescer({ doc: new Y.Doc(), docId, signer: me, highestSeq: 0, persist }),
    ).toThrow(TypeError)
  })
})
