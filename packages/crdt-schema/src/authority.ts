/**
 * Authority records: the signed statements beside Yjs content that say who
 * wrote a narrative, who its authors are, where each author consents it may go,
 * and whether it was withdrawn (docs/DESIGN.md, "Documents and authority"). The node
 * signs `encodeRecordPayload(record)` (adding its own domain separation) and
 * stores record + signer + signature; this package defines the payloads.
 *
 * Encoding: canonical CBOR (cborg, RFC 8949 deterministic: smallest ints and
 * lengths, map keys sorted bytewise, no tags, no indefinite lengths, no
 * undefined/NaN/Infinity). Arrays of member ids are sorted and de-duplicated.
 * `decodeRecordPayload` accepts only bytes that re-encode to themselves, so one
 * record has exactly one byte form (signatures cannot be malleated).
 *
 * Every record has `v` (the record format version, separate from the content
 * schema; currently 1) and `type`. A newer `v` gives `FutureSchemaVersionError`,
 * an unknown `type` gives `UnknownKindError`: keep storing and forwarding those.
 *
 * Genesis records (`roster.genesis`, `narrative.genesis`, `echo.genesis`,
 * `link.genesis`) carry the `nonce` that, with their creator, derives the document id
 * (`boundDocId`); `profile.genesis` is bound by `profileDocId`. The
 * folds ignore a genesis whose id is not bound to its signer.
 *
 * Federation links are made of records only (no Yjs content): `link.genesis` (the
 * proposing steward of tribe A: terms, the link key's hash, expiry), `link.accept`
 * (a steward of either tribe accepting the pair A–B with those terms; one from each
 * tribe makes the link) and `link.end` (a steward of either tribe ends it). See
 * `link-authority.ts` for the fold.
 */
import { decode, encode, rfc8949EncodeOptions } from 'cborg'
import * as v from 'valibot'
import { type Audience, AudienceSchema, normalizeAudience } from './audience.js'
import {
  FutureSchemaVersionError,
  InvalidRecordError,
  OversizedError,
  type SchemaError,
  SchemaValidationError,
  UnknownKindError,
} from './errors.js'
import { isDocId } from './ids.js'
import { MAX_AUTHORS, MAX_RECORD_BYTES } from './limits.js'
import { CategorySchema } from './profile.js'
import { err, ok, type Result } from './result.js'
import {
  type DeepReadonly,
  deepFreeze,
  docIdSchema,
  MemberIdSchema,
  NameSchema,
  TimestampSchema,
  TribeIdSchema,
  validate,
} from './validate.js'

/** The authority record format version this package writes and reads. */
export const RECORD_VERSION = 1

const AnyDocIdSchema = v.custom<string>((s) => isDocId(s), 'not a document id')
/** The nonce of a bound document id (see `boundDocId` in ids.ts). */
export const NonceSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(64))

export const RosterGenesisSchema = v.object({
  v: v.literal(1),
  type: v.literal('roster.genesis'),
  tribeId: TribeIdSchema,
  founder: MemberIdSchema,
  name: NameSchema,
  nonce: NonceSchema,
  createdAt: TimestampSchema,
})
export const ProfileGenesisSchema = v.object({
  v: v.literal(1),
  type: v.literal('profile.genesis'),
  profileId: docIdSchema('profile'),
  tribeId: TribeIdSchema,
  member: MemberIdSchema,
  createdAt: TimestampSchema,
})

