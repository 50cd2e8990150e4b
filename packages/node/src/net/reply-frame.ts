/**
 * The reply frame of the one-request, one-reply handshakes (join, federate): a canonical
 * CBOR map, either `{v: 1, ok: true, ...fields}` or a refusal for a person,
 * `{v: 1, ok: false, code: "UPPER_CASE", message}`. Codes that are not UPPER_CASE (at
 * most 64 characters) are sent as REFUSED, messages cut to 1,000 characters.
 */
import { decodeCanonical, encodeCanonical, hasExactKeys, isPlainObject } from '../invite/cbor.js'

export interface Refusal {
  ok: false
  code: string
  message: string
}

const CODE_RE = /^[A-Z][A-Z0-9_]{0,63}$/
const MAX_MESSAGE_CHARS = 1000

export function encodeReplyFrame(reply: { ok: true; fields?: object } | Refusal): Uint8Array {
  if (reply.ok) return encodeCanonical({ v: 1, ok: true, ...reply.fields })
  return encodeCanonical({
    v: 1,
    ok: false,
    code: CODE_RE.test(reply.code) ? reply.code : 'REFUSED',
    message: String(reply.message).slice(0, MAX_MESSAGE_CHARS),
  })
}

/**
 * A reply frame's map (`ok: true`: the caller checks its fields), a refusal, or
 * undefined when the bytes are neither. Never throws.
 */
export function decodeReplyFrame(
  bytes: Uint8Array,
): { ok: true; map: Record<string, unknown> } | Refusal | undefined {
  let v: unknown
  try {
    v = decodeCanonical(bytes)
  } catch {
    return undefined
  }
  if (!isPlainObject(v) || v.v !== 1) return undefined
  if (v.ok === true) return { ok: true, map: v }
  if (
    v.ok === false &&
    hasExactKeys(v, ['v', 'ok', 'code', 'message']) &&
    typeof v.code === 'string' &&
    CODE_RE.test(v.code) &&
    typeof v.message === 'string' &&
    v.message.length <= MAX_MESSAGE_CHARS
  ) {
    return { ok: false, code: v.code, message: v.message }
  }
  return undefined
}
