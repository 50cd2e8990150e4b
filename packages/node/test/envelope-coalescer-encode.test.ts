/**
 * The coalescer encodes a round's envelope straight from the document (the writer's
 * structs since the round's first transaction plus the union of the round's delete
 * sets) instead of merging the round's updates. These tests check that this is exactly
 * the writer's own changes: byte-identical to Yjs' update for one transaction, only the
 * writer's client id, no remote items, every delete, and, replayed with the remote
 * updates the writer saw, the writer's exact document (content and delete set).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  checkUpdateClients,
  clientIdFor,
  type Envelope,
  EnvelopeCoalescer,
} from '../src/envelope/index.js'
import { createIdentity, type Identity } from '../src/identity/index.js'

const docId = 'narrative_baaaaaaaaaaaaaaaaaaaaaaaaaa'
const REMOTE = Symbol('remote')
let dir: string
let me: Identity
let myClient: number

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tapestry-coalescer-encode-'))
  me = await createIdentity(dir, 'Alice')
  myClient = clientIdFor(me.publicKey, me.writerId)
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise<void>((r) => setImmediate(r))
}

function writerDoc(gc = true): Y.Doc {
  const doc = new Y.Doc({ gc })
  doc.clientID = myClient
  return doc
}

/** Structs (client, first clock, end clock) and delete set of a v1 update. */
function decoded(update: Uint8Array) {
  const { structs, ds } = Y.decodeUpdate(update)
  return { structs, ds }
}

/** Random edits on every kind of content: text (formatted, embeds), maps, nested arrays. */
function randomEdit(doc: Y.Doc, r: () => number): void {
  const text = doc.getText('body')
  const map = doc.getMap('meta')
  const list = doc.getArray<Y.Map<unknown>>('list')
  const k = r()
  if (k < 0.35 || text.length === 0) {
    const pos = Math.floor(r() * (text.length + 1))
    const s = 'abcdefgh€😀'.slice(0, 1 + Math.floor(r() * 8))
    if (r() < 0.1) text.insert(pos, s, { bold: true })
    else if (r() < 0.05) text.insertEmbed(pos, { image: 'x.png' })
    else text.insert(pos, s)
  } else if (k < 0.6) {
    const pos = Math.floor(r() * text.length)
    text.delete(pos, Math.min(text.length - pos, 1 + Math.floor(r() * 6)))
  } else if (k < 0.68) {
    const pos = Math.floor(r() * text.length)
    text.format(pos, Math.min(text.length - pos, 1 + Math.floor(r() * 5)), {
      italic: r() < 0.5 ? true : null,
    })
  } else if (k < 0.78) {
    const key = `k${Math.floor(r() * 5)}`
    if (r() < 0.3) map.delete(key)
    else map.set(key, r() < 0.5 ? Math.floor(r() * 100) : { nested: [1, 'two'] })
  } else if (k < 0.9 || list.length === 0) {
    const m = new Y.Map<unknown>()
    m.set('t', new Y.Text('inner'))
    list.insert(Math.floor(r() * (list.length + 1)), [m])
  } else if (r() < 0.5) {
    // Deleting a nested type turns its children into GC structs.
    list.delete(Math.floor(r() * list.length), 1)
  } else {
    const inner = list.get(Math.floor(r() * list.length)).get('t') as Y.Text
    inner.insert(Math.floor(r() * (inner.length + 1)), 'z')
  }
}

