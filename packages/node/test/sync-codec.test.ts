import { encode } from 'cborg'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { signEnvelope, signRecord, writerKey } from '../src/envelope/sign.js'
import { decodeMessage, encodeMessage, tryDecodeMessage } from '../src/sync/codec.js'
import { bucketOf, differingBuckets, snapshotOf } from '../src/sync/digest.js'
import { SyncDecodeError } from '../src/sync/errors.js'
import { BUCKET_HASH_BYTES, BUCKETS, type SyncMessage } from '../src/sync/messages.js'
import { fakeIdentity } from './helpers/mesh-fake-replication.js'

const me = await fakeIdentity('a')
const wk = writerKey(me.publicKey, me.writerId)
const env = await signEnvelope(me, {
  docId: 'narrative_babc',
  seq: 3,
  update: new Uint8Array([1, 2]),
})
const rec = await signRecord(me, {
  docId: 'narrative_babc',
  kind: 'narrative.genesis',
  payload: new Uint8Array([9]),
  createdAt: 5,
})

const samples: SyncMessage[] = [
  { type: 'hello', version: 1, tribeId: 'roster_bxyz' },
  { type: 'digest', round: 7, count: 10_000, root: new Uint8Array(16).fill(3) },
  { type: 'match', round: 7 },
  { type: 'buckets', round: 7, hashes: new Uint8Array(BUCKETS * BUCKET_HASH_BYTES).fill(1) },
  {
    type: 'vectors',
    round: 9,
    reply: true,
    final: false,
    buckets: [0, 5, 200],
    docs: [
      {
        docId: 'narrative_babc',
        vv: new Map([[wk, 3]]),
        recordIds: ['00'.repeat(32), 'ff'.repeat(32)],
      },
      { docId: 'roster_bq', vv: new Map(), recordIds: [] },
    ],
  },
  { type: 'records', records: [rec] },
  { type: 'envelopes', envelopes: [env, env] },
  { type: 'bye', code: 'VERSION', message: '' },
]

const throwsOnlyTyped = (bytes: Uint8Array) => {
  try {
    decodeMessage(bytes)
  } catch (err) {
    expect(err).toBeInstanceOf(SyncDecodeError)
    expect((err as SyncDecodeError).code).toBe('SYNC_MALFORMED')
  }
}

describe('sync codec', () => {
  it('round-trips every message type', () => {
    for (const m of samples) {
      const bytes = encodeMessage(m)
      const back = decodeMessage(bytes)
      expect(back).toEqual(m)
      expect(encodeMessage(back)).toEqual(bytes)
    }
  })

  it('keeps the in-sync messages tiny', () => {
    expect(encodeMessage(samples[0]!).byteLength).toBeLessThan(40)
    expect(encodeMessage(samples[1]!).byteLength).toBeLessThan(30)
    expect(encodeMessage(samples[2]!).byteLength).toBeLessThan(5)
  })

  it('rejects wrong shapes, unknown types, trailing bytes and unsorted vectors', () => {
    const bad = [
      encode([99, 1]),
      encode([]),
      encode({ a: 1 }),
      encode([0, 1]),
      encode([1, 1, 1, new Uint8Array(15)]),
      encode([4, 1, 0, new Uint8Array([5, 5]), []]),
      encode([4, 1, 8, new Uint8Array(0), []]),
      encode([4, 1, 0, new Uint8Array(0), [['narrative_b', [], new Uint8Array(31)]]]),
      encode([5, [new Uint8Array([1, 2, 3])]]),
      encode([6, [encodeMessage(samples[2]!)]]),
      new Uint8Array([...encodeMessage(samples[2]!), 0]),
      new Uint8Array([0x9f, 0x02, 0x01, 0xff]),
      new Uint8Array([0x83, 0x00, 0x1b, 0, 0, 0, 0, 0, 0, 0, 1, 0x61, 0x61]),
    ]
    for (const b of bad) {
      expect(() => decodeMessage(b)).toThrow(SyncDecodeError)
      expect(tryDecodeMessage(b).ok).toBe(false)
    }
  })

  it('never throws anything but SyncDecodeError on garbage', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => throwsOnlyTyped(bytes)),
      { numRuns: 3000 },
    )
  })

  it('never throws anything but SyncDecodeError on mutated valid frames', () => {
    const frames = samples.map(encodeMessage)
    fc.assert(
      fc.property(
        fc.nat(frames.length - 1),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.nat(),
        (i, edits, cut) => {
          const f = new Uint8Array(frames[i]!)
          for (const [at, v] of edits) f[at % f.length] = v
          throwsOnlyTyped(f)
          throwsOnlyTyped(f.subarray(0, cut % f.length))
        },
      ),
      { numRuns: 3000 },
    )
  })

  it('buckets rules documents before content and finds the buckets that differ', () => {
    expect(bucketOf('roster_babc')).toBeLessThan(32)
    expect(bucketOf('profile_babc')).toBeGreaterThanOrEqual(32)
    expect(bucketOf('profile_babc')).toBeLessThan(128)
    expect(bucketOf('narrative_babc')).toBeGreaterThanOrEqual(128)
    const doc = (docId: string, seq: number) => ({
      docId,
      vv: new Map([[wk, seq]]),
      recordIds: [],
      content: true,
    })
    const a = snapshotOf([doc('narrative_b1', 1), doc('narrative_b2', 1)])
    const b = snapshotOf([doc('narrative_b2', 1), doc('narrative_b1', 1)])
    expect(a.root).toEqual(b.root)
    const c = snapshotOf([doc('narrative_b1', 2), doc('narrative_b2', 1)])
    expect(c.root).not.toEqual(a.root)
    expect(differingBuckets(a.hashes, c.hashes)).toEqual([bucketOf('narrative_b1')])
  })
})
