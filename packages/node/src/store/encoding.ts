/**
 * The store's private value encoding (CBOR via cborg, fixed-position arrays) and the
 * validation of what it reads back. Not the wire codec: only this node's stores read it.
 * Bumping the layout means bumping `STORE_FORMAT`.
 *
 *   envelope     [version, docId, author, writerId, seq, update, signature]
 *   record       [version, docId, author, kind, payload, createdAt, signature]
 *   snapshot     [state, [[writerKey, seq], ...]]
 *   equivocation [docId, writerKey, seq, envelope, envelope]
 *   meta         { format, createdAt }
 *
 * On disk each value is sealed: 4 bytes CRC-32 (big-endian) of the CBOR, then the CBOR.
 * LevelDB does not verify block checksums on reads by default, so the seal is what
 * turns a flipped bit into a `StoreCorruptError` instead of a wrong value.
 */

import { crc32 } from 'node:zlib'
import { decode, encode } from 'cborg'
import type { DocId, Envelope, SignedRecord, VersionVector } from '../envelope/types.js'
import type { DocSnapshot, EquivocationEvidence } from './envelope-store.js'
import { InvalidStoreKeyError } from './errors.js'

/** Thrown by the decoders; stores turn it into `StoreCorruptError` with dir and key. */
export class DecodeFailure extends Error {
  override readonly name = 'DecodeFailure'
}

const MAX_SEQ = Number.MAX_SAFE_INTEGER
const DOC_ID = /^[\x22-\x7e]{1,512}$/

export function checkDocId(docId: unknown): asserts docId is DocId {
  if (typeof docId !== 'string' || !DOC_ID.test(docId)) {
    throw new InvalidStoreKeyError(
      `document id ${JSON.stringify(docId)} (printable ASCII without "!" or spaces)`,
    )
  }
}

export function checkSeq(seq: unknown): asserts seq is number {
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || seq > MAX_SEQ) {
    throw new InvalidStoreKeyError(`sequence ${String(seq)} (a positive safe integer)`)
  }
}

const WRITER_KEY = /^[0-9a-f]+:[0-9a-f]+$/

export function checkWriterKey(wk: unknown): asserts wk is string {
  if (typeof wk !== 'string' || !WRITER_KEY.test(wk)) {
    throw new InvalidStoreKeyError(`writer key ${JSON.stringify(wk)} (hex:hex)`)
  }
}

export const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b)

export function cloneEnvelope(e: Envelope): Envelope {
  return {
    version: e.version,
    docId: e.docId,
    author: copy(e.author),
    writerId: copy(e.writerId),
    seq: e.seq,
    update: copy(e.update),
    signature: copy(e.signature),
  }
}

export function cloneRecord(r: SignedRecord): SignedRecord {
  return {
    version: r.version,
    docId: r.docId,
    author: copy(r.author),
    kind: r.kind,
    payload: copy(r.payload),
    createdAt: r.createdAt,
    signature: copy(r.signature),
  }
}

function envelopeArray(e: Envelope): unknown[] {
  return [e.version, e.docId, e.author, e.writerId, e.seq, e.update, e.signature]
}

export function encodeEnvelope(e: Envelope): Uint8Array {
  return encode(envelopeArray(e))
}

export function decodeEnvelope(bytes: Uint8Array): Envelope {
  return envelopeFromArray(decodeCbor(bytes))
}

function envelopeFromArray(a: unknown): Envelope {
  if (!Array.isArray(a) || a.length !== 7) throw new DecodeFailure('envelope is not a 7-array')
  const [version, docId, author, writerId, seq, update, signature] = a
  if (
    typeof version !== 'number' ||
    typeof docId !== 'string' ||
    !(author instanceof Uint8Array) ||
    !(writerId instanceof Uint8Array) ||
    typeof seq !== 'number' ||
    !Number.isSafeInteger(seq) ||
    !(update instanceof Uint8Array) ||
    !(signature instanceof Uint8Array)
  ) {
    throw new DecodeFailure('envelope fields have the wrong types')
  }
  return { version, docId, author, writerId, seq, update, signature }
}

export function encodeRecord(r: SignedRecord): Uint8Array {
  return encode([r.version, r.docId, r.author, r.kind, r.payload, r.createdAt, r.signature])
}

