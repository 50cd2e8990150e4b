import { encode } from 'cborg'
import * as prng from 'lib0/prng'
import { describe, expect, it } from 'vitest'
import {
  type AuthorityRecord,
  decodeRecordPayload,
  echoAuthority,
  encodeRecordPayload,
  MAX_AUTHORS,
  narrativeAuthority,
  type SignedRecord,
  unwrap,
} from '../src/index.js'
import { ALICE, BOB, CAROL, DAVE, ECHO_1, forSeeds, NARRATIVE_1, NARRATIVE_2, TRIBE_A } from './helpers.js'

const genesis: AuthorityRecord = {
  v: 1,
  type: 'narrative.genesis',
  narrativeId: NARRATIVE_1,
  tribeId: TRIBE_A,
  creator: ALICE,
  authors: [BOB, ALICE],
  audience: { kind: 'circle', members: [CAROL, BOB] },
  createdAt: 10,
}

const all: AuthorityRecord[] = [
  genesis,
  { v: 1, type: 'narrative.audience', narrativeId: NARRATIVE_1, member: BOB, audience: { kind: 'tribe' }, at: 11 },
  { v: 1, type: 'narrative.coauthor', narrativeId: NARRATIVE_1, member: CAROL, at: 12 },
  { v: 1, type: 'narrative.withdraw', narrativeId: NARRATIVE_1, by: BOB, at: 13 },
  { v: 1, type: 'echo.genesis', echoId: ECHO_1, narrativeId: NARRATIVE_1, responder: DAVE, createdAt: 14 },
  { v: 1, type: 'echo.genesis', echoId: ECHO_1, narrativeId: NARRATIVE_1, responder: DAVE, audience: { kind: 'private' }, createdAt: 14 },
  { v: 1, type: 'erasure.receipt', docId: NARRATIVE_1, member: CAROL, at: 15 },
]

describe('record encoding', () => {
  it.each(all.map((r) => [r.type, r] as const))('%s round-trips canonically', (_t, record) => {
    const bytes = encodeRecordPayload(record)
    const back = unwrap(decodeRecordPayload(bytes))
    expect(encodeRecordPayload(back)).toEqual(bytes)
    expect(Object.isFrozen(back)).toBe(true)
  })

  it('normalizes id arrays: same record, same bytes', () => {
    const other = { ...genesis, authors: [ALICE, BOB, ALICE], audience: { kind: 'circle', members: [BOB, CAROL] } } as AuthorityRecord
    expect(encodeRecordPayload(other)).toEqual(encodeRecordPayload(genesis))
  })

  it('rejects non-canonical bytes (key order, unsorted arrays, non-minimal ints)', () => {
    const canonical = encodeRecordPayload(genesis)
    // RFC 7049 length-first key order (cborg's default) differs from RFC 8949 bytewise order
    expect(decodeRecordPayload(encode({ ...genesis, authors: [ALICE, BOB].sort() }))).toMatchObject({ ok: false })
    const unsorted = encode({ ...genesis, authors: [ALICE, BOB].sort().reverse() }, { mapSorter: undefined })
    expect(decodeRecordPayload(unsorted).ok).toBe(false)
    // non-minimal integer: re-encode createdAt=10 as 0x18 0x0a instead of 0x0a
    const i = canonical.findIndex((b, k) => b === 0x0a && canonical[k - 1] !== undefined && k > canonical.length - 4)
    if (i > 0) {
      const bad = new Uint8Array([...canonical.slice(0, i), 0x18, 0x0a, ...canonical.slice(i + 1)])
      expect(decodeRecordPayload(bad).ok).toBe(false)
    }
    expect(decodeRecordPayload(new Uint8Array([...canonical, 0]))).toMatchObject({ ok: false })
  })

  it.each<[string, unknown, string]>([
    ['future record version', { ...genesis, v: 2 }, 'ERR_FUTURE_SCHEMA_VERSION'],
    ['unknown type', { v: 1, type: 'narrative.pin', narrativeId: NARRATIVE_1 }, 'ERR_UNKNOWN_KIND'],
    ['creator not an author', { ...genesis, authors: [BOB] }, 'ERR_SCHEMA_VALIDATION'],
    ['too many authors', { ...genesis, authors: Array.from({ length: MAX_AUTHORS + 1 }, () => ALICE) }, 'ERR_OVERSIZED'],
    ['bad member id', { ...genesis, creator: 'alice' }, 'ERR_SCHEMA_VALIDATION'],
    ['not a map', [1, 2, 3], 'ERR_INVALID_RECORD'],
  ])('%s', (_name, value, code) => {
    const r = decodeRecordPayload(encode(value as never))
    expect(r).toMatchObject({ ok: false, error: { code } })
  })

  it('garbage bytes never throw', () => {
    forSeeds(300, (seed) => {
      const gen = prng.create(seed)
      const bytes = prng.uint8Array(gen, prng.int32(gen, 0, 80))
      expect(() => decodeRecordPayload(bytes)).not.toThrow()
      expect(decodeRecordPayload(bytes).ok).toBe(false)
    })
  })

  it('encoding an invalid local record throws a typed error', () => {
    expect(() => encodeRecordPayload({ ...genesis, creator: 'x' } as AuthorityRecord)).toThrow(
      expect.objectContaining({ code: 'ERR_SCHEMA_VALIDATION' }),
    )
  })
})

