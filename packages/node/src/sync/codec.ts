/**
 * Pure encode/decode of sync messages (messages.ts). Each frame is one CBOR array whose
 * first element is the message type; strict CBOR (cborg: shortest integers, no
 * indefinite lengths, no tags, floats, maps or undefined), nothing after the array.
 * `decodeMessage` throws nothing but SyncDecodeError, whatever the bytes.
 *
 *   HELLO      [0, version:uint, tribeId:text(1..128)]
 *   DIGEST     [1, round:uint32, count:uint, root:bytes(16)]
 *   MATCH      [2, round:uint32]
 *   BUCKETS    [3, round:uint32, hashes:bytes(256 × 8)]
 *   VECTORS    [4, round:uint32, flags:uint (1 = reply, 2 = final),
 *                  buckets:bytes(n)          one byte per bucket index, strictly increasing
 *                  docs:[ [docId:text,
 *                          vv:[ [writer:bytes(40) = author(32) ‖ writerId(8), seq:uint], … ],
 *                          recordIds:bytes(32 × k)   concatenated SHA-256 ids, ascending ],
 *                        … ] ]
 *   RECORDS    [5, [record:bytes, …]]       each the canonical SignedRecord (envelope/codec.ts)
 *   ENVELOPES  [6, [envelope:bytes, …]]     each the canonical Envelope
 *   BYE        [7, code:text, message:text]
 *
 * Example: the in-sync check of any number of documents is HELLO (≈ 40 bytes) and
 * DIGEST (≈ 25 bytes) each way plus MATCH (3 bytes).
 */
import { isDocIdShape } from '@tapestry/crdt-schema'
import { decode, encode } from 'cborg'
import {
  AUTHOR_BYTES,
  encodeEnvelope,
  encodeRecord,
  MAX_DOC_ID_BYTES,
  tryDecodeEnvelope,
  tryDecodeRecord,
  WRITER_ID_BYTES,
} from '../envelope/codec.js'
import { parseWriterKey, writerKey } from '../envelope/sign.js'
import type { Envelope, SignedRecord, WriterKey } from '../envelope/types.js'
import { SyncDecodeError } from './errors.js'
import {
  BUCKET_HASH_BYTES,
  BUCKETS,
  type DocVector,
  LIMITS,
  MessageType,
  ROOT_BYTES,
  type SyncMessage,
} from './messages.js'

const DECODE_OPTIONS = {
  strict: true,
  allowIndefinite: false,
  allowUndefined: false,
  allowInfinity: false,
  allowNaN: false,
  allowBigInt: false,
  rejectDuplicateMapKeys: true,
  useMaps: false,
  tags: [],
} as const

const WRITER_BYTES = AUTHOR_BYTES + WRITER_ID_BYTES
const RECORD_ID_BYTES = 32
const FLAG_REPLY = 1
const FLAG_FINAL = 2

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

function fail(detail: string, cause?: unknown): never {
  throw new SyncDecodeError(detail, cause === undefined ? undefined : { cause })
}

// ---- encode -----------------------------------------------------------------------

function writerBytes(wk: WriterKey): Uint8Array {
  const parsed = parseWriterKey(wk)
  if (parsed === undefined) throw new TypeError(`not a writer key: ${wk}`)
  const out = new Uint8Array(WRITER_BYTES)
  out.set(parsed.author, 0)
  out.set(parsed.writerId, AUTHOR_BYTES)
  return out
}

function recordIdBytes(ids: readonly string[]): Uint8Array {
  const out = new Uint8Array(ids.length * RECORD_ID_BYTES)
  ids.forEach((id, i) => {
    if (!/^[0-9a-f]{64}$/.test(id)) throw new TypeError(`not a record id: ${id}`)
    out.set(Buffer.from(id, 'hex'), i * RECORD_ID_BYTES)
  })
  return out
}