describe('EnvelopeCoalescer encodes a round from the document', () => {
  it('a round of one transaction is byte-identical to the update Yjs emitted', async () => {
    const doc = writerDoc()
    const emitted: Uint8Array[] = []
    doc.on('update', (u: Uint8Array) => emitted.push(u))
    const stored: Envelope[] = []
    const w = new EnvelopeCoalescer({
      doc,
      docId,
      signer: me,
      highestSeq: 0,
      persist: async (envs) => {
        stored.push(...envs)
      },
    })
    const r = rng(7)
    for (let i = 0; i < 300; i++) {
      doc.transact(() => randomEdit(doc, r))
      await w.flush() // one transaction per round
    }
    expect(stored).toHaveLength(emitted.length)
    stored.forEach((env, i) => {
      expect(env.update).toEqual(emitted[i])
    })
    expect(emitted.length).toBeGreaterThan(250)
    expect(w.stats).toMatchObject({ envelopes: emitted.length, sealed: 0 })
    await w.close()
  })

  for (const gc of [true, false]) {
    it(`random rounds with remote edits (gc ${gc}): only the writer's items, every delete, same document`, async () => {
      let sealed = 0
      for (let seed = 1; seed <= 12; seed++) {
        const r = rng(seed * 7919 + (gc ? 1 : 0))
        const doc = writerDoc(gc)
        const peer = new Y.Doc({ gc })
        peer.clientID = myClient + 1
        const seenRemote: Uint8Array[] = []
        const local: Uint8Array[] = []
        doc.on('update', (u: Uint8Array, origin: unknown) => {
          if (origin === REMOTE) seenRemote.push(u)
          else local.push(u)
        })
        const stored: Envelope[] = []
        const w = new EnvelopeCoalescer({
          doc,
          docId,
          signer: me,
          highestSeq: 0,
          remoteOrigins: [REMOTE],
          persist: async (envs) => {
            await turns(Math.floor(r() * 4))
            stored.push(...envs)
          },
        })
        const undo = new Y.UndoManager(doc.getText('body'))
        for (let step = 0; step < 400; step++) {
          const k = r()
          if (k < 0.6) {
            const ops = 1 + Math.floor(r() * 3)
            doc.transact(() => {
              for (let i = 0; i < ops; i++) randomEdit(doc, r)
            })
          } else if (k < 0.65) {
            undo.stopCapturing()
            if (r() < 0.5) undo.undo()
            else undo.redo()
          } else if (k < 0.85) {
            peer.transact(() => randomEdit(peer, r))
            const sv = Y.encodeStateVector(doc)
            Y.applyUpdate(doc, Y.encodeStateAsUpdate(peer, sv), REMOTE)
          } else {
            Y.applyUpdate(peer, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(peer)))
          }
          if (r() < 0.3) await turns(1 + Math.floor(r() * 3))
        }
        await w.close()
        undo.destroy()
        expect(w.stats.envelopes).toBe(stored.length)
        sealed += w.stats.sealed

        // Envelope rules: only the writer's structs, contiguous clocks from 0, nothing twice.
        let clock = 0
        for (const env of stored) {
          checkUpdateClients(env.update, myClient, docId)
          for (const s of decoded(env.update).structs) {
            expect(s.id.client).toBe(myClient)
            expect(s.id.clock).toBe(clock)
            clock += s.length
          }
        }
        expect(clock).toBe(Y.getState(doc.store, myClient))
        expect(stored.map((e) => e.seq)).toEqual(stored.map((_, i) => i + 1))
        expect(stored.length).toBeLessThan(local.length) // it did coalesce

        // Exactly the writer's deletes: the union of its transactions' delete sets.
        const dsOf = (updates: Uint8Array[]) => Y.mergeDeleteSets(updates.map((u) => decoded(u).ds))
        const mine = dsOf(local.filter((u) => decoded(u).ds.clients.size > 0))
        expect(Y.equalDeleteSets(dsOf(stored.map((e) => e.update)), mine)).toBe(true)
        // And no struct that says "deleted" (collected content) for an item the writer did
        // not delete itself: a peer's deletion never travels in the writer's envelope.
        for (const env of stored) {
          for (const s of decoded(env.update).structs) {
            if (
              s instanceof Y.GC ||
              (s instanceof Y.Item && s.content instanceof Y.ContentDeleted)
            ) {
              for (let c = s.id.clock; c < s.id.clock + s.length; c++) {
                expect(Y.isDeleted(mine, Y.createID(myClient, c))).toBe(true)
              }
            }
          }
        }

        // Replayed with what the writer received, the envelopes rebuild its document.
        const replica = new Y.Doc({ gc })
        for (const u of seenRemote) Y.applyUpdate(replica, u)
        for (const env of stored) Y.applyUpdate(replica, env.update)
        expect(Y.equalSnapshots(Y.snapshot(replica), Y.snapshot(doc))).toBe(true)
        const content = (d: Y.Doc) => [
          d.getText('body').toDelta(),
          d.getMap('meta').toJSON(),
          d.getArray('list').toJSON(),
        ]
        expect(content(replica)).toEqual(content(doc))
        expect(Y.encodeStateVector(replica)).toEqual(Y.encodeStateVector(doc))
      }
      expect(sealed).toBeGreaterThan(0) // peers did delete pending items
    })
  }

  it('a skipped local transaction between captured ones is left out (the run is sealed first)', async () => {
    const doc = writerDoc()
    const stored: Envelope[] = []
    const w = new EnvelopeCoalescer({
      doc,
      docId,
      signer: me,
      highestSeq: 0,
      remoteOrigins: [REMOTE],
      persist: async (envs) => {
        stored.push(...envs)
      },
    })
    const text = doc.getText('body')
    text.insert(0, 'ab') // clocks 0-1, captured
    doc.transact(() => doc.getText('meta').insert(0, 'skipped'), REMOTE) // clocks 2-8
    text.insert(2, 'cd') // clocks 9-10, captured
    await w.close()
    expect(w.stats).toMatchObject({ rounds: 1, envelopes: 2, sealed: 1 })
    const clocks = stored.flatMap((e) =>
      decoded(e.update)
        .structs.filter((s) => !(s instanceof Y.Skip))
        .map((s) => [s.id.clock, s.id.clock + s.length]),
    )
    expect(clocks).toEqual([
      [0, 2],
      [9, 11],
    ])
    const replica = new Y.Doc()
    Y.applyUpdate(replica, Y.encodeStateAsUpdate(doc)) // what the node has in any case
    for (const e of stored) Y.applyUpdate(replica, e.update)
    expect(replica.getText('body').toString()).toBe('abcd')
  })

  it("a peer's deletion of pending items is not carried by the writer's envelope", async () => {
    const doc = writerDoc()
    const stored: Envelope[] = []
    let release!: () => void
    const gate = new Promise<void>((r) => {
      release = r
    })
    const w = new EnvelopeCoalescer({
      doc,
      docId,
      signer: me,
      highestSeq: 0,
      remoteOrigins: [REMOTE],
      persist: async (envs) => {
        await gate
        stored.push(...envs)
      },
    })
    const text = doc.getText('body')
    text.insert(0, 'first') // round 1, held at the gate
    await turns(1)
    text.insert(5, ' hello') // pending
    const peer = new Y.Doc()
    Y.applyUpdate(peer, Y.encodeStateAsUpdate(doc))
    peer.getText('body').delete(6, 5) // the peer deletes "hello"
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(peer, Y.encodeStateVector(doc)), REMOTE)
    text.insert(text.length, '!') // pending, a new run
    expect(text.toString()).toBe('first !')
    release()
    await w.close()
    expect(w.stats.sealed).toBe(1)
    const alone = new Y.Doc()
    for (const e of stored) Y.applyUpdate(alone, e.update)
    expect(alone.getText('body').toString()).toBe('first hello!')
  })

  it('a round over the size limit is split, each part within it', async () => {
    const doc = writerDoc()
    const stored: Envelope[] = []
    const w = new EnvelopeCoalescer({
      doc,
      docId,
      signer: me,
      highestSeq: 0,
      maxUpdateBytes: 2_000,
      persist: async (envs) => {
        stored.push(...envs)
      },
    })
    const text = doc.getText('body')
    for (let i = 0; i < 40; i++) text.insert(i * 100, 'x'.repeat(100))
    await w.close()
    expect(stored.length).toBeGreaterThan(1)
    for (const e of stored) expect(e.update.byteLength).toBeLessThanOrEqual(2_000)
    const replica = new Y.Doc()
    for (const e of stored) Y.applyUpdate(replica, e.update)
    expect(replica.getText('body').toString()).toBe(text.toString())
  })
})
