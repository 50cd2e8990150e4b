/**
 * Member profile document: one per member per tribe (id: `profileDocId`),
 * written by that member only. Holds the member's name and their consent
 * defaults per category, as an append-only history of statements.
 *
 * Layout (schema version 1):
 * - `meta`    Y.Map   { kind: 'profile', schemaVersion: 1 }
 * - `profile` Y.Map   { tribeId, memberId, name }
 * - `consent` Y.Array { category, audience, at }  (history; never rewritten)
 *
 * The default for a category is its statement with the greatest `at` (ties: the
 * later one in the array, which Yjs orders the same on every replica); a category
 * with no statement defaults to `tribe`.
 */
import * as v from 'valibot'
import type * as Y from 'yjs'
import { type Audience, AudienceSchema, normalizeAudience, TRIBE } from './audience.js'
import { observeDoc, type WriteResult, writeDoc } from './document.js'
import { OversizedError, type SchemaError, SchemaValidationError } from './errors.js'
import { MAX_CONSENT_HISTORY } from './limits.js'
import { err, ok, type Result } from './result.js'
import {
  deepFreeze,
  MemberIdSchema,
  NameSchema,
  TimestampSchema,
  TribeIdSchema,
  validate,
} from './validate.js'
import { META, readMeta, safely, writeMeta } from './version.js'

export const CATEGORIES = ['narratives', 'echoes', 'profile'] as const
export type Category = (typeof CATEGORIES)[number]
export const CategorySchema = v.picklist(CATEGORIES)

/** The audience a new member consents to for every category. */
export const DEFAULT_AUDIENCE: Audience = TRIBE

export const ProfileInfoSchema = v.object({
  tribeId: TribeIdSchema,
  memberId: MemberIdSchema,
  name: NameSchema,
})
export const ConsentStatementSchema = v.object({
  category: CategorySchema,
  audience: AudienceSchema,
  at: TimestampSchema,
})

export interface ConsentStatement {
  readonly category: Category
  readonly audience: Audience
  readonly at: number
}

export interface ProfileSnapshot {
  readonly tribeId: string
  readonly memberId: string
  readonly name: string
  /** Current default audience per category. */
  readonly defaults: Readonly<Record<Category, Audience>>
  /** Every statement, in document order. */
  readonly history: readonly ConsentStatement[]
  readonly schemaVersion: number
}

export interface ProfileInit {
  tribeId: string
  memberId: string
  name: string
}

const PROFILE = 'profile'
const CONSENT = 'consent'

export function createProfile(doc: Y.Doc, init: ProfileInit): WriteResult {
  const info = validate(ProfileInfoSchema, { ...init }, 'profile')
  if (!info.ok) return info
  if (doc.getMap(META).size > 0) return err(new SchemaValidationError('document already created'))
  doc.transact(() => {
    writeMeta(doc, 'profile')
    const map = doc.getMap<unknown>(PROFILE)
    for (const [k, val] of Object.entries(info.value)) map.set(k, val)
    doc.getArray(CONSENT)
  })
  return ok(undefined)
}

/** The current defaults implied by a history of statements. */
export function currentDefaults(
  history: readonly ConsentStatement[],
): Readonly<Record<Category, Audience>> {
  const best = new Map<Category, ConsentStatement>()
  for (const s of history) {
    const prev = best.get(s.category)
    if (prev === undefined || s.at >= prev.at) best.set(s.category, s)
  }
  return Object.freeze({
    narratives: best.get('narratives')?.audience ?? DEFAULT_AUDIENCE,
    echoes: best.get('echoes')?.audience ?? DEFAULT_AUDIENCE,
    profile: best.get('profile')?.audience ?? DEFAULT_AUDIENCE,
  })
}

export function readProfile(doc: Y.Doc, docId?: string): Result<ProfileSnapshot, SchemaError> {
  return safely(() => {
    const meta = readMeta(doc, { expected: 'profile', docId })
    if (!meta.ok) return meta
    const info = validate(
      ProfileInfoSchema,
      Object.fromEntries(doc.getMap<unknown>(PROFILE).entries()),
      'profile',
      docId,
    )
    if (!info.ok) return info
    const array = doc.getArray<unknown>(CONSENT)
    if (array.length > MAX_CONSENT_HISTORY) {
      return err(new OversizedError('consent', MAX_CONSENT_HISTORY, array.length, docId))
    }
    const history: ConsentStatement[] = []
    for (const [i, s] of array.toArray().entries()) {
      const r = validate(ConsentStatementSchema, s, `consent[${i}]`, docId)
      if (!r.ok) return r
      history.push({ ...r.value, audience: normalizeAudience(r.value.audience) })
    }
    return ok(
      deepFreeze({
        ...info.value,
        defaults: currentDefaults(history),
        history,
        schemaVersion: meta.value.schemaVersion,
      }),
    )
  }, docId)
}

export function setProfileName(doc: Y.Doc, name: string): WriteResult {
  const r = validate(NameSchema, name, 'name')
  if (!r.ok) return r
  return writeDoc(doc, 'profile', {}, () => {
    doc.getMap<unknown>(PROFILE).set('name', r.value)
    return undefined
  })
}

/** States a new default audience for `category`; earlier statements are kept as history. */
export function setCategoryDefault(
  doc: Y.Doc,
  category: Category,
  audience: Audience,
  at: number,
): WriteResult {
  const r = validate(ConsentStatementSchema, { category, audience, at }, 'consent statement')
  if (!r.ok) return r
  const statement = { ...r.value, audience: normalizeAudience(r.value.audience) }
  return writeDoc(doc, 'profile', {}, () => {
    const array = doc.getArray<unknown>(CONSENT)
    if (array.length >= MAX_CONSENT_HISTORY) {
      return err(new OversizedError('consent', MAX_CONSENT_HISTORY, array.length + 1))
    }
    array.push([statement])
    return undefined
  })
}

export function observeProfile(
  doc: Y.Doc,
  cb: (result: Result<ProfileSnapshot, SchemaError>) => void,
): () => void {
  return observeDoc(doc, (d) => readProfile(d), cb)
}
