/**
 * Narrative content document: title, body (collaborative `Y.Text`), tags, mood,
 * creation time and tribe. Written by the narrative's authors only.
 *
 * Its authors, audience and status are NOT here: they are signed authority
 * records beside the document (see `authority.ts`), so no author can overwrite them.
 *
 * Layout (schema version 1):
 * - `meta`    Y.Map  { kind: 'narrative', schemaVersion: 1 }
 * - `content` Y.Map  { tribeId, title, tags: string[] (last writer wins), mood: string | null, createdAt }
 * - `body`    Y.Text
 *
 * Version 0 (read by migration): Y.Map `narrative` { title, tags: 'a,b', mood?, created, tribe } and Y.Text `body`.
 */
import * as v from 'valibot'
import type * as Y from 'yjs'
import { type KindHooks, observeDoc, type WriteResult, withBody, writeDoc } from './document.js'
import { OversizedError, type SchemaError, SchemaValidationError } from './errors.js'
import {
  MAX_BODY_CHARS,
  MAX_MOOD_CHARS,
  MAX_TAG_CHARS,
  MAX_TAGS,
  MAX_TITLE_CHARS,
} from './limits.js'
import { err, ok, type Result } from './result.js'
import { TimestampSchema, TribeIdSchema, validate } from './validate.js'
import { META, readMeta, safely, writeMeta } from './version.js'

/** Moods the apps offer; any string up to `MAX_MOOD_CHARS` is accepted. */
export const SUGGESTED_MOODS = [
  'joyful',
  'tender',
  'grieving',
  'hopeful',
  'angry',
  'reflective',
  'playful',
  'solemn',
] as const

export const TitleSchema = v.pipe(v.string(), v.maxLength(MAX_TITLE_CHARS))
export const TagSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_TAG_CHARS))
export const TagsSchema = v.pipe(v.array(TagSchema), v.maxLength(MAX_TAGS))
export const MoodSchema = v.nullable(
  v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_MOOD_CHARS)),
)

export const NarrativeContentSchema = v.object({
  tribeId: TribeIdSchema,
  title: TitleSchema,
  tags: TagsSchema,
  mood: MoodSchema,
  createdAt: TimestampSchema,
})

export interface NarrativeSnapshot {
  readonly tribeId: string
  readonly title: string
  readonly body: string
  readonly tags: readonly string[]
  readonly mood: string | null
  readonly createdAt: number
  /** The schema version the document was stored in (0 = migrated on read). */
  readonly schemaVersion: number
}

export interface NarrativeInit {
  tribeId: string
  title: string
  body?: string
  tags?: readonly string[]
  mood?: string | null
  createdAt: number
}

const CONTENT = 'content'
const BODY = 'body'
const LEGACY = 'narrative'

const legacy = (doc: Y.Doc): boolean => doc.getMap(LEGACY).size > 0

function legacyContent(doc: Y.Doc): Record<string, unknown> {
  const old = doc.getMap<unknown>(LEGACY)
  const tags = old.get('tags')
  const mood = old.get('mood')
  return {
    tribeId: old.get('tribe'),
    title: old.get('title'),
    tags:
      typeof tags === 'string'
        ? tags
            .split(',')
            .map((t) => t.trim())
            .filter((t) => t.length > 0)
        : tags,
    mood: mood === undefined || mood === '' ? null : mood,
    createdAt: old.get('created'),
  }
}

const hooks: KindHooks = {
  legacy,
  upgrade: (doc) => {
    const content = doc.getMap<unknown>(CONTENT)
    for (const [k, val] of Object.entries(legacyContent(doc))) content.set(k, val)
    writeMeta(doc, 'narrative')
  },
}

/** Normalizes tags: trimmed, empty ones dropped, duplicates removed (first kept). */
export function normalizeTags(tags: readonly string[]): string[] {
  return [...new Set(tags.map((t) => t.trim()).filter((t) => t.length > 0))]
}

/** Writes a new narrative's content into an empty document. */
export function createNarrative(doc: Y.Doc, init: NarrativeInit): WriteResult {
  const content = {
    tribeId: init.tribeId,
    title: init.title,
    tags: normalizeTags(init.tags ?? []),
    mood: init.mood ?? null,
    createdAt: init.createdAt,
  }
  const valid = validate(NarrativeContentSchema, content, 'narrative')
  if (!valid.ok) return valid
  const body = init.body ?? ''
  if (body.length > MAX_BODY_CHARS)
    return err(new OversizedError('body', MAX_BODY_CHARS, body.length))
  if (doc.getMap(META).size > 0 || legacy(doc)) {
    return err(new SchemaValidationError('document already created'))
  }
  doc.transact(() => {
    writeMeta(doc, 'narrative')
    const map = doc.getMap<unknown>(CONTENT)
    for (const [k, val] of Object.entries(valid.value)) map.set(k, val)
    if (body.length > 0) doc.getText(BODY).insert(0, body)
  })
  return ok(undefined)
}

/** Reads and validates a narrative document (migrating older versions). Never throws. */
export function readNarrative(doc: Y.Doc, docId?: string): Result<NarrativeSnapshot, SchemaError> {
  return safely(() => {
    const meta = readMeta(doc, { expected: 'narrative', legacy, docId })
    if (!meta.ok) return meta
    const raw =
      meta.value.schemaVersion === 0
        ? legacyContent(doc)
        : Object.fromEntries(doc.getMap<unknown>(CONTENT).entries())
    const content = validate(NarrativeContentSchema, raw, 'narrative', docId)
    if (!content.ok) return content
    return withBody(
      doc,
      content.value,
      { name: BODY, maxChars: MAX_BODY_CHARS },
      meta.value.schemaVersion,
      docId,
    )
  }, docId)
}

function setField(doc: Y.Doc, key: string, value: unknown): WriteResult {
  return writeDoc(doc, 'narrative', hooks, () => {
    doc.getMap<unknown>(CONTENT).set(key, value)
    return undefined
  })
}

export function setNarrativeTitle(doc: Y.Doc, title: string): WriteResult {
  const r = validate(TitleSchema, title, 'title')
  return r.ok ? setField(doc, 'title', r.value) : r
}

export function setTags(doc: Y.Doc, tags: readonly string[]): WriteResult {
  const r = validate(TagsSchema, normalizeTags(tags), 'tags')
  return r.ok ? setField(doc, 'tags', r.value) : r
}

export function setMood(doc: Y.Doc, mood: string | null): WriteResult {
  const r = validate(MoodSchema, mood, 'mood')
  return r.ok ? setField(doc, 'mood', r.value) : r
}

/** The collaborative body, for editors (bind it with y-prosemirror, y-codemirror...). */
export function narrativeBody(doc: Y.Doc): Y.Text {
  return doc.getText(BODY)
}

/** Replaces the whole body (a convenience for the CLI; editors should edit `narrativeBody`). */
export function setNarrativeBody(doc: Y.Doc, body: string): WriteResult {
  if (body.length > MAX_BODY_CHARS)
    return err(new OversizedError('body', MAX_BODY_CHARS, body.length))
  return writeDoc(doc, 'narrative', hooks, () => {
    const text = doc.getText(BODY)
    text.delete(0, text.length)
    text.insert(0, body)
    return undefined
  })
}

export function observeNarrative(
  doc: Y.Doc,
  cb: (result: Result<NarrativeSnapshot, SchemaError>) => void,
): () => void {
  return observeDoc(doc, (d) => readNarrative(d), cb)
}
