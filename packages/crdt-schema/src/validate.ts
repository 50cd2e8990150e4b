/**
 * Shared valibot schemas and the one place where valibot issues become typed
 * errors: a `max_*` issue becomes an {@link OversizedError}, anything else a
 * {@link SchemaValidationError}.
 */
import * as v from 'valibot'
import { OversizedError, SchemaValidationError } from './errors.js'
import { type DocKind, isDocId, isMemberId } from './ids.js'
import { MAX_NAME_CHARS } from './limits.js'
import { err, ok, type Result } from './result.js'

export const MemberIdSchema = v.custom<string>(isMemberId, 'not an Ed25519 libp2p PeerId')
export const TribeIdSchema = v.custom<string>((s) => isDocId(s, 'roster'), 'not a tribe id')
export const docIdSchema = (kind: DocKind) =>
  v.custom<string>((s) => isDocId(s, kind), `not a ${kind} document id`)
/** Milliseconds since the Unix epoch. */
export const TimestampSchema = v.pipe(v.number(), v.integer(), v.minValue(0))
export const NameSchema = v.pipe(v.string(), v.maxLength(MAX_NAME_CHARS))

const pathOf = (issue: v.BaseIssue<unknown>): string =>
  issue.path?.map((p) => String((p as { key?: unknown }).key)).join('.') ?? ''

/** Validates `input`; returns the typed output or a typed error. Never throws. */
export function validate<S extends v.GenericSchema>(
  schema: S,
  input: unknown,
  what: string,
  docId?: string,
): Result<v.InferOutput<S>, SchemaValidationError | OversizedError> {
  let result: v.SafeParseResult<S>
  try {
    result = v.safeParse(schema, input)
  } catch (cause) {
    return err(new SchemaValidationError(`${what} could not be validated`, [String(cause)], docId))
  }
  if (result.success) return ok(result.output)
  const issues = result.issues
  const big = issues.find((i) => i.type.startsWith('max_'))
  if (big !== undefined) {
    const req = (big as { requirement?: unknown }).requirement
    const received = (big as { received?: unknown }).received
    const actual = typeof received === 'string' ? Number.parseInt(received, 10) : undefined
    return err(
      new OversizedError(
        `${what}${pathOf(big) ? `.${pathOf(big)}` : ''}`,
        typeof req === 'number' ? req : Number.NaN,
        Number.isFinite(actual) ? actual : undefined,
        docId,
      ),
    )
  }
  return err(
    new SchemaValidationError(
      `invalid ${what}`,
      issues.slice(0, 8).map((i) => `${pathOf(i) || '(root)'}: ${i.message}`),
      docId,
    ),
  )
}

/** Recursively freezes a plain value (snapshots are immutable). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const k of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[k])
  }
  return value
}

/** Readonly all the way down (the type of frozen snapshots and records). */
export type DeepReadonly<T> = T extends (infer U)[]
  ? readonly DeepReadonly<U>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T
