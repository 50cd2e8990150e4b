/**
 * Invalid documents from a "peer": wrong types, oversized fields, unknown kinds,
 * future versions, garbage update bytes. Every case yields a typed error; nothing throws.
 */
import * as prng from 'lib0/prng'
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  applyPeerUpdate,
  createEcho,
  createLink,
  createNarrative,
  createProfile,
  createRoster,
  inspectUpdate,
  MAX_BODY_CHARS,
  MAX_TAGS,
  MAX_TITLE_CHARS,
  MAX_UPDATE_BYTES,
  OversizedError,
  readDocument,
  readEcho,
  readLink,
  readNarrative,
  readProfile,
  readRoster,
  SchemaValidationError,
  setNarrativeTitle,
  setTags,
  unwrap,
} from '../src/index.js'
import { ALICE, BOB, forSeeds, NARRATIVE_1, TRIBE_A, TRIBE_B } from './helpers.js'

/** A document built by a hostile peer, delivered as update bytes. */
function fromPeer(build: (doc: Y.Doc) => void): Y.Doc {
  const peer = new Y.Doc()
  build(peer)
  const doc = new Y.Doc()
  unwrap(applyPeerUpdate(doc, Y.encodeStateAsUpdate(peer)))
  return doc
}
const narrativeFromPeer = (change: (doc: Y.Doc) => void) =>
  fromPeer((d) => {
    unwrap(createNarrative(d, { tribeId: TRIBE_A, title: 'ok', createdAt: 1 }))
    change(d)
  })
const code = (r: { ok: boolean; error?: { code: string } }) => (r.ok ? 'ok' : r.error?.code)

const readers = { readRoster, readProfile, readNarrative, readEcho, readLink }

