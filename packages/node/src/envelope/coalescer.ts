/**
 * The local write path: turns a writer's own Yjs transactions on one document into
 * signed, stored envelopes.
 *
 * No timer. The first local transaction starts a round at once (in a microtask, so the
 * transactions of one synchronous burst share it); while a round is signing and
 * persisting, further transactions accumulate and become one envelope in the next round.
 * A lone key press therefore leaves immediately; a fast typist or a bulk import produce
 * few envelopes. Sequence numbers continue from the store's highest.
 *
 * How a round's transactions become one update. The writer's items are exactly the
 * structs under its client id, and its local transactions create them in clock order:
 * the transactions of a round created the items with clocks `from..to-1` (the first
 * one's state before, the last one's after) and deleted the union of their delete sets.
 * So the round's update is encoded straight from the document: those structs, written as
 * `Y.encodeStateAsUpdate` writes them, plus that union (`encodeRange`). This is linear in
 * the round (`Y.mergeUpdates` over per-transaction updates is quadratic in their number)
 * and needs no per-transaction update at all, so the coalescer listens to
 * `afterTransaction`, not `update`, and Yjs never encodes one. The update carries only
 * structs under the writer's client id (another client's structs in a local transaction
 * are not the writer's and are left out), never a remote item, never a deletion the
 * writer did not make. For one transaction it is byte-identical to Yjs' own update.
 *
 * What else could change those structs before the round reads them: a transaction the
 * coalescer skips (remote, or local with a remote origin) that deletes one of them (Yjs
 * then garbage-collects its content, and the envelope would carry someone else's
 * deletion) or adds items under the writer's id (they are not this writer's changes).
 * Such a transaction seals the pending run first: it is encoded right then, in
 * `afterTransaction`, before Yjs collects or merges anything, and the next local
 * transaction starts a new run. Splitting an item (a remote insert inside it) and
 * merging neighbours change no item, only how it is cut, which the encoding follows.
 *
 * A round over the size limit is split at transaction boundaries into several
 * envelopes; one transaction over it stops the coalescer (UpdateTooLargeError).
 *
 * If signing fails or one transaction is larger than an envelope may carry, the
 * coalescer stops for good (`flush` rejects with that error): the caller must reopen
 * the document. So does a local change made under another client id (the document's
 * `clientID` was changed): it could not be signed. If `persist` fails, the failed
 * envelope is kept and persisted first (unchanged, same seq, same bytes) on the next
 * round, so a store that did write it before failing sees an identical duplicate,
 * never an equivocation.
 */
import { writeVarUint } from 'lib0/encoding'
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

/** Counters for tests and the bench. */
export interface CoalescerStats {
  /** Rounds signed and handed to `persist`. */
  readonly rounds: number
  /** Envelopes made. */
  readonly envelopes: number
  /** Runs sealed early by a skipped transaction that touched the writer's pending items. */
  readonly sealed: number
}

type Waiter = { target: number; resolve: () => void; reject: (err: unknown) => void }

/**
 * Consecutive local transactions whose items are contiguous: the i-th created the
 * writer's items `ends[i-1] .. ends[i]-1` (`from` for i = 0) and deleted the ranges
 * `deletes[dsEnds[i-1] .. dsEnds[i]-1]` (client, clock, len triples).
 */
interface Run {
  readonly from: number
  readonly ends: number[]
  readonly deletes: number[]
  readonly dsEnds: number[]
}

