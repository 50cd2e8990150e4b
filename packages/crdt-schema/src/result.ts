/**
 * `Result<T, E>`: how every read of peer data reports failure. Functions that
 * read or validate untrusted input return a Result and never throw.
 */
import type { SchemaError } from './errors.js'

export type Result<T, E = SchemaError> = { ok: true; value: T } | { ok: false; error: E }

export const ok = <T>(value: T): { ok: true; value: T } => ({ ok: true, value })

export const err = <E>(error: E): { ok: false; error: E } => ({ ok: false, error })

/** Returns the value or throws the (typed) error. For callers that treat failure as a bug. */
export function unwrap<T, E>(result: Result<T, E>): T {
  if (result.ok) return result.value
  throw result.error
}
