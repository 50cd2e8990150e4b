import { encode } from 'cborg'
import * as prng from 'lib0/prng'
import { describe, expect, it } from 'vitest'
import {
  type AuthorityRecord,
  boundDocId,
  decodeRecordPayload,
  echoAuthority,
  encodeRecordPayload,
  MAX_AUTHORS,
  narrativeAuthority,
  newBoundDocId,
  profileDocId,
  profileGenesis,
  rosterGenesis,
  type SignedRecord,
  unwrap,
} from '../src/index.js'
import {
  ALICE,
  BOB,
  CAROL,
  DAVE,
  ECHO_1,
  ECHO_NONCE,
  forSeeds,
  NARRATIVE_1,
  NARRATIVE_2,
  NONCE_1,
  NONCE_2,
  TRIBE_A,
} from './helpers.js'

const genesis: AuthorityRecord = {
  v: 1,
  type: 'narrative.genesis',
  narrativeId: NARRATIVE_1,
  tribeId: TRIBE_A,
  creator: ALICE,
  authors: [BOB, ALICE],
  audience: { kind: 'circle', members: [CAROL, BOB] },
  nonce: NONCE_1,
  createdAt: 10,
}

const TRIBE_NONCE = 'btribenonce'
const ALICE_TRIBE = boundDocId('roster', ALICE, TRIBE_NONCE)
const rosterGenesisRecord: AuthorityRecord = {
  v: 1,
  type: 'roster.genesis',
  tribeId: ALICE_TRIBE,
  founder: ALICE,
  name: 'Riverside',
  nonce: TRIBE_NONCE,
  createdAt: 5,
}
const profileGenesisRecord: AuthorityRecord = {
  v: 1,
  type: 'profile.genesis',
  profileId: profileDocId(TRIBE_A, BOB),
  tribeId: TRIBE_A,
  member: BOB,
  createdAt: 6,
}

const all: AuthorityRecord[] = [
  genesis,
  {
    v: 1,
    type: 'narrative.audience',
    narrativeId: NARRATIVE_1,
    member: BOB,
    audience: { kind: 'tribe' },
    at: 11,
  },
  { v: 1, type: 'narrative.coauthor', narrativeId: NARRATIVE_1, member: CAROL, at: 12 },
  { v: 1, type: 'narrative.withdraw', narrativeId: NARRATIVE_1, by: BOB, at: 13 },
  {
    v: 1,
    type: 'echo.genesis',
    echoId: ECHO_1,
    narrativeId: NARRATIVE_1,
    responder: BOB,
    nonce: ECHO_NONCE,
    createdAt: 14,
  },
  {
    v: 1,
    type: 'echo.genesis',
    echoId: ECHO_1,
    narrativeId: NARRATIVE_1,
    responder: BOB,
    audience: { kind: 'private' },
    nonce: ECHO_NONCE,
    createdAt: 14,
  },
  { v: 1, type: 'erasure.receipt', docId: NARRATIVE_1, member: CAROL, at: 15 },
  rosterGenesisRecord,
  profileGenesisRecord,
]

