/**
 * Audience: who may receive a document. It is a member's consent.
 *
 * - `private`: only the author(s) themselves (their devices)
 * - `circle`: the named members (who must be current tribe members) and the authors
 * - `tribe`: current members of the tribe
 * - `federated`: the tribe plus members of tribes with an active federation link
 *
 * Text form (CLI `--audience`): `private`, `tribe`, `federated`, `circle:ID1,ID2`.
 */
import * as v from 'valibot'
import type { OversizedError, SchemaValidationError } from './errors.js'
import { isMemberId } from './ids.js'
import { MAX_CIRCLE_MEMBERS } from './limits.js'
import { ok, type Result } from './result.js'
import { MemberIdSchema, validate } from './validate.js'

export type Audience =
  | { readonly kind: 'private' }
  | { readonly kind: 'circle'; readonly members: readonly string[] }
  | { readonly kind: 'tribe' }
  | { readonly kind: 'federated' }

export type AudienceKind = Audience['kind']

export const AudienceSchema = v.variant('kind', [
  v.object({ kind: v.literal('private') }),
  v.object({
    kind: v.literal('circle'),
    members: v.pipe(v.array(MemberIdSchema), v.maxLength(MAX_CIRCLE_MEMBERS)),
  }),
  v.object({ kind: v.literal('tribe') }),
  v.object({ kind: v.literal('federated') }),
])

export const PRIVATE: Audience = Object.freeze({ kind: 'private' })
export const TRIBE: Audience = Object.freeze({ kind: 'tribe' })
export const FEDERATED: Audience = Object.freeze({ kind: 'federated' })
export const circle = (members: Iterable<string>): Audience =>
  Object.freeze({ kind: 'circle', members: Object.freeze([...new Set(members)].sort()) })

/** Canonical form: circle members sorted and de-duplicated, no extra fields. */
export function normalizeAudience(a: Audience): Audience {
  switch (a.kind) {
    case 'circle':
      return circle(a.members)
    case 'private':
      return PRIVATE
    case 'tribe':
      return TRIBE
    case 'federated':
      return FEDERATED
  }
}

/** Validates an untrusted audience value and returns it in canonical form. */
export function validateAudience(
  input: unknown,
): Result<Audience, SchemaValidationError | OversizedError> {
  const r = validate(AudienceSchema, input, 'audience')
  return r.ok ? ok(normalizeAudience(r.value)) : r
}

/** Parses `private` | `tribe` | `federated` | `circle:ID1,ID2`. */
export function parseAudience(s: string): Result<Audience, SchemaValidationError | OversizedError> {
  const text = s.trim()
  if (text === 'private' || text === 'tribe' || text === 'federated') {
    return ok(normalizeAudience({ kind: text }))
  }
  if (text.startsWith('circle:')) {
    const members = text
      .slice('circle:'.length)
      .split(',')
      .map((m) => m.trim())
      .filter((m) => m.length > 0)
    return validateAudience({ kind: 'circle', members })
  }
  return validateAudience({ kind: text })
}

export function formatAudience(a: Audience): string {
  return a.kind === 'circle' ? `circle:${[...a.members].sort().join(',')}` : a.kind
}

const RANK: Record<AudienceKind, number> = { private: 0, circle: 1, tribe: 2, federated: 3 }

/**
 * The audience both `a` and `b` consent to (authors are always included in both).
 * private ∩ x = private; circle(A) ∩ circle(B) = circle(A ∩ B); circle(A) ∩ tribe|federated
 * = circle(A); tribe ∩ federated = tribe.
 */
export function intersectAudience(a: Audience, b: Audience): Audience {
  if (a.kind === 'circle' && b.kind === 'circle') {
    const other = new Set(b.members)
    return circle(a.members.filter((m) => other.has(m)))
  }
  return normalizeAudience(RANK[a.kind] <= RANK[b.kind] ? a : b)
}

export function audienceEquals(a: Audience, b: Audience): boolean {
  return formatAudience(a) === formatAudience(b)
}

/** True when every circle member id is well-formed (use before writing local input). */
export function isWellFormedAudience(a: Audience): boolean {
  return a.kind !== 'circle' || a.members.every(isMemberId)
}
