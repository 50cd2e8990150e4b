/**
 * Canonical byte encoding of envelopes and signed records (strict CBOR via cborg).
 *
 * Both are a CBOR definite-length array of positional fields, every integer in its
 * shortest form, no tags, no floats, no maps, no indefinite lengths, nothing after
 * the array. Decoding is strict: the bytes must be exactly what `encode*` would
 * produce for the decoded value (checked by re-encoding), so every valid envelope has
 * one byte string and the signature covers all of it.
 *
 * Envelope (wire, ≤ MAX_ENVELOPE_BYTES):
 *
 *   0x87                       array(7)
 *   ├─ uint        version     = ENVELOPE_VERSION (1)
 *   ├─ text        docId       1..MAX_DOC_ID_BYTES, a document id's shape (isDocIdShape)
 *   ├─ bytes(32)   author      raw Ed25519 public key
 *   ├─ bytes(8)    writerId    per data directory
 *   ├─ uint        seq         1..2^53-1, per (author, writerId, docId)
 *   ├─ bytes       update      Yjs update v1, ≤ MAX_UPDATE_BYTES
 *   └─ bytes(64)   signature   Ed25519 over the signing input below
 *
 *   signing input = "tapestry/envelope/v1\0" ‖ 0x86 version docId author writerId seq update
 *                   (the same CBOR, as array(6), without the signature)
 *
 * SignedRecord (wire, ≤ MAX_RECORD_BYTES):
 *
 *   0x87                       array(7)
 *   ├─ uint        version     = ENVELOPE_VERSION (1)
 *   ├─ text        docId
 *   ├─ bytes(32)   author
 *   ├─ text        kind        1..MAX_KIND_BYTES of [a-z0-9._/-]
 *   ├─ bytes       payload     canonical record body from @tapestry/crdt-schema, ≤ MAX_RECORD_PAYLOAD_BYTES
 *   ├─ uint        createdAt   milliseconds since the epoch, 0..2^53-1
 *   └─ bytes(64)   signature
 *
 *   signing input = "tapestry/record/v1\0" ‖ 0x86 version docId author kind payload createdAt
 *   record id     = hex(SHA-256(wire bytes))
 *
 * Decoded byte fields may share memory with the input buffer: treat them as read-only.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { isDocIdShape } from '@tapestry/crdt-schema'
import { decode, encode } from 'cborg'
import { MalformedEnvelopeError } from './errors.js'
import { type DocId, ENVELOPE_VERSION, type Envelope, type SignedRecord } from './types.js'

export const MAX_UPDATE_BYTES = 2 * 1024 * 1024
export const MAX_DOC_ID_BYTES = 128
export const MAX_ENVELOPE_BYTES = MAX_UPDATE_BYTES + 1024
export const MAX_RECORD_PAYLOAD_BYTES = 256 * 1024
export const MAX_KIND_BYTES = 64
export const MAX_RECORD_BYTES = MAX_RECORD_PAYLOAD_BYTES + 1024
export const AUTHOR_BYTES = 32
export const WRITER_ID_BYTES = 8
export const SIGNATURE_BYTES = 64

export const ENVELOPE_DOMAIN = 'tapestry/envelope/v1\0'
export const RECORD_DOMAIN = 'tapestry/record/v1\0'

export type Result<T, E = MalformedEnvelopeError> = { ok: true; value: T } | { ok: false; error: E }

const DECODE_OPTIONS = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: false,
} as const

const enc = new TextEncoder()
const ENVELOPE_PREFIX = enc.encode(ENVELOPE_DOMAIN)
const RECORD_PREFIX = enc.encode(RECORD_DOMAIN)
const KIND_RE = /^[a-z0-9._/-]+$/

function fail(detail: string, docId?: DocId): never {
  throw new MalformedEnvelopeError(detail, docId)
}

function checkUint(v: unknown, field: string, min: number, docId?: DocId): asserts v is number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min) {
    fail(`${field} must be an integer ≥ ${min}`, docId)
  }
}

function checkBytes(v: unknown, field: string, min: number, max: number, docId?: DocId) {
  if (!(v instanceof Uint8Array)) fail(`${field} must be bytes`, docId)
  if (v.byteLength < min || v.byteLength > max) {
    fail(
      min === max ? `${field} must be ${min} bytes` : `${field} must be ${min}..${max} bytes`,
      docId,
    )
  }
}

function checkDocId(v: unknown): asserts v is DocId {
  if (typeof v !== 'string' || v.length === 0 || v.length > MAX_DOC_ID_BYTES || !isDocIdShape(v)) {
    fail(`docId must be a document id of 1..${MAX_DOC_ID_BYTES} characters`)
  }
}

function checkVersion(v: unknown, docId: DocId) {
  checkUint(v, 'version', 0, docId)
  if (v !== ENVELOPE_VERSION) fail(`unsupported envelope version ${v}`, docId)
}

/** Throws MalformedEnvelopeError unless every field of `env` has the right type and size. */
export function checkEnvelopeFields(env: Envelope): void {
  if (typeof env !== 'object' || env === null) fail('not an envelope')
  checkDocId(env.docId)
  checkVersion(env.version, env.docId)
  checkBytes(env.author, 'author', AUTHOR_BYTES, AUTHOR_BYTES, env.docId)
  checkBytes(env.writerId, 'writerId', WRITER_ID_BYTES, WRITER_ID_BYTES, env.docId)
  checkUint(env.seq, 'seq', 1, env.docId)
  checkBytes(env.update, 'update', 0, MAX_UPDATE_BYTES, env.docId)
  checkBytes(env.signature, 'signature', SIGNATURE_BYTES, SIGNATURE_BYTES, env.docId)
}

