/**
 * @tapestry/crdt-schema — the typed, validated, versioned Yjs documents of Tapestry.
 *
 * Pure (no I/O, no network). Five document kinds, each with create / read (a
 * frozen, validated snapshot) / typed change functions / observe:
 * roster (a tribe: members, stewards, removals with cut-offs, swarm-key epochs),
 * profile (a member's name and consent defaults with history), narrative (title,
 * body as `Y.Text`, tags, mood), echo (a response to a narrative), link (a
 * federation between two tribes). Authors, audience and withdrawal of narratives
 * are signed authority records (`authority.ts`, folded by `fold.ts`); a document
 * with a creator has an id derived from that creator and a nonce
 * ({@link boundDocId}), so only its creator can sign a genesis that counts; and
 * {@link mayReceive} is the one place that decides who may receive a document.
 *
 * Reads of peer data never throw: they return `Result` with a typed error
 * (`code`: ERR_SCHEMA_VALIDATION, ERR_OVERSIZED, ERR_FUTURE_SCHEMA_VERSION, ...).
 *
 * @example
 * ```ts
 * import * as Y from 'yjs'
 * import * as schema from '@tapestry/crdt-schema'
 *
 * const alice = '12D3KooWEkYz5kDpJHuYXPzqXNm5YsEUCiNctkdmi5vcnst7aKKX'
 * const { id: tribeId } = schema.newBoundDocId('roster', alice)
 * const roster = new Y.Doc()
 * schema.createRoster(roster, { tribeId, name: 'Riverside', createdAt: Date.now(),
 *   founder: { memberId: alice, name: 'Alice' } })
 *
 * const { id: narrativeId, nonce } = schema.newBoundDocId('narrative', alice)
 * const story = new Y.Doc()
 * schema.createNarrative(story, { tribeId, title: 'The flood', body: 'It rained…',
 *   tags: ['river'], mood: 'solemn', createdAt: Date.now() })
 * const read = schema.readNarrative(story)
 * if (read.ok) console.log(read.value.title)
 *
 * const genesis = { v: 1, type: 'narrative.genesis', narrativeId, tribeId, creator: alice,
 *   authors: [alice], audience: { kind: 'tribe' }, nonce, createdAt: Date.now() } as const
 * const bytes = schema.encodeRecordPayload(genesis) // the node signs these bytes
 * const authority = schema.unwrap(schema.narrativeAuthority([{ signer: alice, record: genesis }]))
 * const rosterView = schema.foldRoster(schema.unwrap(schema.readRoster(roster)))
 * schema.mayReceive(alice, { kind: 'narrative', authority }, { rosters: [rosterView] })
 * // → { allowed: true }
 * ```
 * (Runnable: `npm run build && npm run example -w @tapestry/crdt-schema`, see `example.ts`.)
 *
 * @packageDocumentation
 */

export * from './audience.js'
export * from './authority.js'
export * from './consent.js'
export type { KindHooks, WriteResult } from './document.js'
export { observeDoc } from './document.js'
export * from './echo.js'
export * from './errors.js'
export * from './fold.js'
export * from './ids.js'
export * from './limits.js'
export * from './link.js'
export * from './link-authority.js'
export * from './narrative.js'
export * from './profile.js'
export * from './read.js'
export * from './result.js'
export * from './roster.js'
export * from './update.js'
export { deepFreeze, validate } from './validate.js'
export * from './version.js'