export class EnvelopeCoalescer {
  readonly docId: DocId
  readonly #doc: Y.Doc
  readonly #client: number
  readonly #signer: Signer
  readonly #persist: (envs: Envelope[]) => Promise<void>
  readonly #remote: Set<unknown>
  readonly #maxBytes: number
  readonly #listeners = new Set<(env: Envelope) => void>()
  /** Runs already encoded (sealed), in order, then the open run. */
  #sealed: Uint8Array[] = []
  #run: Run | undefined
  #pending = 0 // transactions captured and not yet taken by a round
  #retry: Envelope[] = []
  #seq: number
  #received = 0 // transactions captured so far
  #durable = 0 // transactions durable so far
  #running = false
  #closed = false
  #failed: { error: unknown } | undefined
  #waiters: Waiter[] = []
  #stats = { rounds: 0, envelopes: 0, sealed: 0 }
  readonly #onTransaction = (tr: Y.Transaction) => {
    if (this.#failed) return
    try {
      if (!tr.local || this.#remote.has(tr.origin)) this.#skipped(tr)
      else this.#capture(tr)
    } catch (err) {
      // Never throw into Yjs (the transaction is someone else's): stop, and say so on flush.
      this.#fail(err)
    }
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
    this.#client = expected
    this.#signer = opts.signer
    this.#persist = opts.persist
    this.#remote = new Set(opts.remoteOrigins ?? [])
    this.#maxBytes = opts.maxUpdateBytes ?? MAX_UPDATE_BYTES
    this.#seq = opts.highestSeq
    this.#doc.on('afterTransaction', this.#onTransaction)
  }

  /** The sequence of the last envelope made (durable or in flight). */
  get seq(): number {
    return this.#seq
  }

  get stats(): CoalescerStats {
    return { ...this.#stats }
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
      this.#doc.off('afterTransaction', this.#onTransaction)
      // Unobserved from now on, so encode what is pending while the document holds it.
      if (!this.#failed) {
        try {
          this.#seal()
        } catch (err) {
          this.#fail(err)
        }
      }
    }
    await this.flush()
  }

  /** A local transaction: extends the open run (or starts one). */
  #capture(tr: Y.Transaction): void {
    const me = this.#client
    const other = this.#doc.clientID
    if (other !== me && tr.afterState.get(other) !== tr.beforeState.get(other)) {
      // Items this writer could not sign (envelopes carry only its own client id).
      throw new TypeError(
        `a local change was made under client id ${other}, not the writer's ${me}: reopen the document`,
      )
    }
    const from = tr.beforeState.get(me) ?? 0
    const to = tr.afterState.get(me) ?? 0
    const ds = tr.deleteSet.clients
    if (from === to && ds.size === 0) return // nothing of this writer's
    let run = this.#run
    if (run !== undefined && run.ends[run.ends.length - 1] !== from) {
      // Not contiguous: cannot happen after sealing, but never encode across a gap.
      this.#seal()
      run = undefined
    }
    if (run === undefined) {
      run = { from, ends: [], deletes: [], dsEnds: [] }
      this.#run = run
    }
    run.ends.push(to)
    if (ds.size > 0) {
      const d = run.deletes
      ds.forEach((items, client) => {
        for (let i = 0; i < items.length; i++) d.push(client, items[i]!.clock, items[i]!.len)
      })
    }
    run.dsEnds.push(run.deletes.length)
    this.#pending++
    this.#received++
    this.#kick()
  }