export const NarrativeGenesisSchema = v.object({
  v: v.literal(1),
  type: v.literal('narrative.genesis'),
  narrativeId: docIdSchema('narrative'),
  tribeId: TribeIdSchema,
  creator: MemberIdSchema,
  authors: v.pipe(v.array(MemberIdSchema), v.minLength(1), v.maxLength(MAX_AUTHORS)),
  audience: AudienceSchema,
  nonce: NonceSchema,
  createdAt: TimestampSchema,
})
export const NarrativeAudienceSchema = v.object({
  v: v.literal(1),
  type: v.literal('narrative.audience'),
  narrativeId: docIdSchema('narrative'),
  member: MemberIdSchema,
  audience: AudienceSchema,
  at: TimestampSchema,
})
export const NarrativeCoauthorSchema = v.object({
  v: v.literal(1),
  type: v.literal('narrative.coauthor'),
  narrativeId: docIdSchema('narrative'),
  member: MemberIdSchema,
  at: TimestampSchema,
})
export const NarrativeWithdrawSchema = v.object({
  v: v.literal(1),
  type: v.literal('narrative.withdraw'),
  narrativeId: docIdSchema('narrative'),
  by: MemberIdSchema,
  at: TimestampSchema,
})
export const EchoGenesisSchema = v.object({
  v: v.literal(1),
  type: v.literal('echo.genesis'),
  echoId: docIdSchema('echo'),
  narrativeId: docIdSchema('narrative'),
  responder: MemberIdSchema,
  /** The responder's consent for this echo; absent = no narrower than the narrative. */
  audience: v.optional(AudienceSchema),
  nonce: NonceSchema,
  createdAt: TimestampSchema,
})
export const ErasureReceiptSchema = v.object({
  v: v.literal(1),
  type: v.literal('erasure.receipt'),
  docId: AnyDocIdSchema,
  member: MemberIdSchema,
  at: TimestampSchema,
})

/** A tribe as a link names it. */
export const LinkTribeSchema = v.object({ id: TribeIdSchema, name: NameSchema })
/** Categories that flow over a link (sorted, unique, at least one). */
export const LinkTermsSchema = v.pipe(
  v.array(CategorySchema),
  v.minLength(1),
  v.maxLength(3),
  v.check((t) => new Set(t).size === t.length, 'duplicate terms'),
)
export const LinkGenesisSchema = v.object({
  v: v.literal(1),
  type: v.literal('link.genesis'),
  linkId: docIdSchema('link'),
  /** The proposer's tribe (tribe A). */
  tribe: LinkTribeSchema,
  terms: LinkTermsSchema,
  proposer: MemberIdSchema,
  /** Hex SHA-256 of the link's swarm key (the key itself travels only in the offer). */
  keyHash: v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/)),
  /** No acceptance is countersigned after this time. */
  expiresAt: TimestampSchema,
  nonce: NonceSchema,
  createdAt: TimestampSchema,
})
export const LinkAcceptSchema = v.object({
  v: v.literal(1),
  type: v.literal('link.accept'),
  linkId: docIdSchema('link'),
  tribeA: LinkTribeSchema,
  tribeB: LinkTribeSchema,
  terms: LinkTermsSchema,
  /** The tribe the accepting steward speaks for: `tribeA.id` or `tribeB.id`. */
  tribeId: TribeIdSchema,
  steward: MemberIdSchema,
  at: TimestampSchema,
})
export const LinkEndSchema = v.object({
  v: v.literal(1),
  type: v.literal('link.end'),
  linkId: docIdSchema('link'),
  tribeId: TribeIdSchema,
  steward: MemberIdSchema,
  at: TimestampSchema,
})

export const AuthorityRecordSchema = v.variant('type', [
  RosterGenesisSchema,
  ProfileGenesisSchema,
  NarrativeGenesisSchema,
  NarrativeAudienceSchema,
  NarrativeCoauthorSchema,
  NarrativeWithdrawSchema,
  EchoGenesisSchema,
  ErasureReceiptSchema,
  LinkGenesisSchema,
  LinkAcceptSchema,
  LinkEndSchema,
])

/** Audience fields typed as the package's {@link Audience} (validation is `AudienceSchema`'s). */
type WithAudience<T> = T extends unknown
  ? {
      readonly [K in keyof T]: K extends 'audience' ? Audience | Extract<T[K], undefined> : T[K]
    }
  : never