describe('narrativeAuthority', () => {
  const signed: SignedRecord[] = [
    { signer: ALICE, record: genesis },
    { signer: BOB, record: all[1]! },
    { signer: BOB, record: all[2]! }, // BOB (an author) adds CAROL
    { signer: CAROL, record: { v: 1, type: 'narrative.audience', narrativeId: NARRATIVE_1, member: CAROL, audience: { kind: 'federated' }, at: 20 } },
    { signer: DAVE, record: { v: 1, type: 'narrative.withdraw', narrativeId: NARRATIVE_1, by: DAVE, at: 5 } }, // not an author
    { signer: ALICE, record: { ...genesis, narrativeId: NARRATIVE_2 } as AuthorityRecord }, // other narrative
    { signer: BOB, record: { ...genesis, createdAt: 1 } as AuthorityRecord }, // forged genesis: wrong signer
  ]

  it('folds authors, consent and status; ignores records signed by the wrong member', () => {
    const a = unwrap(narrativeAuthority(signed, { narrativeId: NARRATIVE_1 }))
    expect(a.creator).toBe(ALICE)
    expect(a.authors).toEqual([ALICE, BOB, CAROL].sort())
    expect(a.audienceByAuthor[BOB]).toEqual({ kind: 'tribe' })
    expect(a.audienceByAuthor[CAROL]).toEqual({ kind: 'federated' })
    expect(a.effectiveAudience).toEqual({ kind: 'circle', members: [BOB, CAROL].sort() })
    expect(a.status).toBe('published')
    expect(a.ignored.map((i) => i.reason).sort()).toEqual(['not-an-author', 'other-document', 'wrong-signer'])
  })

  it('is independent of arrival order', () => {
    const expected = JSON.stringify(unwrap(narrativeAuthority(signed, { narrativeId: NARRATIVE_1 })))
    forSeeds(50, (seed) => {
      const gen = prng.create(seed)
      const shuffled = [...signed]
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = prng.int32(gen, 0, i)
        ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
      }
      expect(JSON.stringify(unwrap(narrativeAuthority(shuffled, { narrativeId: NARRATIVE_1 })))).toBe(expected)
    })
  })

  it('co-author chains resolve whatever the order', () => {
    const g: AuthorityRecord = { ...genesis, authors: [ALICE] } as AuthorityRecord
    const chain: SignedRecord[] = [
      { signer: CAROL, record: { v: 1, type: 'narrative.coauthor', narrativeId: NARRATIVE_1, member: DAVE, at: 1 } },
      { signer: ALICE, record: { v: 1, type: 'narrative.coauthor', narrativeId: NARRATIVE_1, member: CAROL, at: 30 } },
      { signer: ALICE, record: g },
    ]
    expect(unwrap(narrativeAuthority(chain)).authors).toEqual([ALICE, CAROL, DAVE].sort())
  })

  it('withdrawal and missing genesis', () => {
    const a = unwrap(narrativeAuthority([...signed, { signer: BOB, record: all[3]! }], { narrativeId: NARRATIVE_1 }))
    expect(a).toMatchObject({ status: 'withdrawn', withdrawnAt: 13, withdrawnBy: BOB })
    expect(narrativeAuthority([{ signer: BOB, record: genesis }])).toMatchObject({
      ok: false,
      error: { code: 'ERR_MISSING_GENESIS' },
    })
  })

  it('an author without an audience statement uses the given default, else private', () => {
    const recs: SignedRecord[] = [{ signer: ALICE, record: genesis }]
    expect(unwrap(narrativeAuthority(recs)).audienceByAuthor[BOB]).toEqual({ kind: 'private' })
    const withDefault = unwrap(narrativeAuthority(recs, { defaultAudience: () => ({ kind: 'tribe' }) }))
    expect(withDefault.audienceByAuthor[BOB]).toEqual({ kind: 'tribe' })
  })

  it('echo authority needs the responder signature', () => {
    expect(echoAuthority([{ signer: ALICE, record: all[4]! }]).ok).toBe(false)
    expect(unwrap(echoAuthority([{ signer: DAVE, record: all[5]! }]))).toMatchObject({
      responder: DAVE,
      audience: { kind: 'private' },
    })
  })
})
