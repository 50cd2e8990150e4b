/**
 * Strict, canonical CBOR for invitation bodies, admission and revocation payloads and
 * join-protocol frames (cborg). Maps are encoded with cborg's canonical key order
 * (RFC 7049 length-first); decoding rejects indefinite lengths, floats where integers
 * belong, undefined, duplicate keys and any byte string that is not exactly what
 * `encodeCanonical` produces for the decoded value, so every value has one encoding.
 */
import { decode, encode } from 'cborg'

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

export function encodeCanonical(value: unknown): Uint8Array {
  return encode(value)
}

/** Decodes `bytes` or throws (any error) unless they are the canonical encoding. */
export function decodeCanonical(bytes: Uint8Array): unknown {
  const value: unknown = decode(bytes, DECODE_OPTIONS)
  if (!equalBytes(encode(value), bytes)) throw new Error('non-canonical CBOR')
  return value
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array)
}

/** True when `obj` has exactly the keys in `keys` (no more, no fewer). */
export function hasExactKeys(obj: Record<string, unknown>, keys: readonly string[]): boolean {
  const own = Object.keys(obj)
  return own.length === keys.length && keys.every((k) => Object.hasOwn(obj, k))
}