/** Throws MalformedEnvelopeError unless every field of `rec` has the right type and size. */
export function checkRecordFields(rec: SignedRecord): void {
  if (typeof rec !== 'object' || rec === null) fail('not a record')
  checkDocId(rec.docId)
  checkVersion(rec.version, rec.docId)
  checkBytes(rec.author, 'author', AUTHOR_BYTES, AUTHOR_BYTES, rec.docId)
  if (
    typeof rec.kind !== 'string' ||
    rec.kind.length === 0 ||
    rec.kind.length > MAX_KIND_BYTES ||
    !KIND_RE.test(rec.kind)
  ) {
    fail(`record kind must be 1..${MAX_KIND_BYTES} characters of [a-z0-9._/-]`, rec.docId)
  }
  checkBytes(rec.payload, 'payload', 0, MAX_RECORD_PAYLOAD_BYTES, rec.docId)
  checkUint(rec.createdAt, 'createdAt', 0, rec.docId)
  checkBytes(rec.signature, 'signature', SIGNATURE_BYTES, SIGNATURE_BYTES, rec.docId)
}

type Unsigned<T> = Omit<T, 'signature'>

const envelopeFields = (e: Unsigned<Envelope>) =>
  [e.version, e.docId, e.author, e.writerId, e.seq, e.update] as const
const recordFields = (r: Unsigned<SignedRecord>) =>
  [r.version, r.docId, r.author, r.kind, r.payload, r.createdAt] as const

function prefixed(prefix: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.byteLength + body.byteLength)
  out.set(prefix, 0)
  out.set(body, prefix.byteLength)
  return out
}

/** The exact bytes an envelope's signature covers: domain prefix ‖ CBOR of every other field. */
export function envelopeSigningInput(env: Unsigned<Envelope>): Uint8Array {
  return prefixed(ENVELOPE_PREFIX, encode(envelopeFields(env)))
}

/** The exact bytes a record's signature covers. */
export function recordSigningInput(rec: Unsigned<SignedRecord>): Uint8Array {
  return prefixed(RECORD_PREFIX, encode(recordFields(rec)))
}

