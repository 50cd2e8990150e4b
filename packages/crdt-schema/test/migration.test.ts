/** Schema versioning: the checked-in version-0 fixture still reads; newer majors are refused. */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  applyPeerUpdate,
  createNarrative,
  FutureSchemaVersionError,
  readNarrative,
  readRoster,
  SCHEMA_VERSION,
  setNarrativeTitle,
  setTags,
  unwrap,
} from '../src/index.js'
import { TRIBE_A } from './helpers.js'

const fixture = new Uint8Array(
  readFileSync(new URL('./fixtures/narrative-v0.bin', import.meta.url)),
)
const v0 = (): Y.Doc => {
  const doc = new Y.Doc()
  unwrap(applyPeerUpdate(doc, fixture))
  return doc
}

describe('schema versions', () => {
  it('reads the version-0 narrative fixture by migration', () => {
    const r = readNarrative(v0())
    expect(r).toEqual({
      ok: true,
      value: {
        tribeId: TRIBE_A,
        title: 'The old bridge',
        tags: ['bridge', 'river', 'memory'],
        mood: 'wistful',
        createdAt: 1_600_000_000_000,
        body: 'Before the flood there was a wooden bridge.',
        schemaVersion: 0,
      },
    })
    expect(Object.isFrozen(unwrap(r))).toBe(true)
  })

  it('writing to a version-0 narrative upgrades it in place, keeping its content', () => {
    const doc = v0()
    unwrap(setNarrativeTitle(doc, 'The old bridge, rebuilt'))
    const s = unwrap(readNarrative(doc))
    expect(s.schemaVersion).toBe(SCHEMA_VERSION)
    expect(s.title).toBe('The old bridge, rebuilt')
    expect(s.tags).toEqual(['bridge', 'river', 'memory'])
    expect(s.body).toBe('Before the flood there was a wooden bridge.')
    unwrap(setTags(doc, ['bridge']))
    expect(unwrap(readNarrative(doc)).tags).toEqual(['bridge'])
  })

  it('a newer major version is refused with FutureSchemaVersionError, but still stored and forwarded', () => {
    const newer = new Y.Doc()
    unwrap(createNarrative(newer, { tribeId: TRIBE_A, title: 't', createdAt: 1 }))
    newer.getMap('meta').set('schemaVersion', SCHEMA_VERSION + 1)
    newer.getMap('content').set('title', { rich: ['a new shape'] })
    const bytes = Y.encodeStateAsUpdate(newer)

    const local = new Y.Doc()
    expect(applyPeerUpdate(local, bytes).ok).toBe(true)
    const r = readNarrative(local)
    expect(r.ok).toBe(false)
    if (r.ok) return
    expect(r.error).toBeInstanceOf(FutureSchemaVersionError)
    expect(r.error.code).toBe('ERR_FUTURE_SCHEMA_VERSION')
    expect((r.error as FutureSchemaVersionError).version).toBe(SCHEMA_VERSION + 1)
    // refuses to write to it too
    expect(setNarrativeTitle(local, 'x')).toMatchObject({
      ok: false,
      error: { code: 'ERR_FUTURE_SCHEMA_VERSION' },
    })
    // forwarding: a third node receives exactly the same state
    const third = new Y.Doc()
    expect(applyPeerUpdate(third, Y.encodeStateAsUpdate(local)).ok).toBe(true)
    expect(Y.encodeStateVector(third)).toEqual(Y.encodeStateVector(newer))
    // the future-version check happens before the kind check
    expect(readRoster(local)).toMatchObject({
      ok: false,
      error: { code: 'ERR_FUTURE_SCHEMA_VERSION' },
    })
  })
})
