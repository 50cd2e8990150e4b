/**
 * Reading a document whose kind is not known in advance.
 */
import type * as Y from 'yjs'
import { type EchoSnapshot, readEcho } from './echo.js'
import type { SchemaError } from './errors.js'
import { parseDocId } from './ids.js'
import { type LinkSnapshot, readLink } from './link.js'
import { type NarrativeSnapshot, readNarrative } from './narrative.js'
import { type ProfileSnapshot, readProfile } from './profile.js'
import { err, type Result } from './result.js'
import { type RosterSnapshot, readRoster } from './roster.js'

export type AnySnapshot =
  | { readonly kind: 'roster'; readonly snapshot: RosterSnapshot }
  | { readonly kind: 'profile'; readonly snapshot: ProfileSnapshot }
  | { readonly kind: 'narrative'; readonly snapshot: NarrativeSnapshot }
  | { readonly kind: 'echo'; readonly snapshot: EchoSnapshot }
  | { readonly kind: 'link'; readonly snapshot: LinkSnapshot }

/** Reads a document by its id's kind. Never throws. */
export function readDocument(doc: Y.Doc, docId: string): Result<AnySnapshot, SchemaError> {
  const id = parseDocId(docId)
  if (!id.ok) return err(id.error)
  const wrap = <K extends AnySnapshot['kind'], T>(kind: K, r: Result<T, SchemaError>) =>
    (r.ok ? { ok: true, value: { kind, snapshot: r.value } } : r) as Result<
      AnySnapshot,
      SchemaError
    >
  switch (id.value.kind) {
    case 'roster':
      return wrap('roster', readRoster(doc, docId))
    case 'profile':
      return wrap('profile', readProfile(doc, docId))
    case 'narrative':
      return wrap('narrative', readNarrative(doc, docId))
    case 'echo':
      return wrap('echo', readEcho(doc, docId))
    case 'link':
      return wrap('link', readLink(doc, docId))
  }
}