describe('invalid narrative content', () => {
  const cases: [string, (d: Y.Doc) => void, string][] = [
    ['title is a number', (d) => d.getMap('content').set('title', 42), 'ERR_SCHEMA_VALIDATION'],
    [
      'title is a Y.Text',
      (d) => d.getMap('content').set('title', new Y.Text('x')),
      'ERR_SCHEMA_VALIDATION',
    ],
    [
      'title too long',
      (d) => d.getMap('content').set('title', 'x'.repeat(MAX_TITLE_CHARS + 1)),
      'ERR_OVERSIZED',
    ],
    ['tags is a string', (d) => d.getMap('content').set('tags', 'a,b'), 'ERR_SCHEMA_VALIDATION'],
    [
      'too many tags',
      (d) =>
        d.getMap('content').set(
          'tags',
          Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`),
        ),
      'ERR_OVERSIZED',
    ],
    ['tag too long', (d) => d.getMap('content').set('tags', ['x'.repeat(41)]), 'ERR_OVERSIZED'],
    [
      'mood is an object',
      (d) => d.getMap('content').set('mood', { evil: true }),
      'ERR_SCHEMA_VALIDATION',
    ],
    [
      'createdAt negative',
      (d) => d.getMap('content').set('createdAt', -1),
      'ERR_SCHEMA_VALIDATION',
    ],
    [
      'tribeId garbage',
      (d) => d.getMap('content').set('tribeId', 'roster_../../etc'),
      'ERR_SCHEMA_VALIDATION',
    ],
    [
      'body too long',
      (d) => d.getText('body').insert(0, 'x'.repeat(MAX_BODY_CHARS + 1)),
      'ERR_OVERSIZED',
    ],
    ['unknown kind', (d) => d.getMap('meta').set('kind', 'poll'), 'ERR_UNKNOWN_KIND'],
    ['other kind', (d) => d.getMap('meta').set('kind', 'echo'), 'ERR_KIND_MISMATCH'],
    [
      'version is a string',
      (d) => d.getMap('meta').set('schemaVersion', '1'),
      'ERR_SCHEMA_VALIDATION',
    ],
    [
      'future version',
      (d) => d.getMap('meta').set('schemaVersion', 99),
      'ERR_FUTURE_SCHEMA_VERSION',
    ],
    ['meta emptied', (d) => d.getMap('meta').clear(), 'ERR_EMPTY_DOCUMENT'],
  ]
  it.each(cases)('%s', (_name, change, expected) => {
    const doc = narrativeFromPeer(change)
    const r = readNarrative(doc)
    expect(code(r)).toBe(expected)
    if (!r.ok && expected === 'ERR_OVERSIZED') expect(r.error).toBeInstanceOf(OversizedError)
  })

  it('extra unknown keys (a newer minor) are ignored', () => {
    const doc = narrativeFromPeer((d) => d.getMap('content').set('futureField', [1, 2]))
    expect(code(readNarrative(doc))).toBe('ok')
  })

  it('a root type redefined as another Yjs type does not crash reads', () => {
    const doc = new Y.Doc()
    doc.getText('content').insert(0, 'not a map')
    doc.getMap('meta').set('kind', 'narrative')
    doc.getMap('meta').set('schemaVersion', 1)
    expect(code(readNarrative(doc))).toBe('ERR_SCHEMA_VALIDATION')
    expect(code(setNarrativeTitle(doc, 'x'))).not.toBe('ok')
  })
})

describe('invalid documents of every kind', () => {
  it('empty documents read as ERR_EMPTY_DOCUMENT', () => {
    for (const read of Object.values(readers))
      expect(code(read(new Y.Doc()))).toBe('ERR_EMPTY_DOCUMENT')
  })

  it('roster: bad member entries, bad cut-offs, mismatched keys', () => {
    const base = (d: Y.Doc) =>
      unwrap(
        createRoster(d, {
          tribeId: TRIBE_A,
          name: 'A',
          createdAt: 1,
          founder: { memberId: ALICE, name: 'a' },
        }),
      )
    const bad: [(d: Y.Doc) => void, string][] = [
      [
        (d) =>
          d.getMap('members').set('not-a-peer-id', {
            name: 'x',
            role: 'member',
            joinedAt: 1,
            admittedBy: ALICE,
            invitationId: null,
          }),
        'ERR_SCHEMA_VALIDATION',
      ],
      [
        (d) =>
          d.getMap('members').set(BOB, {
            name: 'x',
            role: 'king',
            joinedAt: 1,
            admittedBy: ALICE,
            invitationId: null,
          }),
        'ERR_SCHEMA_VALIDATION',
      ],
      [
        (d) =>
          d.getMap('members').set(BOB, {
            name: 'x'.repeat(101),
            role: 'member',
            joinedAt: 1,
            admittedBy: ALICE,
            invitationId: null,
          }),
        'ERR_OVERSIZED',
      ],
      [
        (d) =>
          d
            .getMap('removals')
            .set(`${BOB} ${ALICE}`, { memberId: BOB, by: ALICE, at: 1, cutoff: { w: -1 } }),
        'ERR_SCHEMA_VALIDATION',
      ],
      [
        (d) =>
          d
            .getMap('removals')
            .set(`${BOB} ${BOB}`, { memberId: BOB, by: ALICE, at: 1, cutoff: {} }),
        'ERR_SCHEMA_VALIDATION',
      ],
      [
        (d) =>
          d.getMap('epochs').set('1', { epoch: 2, createdAt: 1, createdBy: ALICE, sealedKeys: {} }),
        'ERR_SCHEMA_VALIDATION',
      ],
      [
        (d) =>
          d.getMap('epochs').set('1', {
            epoch: 1,
            createdAt: 1,
            createdBy: ALICE,
            sealedKeys: { [BOB]: 'not base64!' },
          }),
        'ERR_SCHEMA_VALIDATION',
      ],
      [(d) => d.getMap('tribe').set('name', null), 'ERR_SCHEMA_VALIDATION'],
    ]
    for (const [change, expected] of bad) {
      expect(
        code(
          readRoster(
            fromPeer((d) => {
              base(d)
              change(d)
            }),
          ),
        ),
      ).toBe(expected)
    }
  })

  it('profile: bad consent statements', () => {
    const doc = fromPeer((d) => {
      unwrap(createProfile(d, { tribeId: TRIBE_A, memberId: BOB, name: 'b' }))
      d.getArray('consent').push([
        { category: 'narratives', audience: { kind: 'everyone' }, at: 1 },
      ])
    })
    expect(code(readProfile(doc))).toBe('ERR_SCHEMA_VALIDATION')
  })

  it('echo and link: wrong types', () => {
    const echo = fromPeer((d) => {
      unwrap(createEcho(d, { tribeId: TRIBE_A, narrativeId: NARRATIVE_1, createdAt: 1 }))
      d.getMap('echo').set('narrativeId', 'echo_baaaaaaaaaaaaaaaaaaaaaaaaaa')
    })
    expect(code(readEcho(echo))).toBe('ERR_SCHEMA_VALIDATION')
    const link = fromPeer((d) => {
      unwrap(
        createLink(d, {
          tribeA: { id: TRIBE_A, name: 'a' },
          tribeB: { id: TRIBE_B, name: 'b' },
          terms: ['narratives'],
          proposedBy: ALICE,
          proposedAt: 1,
        }),
      )
      d.getMap('acceptances').set('roster_bccccccccccccccccccccccccca', {
        steward: BOB,
        at: 1,
        terms: ['narratives'],
      })
    })
    expect(code(readLink(link))).toBe('ERR_SCHEMA_VALIDATION')
  })

  it('readDocument dispatches by id and rejects bad ids', () => {
    const doc = narrativeFromPeer(() => {})
    expect(code(readDocument(doc, NARRATIVE_1))).toBe('ok')
    expect(code(readDocument(doc, 'poll_baaaaaaaaaaaaaaaaaaaaaaaaaa'))).toBe('ERR_UNKNOWN_KIND')
    expect(code(readDocument(doc, 'nonsense'))).toBe('ERR_INVALID_ID')
    expect(code(readDocument(doc, TRIBE_A))).toBe('ERR_KIND_MISMATCH')
  })
})

describe('local input is validated too', () => {
  it('change functions return typed errors instead of writing bad values', () => {
    const doc = new Y.Doc()
    unwrap(createNarrative(doc, { tribeId: TRIBE_A, title: 'ok', createdAt: 1 }))
    expect(setNarrativeTitle(doc, 'x'.repeat(MAX_TITLE_CHARS + 1))).toMatchObject({
      ok: false,
      error: { code: 'ERR_OVERSIZED' },
    })
    expect(
      code(
        setTags(
          doc,
          Array.from({ length: 40 }, (_, i) => `t${i}`),
        ),
      ),
    ).toBe('ERR_OVERSIZED')
    expect(code(createNarrative(doc, { tribeId: TRIBE_A, title: 'again', createdAt: 1 }))).toBe(
      'ERR_SCHEMA_VALIDATION',
    )
    expect(code(createNarrative(new Y.Doc(), { tribeId: 'x', title: 't', createdAt: 1 }))).toBe(
      'ERR_SCHEMA_VALIDATION',
    )
    expect(code(setNarrativeTitle(new Y.Doc(), 't'))).toBe('ERR_EMPTY_DOCUMENT')
    expect(unwrap(readNarrative(doc)).title).toBe('ok')
  })
})

describe('garbage update bytes', () => {
  it('typed errors, never a throw, document untouched', () => {
    forSeeds(200, (seed) => {
      const gen = prng.create(seed)
      const doc = new Y.Doc()
      unwrap(createNarrative(doc, { tribeId: TRIBE_A, title: 'kept', createdAt: 1 }))
      const before = Y.encodeStateAsUpdate(doc)
      const valid = (() => {
        const other = new Y.Doc()
        unwrap(
          createNarrative(other, {
            tribeId: TRIBE_A,
            title: 'other',
            body: 'hello world',
            createdAt: 2,
          }),
        )
        return Y.encodeStateAsUpdate(other)
      })()
      // random bytes, or a valid update with bytes flipped, or truncated
      const kind = seed % 3
      let bytes: Uint8Array
      if (kind === 0) bytes = prng.uint8Array(gen, prng.int32(gen, 0, 64))
      else if (kind === 1) {
        bytes = valid.slice()
        for (let i = 0; i < 3; i++)
          bytes[prng.int32(gen, 0, bytes.length - 1)] = prng.int32(gen, 0, 255)
      } else bytes = valid.slice(0, prng.int32(gen, 0, valid.length - 1))
      let r: ReturnType<typeof applyPeerUpdate> | undefined
      expect(() => {
        r = applyPeerUpdate(doc, bytes)
      }).not.toThrow()
      if (!r!.ok) {
        expect(r!.error.code).toBe('ERR_INVALID_UPDATE')
        expect(Y.encodeStateAsUpdate(doc)).toEqual(before)
      }
      // whatever happened, reads stay total
      const read = readNarrative(doc)
      expect(read.ok || typeof read.error.code === 'string').toBe(true)
    })
  })

  it('rejects non-bytes and oversized updates', () => {
    expect(code(applyPeerUpdate(new Y.Doc(), 'abc' as unknown as Uint8Array))).toBe(
      'ERR_INVALID_UPDATE',
    )
    expect(code(inspectUpdate(new Uint8Array(MAX_UPDATE_BYTES + 1)))).toBe('ERR_OVERSIZED')
  })

  it('inspectUpdate lists the client ids that wrote the update', () => {
    const doc = new Y.Doc()
    doc.clientID = 777
    unwrap(createNarrative(doc, { tribeId: TRIBE_A, title: 't', createdAt: 1 }))
    expect(unwrap(inspectUpdate(Y.encodeStateAsUpdate(doc))).clients).toEqual([777])
  })

  it('errors are real typed classes', () => {
    const r = readNarrative(narrativeFromPeer((d) => d.getMap('content').set('title', 1)))
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.error).toBeInstanceOf(SchemaValidationError)
      expect(r.error.name).toBe('SchemaValidationError')
    }
  })
})
