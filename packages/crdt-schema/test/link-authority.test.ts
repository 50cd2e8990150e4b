import * as prng from 'lib0/prng'
import { describe, expect, it } from 'vitest'
import {
  type AuthorityRecord,
  boundDocId,
  decodeRecordPayload,
  encodeRecordPayload,
  foldRoster,
  isLinkActive,
  linkAuthority,
  mayReceive,
  type SignedRecord,
} from '../src/index.js'
import { ALICE, BOB, CAROL, DAVE, NARRATIVE_1, TRIBE_A, TRIBE_B } from './helpers.js'

const TRIBE_C = 'roster_bccccccccccccccccccccccccca'
const LINK = boundDocId('link', ALICE, 'blinknonce')
const A = { id: TRIBE_A, name: 'River' }
const B = { id: TRIBE_B, name: 'Hill' }
const C = { id: TRIBE_C, name: 'Dale' }
const terms = ['echoes', 'narratives'] as const

const genesis = (over: Partial<Record<string, unknown>> = {}): SignedRecord => ({
  signer: ALICE,
  record: {
    v: 1,
    type: 'link.genesis',
    linkId: LINK,
    tribe: A,
    terms: [...terms],
    proposer: ALICE,
    keyHash: 'ab'.repeat(32),
    expiresAt: 10_000,
    nonce: 'blinknonce',
    createdAt: 100,
    ...over,
  } as AuthorityRecord,
})
const accept = (
  signer: string,
  tribeId: string,
  tribeB = B,
  at = 200,
  t: readonly string[] = terms,
): SignedRecord => ({
  signer,
  record: {
    v: 1,
    type: 'link.accept',
    linkId: LINK,
    tribeA: A,
    tribeB,
    terms: [...t],
    tribeId,
    steward: signer,
    at,
  } as AuthorityRecord,
})
const end = (signer: string, tribeId: string, at = 300): SignedRecord => ({
  signer,
  record: { v: 1, type: 'link.end', linkId: LINK, tribeId, steward: signer, at },
})

function roster(tribeId: string, stewards: string[], members: string[] = []) {
  const entry = (role: 'steward' | 'member') => ({
    name: '',
    role,
    joinedAt: 1,
    admittedBy: stewards[0]!,
    invitationId: null,
  })
  return foldRoster({
    tribeId,
    name: tribeId,
    createdAt: 1,
    createdBy: stewards[0]!,
    members: Object.fromEntries([
      ...stewards.map((m) => [m, entry('steward')] as const),
      ...members.map((m) => [m, entry('member')] as const),
    ]),
    removals: [],
    epochs: [],
    revokedInvitations: {},
    schemaVersion: 1,
  })
}