type Out<S extends v.GenericSchema> = WithAudience<DeepReadonly<v.InferOutput<S>>>
export type RosterGenesis = Out<typeof RosterGenesisSchema>
export type ProfileGenesis = Out<typeof ProfileGenesisSchema>
export type NarrativeGenesis = Out<typeof NarrativeGenesisSchema>
export type NarrativeAudienceChange = Out<typeof NarrativeAudienceSchema>
export type NarrativeCoauthor = Out<typeof NarrativeCoauthorSchema>
export type NarrativeWithdraw = Out<typeof NarrativeWithdrawSchema>
export type EchoGenesis = Out<typeof EchoGenesisSchema>
export type ErasureReceipt = Out<typeof ErasureReceiptSchema>
export type LinkGenesis = Out<typeof LinkGenesisSchema>
export type LinkAccept = Out<typeof LinkAcceptSchema>
export type LinkEnd = Out<typeof LinkEndSchema>
export type AuthorityRecord = Out<typeof AuthorityRecordSchema>
export type AuthorityRecordType = AuthorityRecord['type']
export const RECORD_TYPES: readonly AuthorityRecordType[] = [
  'roster.genesis',
  'profile.genesis',
  'narrative.genesis',
  'narrative.audience',
  'narrative.coauthor',
  'narrative.withdraw',
  'echo.genesis',
  'erasure.receipt',
  'link.genesis',
  'link.accept',
  'link.end',
]

/** Input to the folds: a decoded record and the member whose signature over it the node verified. */
export interface SignedRecord {
  readonly signer: string
  readonly record: AuthorityRecord
}

/**
 * The member who must sign a record for it to count; `undefined` for
 * `narrative.coauthor`, which any current author of the narrative may sign
 * (the fold checks that). Withdrawals: the author named in `by`.
 */
export function requiredSigner(record: AuthorityRecord): string | undefined {
  switch (record.type) {
    case 'roster.genesis':
      return record.founder
    case 'profile.genesis':
      return record.member
    case 'narrative.genesis':
      return record.creator
    case 'narrative.audience':
      return record.member
    case 'narrative.coauthor':
      return undefined
    case 'narrative.withdraw':
      return record.by
    case 'echo.genesis':
      return record.responder
    case 'erasure.receipt':
      return record.member
    case 'link.genesis':
      return record.proposer
    case 'link.accept':
    case 'link.end':
      return record.steward
  }
}

/** The document a record is about. */
export function recordSubject(record: AuthorityRecord): string {
  switch (record.type) {
    case 'roster.genesis':
      return record.tribeId
    case 'profile.genesis':
      return record.profileId
    case 'echo.genesis':
      return record.echoId
    case 'erasure.receipt':
      return record.docId
    case 'link.genesis':
    case 'link.accept':
    case 'link.end':
      return record.linkId
    default:
      return record.narrativeId
  }
}

/** Canonical form: sorted, de-duplicated id arrays, normalized audiences, no undefined fields. */
export function normalizeRecord(record: AuthorityRecord): AuthorityRecord {
  const out: Record<string, unknown> = {}
  for (const [k, val] of Object.entries(record)) if (val !== undefined) out[k] = val
  if ('audience' in record && record.audience !== undefined) {
    out.audience = normalizeAudience(record.audience)
  }
  if (record.type === 'narrative.genesis') out.authors = [...new Set(record.authors)].sort()
  if (record.type === 'link.genesis' || record.type === 'link.accept') {
    out.terms = [...new Set(record.terms)].sort()
  }
  return out as AuthorityRecord
}