/** Canonical wire bytes of an envelope. Throws MalformedEnvelopeError on a bad field. */
export function encodeEnvelope(env: Envelope): Uint8Array {
  checkEnvelopeFields(env)
  return encode([...envelopeFields(env), env.signature])
}

/** Canonical wire bytes of a signed record. Throws MalformedEnvelopeError on a bad field. */
export function encodeRecord(rec: SignedRecord): Uint8Array {
  checkRecordFields(rec)
  return encode([...recordFields(rec), rec.signature])
}

function decodeStrict(bytes: unknown, max: number, what: string): unknown[] {
  if (!(bytes instanceof Uint8Array)) fail(`${what} must be bytes`)
  if (bytes.byteLength > max) fail(`${what} of ${bytes.byteLength} bytes exceeds ${max}`)
  let value: unknown
  try {
    value = decode(bytes, DECODE_OPTIONS)
  } catch (err) {
    fail(`not strict CBOR: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (!Array.isArray(value)) fail(`${what} must be a CBOR array`)
  if (value.length !== 7) fail(`${what} must have 7 fields, found ${value.length}`)
  return value
}

function checkCanonical(bytes: Uint8Array, again: Uint8Array, docId: DocId) {
  if (!equalBytes(again, bytes)) {
    fail('non-canonical encoding', docId)
  }
}

/** Strict decode: throws only MalformedEnvelopeError. Does not check the signature. */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const r = tryDecodeEnvelope(bytes)
  if (!r.ok) throw r.error
  return r.value
}

/** Strict decode as a Result: never throws. Does not check the signature. */
export function tryDecodeEnvelope(bytes: Uint8Array): Result<Envelope> {
  try {
    const [version, docId, author, writerId, seq, update, signature] = decodeStrict(
      bytes,
      MAX_ENVELOPE_BYTES,
      'envelope',
    )
    const env = { version, docId, author, writerId, seq, update, signature } as Envelope
    checkEnvelopeFields(env)
    checkCanonical(bytes, encode([...envelopeFields(env), env.signature]), env.docId)
    return { ok: true, value: env }
  } catch (err) {
    return { ok: false, error: asMalformed(err) }
  }
}

/** Strict decode: throws only MalformedEnvelopeError. Does not check the signature. */
export function decodeRecord(bytes: Uint8Array): SignedRecord {
  const r = tryDecodeRecord(bytes)
  if (!r.ok) throw r.error
  return r.value
}

/** Strict decode as a Result: never throws. Does not check the signature. */
export function tryDecodeRecord(bytes: Uint8Array): Result<SignedRecord> {
  try {
    const [version, docId, author, kind, payload, createdAt, signature] = decodeStrict(
      bytes,
      MAX_RECORD_BYTES,
      'record',
    )
    const rec = { version, docId, author, kind, payload, createdAt, signature } as SignedRecord
    checkRecordFields(rec)
    checkCanonical(bytes, encode([...recordFields(rec), rec.signature]), rec.docId)
    return { ok: true, value: rec }
  } catch (err) {
    return { ok: false, error: asMalformed(err) }
  }
}

/** Content address of a record: hex SHA-256 of its wire bytes. */
export function recordId(rec: SignedRecord): string {
  return Buffer.from(sha256(encodeRecord(rec))).toString('hex')
}

/** True when two envelopes are byte-identical (the same signed change). */
export function sameEnvelope(a: Envelope, b: Envelope): boolean {
  return (
    a.version === b.version &&
    a.docId === b.docId &&
    a.seq === b.seq &&
    equalBytes(a.author, b.author) &&
    equalBytes(a.writerId, b.writerId) &&
    equalBytes(a.signature, b.signature) &&
    equalBytes(a.update, b.update)
  )
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  )
}

function asMalformed(err: unknown): MalformedEnvelopeError {
  if (err instanceof MalformedEnvelopeError) return err
  return new MalformedEnvelopeError(err instanceof Error ? err.message : String(err))
}
