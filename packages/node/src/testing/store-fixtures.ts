/** Fake writers and records for store tests: fixed keys, unsigned envelopes (no crypto). */
import { randomBytes } from 'node:crypto'
import type { Envelope, SignedRecord } from '../envelope/types.js'
import { writerKeyOf } from '../store/index.js'

/** A writer with a fixed author key and writer id; its envelopes are unsigned fakes. */
export interface FakeWriter {
  readonly author: Uint8Array
  readonly writerId: Uint8Array
  readonly key: string
  env(docId: string, seq: number, update?: Uint8Array | string): Envelope
}

export function fakeWriter(fill?: number): FakeWriter {
  const author = fill === undefined ? randomBytes(32) : new Uint8Array(32).fill(fill)
  const writerId = fill === undefined ? randomBytes(8) : new Uint8Array(8).fill(fill)
  const w = { author: new Uint8Array(author), writerId: new Uint8Array(writerId) }
  return {
    ...w,
    key: writerKeyOf(w),
    env(docId, seq, update) {
      const bytes =
        update === undefined
          ? new TextEncoder().encode(`update ${docId} ${seq}`)
          : typeof update === 'string'
            ? new TextEncoder().encode(update)
            : update
      return {
        version: 1,
        docId,
        author: w.author,
        writerId: w.writerId,
        seq,
        update: bytes,
        signature: new Uint8Array(64).fill(seq % 256),
      }
    },
  }
}

export function fakeRecord(docId: string, kind: string, createdAt: number): SignedRecord {
  return {
    version: 1,
    docId,
    author: new Uint8Array(32).fill(7),
    kind,
    payload: new TextEncoder().encode(`${kind} of ${docId}`),
    createdAt,
    signature: new Uint8Array(64).fill(9),
  }
}

/** The (writerKey, seq) pairs of envelopes, for compact assertions. */
export const ids = (envs: readonly Envelope[]): string[] =>
  envs.map((e) => `${writerKeyOf(e).slice(0, 4)}#${e.seq}`)
