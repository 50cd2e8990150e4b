/**
 * The LevelDB store's key layout (utf8 keys, `!` separated; `!` sorts below every
 * character allowed in a document id, so `prefix!` .. `prefix"` is exactly one
 * document's range):
 *
 *   meta                                 { format, createdAt }
 *   d!<docId>                            empty: the document index (listDocuments)
 *   e!<docId>!<writerKey>!<seq:14 hex>   envelope
 *   r!<docId>!<recordId>                 signed record
 *   s!<docId>                            snapshot
 *   q!<docId>!<writerKey>!<seq:14 hex>!<sha256(second)[0..32]>  equivocation evidence
 *
 * Values are the private CBOR encoding of `./encoding.ts`, sealed with a CRC-32.
 */
import type { ClassicLevel } from 'classic-level'
import type { DocId, WriterKey } from '../envelope/types.js'
import { StoreCorruptError } from './errors.js'

export type Db = ClassicLevel<string, Uint8Array>
export type BatchOp = { type: 'put'; key: string; value: Uint8Array } | { type: 'del'; key: string }

const SEQ_HEX = 14
export const EMPTY = new Uint8Array(0)
export const META = 'meta'
/** Above every key the store writes (all keys are ASCII). */
export const KEYSPACE_END = '\xff'

export const seqHex = (seq: number): string => seq.toString(16).padStart(SEQ_HEX, '0')
/** The range of keys starting with `prefix` (which ends with `!`). */
export const range = (prefix: string) => ({ gte: prefix, lt: `${prefix.slice(0, -1)}"` })
export const docKey = (docId: DocId) => `d!${docId}`
export const envPrefix = (docId: DocId) => `e!${docId}!`
export const envKey = (docId: DocId, wk: WriterKey, seq: number) =>
  `e!${docId}!${wk}!${seqHex(seq)}`
export const recPrefix = (docId: DocId) => `r!${docId}!`
export const snapKey = (docId: DocId) => `s!${docId}`
export const RECORD_ID = /^[\x22-\x7e]{1,256}$/

/** The writer key and sequence of an envelope key under `prefix` (`envPrefix(docId)`). */
export function parseEnvKey(
  dir: string,
  key: string,
  prefix: string,
): { wk: WriterKey; seq: number } {
  const rest = key.slice(prefix.length)
  const bang = rest.lastIndexOf('!')
  const seq = Number.parseInt(rest.slice(bang + 1), 16)
  if (bang < 0 || !Number.isSafeInteger(seq)) {
    throw new StoreCorruptError(dir, 'an envelope key is malformed', key)
  }
  return { wk: rest.slice(0, bang), seq }
}
