/**
 * The local write path: turns a writer's own Yjs transactions on one document into
 * signed, stored envelopes.
 *
 * No timer. The first local update starts a round at once (in a microtask, so the
 * updates of one synchronous burst share it); while a round is signing and persisting,
 * further updates accumulate and are merged (`Y.mergeUpdates`) into one envelope for the
 * next round. A lone key press therefore leaves immediately; a fast typist or a bulk
 * import produce few envelopes. Sequence numbers continue from the store's highest.
 *
 * If signing fails or one transaction is larger than an envelope may carry, the
 * coalescer stops for good (`flush` rejects with that error): the caller must reopen
 * the document. If `persist` fails, the failed envelope is kept and persisted first (unchanged, same
 * seq, same bytes) on the next round, so a store that did write it before failing sees
 * an identical duplicate, never an equivocation.
 */
import * as Y from 'yjs'
import { clientIdFor } from './client-ids.js'
import { MAX_UPDATE_BYTES } from './codec.js'
import { UpdateTooLargeError } from './errors.js'
import { type Signer, signEnvelope } from './sign.js'
import type { DocId, Envelope } from './types.js'

export interface CoalescerOptions {
  /** The writer's document; its `clientID` must be `clientIdFor(signer.publicKey, signer.writerId)`. */
  doc: Y.Doc
  docId: DocId
  signer: Signer
  /** The store's highest sequence of this writer for `docId` (0 for none). */
  highestSeq: number
  /** Makes envelopes durable (e.g. `store.appendEnvelopes`); resolves once they are on disk. */
  persist: (envs: Envelope[]) => Promise<void>
  /**
   * Transaction origins that are not local edits (e.g. the symbol the node passes to
   * `Y.applyUpdate` for remote envelopes). Non-local transactions are always skipped.
   */
  remoteOrigins?: Iterable<unknown>
  /** Largest update per envelope (default MAX_UPDATE_BYTES). */
  maxUpdateBytes?: number
}

type Waiter = { target: number; resolve: () => void; reject: (err: unknown) => void }

export class EnvelopeCoalescer {
  readonly docId: DocId
  readonly #doc: Y.Doc
  readonly #signer: Signer
  readonly #persist: (envs: Envelope[]) => Promise<void>
  readonly #remote: Set<unknown>
  readonly #maxBytes: number
  readonly #listeners = new Set<(env: Envelope) => void>()
  #pending: Uint8Array[] = []
  #pendingBytes = 0
  #retry: Envelope[] = []
  #seq: number
  #received = 0 // updates seen so far
  #durable = 0 // updates durable so far
  #running = false
  #closed = false
  #failed: { error: unknown } | undefined
  #waiters: Waiter[] = []
  readonly #onUpdate = (update: Uint8Array, origin: unknown, _doc: Y.Doc, tr: Y.Transaction) => {
    if (!tr.local || this.#remote.has(origin)) return
    this.#pending.push(update)
    this.#pendingBytes += update.byteLength
    this.#received++
    this.#kick()
  }

  constructor(opts: CoalescerOptions) {
    const expected = clientIdFor(opts.signer.publicKey, opts.signer.writerId)
    if (opts.doc.clientID !== expected) {
      throw new TypeError(`doc.clientID must be the writer's client id ${expected}`)
    }
    if (!Number.isSafeInteger(opts.highestSeq) || opts.highestSeq < 0) {
      throw new TypeError('highestSeq must be a non-negative integer')
    }
    this.docId = opts.docId
    this.#doc = opts.doc
    this.#signer = opts.signer
    this.#persist = opts.persist
    this.#remote = new Set(opts.remoteOrigins ?? [])
    this.#maxBytes = opts.maxUpdateBytes ?? MAX_UPDATE_BYTES
    this.#seq = opts.highestSeq
    this.#doc.on('update', this.#onUpdate)
  }

  /** The sequence of the last envelope made (durable or in flight). */
  get seq(): number {
    return this.#seq
  }

  /** Called with each envelope once it is durable, in sequence order (for forwarding). */
  onEnvelope(cb: (env: Envelope) => void): () => void {
    this.#listeners.add(cb)
    return () => this.#listeners.delete(cb)
  }

  /** Resolves when every change made so far is durable; rejects if persisting it failed. */
  flush(): Promise<void> {
    if (this.#failed) return Promise.reject(this.#failed.error)
    const target = this.#received
    if (this.#durable >= target && this.#retry.length === 0) return Promise.resolve()
    return new Promise((resolve, reject) => {
      this.#waiters.push({ target, resolve, reject })
      this.#kick()
    })
  }

  /** Stops listening to the document and waits for what was already made. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      this.#doc.off('update', this.#onUpdate)
    }
    await this.flush()
  }

  #kick(): void {
    if (this.#running || this.#failed) return
    this.#running = true
    queueMicrotask(() => void this.#drain())
  }

  async #drain(): Promise<void> {
    try {
      while (this.#retry.length > 0 || this.#pending.length > 0) {
        const envs = this.#retry.length > 0 ? this.#retry : await this.#makeEnvelopes()
        const upTo = this.#received - this.#pending.length
        try {
          await this.#persist(envs)
        } catch (err) {
          this.#retry = envs
          this.#settle(err)
          return
        }
        this.#retry = []
        this.#durable = upTo
        for (const env of envs) for (const cb of this.#listeners) cb(env)
        this.#settle()
      }
    } catch (err) {
      // Signing failed or one change was too large: sequence numbers may be spent and
      // changes lost, so stop here for good rather than sign anything out of order.
      this.#failed = { error: err }
      this.#settle(err)
    } finally {
      this.#running = false
    }
  }

  /** Takes every pending update and signs it as one envelope (several if over the size limit). */
  async #makeEnvelopes(): Promise<Envelope[]> {
    const batch = this.#pending
    this.#pending = []
    this.#pendingBytes = 0
    const updates: Uint8Array[] = []
    let group: Uint8Array[] = []
    let groupBytes = 0
    const close = () => {
      if (group.length > 0) updates.push(...this.#merge(group))
      group = []
      groupBytes = 0
    }
    for (const u of batch) {
      if (groupBytes + u.byteLength > this.#maxBytes) close()
      group.push(u)
      groupBytes += u.byteLength
    }
    close()
    const envs: Envelope[] = []
    for (const update of updates) {
      envs.push(await signEnvelope(this.#signer, { docId: this.docId, seq: this.#seq + 1, update }))
      this.#seq++
    }
    return envs
  }

  #merge(group: Uint8Array[]): Uint8Array[] {
    const merged = group.length === 1 ? group[0]! : Y.mergeUpdates(group)
    if (merged.byteLength <= this.#maxBytes) return [merged]
    if (group.length === 1)
      throw new UpdateTooLargeError(this.docId, merged.byteLength, this.#maxBytes)
    const mid = group.length >> 1
    return [...this.#merge(group.slice(0, mid)), ...this.#merge(group.slice(mid))]
  }

  #settle(err?: unknown): void {
    const still: Waiter[] = []
    for (const w of this.#waiters) {
      if (err !== undefined) w.reject(err)
      else if (this.#durable >= w.target) w.resolve()
      else still.push(w)
    }
    this.#waiters = still
  }
}
