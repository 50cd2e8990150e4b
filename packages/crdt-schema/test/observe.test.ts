import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  admitMember,
  createNarrative,
  createRoster,
  type NarrativeSnapshot,
  narrativeBody,
  observeNarrative,
  observeRoster,
  type Result,
  type SchemaError,
  setNarrativeTitle,
  unwrap,
} from '../src/index.js'
import { ALICE, BOB, TRIBE_A } from './helpers.js'

describe('observe', () => {
  it('calls back with a fresh validated snapshot per change, until unsubscribed', () => {
    const doc = new Y.Doc()
    const seen: Result<NarrativeSnapshot, SchemaError>[] = []
    const off = observeNarrative(doc, (r) => seen.push(r))
    unwrap(createNarrative(doc, { tribeId: TRIBE_A, title: 'a', createdAt: 1 }))
    unwrap(setNarrativeTitle(doc, 'b'))
    narrativeBody(doc).insert(0, 'hello')
    off()
    unwrap(setNarrativeTitle(doc, 'c'))
    expect(seen.map((r) => (r.ok ? [r.value.title, r.value.body] : r.error.code))).toEqual([
      ['a', ''],
      ['b', ''],
      ['b', 'hello'],
    ])
  })

  it('reports errors instead of throwing when a change makes the document invalid', () => {
    const doc = new Y.Doc()
    unwrap(
      createRoster(doc, {
        tribeId: TRIBE_A,
        name: 'A',
        createdAt: 1,
        founder: { memberId: ALICE, name: 'a' },
      }),
    )
    const codes: string[] = []
    const off = observeRoster(doc, (r) =>
      codes.push(r.ok ? `ok:${Object.keys(r.value.members).length}` : r.error.code),
    )
    unwrap(admitMember(doc, { memberId: BOB, name: 'b', joinedAt: 2, admittedBy: ALICE }))
    doc.getMap('members').set('junk', 1)
    off()
    expect(codes).toEqual(['ok:2', 'ERR_SCHEMA_VALIDATION'])
  })
})
