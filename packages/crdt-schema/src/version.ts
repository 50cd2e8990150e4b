/**
 * Schema versioning of Yjs documents.
 *
 * Every document has a root `Y.Map` named `meta` holding `kind` (a {@link DocKind})
 * and `schemaVersion` (an integer MAJOR version). Changes that only add optional
 * fields keep the major version (readers ignore keys they do not know); anything
 * else bumps it and adds a migration here. Reads migrate older versions on the fly;
 * a newer major yields {@link FutureSchemaVersionError}: the node keeps storing
 * and forwarding such a document (authority and audience come from the separately
 * versioned authority records) but does not render it.
 *
 * Version history:
 * - 0: pre-release layout, narratives only: no `meta` map; a root map `narrative`
 *   with `title`, `tags` (comma-separated string), `mood`, `created`, `tribe`, and
 *   the root `Y.Text` `body`. Read by migration (see `narrative.ts`).
 * - 1: current layout (see each kind's file).
 */
import type * as Y from 'yjs'
import {
  EmptyDocumentError,
  FutureSchemaVersionError,
  KindMismatchError,
  type SchemaError,
  SchemaValidationError,
  UnknownKindError,
} from './errors.js'
import { type DocKind, isDocKind } from './ids.js'
import { err, ok, type Result } from './result.js'

/** The major schema version this package writes. */
export const SCHEMA_VERSION = 1
/** Name of the root map holding `kind` and `schemaVersion`. */
export const META = 'meta'

export interface DocMeta {
  readonly kind: DocKind
  readonly schemaVersion: number
}

/** Writes `kind` and the current schema version (inside the caller's transaction). */
export function writeMeta(doc: Y.Doc, kind: DocKind): void {
  const meta = doc.getMap<unknown>(META)
  meta.set('kind', kind)
  meta.set('schemaVersion', SCHEMA_VERSION)
}

/** Runs `fn`, turning anything thrown (e.g. a root type of an unexpected Yjs type) into an error. */
export function safely<T>(
  fn: () => Result<T, SchemaError>,
  docId?: string,
): Result<T, SchemaError> {
  try {
    return fn()
  } catch (cause) {
    return err(
      new SchemaValidationError(
        'document has an unexpected structure',
        [cause instanceof Error ? cause.message : String(cause)],
        docId,
      ),
    )
  }
}

/**
 * Reads the `meta` map of any document. `legacy` detects a version-0 layout for
 * kinds that had one. Never throws.
 */
export function readMeta(
  doc: Y.Doc,
  opts: { expected?: DocKind; legacy?: (doc: Y.Doc) => boolean; docId?: string } = {},
): Result<DocMeta, SchemaError> {
  const { expected, legacy, docId } = opts
  return safely(() => {
    const meta = doc.getMap<unknown>(META)
    if (meta.size === 0) {
      if (expected !== undefined && legacy?.(doc)) return ok({ kind: expected, schemaVersion: 0 })
      return err(new EmptyDocumentError(docId))
    }
    const version = meta.get('schemaVersion')
    if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
      return err(new SchemaValidationError('invalid schemaVersion', [String(version)], docId))
    }
    if (version > SCHEMA_VERSION) {
      return err(new FutureSchemaVersionError(version, SCHEMA_VERSION, docId))
    }
    const kind = meta.get('kind')
    if (typeof kind !== 'string') {
      return err(new SchemaValidationError('invalid kind', [typeof kind], docId))
    }
    if (!isDocKind(kind)) return err(new UnknownKindError(kind, docId))
    if (expected !== undefined && kind !== expected) {
      return err(new KindMismatchError(expected, kind, docId))
    }
    return ok({ kind, schemaVersion: version })
  }, docId)
}