describe('record encoding', () => {
  it.each(all.map((r) => [r.type, r] as const))('%s round-trips canonically', (_t, record) => {
    const bytes = encodeRecordPayload(record)
    const back = unwrap(decodeRecordPayload(bytes))
    expect(encodeRecordPayload(back)).toEqual(bytes)
    expect(Object.isFrozen(back)).toBe(true)
  })

  it('normalizes id arrays: same record, same bytes', () => {
    const other = {
      ...genesis,
      authors: [ALICE, BOB, ALICE],
      audience: { kind: 'circle', members: [BOB, CAROL] },
    } as AuthorityRecord
    expect(encodeRecordPayload(other)).toEqual(encodeRecordPayload(genesis))
  })

  it('rejects non-canonical bytes (key order, unsorted arrays, non-minimal ints)', () => {
    const canonical = encodeRecordPayload(genesis)
    // RFC 7049 length-first key order (cborg's default) differs from RFC 8949 bytewise order
    expect(decodeRecordPayload(encode({ ...genesis, authors: [ALICE, BOB].sort() }))).toMatchObject(
      { ok: false },
    )
    const unsorted = encode(
      { ...genesis, authors: [ALICE, BOB].sort().reverse() },
      { mapSorter: undefined },
    )
    expect(decodeRecordPayload(unsorted).ok).toBe(false)
    // non-minimal integer: `at: 10` written as 0x18 0x0a instead of 0x0a
    const receipt = encodeRecordPayload(all[6]!)
    const at = receipt.findIndex(
      (b, k) => b === 0x62 && receipt[k + 1] === 0x61 && receipt[k + 2] === 0x74,
    )
    expect(receipt[at + 3]).toBe(15)
    const bad = new Uint8Array([...receipt.slice(0, at + 3), 0x18, 15, ...receipt.slice(at + 4)])
    expect(decodeRecordPayload(bad)).toMatchObject({
      ok: false,
      error: { code: 'ERR_INVALID_RECORD' },
    })
    expect(decodeRecordPayload(new Uint8Array([...canonical, 0]))).toMatchObject({ ok: false })
  })

  it.each<[string, unknown, string]>([
    ['future record version', { ...genesis, v: 2 }, 'ERR_FUTURE_SCHEMA_VERSION'],
    ['unknown type', { v: 1, type: 'narrative.pin', narrativeId: NARRATIVE_1 }, 'ERR_UNKNOWN_KIND'],
    ['creator not an author', { ...genesis, authors: [BOB] }, 'ERR_SCHEMA_VALIDATION'],
    [
      'too many authors',
      { ...genesis, authors: Array.from({ length: MAX_AUTHORS + 1 }, () => ALICE) },
      'ERR_OVERSIZED',
    ],
    ['bad member id', { ...genesis, creator: 'alice' }, 'ERR_SCHEMA_VALIDATION'],
    ['genesis without nonce', withoutNonce(genesis), 'ERR_SCHEMA_VALIDATION'],
    ['empty nonce', { ...genesis, nonce: '' }, 'ERR_SCHEMA_VALIDATION'],
    ['nonce too long', { ...genesis, nonce: 'b'.repeat(65) }, 'ERR_OVERSIZED'],
    ['echo without nonce', withoutNonce(all[4]!), 'ERR_SCHEMA_VALIDATION'],
    [
      'roster genesis with a bad tribe id',
      { ...rosterGenesisRecord, tribeId: NARRATIVE_1 },
      'ERR_SCHEMA_VALIDATION',
    ],
    [
      'profile genesis with a bad profile id',
      { ...profileGenesisRecord, profileId: TRIBE_A },
      'ERR_SCHEMA_VALIDATION',
    ],
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
    {
      signer: CAROL,
      record: {
        v: 1,
        type: 'narrative.audience',
        narrativeId: NARRATIVE_1,
        member: CAROL,
        audience: { kind: 'federated' },
        at: 20,
      },
    },
    {
      signer: DAVE,
      record: { v: 1, type: 'narrative.withdraw', narrativeId: NARRATIVE_1, by: DAVE, at: 5 },
    }, // not an author
    {
      signer: ALICE,
      record: { ...genesis, narrativeId: NARRATIVE_2, nonce: NONCE_2 } as AuthorityRecord,
    }, // other narrative
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
    expect(a.ignored.map((i) => i.reason).sort()).toEqual([
      'not-an-author',
      'other-document',
      'wrong-signer',
    ])
  })

  it('is independent of arrival order', () => {
    const expected = JSON.stringify(
      unwrap(narrativeAuthority(signed, { narrativeId: NARRATIVE_1 })),
    )
    forSeeds(50, (seed) => {
      const gen = prng.create(seed)
      const shuffled = [...signed]
      for (let i = shuffled.length - 1; i > 0; i--) {
        const j = prng.int32(gen, 0, i)
        ;[shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!]
      }
      expect(
        JSON.stringify(unwrap(narrativeAuthority(shuffled, { narrativeId: NARRATIVE_1 }))),
      ).toBe(expected)
    })
  })

  it('co-author chains resolve whatever the order', () => {
    const g: AuthorityRecord = { ...genesis, authors: [ALICE] } as AuthorityRecord
    const chain: SignedRecord[] = [
      {
        signer: CAROL,
        record: { v: 1, type: 'narrative.coauthor', narrativeId: NARRATIVE_1, member: DAVE, at: 1 },
      },
      {
        signer: ALICE,
        record: {
          v: 1,
          type: 'narrative.coauthor',
          narrativeId: NARRATIVE_1,
          member: CAROL,
          at: 30,
        },
      },
      { signer: ALICE, record: g },
    ]
    expect(unwrap(narrativeAuthority(chain)).authors).toEqual([ALICE, CAROL, DAVE].sort())
  })

  it('withdrawal and missing genesis', () => {
    const a = unwrap(
      narrativeAuthority([...signed, { signer: BOB, record: all[3]! }], {
        narrativeId: NARRATIVE_1,
      }),
    )
    expect(a).toMatchObject({ status: 'withdrawn', withdrawnAt: 13, withdrawnBy: BOB })
    expect(narrativeAuthority([{ signer: BOB, record: genesis }])).toMatchObject({
      ok: false,
      error: { code: 'ERR_MISSING_GENESIS' },
    })
  })

  it('an author without an audience statement uses the given default, else private', () => {
    const recs: SignedRecord[] = [{ signer: ALICE, record: genesis }]
    expect(unwrap(narrativeAuthority(recs)).audienceByAuthor[BOB]).toEqual({ kind: 'private' })
    const withDefault = unwrap(
      narrativeAuthority(recs, { defaultAudience: () => ({ kind: 'tribe' }) }),
    )
    expect(withDefault.audienceByAuthor[BOB]).toEqual({ kind: 'tribe' })
  })

  it('echo authority needs the responder signature', () => {
    expect(echoAuthority([{ signer: ALICE, record: all[4]! }]).ok).toBe(false)
    expect(unwrap(echoAuthority([{ signer: BOB, record: all[5]! }]))).toMatchObject({
      responder: BOB,
      audience: { kind: 'private' },
    })
  })
})

