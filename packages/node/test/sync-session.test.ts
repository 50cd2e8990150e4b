import { encode } from 'cborg'
import { describe, expect, it } from 'vitest'
import { signEnvelope } from '../src/envelope/sign.js'
import type { Envelope } from '../src/envelope/types.js'
import { encodeMessage } from '../src/sync/codec.js'
import { SyncDecodeError, SyncForgeryError, SyncStateError } from '../src/sync/errors.js'
import { link, waitFor } from '../src/testing/index.js'
import { FakeReplication, FakeWorld, fakeIdentity } from './helpers/mesh-fake-replication.js'

const T = 'roster_btribe'

async function world(n: number) {
  const w = new FakeWorld()
  const ids = await Promise.all(Array.from({ length: n }, (_, i) => fakeIdentity(`m${i}`)))
  w.tribe(
    T,
    ids.map((i) => i.memberId),
  )
  const reps = ids.map((i) => new FakeReplication(w, i))
  return { w, reps }
}

const rounds = (events: { type: string }[]) => events.filter((e) => e.type === 'round').length

describe('sync session (two in-memory fakes)', () => {
  it('checks 10,000 identical documents in under 1 KB', async () => {
    const { w, reps } = await world(2)
    const [a, b] = reps as [FakeReplication, FakeReplication]
    const envs: Envelope[] = []
    for (let i = 0; i < 10_000; i++) {
      const docId = w.doc(T)
      envs.push(
        await signEnvelope(a.identity, { docId, seq: 1, update: new Uint8Array([i & 255]) }),
      )
    }
    a.seed(envs)
    b.seed(envs)
    const l = link(a, b, T)
    await waitFor(() => rounds(l.a.events) > 0 && rounds(l.b.events) > 0)
    const total = l.a.bytes + l.b.bytes
    console.log(`in-sync check of 10,000 documents: ${total} bytes on the wire`)
    expect(total).toBeLessThanOrEqual(1024)
    expect(l.a.events).toContainEqual(expect.objectContaining({ type: 'round', inSync: true }))
    // one document differs: a round costs the bucket hashes and one bucket's vectors
    const diverged = envs[1234]!
    const extra = await signEnvelope(a.identity, {
      docId: diverged.docId,
      seq: 2,
      update: new Uint8Array([7]),
    })
    a.seed([extra])
    const before = l.a.bytes + l.b.bytes
    await l.b.session.startRound()
    await waitFor(() => b.envelopeCount() === 10_001 && !l.b.session.syncing)
    console.log(`a round repairing 1 of 10,000 documents: ${l.a.bytes + l.b.bytes - before} bytes`)
    expect(l.a.session.totals.sent.envelopes).toBe(1)
    l.cut()
  })

  it('diverged sets converge, sending only what is missing, rules first', async () => {
    const { w, reps } = await world(2)
    const [a, b] = reps as [FakeReplication, FakeReplication]
    const shared: Envelope[] = []
    const docs = Array.from({ length: 2000 }, () => w.doc(T))
    for (const docId of docs) {
      shared.push(await signEnvelope(a.identity, { docId, seq: 1, update: new Uint8Array([1]) }))
    }
    a.seed(shared)
    b.seed(shared)
    // a: 5 more changes to shared docs and 3 new docs; b: 4 new docs and a roster record
    for (const d of docs.slice(0, 5)) await a.write(d, 'a-only')
    for (let i = 0; i < 3; i++) await a.write(w.doc(T), 'a-new')
    for (let i = 0; i < 4; i++) await b.write(w.doc(T), 'b-new')
    const roster = w.doc(T, 'roster')
    await b.addRecord(roster, 'roster.genesis')
    await b.write(roster, 'roster')
    expect(a.dump()).not.toBe(b.dump())

    const l = link(a, b, T)
    await waitFor(() => a.dump() === b.dump(), 20_000, 'convergence')
    await waitFor(() => !l.a.session.syncing && !l.b.session.syncing)
    expect(l.a.session.totals.sent).toEqual({ records: 0, envelopes: 8 })
    expect(l.b.session.totals.sent).toEqual({ records: 1, envelopes: 5 })
    // b's roster record and roster envelope reached a before b's content
    const fromB = a.ingested.filter((x) => x.from === b.memberId)
    expect(fromB[0]).toMatchObject({ records: 1 })
    // a second round finds nothing to do
    await l.a.session.startRound()
    await waitFor(() => l.a.session.rounds.inSync > 0)
    l.cut()
  })

  it('pushes live writes and forwards them along a line A–B–C', async () => {
    const { w, reps } = await world(3)
    const [a, b, c] = reps as [FakeReplication, FakeReplication, FakeReplication]
    const ab = link(a, b, T)
    const bc = link(b, c, T)
    await waitFor(() => rounds(ab.a.events) > 0 && rounds(bc.a.events) > 0)
    const docId = w.doc(T)
    await a.write(docId, 'from a')
    await c.write(docId, 'from c')
    await waitFor(() => a.dump() === c.dump() && a.dump() === b.dump() && a.envelopeCount() === 2)
    // nothing bounced back to its source
    await waitFor(() => !ab.a.session.syncing)
    expect(ab.a.session.totals.sent.envelopes).toBe(1)
    expect(ab.b.session.totals.sent.envelopes).toBe(1)
    ab.cut()
    bc.cut()
  })

  it('never names documents the peer may not receive', async () => {
    const { w, reps } = await world(2)
    const [a, b] = reps as [FakeReplication, FakeReplication]
    const secret = w.doc(T, 'narrative', [a.memberId])
    await a.write(secret, 'private text')
    const open = w.doc(T)
    await a.write(open, 'tribe text')
    const l = link(a, b, T, { keepFrames: true })
    await waitFor(() => b.envelopeCount() === 1)
    await a.write(secret, 'more private text')
    await a.write(open, 'more tribe text')
    await waitFor(() => b.envelopeCount() === 2)
    const wire = Buffer.concat(l.a.frames)
    expect(wire.includes(Buffer.from(secret))).toBe(false)
    expect(wire.includes(Buffer.from('private'))).toBe(false)
    expect(wire.includes(Buffer.from(open))).toBe(true)
    l.cut()
  })

  it('a slow peer overflows the bounded queue; a digest round repairs it', async () => {
    const { w, reps } = await world(2)
    const [a, b] = reps as [FakeReplication, FakeReplication]
    const l = link(a, b, T, { delayMs: 2, maxQueueItems: 16, maxBatchBytes: 200 })
    await waitFor(() => rounds(l.a.events) > 0)
    const docId = w.doc(T)
    for (let i = 0; i < 300; i++) await a.write(docId, `change ${i}`)
    await waitFor(() => b.envelopeCount() === 300, 30_000, 'repair')
    expect(l.a.events.some((e) => e.type === 'overflow')).toBe(true)
    l.cut()
  })

  it('closes on garbage, on messages out of order, on replays and on forged envelopes', async () => {
    const { w, reps } = await world(3)
    const [a, b, stranger] = reps as [FakeReplication, FakeReplication, FakeReplication]
    w.members.get(T)!.delete(stranger.memberId)
    const docId = w.doc(T)
    const good = await a.write(docId, 'kept')

    const cases: [string, Uint8Array[], unknown][] = [
      ['garbage', [new Uint8Array([0xff, 0x00, 0x13])], SyncDecodeError],
      ['before hello', [encodeMessage({ type: 'match', round: 1 })], SyncStateError],
      [
        'replayed digest',
        [
          encodeMessage({ type: 'hello', version: 1, tribeId: T }),
          encodeMessage({ type: 'digest', round: 5, count: 0, root: new Uint8Array(16) }),
          encodeMessage({ type: 'digest', round: 5, count: 0, root: new Uint8Array(16) }),
        ],
        SyncStateError,
      ],
      [
        'bad signature',
        [
          encodeMessage({ type: 'hello', version: 1, tribeId: T }),
          encodeMessage({
            type: 'envelopes',
            envelopes: [{ ...good, seq: 2, update: new TextEncoder().encode('forged') }],
          }),
        ],
        SyncForgeryError,
      ],
      [
        'non-member author',
        [
          encodeMessage({ type: 'hello', version: 1, tribeId: T }),
          encodeMessage({
            type: 'envelopes',
            envelopes: [
              await signEnvelope(stranger.identity, { docId, seq: 1, update: new Uint8Array([1]) }),
            ],
          }),
        ],
        SyncForgeryError,
      ],
      ['oversized', [encode([6, [new Uint8Array(5 * 1024 * 1024)]])], SyncDecodeError],
    ]
    for (const [name, frames, error] of cases) {
      let closedWith: unknown
      const { SyncSession } = await import('../src/sync/session.js')
      const s = new SyncSession({
        tribeId: T,
        peer: b.memberId,
        replication: a,
        intervalMs: 0,
        initiate: false,
        transport: { send: async () => {}, close: (err) => (closedWith = err) },
      })
      s.start()
      for (const f of frames) await s.receive(f)
      expect(closedWith, name).toBeInstanceOf(error as never)
      expect(s.closed).toBe(true)
    }
    expect(a.envelopeCount()).toBe(1)
  })
})
