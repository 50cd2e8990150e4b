/**
 * The contract every `EnvelopeStore` passes (see store/envelope-store.ts). Each
 * implementation's test file calls `runEnvelopeStoreContract` with a factory and its test
 * runner's functions, so this library never imports a test runner:
 *
 *   import { afterEach, beforeEach, describe, expect, it } from '<your test runner>'
 *   runEnvelopeStoreContract('MemoryEnvelopeStore', async () => ({ store, cleanup }),
 *     { describe, it, expect, beforeEach, afterEach })
 */
import type { EnvelopeStore } from '../store/index.js'
import {
  EquivocationError,
  InvalidStoreKeyError,
  RecordConflictError,
  StoreClosedError,
} from '../store/index.js'
import { fakeRecord, fakeWriter, ids } from './store-fixtures.js'

export interface StoreHarness {
  /** A store, not yet opened. */
  readonly store: EnvelopeStore
  readonly cleanup: () => Promise<void>
}

const DOC = 'narrative_aaaa'
const OTHER = 'echo_bbbb'

type Ctor = abstract new (...args: never[]) => unknown

/** The matchers the contract uses; a Jest-style `expect(value)` result satisfies it. */
export interface ContractAssertion {
  toBe(expected: unknown): void
  toEqual(expected: unknown): void
  toBeUndefined(): void
  toBeInstanceOf(expected: Ctor): void
  toContain(expected: unknown): void
  toHaveLength(expected: number): void
  toMatchObject(expected: object): void
  readonly rejects: {
    toBeInstanceOf(expected: Ctor): PromiseLike<unknown>
    toMatchObject(expected: object): PromiseLike<unknown>
  }
}

/** The test runner's functions the contract registers its cases with. */
export interface ContractRunner {
  describe(name: string, body: () => void): unknown
  it(name: string, body: () => Promise<void> | void): unknown
  beforeEach(body: () => Promise<void> | void): unknown
  afterEach(body: () => Promise<void> | void): unknown
  expect(actual: unknown): ContractAssertion
}