describe('bound ids: a genesis counts only for its creator', () => {
  // BOB signs a genesis of his own for ALICE's narrative id; it sorts first (earlier).
  const hijack: SignedRecord = {
    signer: BOB,
    record: {
      ...genesis,
      creator: BOB,
      authors: [BOB],
      audience: { kind: 'federated' },
      createdAt: 1,
    } as AuthorityRecord,
  }
  const real: SignedRecord = { signer: ALICE, record: genesis }

  it('another member cannot take over a narrative, even sorting first', () => {
    for (const opts of [{}, { narrativeId: NARRATIVE_1 }]) {
      const a = unwrap(narrativeAuthority([hijack, real], opts))
      expect(a.creator).toBe(ALICE)
      expect(a.authors).toEqual([ALICE, BOB].sort())
      expect(a.audienceByAuthor[ALICE]).toEqual({ kind: 'circle', members: [BOB, CAROL].sort() })
      expect(a.ignored).toEqual([{ ...hijack, reason: 'unbound-id' }])
    }
    expect(narrativeAuthority([hijack])).toMatchObject({
      ok: false,
      error: { code: 'ERR_MISSING_GENESIS' },
    })
  })

  it('the creator with a different nonce does not match the id either', () => {
    const otherNonce: SignedRecord = {
      signer: ALICE,
      record: { ...genesis, nonce: 'bothernonce', createdAt: 1 } as AuthorityRecord,
    }
    expect(narrativeAuthority([otherNonce]).ok).toBe(false)
    const a = unwrap(narrativeAuthority([otherNonce, real]))
    expect(a.createdAt).toBe(10)
    expect(a.ignored.map((i) => i.reason)).toEqual(['unbound-id'])
  })

  it('a fresh bound id works for its creator only', () => {
    const { id, nonce } = newBoundDocId('narrative', CAROL)
    const record = { ...genesis, narrativeId: id, creator: CAROL, authors: [CAROL], nonce }
    expect(unwrap(narrativeAuthority([{ signer: CAROL, record }])).creator).toBe(CAROL)
    const stolen = { ...record, creator: DAVE, authors: [DAVE] }
    expect(narrativeAuthority([{ signer: DAVE, record: stolen }]).ok).toBe(false)
  })

  it('echoes: another responder cannot take over, even sorting first', () => {
    const hijackEcho: SignedRecord = {
      signer: DAVE,
      record: { ...all[4]!, responder: DAVE, createdAt: 1 } as AuthorityRecord,
    }
    const realEcho: SignedRecord = { signer: BOB, record: all[4]! }
    expect(echoAuthority([hijackEcho]).ok).toBe(false)
    expect(unwrap(echoAuthority([hijackEcho, realEcho], { echoId: ECHO_1 })).responder).toBe(BOB)
    const otherNonce: SignedRecord = {
      signer: BOB,
      record: { ...all[4]!, nonce: 'bother', createdAt: 1 } as AuthorityRecord,
    }
    expect(echoAuthority([otherNonce]).ok).toBe(false)
  })
})

