/**
 * Helpers shared by every document kind: guarded writes, observation, text bodies.
 */
import type * as Y from 'yjs'
import { OversizedError, type SchemaError } from './errors.js'
import type { DocKind } from './ids.js'
import { err, ok, type Result } from './result.js'
import { deepFreeze } from './validate.js'
import { readMeta, safely } from './version.js'

/** What every change function returns: ok, or why the document cannot be changed. */
export type WriteResult = Result<void, SchemaError>

export interface KindHooks {
  /** Detects a version-0 layout. */
  legacy?: (doc: Y.Doc) => boolean
  /** Upgrades a version-0 layout in place (called inside a transaction). */
  upgrade?: (doc: Y.Doc) => void
}

/**
 * Runs `change` in one transaction if the document is a `kind` document this
 * version can write (not empty, not a newer major); upgrades a v0 layout first.
 */
export function writeDoc(
  doc: Y.Doc,
  kind: DocKind,
  hooks: KindHooks,
  change: () => Result<void, SchemaError> | undefined,
  origin?: unknown,
): WriteResult {
  const meta = readMeta(doc, { expected: kind, ...(hooks.legacy ? { legacy: hooks.legacy } : {}) })
  if (!meta.ok) return meta
  let result: WriteResult = ok(undefined)
  doc.transact(() => {
    if (meta.value.schemaVersion < 1) hooks.upgrade?.(doc)
    result = safely(() => change() ?? ok(undefined))
  }, origin)
  return result
}

/**
 * Calls `cb` with a freshly read snapshot (or error) after every transaction
 * that changed the document. Returns the unsubscribe function.
 */
export function observeDoc<T>(
  doc: Y.Doc,
  read: (doc: Y.Doc) => Result<T, SchemaError>,
  cb: (result: Result<T, SchemaError>) => void,
): () => void {
  const handler = (): void => cb(read(doc))
  doc.on('update', handler)
  return () => doc.off('update', handler)
}

/**
 * A snapshot of validated `content` with the document's text `body` (refused past
 * `maxChars`) and its schema version, frozen: how narratives and echoes are read.
 */
export function withBody<T extends object>(
  doc: Y.Doc,
  content: T,
  body: { name: string; maxChars: number },
  schemaVersion: number,
  docId: string | undefined,
): Result<Readonly<T & { body: string; schemaVersion: number }>, SchemaError> {
  const text = doc.getText(body.name)
  if (text.length > body.maxChars) {
    return err(new OversizedError(body.name, body.maxChars, text.length, docId))
  }
  return ok(deepFreeze({ ...content, body: text.toString(), schemaVersion }))
}