export function runEnvelopeStoreContract(
  name: string,
  make: () => Promise<StoreHarness>,
  runner: ContractRunner,
): void {
  const { describe, it, expect, beforeEach, afterEach } = runner
  describe(`EnvelopeStore contract: ${name}`, () => {
    let h: StoreHarness
    let store: EnvelopeStore
    const a = fakeWriter(0xa1)
    const b = fakeWriter(0xb2)

    beforeEach(async () => {
      h = await make()
      store = h.store
      await store.open()
    })
    afterEach(async () => {
      await store.close()
      await h.cleanup()
    })

    it('refuses operations when closed, and open/close are idempotent', async () => {
      await store.open()
      await store.close()
      await store.close()
      await expect(store.appendEnvelopes([a.env(DOC, 1)])).rejects.toBeInstanceOf(StoreClosedError)
      await expect(store.listDocuments()).rejects.toMatchObject({ code: 'STORE_CLOSED' })
      await store.open()
    })

    it('round-trips envelopes and hands out copies', async () => {
      const env = a.env(DOC, 1, new Uint8Array([1, 2, 3]))
      await store.appendEnvelopes([env])
      const got = await store.getEnvelope(DOC, a.key, 1)
      expect(got).toEqual(env)
      got!.update[0] = 99
      expect((await store.getEnvelope(DOC, a.key, 1))!.update[0]).toBe(1)
      expect(await store.getEnvelope(DOC, a.key, 2)).toBeUndefined()
      expect(await store.getEnvelope(OTHER, a.key, 1)).toBeUndefined()
    })

    it('keeps data across close and open', async () => {
      await store.appendEnvelopes([a.env(DOC, 1)])
      await store.close()
      await store.open()
      expect(await store.getEnvelope(DOC, a.key, 1)).toEqual(a.env(DOC, 1))
    })

    it('is idempotent for identical envelopes, within and across batches', async () => {
      await store.appendEnvelopes([a.env(DOC, 1), a.env(DOC, 2), a.env(DOC, 1)])
      await store.appendEnvelopes([a.env(DOC, 2), a.env(DOC, 3)])
      await store.appendEnvelopes([])
      await Promise.all([
        store.appendEnvelopes([a.env(DOC, 4)]),
        store.appendEnvelopes([a.env(DOC, 4)]),
      ])
      expect(ids(await store.envelopesSince(DOC, new Map()))).toEqual(
        ids([1, 2, 3, 4].map((s) => a.env(DOC, s))),
      )
      expect((await store.stats()).envelopes).toBe(4)
    })

    it('refuses a different envelope for a stored (doc, writer, seq) and writes none of its batch', async () => {
      await store.appendEnvelopes([a.env(DOC, 1, 'first')])
      const err = await store
        .appendEnvelopes([b.env(DOC, 1), a.env(DOC, 1, 'second')])
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(EquivocationError)
      expect(err).toMatchObject({
        code: 'STORE_EQUIVOCATION',
        docId: DOC,
        writerKey: a.key,
        seq: 1,
      })
      const e = err as EquivocationError
      expect(new TextDecoder().decode(e.first.update)).toBe('first')
      expect(new TextDecoder().decode(e.second.update)).toBe('second')
      expect(await store.getEnvelope(DOC, b.key, 1)).toBeUndefined()
      expect(new TextDecoder().decode((await store.getEnvelope(DOC, a.key, 1))!.update)).toBe(
        'first',
      )
    })

    it('refuses two different envelopes for one seq inside a batch', async () => {
      await expect(
        store.appendEnvelopes([a.env(DOC, 1, 'x'), a.env(DOC, 1, 'y')]),
      ).rejects.toBeInstanceOf(EquivocationError)
      expect(await store.getEnvelope(DOC, a.key, 1)).toBeUndefined()
    })

    it('envelopesSince returns what is above the vector, by writer then seq', async () => {
      const [first, second] = [a, b].sort((x, y) => (x.key < y.key ? -1 : 1)) as [
        typeof a,
        typeof b,
      ]
      // Appended out of order and interleaved, with a gap at second#3.
      await store.appendEnvelopes([second.env(DOC, 2), first.env(DOC, 3), second.env(DOC, 4)])
      await store.appendEnvelopes([
        first.env(DOC, 1),
        second.env(DOC, 1),
        first.env(DOC, 2),
        a.env(OTHER, 1),
      ])
      expect(ids(await store.envelopesSince(DOC, new Map()))).toEqual(
        ids([
          first.env(DOC, 1),
          first.env(DOC, 2),
          first.env(DOC, 3),
          second.env(DOC, 1),
          second.env(DOC, 2),
          second.env(DOC, 4),
        ]),
      )
      const since = await store.envelopesSince(
        DOC,
        new Map([
          [first.key, 2],
          [second.key, 1],
        ]),
      )
      expect(ids(since)).toEqual(ids([first.env(DOC, 3), second.env(DOC, 2), second.env(DOC, 4)]))
      expect(since[0]).toEqual(first.env(DOC, 3))
      expect(
        await store.envelopesSince(
          DOC,
          new Map([
            [first.key, 3],
            [second.key, 4],
          ]),
        ),
      ).toEqual([])
      expect(ids(await store.envelopesSince(DOC, new Map([[first.key, 99]])))).toEqual(
        ids([second.env(DOC, 1), second.env(DOC, 2), second.env(DOC, 4)]),
      )
      expect(await store.envelopesSince('narrative_none', new Map())).toEqual([])
    })

    it('versionVector is the highest contiguous seq per writer', async () => {
      const c = fakeWriter(0xc3)
      await store.appendEnvelopes([a.env(DOC, 1), a.env(DOC, 2), a.env(DOC, 4), a.env(DOC, 5)])
      await store.appendEnvelopes([b.env(DOC, 1), c.env(DOC, 2), c.env(DOC, 3), a.env(OTHER, 7)])
      expect(await store.versionVector(DOC)).toEqual(
        new Map([
          [a.key, 2],
          [b.key, 1],
        ]),
      )
      await store.appendEnvelopes([a.env(DOC, 3)])
      expect((await store.versionVector(DOC)).get(a.key)).toBe(5)
      expect(await store.versionVector(OTHER)).toEqual(new Map())
      expect(await store.versionVector('narrative_none')).toEqual(new Map())
    })

    it('versionVector follows appends that extend, open and fill gaps', async () => {
      await store.appendEnvelopes([a.env(DOC, 1), a.env(DOC, 2)])
      expect(await store.versionVector(DOC)).toEqual(new Map([[a.key, 2]]))
      await store.appendEnvelopes([a.env(DOC, 3), b.env(DOC, 1)])
      expect(await store.versionVector(DOC)).toEqual(
        new Map([
          [a.key, 3],
          [b.key, 1],
        ]),
      )
      await store.appendEnvelopes([a.env(DOC, 5), b.env(DOC, 3)])
      expect(await store.versionVector(DOC)).toEqual(
        new Map([
          [a.key, 3],
          [b.key, 1],
        ]),
      )
      await store.appendEnvelopes([a.env(DOC, 4)])
      expect(await store.versionVector(DOC)).toEqual(
        new Map([
          [a.key, 5],
          [b.key, 1],
        ]),
      )
      await store.appendEnvelopes([b.env(DOC, 2)])
      expect(await store.versionVector(DOC)).toEqual(
        new Map([
          [a.key, 5],
          [b.key, 3],
        ]),
      )
      const [vv] = await Promise.all([
        store.versionVector(DOC),
        store.appendEnvelopes([a.env(DOC, 6)]),
      ])
      expect([5, 6]).toContain(vv.get(a.key))
      expect((await store.versionVector(DOC)).get(a.key)).toBe(6)
      await store.eraseContent(DOC)
      expect(await store.versionVector(DOC)).toEqual(new Map())
      await store.appendEnvelopes([a.env(DOC, 1)])
      expect(await store.versionVector(DOC)).toEqual(new Map([[a.key, 1]]))
    })

    it('stores records idempotently, refuses a different one under the same id, orders by time', async () => {
      const genesis = fakeRecord(DOC, 'genesis', 100)
      const audience = fakeRecord(DOC, 'audience', 50)
      await store.putRecord(genesis, 'id-g')
      await store.putRecord(genesis, 'id-g')
      await store.putRecord(audience, 'id-a')
      await store.putRecord(fakeRecord(OTHER, 'genesis', 1), 'id-o')
      await expect(store.putRecord(fakeRecord(DOC, 'other', 100), 'id-g')).rejects.toBeInstanceOf(
        RecordConflictError,
      )
      expect(await store.records(DOC)).toEqual([
        { id: 'id-a', record: audience },
        { id: 'id-g', record: genesis },
      ])
      expect(await store.records('narrative_none')).toEqual([])
    })

    it('stores and replaces snapshots', async () => {
      expect(await store.getSnapshot(DOC)).toBeUndefined()
      await store.putSnapshot(DOC, { state: new Uint8Array([1]), vv: new Map([[a.key, 1]]) })
      await store.putSnapshot(DOC, {
        state: new Uint8Array([2, 2]),
        vv: new Map([
          [a.key, 3],
          [b.key, 1],
        ]),
      })
      expect(await store.getSnapshot(DOC)).toEqual({
        state: new Uint8Array([2, 2]),
        vv: new Map([
          [a.key, 3],
          [b.key, 1],
        ]),
      })
    })

    it('stores equivocation evidence idempotently', async () => {
      const ev = {
        docId: DOC,
        writerKey: a.key,
        seq: 1,
        first: a.env(DOC, 1, 'x'),
        second: a.env(DOC, 1, 'y'),
      }
      await store.putEquivocation(ev)
      await store.putEquivocation(ev)
      expect(await store.equivocations()).toEqual([ev])
    })

    it('lists documents with their kind', async () => {
      expect(await store.listDocuments()).toEqual([])
      await store.appendEnvelopes([a.env(DOC, 1)])
      await store.putRecord(fakeRecord('roster_cccc', 'genesis', 1), 'r1')
      await store.putSnapshot('profile_dddd', { state: new Uint8Array([1]), vv: new Map() })
      await store.appendEnvelopes([a.env(OTHER, 1)])
      expect(await store.listDocuments()).toEqual([
        { id: OTHER, kind: 'echo' },
        { id: DOC, kind: 'narrative' },
        { id: 'profile_dddd', kind: 'profile' },
        { id: 'roster_cccc', kind: 'roster' },
      ])
      expect((await store.stats()).documents).toBe(4)
    })

    it('eraseContent deletes envelopes, snapshot and evidence, keeps records and other documents', async () => {
      await store.appendEnvelopes([a.env(DOC, 1), a.env(DOC, 2), b.env(DOC, 1), a.env(OTHER, 1)])
      await store.putSnapshot(DOC, { state: new Uint8Array([1]), vv: new Map([[a.key, 2]]) })
      await store.putRecord(fakeRecord(DOC, 'withdrawal', 5), 'w')
      await store.putEquivocation({
        docId: DOC,
        writerKey: a.key,
        seq: 1,
        first: a.env(DOC, 1),
        second: a.env(DOC, 1, 'z'),
      })
      await store.eraseContent(DOC)
      expect(await store.envelopesSince(DOC, new Map())).toEqual([])
      expect(await store.getEnvelope(DOC, a.key, 1)).toBeUndefined()
      expect(await store.versionVector(DOC)).toEqual(new Map())
      expect(await store.getSnapshot(DOC)).toBeUndefined()
      expect(await store.equivocations()).toEqual([])
      expect((await store.records(DOC)).map((r) => r.id)).toEqual(['w'])
      expect(ids(await store.envelopesSince(OTHER, new Map()))).toEqual(ids([a.env(OTHER, 1)]))
      expect((await store.listDocuments()).map((d) => d.id)).toEqual([OTHER, DOC])
      expect((await store.stats()).envelopes).toBe(1)
      // Without records, the document disappears from the list.
      await store.eraseContent(OTHER)
      expect((await store.listDocuments()).map((d) => d.id)).toEqual([DOC])
      await store.eraseContent('narrative_none')
    })

    it('waits for reads in progress before erasing, and stays usable after', async () => {
      await store.appendEnvelopes([a.env(DOC, 1), a.env(DOC, 2)])
      const [before, , after] = await Promise.all([
        store.envelopesSince(DOC, new Map()),
        store.eraseContent(DOC),
        store.envelopesSince(DOC, new Map()),
      ])
      expect(before).toHaveLength(2)
      expect(after).toEqual([])
      await store.appendEnvelopes([a.env(DOC, 1)])
      expect(await store.versionVector(DOC)).toEqual(new Map([[a.key, 1]]))
    })

    it('refuses ids it cannot key', async () => {
      await expect(store.appendEnvelopes([a.env('bad!id', 1)])).rejects.toBeInstanceOf(
        InvalidStoreKeyError,
      )
      await expect(store.appendEnvelopes([a.env(DOC, 0)])).rejects.toMatchObject({
        code: 'STORE_INVALID_KEY',
      })
      await expect(store.getEnvelope(DOC, a.key, 1.5)).rejects.toBeInstanceOf(InvalidStoreKeyError)
      await expect(store.envelopesSince('', new Map())).rejects.toBeInstanceOf(InvalidStoreKeyError)
    })
  })
}