/** Validates an untrusted value as an authority record. Never throws. */
export function validateRecord(input: unknown): Result<AuthorityRecord, SchemaError> {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    return err(new InvalidRecordError('record is not a map'))
  }
  const { v: version, type } = input as { v?: unknown; type?: unknown }
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 1) {
    return err(new SchemaValidationError('invalid record version', [String(version)]))
  }
  if (version > RECORD_VERSION) return err(new FutureSchemaVersionError(version, RECORD_VERSION))
  if (typeof type !== 'string') return err(new SchemaValidationError('record has no type'))
  if (!(RECORD_TYPES as readonly string[]).includes(type)) return err(new UnknownKindError(type))
  const r = validate(AuthorityRecordSchema, input, type)
  if (!r.ok) return r
  if (r.value.type === 'narrative.genesis' && !r.value.authors.includes(r.value.creator)) {
    return err(new SchemaValidationError('the creator must be one of the authors'))
  }
  if (r.value.type === 'link.accept') {
    const { tribeA, tribeB, tribeId } = r.value
    if (tribeA.id === tribeB.id) {
      return err(new SchemaValidationError('a link joins two different tribes'))
    }
    if (tribeId !== tribeA.id && tribeId !== tribeB.id) {
      return err(new SchemaValidationError('the accepting tribe is not part of the link'))
    }
  }
  return ok(r.value)
}

const DECODE_OPTIONS = {
  strict: true,
  rejectDuplicateMapKeys: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  useMaps: false,
} as const

/**
 * The canonical bytes of a record (what the node signs). Throws a typed error
 * (`SchemaValidationError`/`OversizedError`) if the record is invalid: that is a
 * local bug, not peer data.
 */
export function encodeRecordPayload(record: AuthorityRecord): Uint8Array {
  const valid = validateRecord(normalizeRecord(record))
  if (!valid.ok) throw valid.error
  const bytes = encode(normalizeRecord(valid.value), rfc8949EncodeOptions)
  if (bytes.length > MAX_RECORD_BYTES) {
    throw new OversizedError('record', MAX_RECORD_BYTES, bytes.length)
  }
  return bytes
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/** Decodes and validates record bytes from a peer. Never throws. */
export function decodeRecordPayload(bytes: Uint8Array): Result<AuthorityRecord, SchemaError> {
  if (!(bytes instanceof Uint8Array)) return err(new InvalidRecordError('not bytes'))
  if (bytes.length > MAX_RECORD_BYTES) {
    return err(new OversizedError('record', MAX_RECORD_BYTES, bytes.length))
  }
  let value: unknown
  try {
    value = decode(bytes, DECODE_OPTIONS)
  } catch (cause) {
    return err(new InvalidRecordError('record is not valid CBOR', cause))
  }
  const r = validateRecord(value)
  if (!r.ok) return r
  let canonical: Uint8Array
  try {
    canonical = encode(normalizeRecord(r.value), rfc8949EncodeOptions)
  } catch (cause) {
    return err(new InvalidRecordError('record cannot be re-encoded', cause))
  }
  if (!equalBytes(canonical, bytes)) {
    return err(new InvalidRecordError('record is not in canonical form'))
  }
  return ok(deepFreeze(r.value))
}

function recordKey(s: SignedRecord): string {
  let hex = ''
  try {
    for (const b of encode(normalizeRecord(s.record), rfc8949EncodeOptions)) {
      hex += b.toString(16).padStart(2, '0')
    }
  } catch {
    hex = ''
  }
  return `${hex} ${s.signer}`
}

function compareKeyed(
  a: { s: SignedRecord; key: string },
  b: { s: SignedRecord; key: string },
): number {
  const ta = recordTime(a.s.record)
  const tb = recordTime(b.s.record)
  if (ta !== tb) return ta - tb
  if (a.s.record.type !== b.s.record.type) return a.s.record.type < b.s.record.type ? -1 : 1
  return a.key < b.key ? -1 : a.key > b.key ? 1 : 0
}

/** A total, deterministic order on records: by time, then type, then canonical bytes, then signer. */
export function compareRecords(a: SignedRecord, b: SignedRecord): number {
  return compareKeyed({ s: a, key: recordKey(a) }, { s: b, key: recordKey(b) })
}

/** Records sorted by {@link compareRecords} (each record encoded once). */
export function sortRecords(records: readonly SignedRecord[]): SignedRecord[] {
  return records
    .map((s) => ({ s, key: recordKey(s) }))
    .sort(compareKeyed)
    .map(({ s }) => s)
}

export function recordTime(record: AuthorityRecord): number {
  return 'createdAt' in record ? record.createdAt : record.at
}
