import { describe, expect, it } from 'vitest'
import {
  boundDocId,
  compareSyncOrder,
  DOC_KINDS,
  isDocIdShape,
  kindOf,
  newDocId,
  newNonce,
  profileDocId,
  SYNC_ORDER,
  syncRank,
} from '../src/index.js'

const alice = '12D3KooWEkYz5kDpJHuYXPzqXNm5YsEUCiNctkdmi5vcnst7aKKX'

describe('kindOf', () => {
  it('reads the kind of every id the schema makes', () => {
    for (const kind of DOC_KINDS) {
      expect(kindOf(newDocId(kind))).toBe(kind)
      expect(kindOf(boundDocId(kind, alice, newNonce()))).toBe(kind)
    }
    expect(kindOf(profileDocId(newDocId('roster'), alice))).toBe('profile')
  })

  it('reads only the kind, not the body', () => {
    expect(kindOf('narrative_aaaa')).toBe('narrative')
    expect(kindOf('roster_btribe')).toBe('roster')
  })

  it.each([
    '',
    'roster',
    'roster-',
    '_roster_b',
    'Roster_baa',
    'rosters_baa',
    'story_baa',
    'narrativ_baa',
    'echo-x_baa',
    ' echo_baa',
    'x'.repeat(40),
  ])('gives undefined for %j', (id) => {
    expect(kindOf(id)).toBeUndefined()
  })

  it('is not fooled by a kind later in the id', () => {
    expect(kindOf('story_roster_baa')).toBeUndefined()
    expect(kindOf('echo_roster_baa')).toBe('echo')
  })
})

describe('sync order', () => {
  it('is rosters, links, profiles, narratives, echoes: authority before content', () => {
    expect(SYNC_ORDER).toEqual(['roster', 'link', 'profile', 'narrative', 'echo'])
    expect([...SYNC_ORDER].sort()).toEqual([...DOC_KINDS].sort())
    const ranks = SYNC_ORDER.map((k) => syncRank(newDocId(k)))
    expect(ranks).toEqual([0, 1, 2, 3, 4])
  })

  it('puts ids of no known kind last', () => {
    expect(syncRank('story_baa')).toBe(SYNC_ORDER.length)
    expect(syncRank('')).toBe(SYNC_ORDER.length)
  })

  it('sorts by kind, then by id, whatever the input order', () => {
    const ids = [
      'echo_ba',
      'narrative_bz',
      'profile_bb',
      'link_bb',
      'roster_bz',
      'story_ba',
      'narrative_ba',
      'roster_ba',
      'link_ba',
      'echo_bb',
    ]
    const want = [
      'roster_ba',
      'roster_bz',
      'link_ba',
      'link_bb',
      'profile_bb',
      'narrative_ba',
      'narrative_bz',
      'echo_ba',
      'echo_bb',
      'story_ba',
    ]
    expect([...ids].sort(compareSyncOrder)).toEqual(want)
    expect([...ids].reverse().sort(compareSyncOrder)).toEqual(want)
    expect(compareSyncOrder('echo_ba', 'echo_ba')).toBe(0)
  })
})

describe('isDocIdShape', () => {
  it('accepts every id the schema makes', () => {
    for (const kind of DOC_KINDS) {
      expect(isDocIdShape(newDocId(kind))).toBe(true)
      expect(isDocIdShape(boundDocId(kind, alice, newNonce()))).toBe(true)
    }
    expect(isDocIdShape(profileDocId(newDocId('roster'), alice))).toBe(true)
  })

  it.each([
    '',
    'roster',
    'roster_',
    '_baa',
    'roster_bAA',
    'roster_b!a',
    'roster_b a',
    'roster_b_a',
    'Roster_baa',
    `${'k'.repeat(33)}_baa`,
    'roster_b\u00e9',
  ])('refuses %j', (id) => {
    expect(isDocIdShape(id)).toBe(false)
  })
})