export function decodeRecord(bytes: Uint8Array): SignedRecord {
  const a = decodeCbor(bytes)
  if (!Array.isArray(a) || a.length !== 7) throw new DecodeFailure('record is not a 7-array')
  const [version, docId, author, kind, payload, createdAt, signature] = a
  if (
    typeof version !== 'number' ||
    typeof docId !== 'string' ||
    !(author instanceof Uint8Array) ||
    typeof kind !== 'string' ||
    !(payload instanceof Uint8Array) ||
    typeof createdAt !== 'number' ||
    !(signature instanceof Uint8Array)
  ) {
    throw new DecodeFailure('record fields have the wrong types')
  }
  return { version, docId, author, kind, payload, createdAt, signature }
}

export function encodeSnapshot(s: DocSnapshot): Uint8Array {
  return encode([s.state, vvEntries(s.vv)])
}

export function decodeSnapshot(bytes: Uint8Array): DocSnapshot {
  const a = decodeCbor(bytes)
  if (!Array.isArray(a) || a.length !== 2) throw new DecodeFailure('snapshot is not a 2-array')
  const [state, entries] = a
  if (!(state instanceof Uint8Array)) throw new DecodeFailure('snapshot state is not bytes')
  return { state, vv: vvFromEntries(entries) }
}

export function encodeEquivocation(ev: EquivocationEvidence): Uint8Array {
  return encode([ev.docId, ev.writerKey, ev.seq, envelopeArray(ev.first), envelopeArray(ev.second)])
}

export function decodeEquivocation(bytes: Uint8Array): EquivocationEvidence {
  const a = decodeCbor(bytes)
  if (!Array.isArray(a) || a.length !== 5) throw new DecodeFailure('evidence is not a 5-array')
  const [docId, writerKey, seq, first, second] = a
  if (typeof docId !== 'string' || typeof writerKey !== 'string' || typeof seq !== 'number') {
    throw new DecodeFailure('evidence fields have the wrong types')
  }
  return {
    docId,
    writerKey,
    seq,
    first: envelopeFromArray(first),
    second: envelopeFromArray(second),
  }
}

export interface Meta {
  readonly format: number
  readonly createdAt: number
}

export function encodeMeta(m: Meta): Uint8Array {
  return encode({ format: m.format, createdAt: m.createdAt })
}

export function decodeMeta(bytes: Uint8Array): Meta {
  const m = decodeCbor(bytes) as { format?: unknown; createdAt?: unknown } | null
  if (
    typeof m !== 'object' ||
    m === null ||
    typeof m.format !== 'number' ||
    typeof m.createdAt !== 'number'
  ) {
    throw new DecodeFailure('meta record has the wrong shape')
  }
  return { format: m.format, createdAt: m.createdAt }
}

export function vvEntries(vv: VersionVector): [string, number][] {
  return [...vv.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
}

function vvFromEntries(entries: unknown): VersionVector {
  if (!Array.isArray(entries)) throw new DecodeFailure('version vector is not an array')
  const vv = new Map<string, number>()
  for (const e of entries) {
    if (!Array.isArray(e) || typeof e[0] !== 'string' || typeof e[1] !== 'number') {
      throw new DecodeFailure('version vector entry has the wrong shape')
    }
    vv.set(e[0], e[1])
  }
  return vv
}

function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return decode(bytes)
  } catch (err) {
    throw new DecodeFailure(`not valid CBOR: ${(err as Error).message}`)
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.byteLength === b.byteLength && Buffer.compare(a, b) === 0
}

/** `crc32(body) ‖ body`: the on-disk form of a value. */
export function sealValue(body: Uint8Array): Uint8Array {
  const out = new Uint8Array(body.byteLength + 4)
  new DataView(out.buffer).setUint32(0, crc32(body))
  out.set(body, 4)
  return out
}

/** The body of a sealed value; `DecodeFailure` if it is short or its checksum is wrong. */
export function unsealValue(sealed: Uint8Array): Uint8Array {
  if (sealed.byteLength < 4) throw new DecodeFailure('value shorter than its checksum')
  const body = sealed.subarray(4)
  const stored = new DataView(sealed.buffer, sealed.byteOffset, 4).getUint32(0)
  if (stored !== crc32(body)) throw new DecodeFailure('value checksum mismatch')
  return body
}