/** The wire form of one document vector (also what the digest hashes). */
export function docVectorWire(d: DocVector): unknown[] {
  const writers = [...d.vv.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  const ids = [...d.recordIds].sort()
  return [d.docId, writers.map(([wk, seq]) => [writerBytes(wk), seq]), recordIdBytes(ids)]
}

/** Encodes one message. Throws TypeError on values no decoder would accept (a local bug). */
export function encodeMessage(m: SyncMessage): Uint8Array {
  switch (m.type) {
    case 'hello':
      return encode([MessageType.hello, m.version, m.tribeId])
    case 'digest':
      return encode([MessageType.digest, m.round, m.count, m.root])
    case 'match':
      return encode([MessageType.match, m.round])
    case 'buckets':
      return encode([MessageType.buckets, m.round, m.hashes])
    case 'vectors':
      return encode([
        MessageType.vectors,
        m.round,
        (m.reply ? FLAG_REPLY : 0) | (m.final ? FLAG_FINAL : 0),
        Uint8Array.from(m.buckets),
        m.docs.map(docVectorWire),
      ])
    case 'records':
      return encode([MessageType.records, m.records.map(encodeRecord)])
    case 'envelopes':
      return encode([MessageType.envelopes, m.envelopes.map(encodeEnvelope)])
    case 'bye':
      return encode([MessageType.bye, m.code, m.message.slice(0, LIMITS.maxByeText)])
  }
}

/**
 * A RECORDS or ENVELOPES frame from already-encoded items (the session batches them
 * without decoding again): the same bytes `encodeMessage` produces.
 */
export function encodeBatch(
  type: 'records' | 'envelopes',
  items: readonly Uint8Array[],
): Uint8Array {
  return encode([type === 'records' ? MessageType.records : MessageType.envelopes, items])
}

/** Encoded size overhead of a batch frame around its items (upper bound per item: 5 bytes). */
export const BATCH_OVERHEAD = 8

// ---- decode -----------------------------------------------------------------------

function uint(v: unknown, what: string, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) {
    fail(`${what} must be an integer in 0..${max}`)
  }
  return v
}

function bytes(v: unknown, what: string, min: number, max: number): Uint8Array {
  if (!(v instanceof Uint8Array)) fail(`${what} must be bytes`)
  if (v.byteLength < min || v.byteLength > max) fail(`${what} must be ${min}..${max} bytes`)
  return v
}

function text(v: unknown, what: string, max: number, valid?: (s: string) => boolean): string {
  if (typeof v !== 'string' || v.length === 0 || v.length > max || (valid && !valid(v))) {
    fail(`${what} must be 1..${max} characters`)
  }
  return v
}

function array(v: unknown, what: string, max: number, length?: number): unknown[] {
  if (!Array.isArray(v)) fail(`${what} must be an array`)
  if (length !== undefined && v.length !== length) fail(`${what} must have ${length} elements`)
  if (v.length > max) fail(`${what} has more than ${max} elements`)
  return v
}

function decodeDocVector(v: unknown): DocVector {
  const [docId, vvRaw, idsRaw] = array(v, 'document vector', 3, 3)
  const id = text(docId, 'docId', MAX_DOC_ID_BYTES, isDocIdShape)
  const vv = new Map<WriterKey, number>()
  let last = ''
  for (const entry of array(vvRaw, 'version vector', LIMITS.maxWritersPerDoc)) {
    const [w, seq] = array(entry, 'version vector entry', 2, 2)
    const wb = bytes(w, 'writer', WRITER_BYTES, WRITER_BYTES)
    const wk = writerKey(wb.subarray(0, AUTHOR_BYTES), wb.subarray(AUTHOR_BYTES))
    if (wk <= last) fail('version vector writers must be strictly increasing')
    last = wk
    vv.set(wk, uint(seq, 'sequence'))
  }
  const ids = bytes(idsRaw, 'record ids', 0, LIMITS.maxRecordIdsPerDoc * RECORD_ID_BYTES)
  if (ids.byteLength % RECORD_ID_BYTES !== 0) fail('record ids must be 32 bytes each')
  const recordIds: string[] = []
  for (let i = 0; i < ids.byteLength; i += RECORD_ID_BYTES) {
    const rid = hex(ids.subarray(i, i + RECORD_ID_BYTES))
    if (recordIds.length > 0 && rid <= recordIds[recordIds.length - 1]!) {
      fail('record ids must be strictly increasing')
    }
    recordIds.push(rid)
  }
  return { docId: id, vv, recordIds }
}