  /** A skipped transaction: seals the open run first if it touched the run's items. */
  #skipped(tr: Y.Transaction): void {
    const run = this.#run
    if (run === undefined) return
    const me = this.#client
    const end = run.ends[run.ends.length - 1]!
    let touched = (tr.afterState.get(me) ?? 0) !== end
    const mine = tr.deleteSet.clients.get(me)
    if (!touched && mine !== undefined) {
      for (const d of mine) if (d.clock + d.len > run.from) touched = true
    }
    if (touched) {
      this.#seal()
      this.#stats.sealed++
    }
  }

  /** Encodes the open run now (the document still holds exactly its items). */
  #seal(): void {
    const run = this.#run
    if (run === undefined) return
    this.#run = undefined
    this.#sealed.push(...this.#encodeRun(run, 0, run.ends.length))
  }

  /** Transactions `i..j-1` of the run as updates within the size limit (halving as needed). */
  #encodeRun(run: Run, i: number, j: number): Uint8Array[] {
    const from = i === 0 ? run.from : run.ends[i - 1]!
    const to = run.ends[j - 1]!
    const dsFrom = i === 0 ? 0 : run.dsEnds[i - 1]!
    const update = encodeRange(
      this.#doc,
      this.#client,
      from,
      to,
      run.deletes,
      dsFrom,
      run.dsEnds[j - 1]!,
    )
    if (update.byteLength <= this.#maxBytes) return [update]
    if (j - i === 1) throw new UpdateTooLargeError(this.docId, update.byteLength, this.#maxBytes)
    const mid = (i + j) >> 1
    return [...this.#encodeRun(run, i, mid), ...this.#encodeRun(run, mid, j)]
  }

  #fail(err: unknown): void {
    if (this.#failed) return
    this.#failed = { error: err }
    this.#sealed = []
    this.#run = undefined
    this.#settle(err)
  }

  #kick(): void {
    if (this.#running || this.#failed) return
    this.#running = true
    queueMicrotask(() => void this.#drain())
  }

  async #drain(): Promise<void> {
    try {
      while (!this.#failed && (this.#retry.length > 0 || this.#pending > 0)) {
        const envs = this.#retry.length > 0 ? this.#retry : await this.#makeEnvelopes()
        const upTo = this.#received - this.#pending
        try {
          await this.#persist(envs)
        } catch (err) {
          this.#retry = envs
          this.#settle(err)
          return
        }
        this.#retry = []
        this.#durable = upTo
        this.#stats.rounds++
        for (const env of envs) for (const cb of this.#listeners) cb(env)
        this.#settle()
      }
    } catch (err) {
      // Signing failed or one change was too large: sequence numbers may be spent and
      // changes lost, so stop here for good rather than sign anything out of order.
      this.#fail(err)
    } finally {
      this.#running = false
    }
  }

  /** Takes every pending change and signs it as one envelope (more if sealed or too large). */
  async #makeEnvelopes(): Promise<Envelope[]> {
    this.#seal()
    const updates = this.#sealed
    this.#sealed = []
    this.#pending = 0
    const envs: Envelope[] = []
    for (const update of updates) {
      envs.push(await signEnvelope(this.#signer, { docId: this.docId, seq: this.#seq + 1, update }))
      this.#seq++
    }
    this.#stats.envelopes += envs.length
    return envs
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

/**
 * A Yjs v1 update: the structs of `client` with clocks `from..to-1` as the document holds
 * them now (written as `Y.encodeStateAsUpdate` writes them, a struct reaching past `to`
 * cut there), then the delete set of the (client, clock, len) triples
 * `deletes[dsFrom..dsTo-1]`, sorted and merged per client.
 */
function encodeRange(
  doc: Y.Doc,
  client: number,
  from: number,
  to: number,
  deletes: readonly number[],
  dsFrom: number,
  dsTo: number,
): Uint8Array {
  const encoder = new Y.UpdateEncoderV1()
  const out = encoder.restEncoder
  if (to > from) {
    const structs = doc.store.clients.get(client)!
    const first = Y.findIndexSS(structs, from)
    const last = Y.findIndexSS(structs, to - 1)
    writeVarUint(out, 1) // one client
    writeVarUint(out, last - first + 1)
    encoder.writeClient(client)
    writeVarUint(out, from)
    for (let i = first; i <= last; i++) {
      const s = structs[i]!
      const offset = i === first ? from - s.id.clock : 0
      if (s.id.clock + s.length <= to) s.write(encoder, offset)
      else cutAt(s, to - s.id.clock).write(encoder, offset)
    }
  } else {
    writeVarUint(out, 0)
  }
  // The delete set, as Yjs writes it: clients in descending order, ranges sorted, merged.
  const byClient = new Map<number, [number, number][]>()
  for (let i = dsFrom; i < dsTo; i += 3) {
    const ranges = byClient.get(deletes[i]!)
    if (ranges === undefined) byClient.set(deletes[i]!, [[deletes[i + 1]!, deletes[i + 2]!]])
    else ranges.push([deletes[i + 1]!, deletes[i + 2]!])
  }
  writeVarUint(out, byClient.size)
  for (const c of [...byClient.keys()].sort((a, b) => b - a)) {
    const ranges = byClient.get(c)!.sort((a, b) => a[0] - b[0])
    let n = 0
    for (const r of ranges) {
      const prev = n > 0 ? ranges[n - 1]! : undefined
      if (prev !== undefined && prev[0] + prev[1] >= r[0]) {
        prev[1] = Math.max(prev[1], r[0] + r[1] - prev[0])
      } else {
        ranges[n++] = r
      }
    }
    encoder.resetDsCurVal()
    writeVarUint(out, c)
    writeVarUint(out, n)
    for (let i = 0; i < n; i++) {
      encoder.writeDsClock(ranges[i]![0])
      encoder.writeDsLen(ranges[i]![1])
    }
  }
  return encoder.toUint8Array()
}

/** The first `len` units of a struct, as Yjs would split it (the document is not changed). */
function cutAt(s: Y.Item | Y.GC, len: number): Y.Item | Y.GC {
  if (s instanceof Y.GC) return new Y.GC(s.id, len)
  const content = s.content.copy()
  content.splice(len) // keeps the left part
  return new Y.Item(s.id, null, s.origin, null, s.rightOrigin, s.parent, s.parentSub, content)
}
