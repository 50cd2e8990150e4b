import { createHash } from 'node:crypto'
import { base32 } from 'multiformats/bases/base32'
import { describe, expect, it } from 'vitest'
import {
  boundDocId,
  DOC_KINDS,
  formatAudience,
  intersectAudience,
  isDocId,
  isMemberId,
  isTribeId,
  newBoundDocId,
  newDocId,
  newNonce,
  parseAudience,
  parseDocId,
  profileDocId,
  unwrap,
} from '../src/index.js'
import { ALICE, BOB, TRIBE_A, TRIBE_B } from './helpers.js'

describe('document ids', () => {
  it('new ids say their kind, are unique and parse back', () => {
    for (const kind of DOC_KINDS) {
      const ids = new Set(Array.from({ length: 100 }, () => newDocId(kind)))
      expect(ids.size).toBe(100)
      for (const id of ids) {
        expect(id).toMatch(new RegExp(`^${kind}_b[a-z2-7]{26}$`))
        expect(parseDocId(id)).toEqual({ ok: true, value: { kind, id } })
      }
    }
  })

  it.each([
    ['', 'ERR_INVALID_ID'],
    ['narrative', 'ERR_INVALID_ID'],
    ['narrative_', 'ERR_INVALID_ID'],
    ['narrative_baaaa', 'ERR_INVALID_ID'],
    ['narrative_zaaaaaaaaaaaaaaaaaaaaaaaaaa', 'ERR_INVALID_ID'],
    ['narrative_bAAAAAAAAAAAAAAAAAAAAAAAAAA', 'ERR_INVALID_ID'],
    ['narrative_bbbbbbbbbbbbbbbbbbbbbbbbbbb', 'ERR_INVALID_ID'], // non-zero padding bits
    [`narrative_b${'a'.repeat(26)}x`, 'ERR_INVALID_ID'],
    ['poll_baaaaaaaaaaaaaaaaaaaaaaaaaa', 'ERR_UNKNOWN_KIND'],
    [`${'x'.repeat(100)}_baaaaaaaaaaaaaaaaaaaaaaaaaa`, 'ERR_INVALID_ID'],
  ])('rejects %j', (input, code) => {
    const r = parseDocId(input)
    expect(r.ok).toBe(false)
    if (!r.ok) expect(r.error.code).toBe(code)
  })

  it('rejects non-strings', () => {
    for (const x of [undefined, null, 1, {}, ['roster']]) expect(parseDocId(x).ok).toBe(false)
  })

  it('profile ids are deterministic per tribe and member', () => {
    const id = profileDocId(TRIBE_A, ALICE)
    expect(profileDocId(TRIBE_A, ALICE)).toBe(id)
    expect(parseDocId(id)).toMatchObject({ ok: true, value: { kind: 'profile' } })
    expect(profileDocId(TRIBE_B, ALICE)).not.toBe(id)
    expect(profileDocId(TRIBE_A, BOB)).not.toBe(id)
  })

  it('bound ids: SHA-256 of domain, kind, creator and nonce; differ by each', () => {
    const hash = createHash('sha256')
      .update(`tapestry/doc-id/v1\u0000narrative\u0000${ALICE}\u0000bnonce`)
      .digest()
    const id = boundDocId('narrative', ALICE, 'bnonce')
    expect(id).toBe(`narrative_${base32.encode(hash.subarray(0, 16))}`)
    expect(parseDocId(id)).toMatchObject({ ok: true, value: { kind: 'narrative' } })
    expect(boundDocId('narrative', ALICE, 'bnonce')).toBe(id)
    expect(boundDocId('echo', ALICE, 'bnonce')).not.toBe(id.replace('narrative', 'echo'))
    expect(boundDocId('narrative', BOB, 'bnonce')).not.toBe(id)
    expect(boundDocId('narrative', ALICE, 'bnonce2')).not.toBe(id)
  })

  it('new bound ids and nonces', () => {
    expect(newNonce()).toMatch(/^b[a-z2-7]{26}$/)
    expect(newNonce()).not.toBe(newNonce())
    for (const kind of DOC_KINDS) {
      const { id, nonce } = newBoundDocId(kind, ALICE)
      expect(id).toMatch(new RegExp(`^${kind}_b[a-z2-7]{26}$`))
      expect(boundDocId(kind, ALICE, nonce)).toBe(id)
      expect(isDocId(id, kind)).toBe(true)
    }
  })

  it('member ids: Ed25519 PeerIds only', () => {
    expect(isMemberId(ALICE)).toBe(true)
    expect(isMemberId(`${ALICE.slice(0, -1)}0`)).toBe(false) // 0 is not base58
    expect(isMemberId(`${ALICE.slice(0, -1)}`)).toBe(false)
    expect(isMemberId('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N')).toBe(false) // RSA/sha256 style
    expect(isMemberId(42)).toBe(false)
    expect(isTribeId(TRIBE_A)).toBe(true)
    expect(isTribeId(profileDocId(TRIBE_A, ALICE))).toBe(false)
  })
})

describe('audience text form', () => {
  it('parses and formats', () => {
    for (const s of ['private', 'tribe', 'federated']) {
      expect(formatAudience(unwrap(parseAudience(s)))).toBe(s)
    }
    const c = parseAudience(`circle:${BOB}, ${ALICE},${BOB}`)
    expect(c).toEqual({ ok: true, value: { kind: 'circle', members: [ALICE, BOB].sort() } })
    if (c.ok) expect(formatAudience(c.value)).toBe(`circle:${[ALICE, BOB].sort().join(',')}`)
    expect(parseAudience('circle:nobody').ok).toBe(false)
    expect(parseAudience('everyone')).toMatchObject({
      ok: false,
      error: { code: 'ERR_SCHEMA_VALIDATION' },
    })
  })

  it('intersects', () => {
    const circleAB = { kind: 'circle', members: [ALICE, BOB] } as const
    expect(intersectAudience({ kind: 'tribe' }, { kind: 'federated' })).toEqual({ kind: 'tribe' })
    expect(intersectAudience({ kind: 'private' }, circleAB)).toEqual({ kind: 'private' })
    expect(intersectAudience(circleAB, { kind: 'federated' })).toEqual(circleAB)
    expect(intersectAudience(circleAB, { kind: 'circle', members: [BOB] })).toEqual({
      kind: 'circle',
      members: [BOB],
    })
  })
})
