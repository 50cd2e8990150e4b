/**
 * The one decision every remote (and replayed) envelope goes through before it is
 * applied, stored or forwarded. Pure apart from the lookups in `AcceptanceContext`:
 * the same envelope and the same context give the same outcome on every node, so
 * authority never depends on arrival order.
 *
 * Order of checks: fields well formed → signature → already known under this
 * writer+seq (duplicate / equivocation) → authority (removal cut-off, then
 * `mayWrite`) → every Yjs struct under the writer's client id → sequence (apply / gap).
 */
import { memberIdFromPublicKey } from '../identity/identity.js'
import { checkUpdateClients, clientIdFor } from './client-ids.js'
import { checkEnvelopeFields, sameEnvelope } from './codec.js'
import {
  BadSignatureError,
  BeyondCutoffError,
  type EnvelopeError,
  type ForeignClientError,
  MalformedEnvelopeError,
  NotAuthorizedError,
} from './errors.js'
import { verifyEnvelope, writerKey } from './sign.js'
import type { DocId, Envelope, WriterKey } from './types.js'

/** What the decision needs to know about the node's state. All lookups are synchronous. */
export interface AcceptanceContext {
  /** Whether `author` (member id) may write `docId`, from the schema and signed authority records. */
  mayWrite(docId: DocId, author: string): boolean
  /** The envelope already stored for this writer and sequence in `docId`, if any. */
  known(docId: DocId, writer: WriterKey, seq: number): Envelope | undefined
  /** Highest contiguous sequence stored for this writer in `docId` (0 if none). */
  highestSeq(docId: DocId, writer: WriterKey): number
  /**
   * The removal cut-off of this writer (the last sequence accepted before the author
   * was removed), or undefined if the author was not removed. When defined it decides
   * alone: envelopes up to it stay valid whichever arrives first, later ones are
   * refused, whatever `mayWrite` says now.
   */
  cutoff?(docId: DocId, author: string, writer: WriterKey): number | undefined
}

export type AcceptError =
  | BadSignatureError
  | NotAuthorizedError
  | ForeignClientError
  | BeyondCutoffError
  | MalformedEnvelopeError

export type Acceptance =
  /** Apply the update, store the envelope, forward it. */
  | { kind: 'apply' }
  /** Already have it (byte-identical, or below the stored contiguous sequence): ignore. */
  | { kind: 'duplicate' }
  /** Valid, but earlier sequences of this writer are missing: hold it until `expected` arrives. */
  | { kind: 'gap'; expected: number }
  /** Two different signed envelopes under one writer+seq: keep both, report, apply neither again. */
  | { kind: 'equivocation'; evidence: readonly [stored: Envelope, received: Envelope] }
  | { kind: 'reject'; error: AcceptError }

/** Decides what to do with `env`. Never throws (a throwing context lookup excepted). */
export function acceptEnvelope(env: Envelope, ctx: AcceptanceContext): Acceptance {
  const reject = (error: AcceptError): Acceptance => ({ kind: 'reject', error })
  try {
    checkEnvelopeFields(env)
  } catch (err) {
    return reject(err as MalformedEnvelopeError)
  }
  const { docId, seq } = env
  const wk = writerKey(env.author, env.writerId)
  if (!verifyEnvelope(env)) return reject(new BadSignatureError(docId, wk, seq))

  const stored = ctx.known(docId, wk, seq)
  if (stored !== undefined) {
    return sameEnvelope(stored, env)
      ? { kind: 'duplicate' }
      : { kind: 'equivocation', evidence: [stored, env] }
  }

  let author: string
  try {
    author = memberIdFromPublicKey(env.author)
  } catch {
    return reject(new MalformedEnvelopeError('author is not an Ed25519 public key', docId))
  }
  const cutoff = ctx.cutoff?.(docId, author, wk)
  if (cutoff !== undefined) {
    if (seq > cutoff) return reject(new BeyondCutoffError(docId, wk, seq, cutoff))
  } else if (!ctx.mayWrite(docId, author)) {
    return reject(new NotAuthorizedError(docId, author))
  }

  try {
    checkUpdateClients(env.update, clientIdFor(env.author, env.writerId), docId)
  } catch (err) {
    return reject(err as ForeignClientError | MalformedEnvelopeError)
  }

  const highest = ctx.highestSeq(docId, wk)
  if (seq <= highest) return { kind: 'duplicate' } // compacted away; the state already has it
  if (seq > highest + 1) return { kind: 'gap', expected: highest + 1 }
  return { kind: 'apply' }
}

/** Limits of a `GapBuffer`. */
export interface GapBufferLimits {
  /** Most envelopes held per writer of a document (default 256). */
  maxPerWriter?: number
  /** Most update bytes held in total (default 16 MiB). */
  maxBytes?: number
}

/**
 * Holds envelopes that arrived ahead of a missing sequence until it arrives, bounded
 * per writer and in total bytes. When full, `add` returns false and the caller drops
 * the envelope: sync asks for it again later by version vector.
 */
export class GapBuffer {
  readonly #held = new Map<string, Map<number, Envelope>>()
  readonly #maxPerWriter: number
  readonly #maxBytes: number
  #bytes = 0

  constructor(limits: GapBufferLimits = {}) {
    this.#maxPerWriter = limits.maxPerWriter ?? 256
    this.#maxBytes = limits.maxBytes ?? 16 * 1024 * 1024
  }

  get bytes(): number {
    return this.#bytes
  }

  get size(): number {
    let n = 0
    for (const m of this.#held.values()) n += m.size
    return n
  }

  /** Holds `env`; false if a limit would be exceeded (or it is already held). */
  add(env: Envelope): boolean {
    const key = slot(env.docId, writerKey(env.author, env.writerId))
    let m = this.#held.get(key)
    if (m?.has(env.seq)) return false
    if ((m?.size ?? 0) >= this.#maxPerWriter) return false
    if (this.#bytes + env.update.byteLength > this.#maxBytes) return false
    if (m === undefined) {
      m = new Map()
      this.#held.set(key, m)
    }
    m.set(env.seq, env)
    this.#bytes += env.update.byteLength
    return true
  }

  /** Removes and returns the held envelope for exactly this writer+seq, if any. */
  take(docId: DocId, writer: WriterKey, seq: number): Envelope | undefined {
    const key = slot(docId, writer)
    const m = this.#held.get(key)
    const env = m?.get(seq)
    if (m === undefined || env === undefined) return undefined
    m.delete(seq)
    if (m.size === 0) this.#held.delete(key)
    this.#bytes -= env.update.byteLength
    return env
  }

  /** Drops everything held for a document (e.g. when its content is deleted). */
  dropDocument(docId: DocId): void {
    for (const [key, m] of this.#held) {
      if (!key.startsWith(`${docId}\0`)) continue
      for (const env of m.values()) this.#bytes -= env.update.byteLength
      this.#held.delete(key)
    }
  }
}

const slot = (docId: DocId, writer: WriterKey) => `${docId}\0${writer}`

export type { EnvelopeError }