function decodeOrFail(frame: Uint8Array): unknown[] {
  if (!(frame instanceof Uint8Array)) fail('a frame must be bytes')
  if (frame.byteLength > LIMITS.maxFrameBytes) {
    fail(`frame of ${frame.byteLength} bytes exceeds ${LIMITS.maxFrameBytes}`)
  }
  let value: unknown
  try {
    value = decode(frame, DECODE_OPTIONS)
  } catch (err) {
    fail(`not strict CBOR: ${err instanceof Error ? err.message : String(err)}`, err)
  }
  if (!Array.isArray(value) || value.length === 0) fail('a message is a non-empty CBOR array')
  return value
}

function decodeUnchecked(frame: Uint8Array): SyncMessage {
  const v = decodeOrFail(frame)
  const type = v[0]
  const round = (x: unknown) => uint(x, 'round', LIMITS.maxRound)
  switch (type) {
    case MessageType.hello: {
      array(v, 'HELLO', 3, 3)
      return {
        type: 'hello',
        version: uint(v[1], 'version', 0xffff),
        tribeId: text(v[2], 'tribeId', LIMITS.maxTribeIdChars, isDocIdShape),
      }
    }
    case MessageType.digest:
      array(v, 'DIGEST', 4, 4)
      return {
        type: 'digest',
        round: round(v[1]),
        count: uint(v[2], 'count'),
        root: bytes(v[3], 'root', ROOT_BYTES, ROOT_BYTES),
      }
    case MessageType.match:
      array(v, 'MATCH', 2, 2)
      return { type: 'match', round: round(v[1]) }
    case MessageType.buckets: {
      array(v, 'BUCKETS', 3, 3)
      const n = BUCKETS * BUCKET_HASH_BYTES
      return { type: 'buckets', round: round(v[1]), hashes: bytes(v[2], 'bucket hashes', n, n) }
    }
    case MessageType.vectors: {
      array(v, 'VECTORS', 5, 5)
      const flags = uint(v[2], 'flags', FLAG_REPLY | FLAG_FINAL)
      const b = bytes(v[3], 'buckets', 0, BUCKETS)
      const buckets = [...b]
      for (let i = 1; i < buckets.length; i++) {
        if (buckets[i]! <= buckets[i - 1]!) fail('buckets must be strictly increasing')
      }
      return {
        type: 'vectors',
        round: round(v[1]),
        reply: (flags & FLAG_REPLY) !== 0,
        final: (flags & FLAG_FINAL) !== 0,
        buckets,
        docs: array(v[4], 'documents', LIMITS.maxDocsPerVectors).map(decodeDocVector),
      }
    }
    case MessageType.records: {
      array(v, 'RECORDS', 2, 2)
      const records: SignedRecord[] = []
      for (const item of array(v[1], 'records', LIMITS.maxItemsPerBatch)) {
        const r = tryDecodeRecord(bytes(item, 'record', 1, LIMITS.maxFrameBytes))
        if (!r.ok) fail(r.error.message, r.error)
        records.push(r.value)
      }
      return { type: 'records', records }
    }
    case MessageType.envelopes: {
      array(v, 'ENVELOPES', 2, 2)
      const envelopes: Envelope[] = []
      for (const item of array(v[1], 'envelopes', LIMITS.maxItemsPerBatch)) {
        const r = tryDecodeEnvelope(bytes(item, 'envelope', 1, LIMITS.maxFrameBytes))
        if (!r.ok) fail(r.error.message, r.error)
        envelopes.push(r.value)
      }
      return { type: 'envelopes', envelopes }
    }
    case MessageType.bye:
      array(v, 'BYE', 3, 3)
      return {
        type: 'bye',
        code: text(v[1], 'code', 64),
        message: typeof v[2] === 'string' ? v[2].slice(0, LIMITS.maxByeText) : fail('bye message'),
      }
    default:
      return fail(`unknown message type ${String(type)}`)
  }
}

/** Decodes one frame. Throws only SyncDecodeError. */
export function decodeMessage(frame: Uint8Array): SyncMessage {
  try {
    return decodeUnchecked(frame)
  } catch (err) {
    if (err instanceof SyncDecodeError) throw err
    throw new SyncDecodeError(err instanceof Error ? err.message : String(err), { cause: err })
  }
}

/** Decodes one frame as a Result: never throws. */
export function tryDecodeMessage(
  frame: Uint8Array,
): { ok: true; value: SyncMessage } | { ok: false; error: SyncDecodeError } {
  try {
    return { ok: true, value: decodeMessage(frame) }
  } catch (err) {
    return { ok: false, error: err as SyncDecodeError }
  }
}
