/**
 * Real editing traces (Joseph Gentle's `editing-traces` collection, CC BY 4.0,
 * https://creativecommons.org/licenses/by/4.0/), kept outside the repository in
 * `<repo>/../shared/data/editing-traces/` (see its README for format and attribution).
 *
 * Sequential format: `{ startContent, endContent, txns: [{ patches: [[pos, del, ins]] }] }`.
 * Positions are UTF-16 offsets; applying every patch in order to `startContent` must give
 * `endContent`, and a replay that does not is a bug.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gunzipSync } from 'node:zlib'
import type * as Y from 'yjs'

/** `[position, characters deleted, text inserted]`, applied as delete-then-insert. */
export type Patch = readonly [pos: number, del: number, ins: string]

export interface SequentialTrace {
  readonly name: string
  readonly startContent: string
  readonly endContent: string
  /** Every patch of every transaction, flattened in order. */
  readonly patches: readonly Patch[]
  readonly txnCount: number
}

/** A trace file that is missing or not in the expected shape. */
export class TraceFormatError extends Error {
  override readonly name = 'TraceFormatError'
}

/** A replay that did not end at the content the trace says it must. */
export class TraceReplayMismatch extends Error {
  override readonly name = 'TraceReplayMismatch'
}

/**
 * `<repo>/../shared/data/editing-traces`: `/work/shared/data` in development, the folder
 * beside the clone in CI. This module sits at `packages/node/{src,dist}/bench/`, four levels
 * below the repository root, in both source and build. `TAPESTRY_TRACES_DIR` overrides.
 */
export function tracesDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TAPESTRY_TRACES_DIR) return resolve(env.TAPESTRY_TRACES_DIR)
  const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))
  return join(repoRoot, '..', 'shared', 'data', 'editing-traces')
}

function fail(file: string, what: string): never {
  throw new TraceFormatError(`${file}: ${what}`)
}

/** Loads and validates a sequential trace such as `automerge-paper.json.gz`. */
export function loadSequentialTrace(fileName: string, dir: string = tracesDir()): SequentialTrace {
  const file = join(dir, fileName)
  if (!existsSync(file)) {
    fail(
      file,
      'trace not found; the editing traces live in <repo>/../shared/data/editing-traces/ ' +
        '(or set TAPESTRY_TRACES_DIR)',
    )
  }
  let raw: unknown
  try {
    raw = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8'))
  } catch (err) {
    fail(file, `not gzipped JSON (${(err as Error).message})`)
  }
  if (typeof raw !== 'object' || raw === null) fail(file, 'top level is not an object')
  const obj = raw as Record<string, unknown>
  if (typeof obj.startContent !== 'string') fail(file, 'startContent is not a string')
  if (typeof obj.endContent !== 'string') fail(file, 'endContent is not a string')
  if (!Array.isArray(obj.txns)) fail(file, 'txns is not an array')
  const patches: Patch[] = []
  for (let t = 0; t < obj.txns.length; t++) {
    const txn = obj.txns[t] as Record<string, unknown> | null
    if (typeof txn !== 'object' || txn === null) fail(file, `txns[${t}] is not an object`)
    if ('parents' in txn) fail(file, `txns[${t}] has parents: a concurrent trace, not sequential`)
    if (!Array.isArray(txn.patches)) fail(file, `txns[${t}].patches is not an array`)
    for (let p = 0; p < txn.patches.length; p++) {
      const patch = txn.patches[p] as unknown
      if (
        !Array.isArray(patch) ||
        patch.length !== 3 ||
        !Number.isSafeInteger(patch[0]) ||
        patch[0] < 0 ||
        !Number.isSafeInteger(patch[1]) ||
        patch[1] < 0 ||
        typeof patch[2] !== 'string' ||
        (patch[1] === 0 && patch[2] === '')
      ) {
        fail(file, `txns[${t}].patches[${p}] is not [pos >= 0, del >= 0, text] (or is empty)`)
      }
      patches.push(patch as unknown as Patch)
    }
  }
  return {
    name: fileName.replace(/\.json(\.gz)?$/, ''),
    startContent: obj.startContent,
    endContent: obj.endContent,
    patches,
    txnCount: obj.txns.length,
  }
}

/** Applies one patch to a Y.Text (inside whatever transaction the caller has open). */
export function applyPatchToYText(text: Y.Text, patch: Patch): void {
  const [pos, del, ins] = patch
  if (del > 0) text.delete(pos, del)
  if (ins !== '') text.insert(pos, ins)
}

/**
 * Applies patches in order, one Yjs transaction per patch as an editor makes them (so
 * each patch fires its own `update` event). `text` must be attached to a Y.Doc.
 */
export function applyPatchesToYText(text: Y.Text, patches: Iterable<Patch>): void {
  const doc = text.doc
  if (doc === null) throw new Error('applyPatchesToYText: the Y.Text is not attached to a Y.Doc')
  for (const patch of patches) {
    doc.transact(() => applyPatchToYText(text, patch))
  }
}

/**
 * The content after applying `patches` to `start` as plain strings: the expected result of a
 * prefix replay (`--quick`). Checks positions, so a malformed trace fails here too.
 */
export function replayOnString(start: string, patches: readonly Patch[]): string {
  // Quadratic in the worst case, fine for prefixes; the full trace's end is `endContent`.
  let s = start
  for (let i = 0; i < patches.length; i++) {
    const [pos, del, ins] = patches[i]!
    if (pos + del > s.length) {
      throw new TraceReplayMismatch(`patch ${i} [${pos}, ${del}] is past the end (${s.length})`)
    }
    s = s.slice(0, pos) + ins + s.slice(pos + del)
  }
  return s
}

/** The content a replay of the first `count` patches must end in. */
export function expectedContent(trace: SequentialTrace, count: number): string {
  if (count >= trace.patches.length) return trace.endContent
  return replayOnString(trace.startContent, trace.patches.slice(0, count))
}

/** Throws `TraceReplayMismatch` (with where they first differ) unless `actual === expected`. */
export function assertReplayEquals(actual: string, expected: string, what: string): void {
  if (actual === expected) return
  let i = 0
  while (i < actual.length && i < expected.length && actual[i] === expected[i]) i++
  throw new TraceReplayMismatch(
    `${what}: replay differs from the expected content at offset ${i} ` +
      `(length ${actual.length}, expected ${expected.length}): ` +
      `${JSON.stringify(actual.slice(i, i + 20))} vs ${JSON.stringify(expected.slice(i, i + 20))}`,
  )
}