describe('federation link records', () => {
  it('encode canonically (terms sorted) and round-trip', () => {
    for (const r of [genesis(), accept(BOB, TRIBE_B), end(BOB, TRIBE_B)]) {
      const bytes = encodeRecordPayload(r.record)
      const back = decodeRecordPayload(bytes)
      expect(back.ok).toBe(true)
    }
    const unsorted = genesis({ terms: ['narratives', 'echoes'] }).record
    const decoded = decodeRecordPayload(encodeRecordPayload(unsorted))
    expect(decoded.ok && decoded.value.type === 'link.genesis' && decoded.value.terms).toEqual([
      'echoes',
      'narratives',
    ])
    const self = { ...accept(BOB, TRIBE_B).record, tribeB: A }
    expect(() => encodeRecordPayload(self)).toThrow()
  })

  it('a link is active only with an acceptance from each tribe naming the same pair and terms', () => {
    const proposed = linkAuthority([genesis()], { linkId: LINK })
    expect(proposed.ok && proposed.value.link).toBeUndefined()
    const half = linkAuthority([genesis(), accept(BOB, TRIBE_B)], { linkId: LINK })
    expect(half.ok && half.value.link).toMatchObject({ tribeB: B, accepted: false, active: false })
    const full = linkAuthority([genesis(), accept(BOB, TRIBE_B), accept(ALICE, TRIBE_A)])
    expect(full.ok && full.value.link).toMatchObject({
      linkId: LINK,
      tribeA: A,
      tribeB: B,
      terms: ['echoes', 'narratives'],
      accepted: true,
      active: true,
    })
    const otherTerms = linkAuthority([
      genesis(),
      accept(BOB, TRIBE_B, B, 200, ['narratives']),
      accept(ALICE, TRIBE_A, B, 200, ['narratives']),
    ])
    expect(otherTerms.ok && otherTerms.value.link).toBeUndefined()
    const forged = linkAuthority([genesis(), { ...accept(BOB, TRIBE_B), signer: CAROL }])
    expect(forged.ok && forged.value.link).toBeUndefined()
    // Nobody but the proposer can sign a genesis under an id bound to the proposer.
    expect(linkAuthority([{ ...genesis(), signer: BOB }]).ok).toBe(false)
    expect(linkAuthority([genesis({ nonce: 'bother' })]).ok).toBe(false)
  })

  it('two tribes accepting one offer: the one tribe A countersigned wins, whatever the order', () => {
    const records = [
      genesis(),
      accept(CAROL, TRIBE_C, C, 150),
      accept(BOB, TRIBE_B, B, 200),
      accept(ALICE, TRIBE_A, B, 250),
      end(DAVE, TRIBE_B),
    ]
    const gen = prng.create(7)
    let first: string | undefined
    for (let i = 0; i < 20; i++) {
      const shuffled = [...records]
      for (let j = shuffled.length - 1; j > 0; j--) {
        const k = prng.uint32(gen, 0, j)
        ;[shuffled[j], shuffled[k]] = [shuffled[k]!, shuffled[j]!]
      }
      const r = linkAuthority(shuffled, { wasSteward: (_t, m) => m !== DAVE })
      expect(r.ok && r.value.link?.tribeB).toEqual(B)
      expect(r.ok && r.value.link?.active).toBe(true)
      const json = JSON.stringify(r.ok && r.value)
      first ??= json
      expect(json).toBe(first)
    }
  })

  it('an end by a steward of either tribe is final; consent follows the link', () => {
    const rosters = [roster(TRIBE_A, [ALICE], [CAROL]), roster(TRIBE_B, [BOB], [DAVE])]
    const linked = [genesis(), accept(BOB, TRIBE_B), accept(ALICE, TRIBE_A)]
    const active = linkAuthority(linked)
    if (!active.ok || !active.value.link) throw new Error('no link')
    expect(isLinkActive(active.value.link, (t) => rosters.find((r) => r.tribeId === t))).toBe(true)
    const authority = {
      narrativeId: NARRATIVE_1,
      tribeId: TRIBE_A,
      creator: CAROL,
      createdAt: 1,
      authors: [CAROL],
      audienceByAuthor: { [CAROL]: { kind: 'federated' as const } },
      audienceHistory: [],
      effectiveAudience: { kind: 'federated' as const },
      status: 'published' as const,
      ignored: [],
    }
    const doc = { kind: 'narrative' as const, authority }
    expect(mayReceive(DAVE, doc, { rosters, links: [active.value.link] }).allowed).toBe(true)
    expect(mayReceive(DAVE, doc, { rosters }).allowed).toBe(false)
    const tribeOnly = {
      ...doc,
      authority: { ...authority, audienceByAuthor: { [CAROL]: { kind: 'tribe' as const } } },
    }
    expect(mayReceive(DAVE, tribeOnly, { rosters, links: [active.value.link] }).allowed).toBe(false)

    const ended = linkAuthority([...linked, end(BOB, TRIBE_B)])
    if (!ended.ok || !ended.value.link) throw new Error('no link')
    expect(ended.value.link.active).toBe(false)
    expect(ended.value.ended).toEqual({ steward: BOB, at: 300 })
    expect(mayReceive(DAVE, doc, { rosters, links: [ended.value.link] }).allowed).toBe(false)
  })
})