describe('rosterGenesis', () => {
  const valid: SignedRecord = { signer: ALICE, record: rosterGenesisRecord }

  it('accepts the founder-signed genesis bound to the tribe id', () => {
    expect(unwrap(rosterGenesis([valid]))).toEqual({
      tribeId: ALICE_TRIBE,
      founder: ALICE,
      name: 'Riverside',
      createdAt: 5,
    })
    expect(unwrap(rosterGenesis([valid], { tribeId: ALICE_TRIBE })).founder).toBe(ALICE)
    expect(rosterGenesis([valid], { tribeId: TRIBE_A }).ok).toBe(false)
  })

  it('wrong signer, unbound id, other nonce, missing', () => {
    const wrongSigner: SignedRecord = { signer: BOB, record: rosterGenesisRecord }
    const unbound: SignedRecord = {
      signer: BOB,
      record: {
        ...rosterGenesisRecord,
        founder: BOB,
        name: 'Mine',
        createdAt: 1,
      } as AuthorityRecord,
    }
    const otherNonce: SignedRecord = {
      signer: ALICE,
      record: { ...rosterGenesisRecord, nonce: 'bother', createdAt: 1 } as AuthorityRecord,
    }
    for (const bad of [wrongSigner, unbound, otherNonce]) {
      expect(rosterGenesis([bad])).toMatchObject({
        ok: false,
        error: { code: 'ERR_MISSING_GENESIS' },
      })
      // even sorting first, it cannot take over
      expect(unwrap(rosterGenesis([bad, valid], { tribeId: ALICE_TRIBE }))).toMatchObject({
        founder: ALICE,
        name: 'Riverside',
      })
    }
    expect(rosterGenesis([])).toMatchObject({ ok: false, error: { code: 'ERR_MISSING_GENESIS' } })
    expect(rosterGenesis([real()]).ok).toBe(false) // other record types do not count
  })

  it('several valid geneses: deterministic, whatever the order', () => {
    const renamed: SignedRecord = {
      signer: ALICE,
      record: { ...rosterGenesisRecord, name: 'Riverbank' } as AuthorityRecord,
    }
    const a = unwrap(rosterGenesis([valid, renamed]))
    expect(unwrap(rosterGenesis([renamed, valid]))).toEqual(a)
  })
})

describe('profileGenesis', () => {
  const profileId = profileDocId(TRIBE_A, BOB)
  const valid: SignedRecord = { signer: BOB, record: profileGenesisRecord }

  it('accepts the member-signed genesis of their own profile id', () => {
    expect(unwrap(profileGenesis([valid], { profileId }))).toEqual({
      profileId,
      tribeId: TRIBE_A,
      member: BOB,
      createdAt: 6,
    })
    expect(profileGenesis([valid], { profileId: profileDocId(TRIBE_A, ALICE) }).ok).toBe(false)
  })

  it('wrong signer, unbound id, missing', () => {
    const wrongSigner: SignedRecord = { signer: ALICE, record: profileGenesisRecord }
    const unbound: SignedRecord = {
      signer: CAROL,
      record: { ...profileGenesisRecord, member: CAROL, createdAt: 1 } as AuthorityRecord,
    }
    const otherTribe: SignedRecord = {
      signer: BOB,
      record: { ...profileGenesisRecord, tribeId: ALICE_TRIBE, createdAt: 1 } as AuthorityRecord,
    }
    for (const bad of [wrongSigner, unbound, otherTribe]) {
      expect(profileGenesis([bad])).toMatchObject({
        ok: false,
        error: { code: 'ERR_MISSING_GENESIS' },
      })
      expect(unwrap(profileGenesis([bad, valid], { profileId })).member).toBe(BOB)
    }
    expect(profileGenesis([])).toMatchObject({ ok: false, error: { code: 'ERR_MISSING_GENESIS' } })
  })
})

function withoutNonce(record: AuthorityRecord): Record<string, unknown> {
  const { nonce: _, ...rest } = record as AuthorityRecord & { nonce?: string }
  return rest
}

function real(): SignedRecord {
  return { signer: ALICE, record: genesis }
}
