/**
 * One sync session per (connection, tribe): the protocol's state machine, apart from
 * the stream plumbing (service.ts). Frames go in through `receive`, frames go out
 * through `SessionTransport.send`, and documents go through `Replication` only.
 *
 * - Rounds (messages.ts) compare the document sets; only missing records and envelopes
 *   travel, records before envelopes and rules documents (roster, profiles) first.
 * - Live push: `offer` every item the node newly stores; it is sent if the peer may
 *   receive it (records of withdrawn narratives too, so erasure spreads), unless it
 *   came from this peer.
 * - Flow control: the reader never waits for the writer (no deadlock when both sides
 *   send at once); the outgoing queue is bounded, and round answers are produced lazily
 *   while being written. When the queue overflows (a slow peer), it is dropped and a
 *   fresh round repairs what was dropped once the writer is idle.
 * - Bad input (an undecodable message, a message out of order, a forged record or
 *   envelope) ends the session with a SyncError; the plumbing closes the connection.
 */
import type { Logger } from '@libp2p/interface'
import { sha256 } from '@noble/hashes/sha2.js'
import type { Replication, StoredItem, VisibleDocument } from '../core/replication.js'
import { encodeEnvelope, encodeRecord } from '../envelope/codec.js'
import { envelopeWriterKey } from '../envelope/sign.js'
import type { DocId, Envelope, SignedRecord, WriterKey } from '../envelope/types.js'
import { memberIdFromPublicKey } from '../identity/identity.js'
import { encodeBatch, encodeMessage, tryDecodeMessage } from './codec.js'
import { differingBuckets, type Snapshot, sameBytes, snapshotOf } from './digest.js'
import { SyncError, SyncForgeryError, SyncHandshakeError, SyncStateError } from './errors.js'
import { SYNC_PROTOCOL_VERSION, type SyncMessage, type Vectors } from './messages.js'

/** Where a session's frames go. `close(err)` with an error means: the peer misbehaved. */
export interface SessionTransport {
  send(frame: Uint8Array): Promise<void>
  close(err?: SyncError): void
}

export interface Counts {
  records: number
  envelopes: number
}

export type SessionEvent =
  | { type: 'round'; round: number; initiator: boolean; inSync: boolean; documents: number }
  | { type: 'progress'; received: Counts; sent: Counts }
  | { type: 'overflow'; dropped: number }
  | { type: 'closed'; error?: SyncError }

/** Rejection codes no honest relay produces: they cost the peer its connection. */
export const FATAL_REJECTIONS: ReadonlySet<string> = new Set([
  'BAD_SIGNATURE',
  'FOREIGN_CLIENT',
  'MALFORMED_ENVELOPE',
  'MALFORMED_RECORD',
])

export interface SyncSessionOptions {
  tribeId: string
  /** The remote member id (its PeerId string). */
  peer: string
  replication: Replication
  transport: SessionTransport
  log?: Logger | undefined
  /** Start a round as soon as HELLO is exchanged (the side that opened the stream). */
  initiate?: boolean
  /** Time between digest rounds (jittered ±20%); 0 turns the timer off. @default 30_000 */
  intervalMs?: number
  /** A round without progress for this long is abandoned. @default 120_000 */
  roundTimeoutMs?: number
  /** Outgoing queue bound (frames + live items). @default 8 MiB */
  maxQueueBytes?: number
  /** @default 4096 */
  maxQueueItems?: number
  /** Live offers waiting for their consent check. @default 10_000 */
  maxPendingOffers?: number
  /** Target size of one RECORDS/ENVELOPES/VECTORS frame. @default 256 KiB */
  maxBatchBytes?: number
  /** Is `memberId` a member of a tribe this node takes part in (decides NOT_AUTHORIZED)? */
  isKnownMember?: (memberId: string) => Promise<boolean>
  /** Progress events are coalesced over this time. @default 250 */
  progressIntervalMs?: number
  onEvent?: (event: SessionEvent) => void
}

type Out =
  | { kind: 'msg'; frame: Uint8Array; size: number }
  | { kind: 'item'; type: 'records' | 'envelopes'; bytes: Uint8Array; size: number }
  | { kind: 'task'; run: () => AsyncIterable<Frame>; size: number }

interface Frame {
  bytes: Uint8Array
  records?: number
  envelopes?: number
}

interface Round {
  snapshot: Snapshot
  touched: number
}

const TASK_SIZE = 1024
const RECENT_MAX = 50_000
const MAX_PEER_ROUNDS = 4
const noop = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: () => noop,
}) as unknown as Logger

const envKey = (e: Envelope) => `e/${e.docId}/${envelopeWriterKey(e)}/${e.seq}`
const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
const recordIdOf = (bytes: Uint8Array) => hex(sha256(bytes))

export class SyncSession {
  readonly tribeId: string
  readonly peer: string
  readonly #r: Replication
  readonly #t: SessionTransport
  readonly #log: Logger
  readonly #o: Required<
    Pick<
      SyncSessionOptions,
      | 'intervalMs'
      | 'roundTimeoutMs'
      | 'maxQueueBytes'
      | 'maxQueueItems'
      | 'maxPendingOffers'
      | 'maxBatchBytes'
      | 'progressIntervalMs'
    >
  >
  readonly #initiate: boolean
  readonly #onEvent: (e: SessionEvent) => void
  readonly #isKnownMember: (memberId: string) => Promise<boolean>

  #closed = false
  #helloReceived = false
  #started = false
  readonly #queue: Out[] = []
  #queuedBytes = 0
  #pumping = false
  /** Set after an overflow: a round is due once the writer is idle; live offers wait for it. */
  #recovering = false
  #epoch = 0
  #offers: Promise<void> = Promise.resolve()
  #pendingOffers = 0
  readonly #recent = new Set<string>()
  #nextRound = 1
  #roundAgain = false
  readonly #myRounds = new Map<number, Round>()
  #lastPeerRound = 0
  readonly #peerRounds = new Map<number, Round>()
  #timer: NodeJS.Timeout | undefined
  #progressTimer: NodeJS.Timeout | undefined
  readonly #received: Counts = { records: 0, envelopes: 0 }
  readonly #sent: Counts = { records: 0, envelopes: 0 }
  /** Totals since the session began. */
  readonly totals = { received: { records: 0, envelopes: 0 }, sent: { records: 0, envelopes: 0 } }
  /** Bytes of frames sent and received (the plumbing's view is the same plus framing). */
  bytesSent = 0
  bytesReceived = 0
  /** Rounds that ended; `inSync` counts those that found nothing to exchange. */
  readonly rounds = { completed: 0, inSync: 0 }

  constructor(opts: SyncSessionOptions) {
    this.tribeId = opts.tribeId
    this.peer = opts.peer
    this.#r = opts.replication
    this.#t = opts.transport
    this.#log = opts.log ?? noop
    this.#initiate = opts.initiate ?? true
    this.#onEvent = opts.onEvent ?? (() => {})
    this.#isKnownMember = opts.isKnownMember ?? ((m: string) => this.#r.isMember(this.tribeId, m))
    this.#o = {
      intervalMs: opts.intervalMs ?? 30_000,
      roundTimeoutMs: opts.roundTimeoutMs ?? 120_000,
      maxQueueBytes: opts.maxQueueBytes ?? 8 * 1024 * 1024,
      maxQueueItems: opts.maxQueueItems ?? 4096,
      maxPendingOffers: opts.maxPendingOffers ?? 10_000,
      maxBatchBytes: opts.maxBatchBytes ?? 256 * 1024,
      progressIntervalMs: opts.progressIntervalMs ?? 250,
    }
  }

  get closed(): boolean {
    return this.#closed
  }

  /** True while a round this side started waits for answers. */
  get syncing(): boolean {
    return this.#myRounds.size > 0 || this.#peerRounds.size > 0
  }

  /** Sends HELLO. Rounds start once the peer's HELLO arrives. */
  start(): void {
    if (this.#started) return
    this.#started = true
    this.#enqueueMsg({ type: 'hello', version: SYNC_PROTOCOL_VERSION, tribeId: this.tribeId })
  }

  /** Ends the session without blaming the peer (shutdown, connection gone). */
  stop(): void {
    this.#end(undefined)
  }

  /** Starts a digest round now, unless one of ours is already under way. */
  async startRound(): Promise<void> {
    if (this.#closed || !this.#helloReceived) return
    const now = Date.now()
    for (const [id, round] of this.#myRounds) {
      if (now - round.touched < this.#o.roundTimeoutMs) {
        this.#roundAgain = true // asked during a round: run another once it ends
        this.#schedule()
        return
      }
      this.#myRounds.delete(id)
    }
    this.#roundAgain = false
    const round = this.#nextRound++
    const epoch = this.#epoch
    // Reserve the round before the snapshot so a second call does not start another.
    const pending: Round = { snapshot: snapshotOf([]), touched: now }
    this.#myRounds.set(round, pending)
    try {
      pending.snapshot = await this.#snapshot()
    } catch (err) {
      this.#myRounds.delete(round)
      this.#internal(err)
      return
    }
    if (this.#closed || epoch !== this.#epoch || this.#myRounds.get(round) !== pending) return
    // Everything stored before the snapshot is in it: live offers may resume.
    this.#recovering = false
    this.#enqueueMsg({
      type: 'digest',
      round,
      count: pending.snapshot.count,
      root: pending.snapshot.root,
    })
    this.#schedule()
  }

  /** Handles one frame from the peer. Never throws; bad input ends the session. */
  async receive(frame: Uint8Array): Promise<void> {
    if (this.#closed) return
    this.bytesReceived += frame.byteLength
    const decoded = tryDecodeMessage(frame)
    if (!decoded.ok) return this.#end(decoded.error)
    try {
      await this.#handle(decoded.value)
    } catch (err) {
      if (err instanceof SyncError) this.#end(err)
      else this.#internal(err)
    }
  }

  /** Offers a newly stored item to the peer (sent if the peer may receive it). */
  offer(item: StoredItem): void {
    if (this.#closed || !this.#helloReceived || this.#recovering) return
    if (this.#pendingOffers >= this.#o.maxPendingOffers) {
      this.#overflow()
      return
    }
    const epoch = this.#epoch
    this.#pendingOffers++
    this.#offers = this.#offers
      .then(async () => {
        if (this.#closed || epoch !== this.#epoch) return
        const out = await this.#prepareOffer(item)
        if (this.#closed || epoch !== this.#epoch) return
        for (const o of out) this.#enqueue(o)
      })
      .catch((err: unknown) => this.#internal(err))
      .finally(() => {
        this.#pendingOffers--
      })
  }

  // ---- incoming ---------------------------------------------------------------------

  async #handle(m: SyncMessage): Promise<void> {
    if (!this.#helloReceived && m.type !== 'hello' && m.type !== 'bye') {
      throw new SyncStateError(`${m.type} before HELLO`)
    }
    switch (m.type) {
      case 'hello':
        return this.#onHello(m.version, m.tribeId)
      case 'bye':
        this.#log('peer %s closed the session: %s %s', this.peer, m.code, m.message)
        return this.#end(undefined)
      case 'digest': {
        if (m.round <= this.#lastPeerRound)
          throw new SyncStateError(`DIGEST of old round ${m.round}`)
        this.#lastPeerRound = m.round
        this.#schedule() // the peer checks now: our own round can wait a full interval
        const snapshot = await this.#snapshot()
        if (snapshot.count === m.count && sameBytes(snapshot.root, m.root)) {
          this.#enqueueMsg({ type: 'match', round: m.round })
          this.#roundEnded(m.round, false, true, snapshot.count)
          return
        }
        this.#peerRounds.set(m.round, { snapshot, touched: Date.now() })
        while (this.#peerRounds.size > MAX_PEER_ROUNDS) {
          this.#peerRounds.delete(this.#peerRounds.keys().next().value!)
        }
        this.#enqueueMsg({ type: 'buckets', round: m.round, hashes: snapshot.hashes })
        return
      }
      case 'match': {
        const round = this.#myRound(m.round)
        if (round === undefined) return
        this.#myRounds.delete(m.round)
        this.#roundEnded(m.round, true, true, round.snapshot.count)
        return
      }
      case 'buckets': {
        const round = this.#myRound(m.round)
        if (round === undefined) return
        round.touched = Date.now()
        const differ = differingBuckets(round.snapshot.hashes, m.hashes)
        this.#enqueueTask(() => this.#vectorFrames(m.round, false, differ, round.snapshot, true))
        return
      }
      case 'vectors': {
        if (!m.reply) {
          if (m.round > this.#lastPeerRound)
            throw new SyncStateError(`VECTORS of unknown round ${m.round}`)
          const round = this.#peerRounds.get(m.round)
          if (round === undefined) return // abandoned after an overflow: a new round repairs
          round.touched = Date.now()
          this.#enqueueTask(
            async function* (this: SyncSession) {
              yield* this.#vectorFrames(m.round, true, m.buckets, round.snapshot, m.final)
              yield* this.#missingFrames(m, round.snapshot)
            }.bind(this),
          )
          if (m.final) {
            this.#peerRounds.delete(m.round)
            this.#roundEnded(m.round, false, false, round.snapshot.count)
          }
          return
        }
        const round = this.#myRound(m.round)
        if (round === undefined) return
        round.touched = Date.now()
        this.#enqueueTask(() => this.#missingFrames(m, round.snapshot))
        if (m.final) {
          this.#myRounds.delete(m.round)
          this.#roundEnded(m.round, true, false, round.snapshot.count)
        }
        return
      }
      case 'records':
        return this.#ingestRecords(m.records)
      case 'envelopes':
        return this.#ingestEnvelopes(m.envelopes)
    }
  }

  #onHello(version: number, tribeId: string): void {
    if (this.#helloReceived) throw new SyncStateError('HELLO twice')
    if (version !== SYNC_PROTOCOL_VERSION) {
      this.#sendBye('VERSION', `this node speaks sync version ${SYNC_PROTOCOL_VERSION}`)
      throw new SyncHandshakeError(`peer speaks version ${version}`)
    }
    if (tribeId !== this.tribeId) {
      throw new SyncHandshakeError(`peer syncs tribe ${tribeId}, this network is ${this.tribeId}`)
    }
    this.#helloReceived = true
    if (this.#initiate) void this.startRound()
    else this.#schedule()
  }

  /** One of our rounds, or undefined for an abandoned one; a round never started is an error. */
  #myRound(id: number): Round | undefined {
    if (id >= this.#nextRound) throw new SyncStateError(`answer to round ${id} never started`)
    return this.#myRounds.get(id)
  }

  async #ingestRecords(records: SignedRecord[]): Promise<void> {
    if (records.length === 0) return
    for (const r of records) this.#remember(`r/${recordIdOf(encodeRecord(r))}`)
    const res = await this.#r.ingestRecords(records, this.peer)
    this.#count(this.#received, 'records', res.applied)
    await this.#judge(res.rejected, res.equivocations, 'records')
  }

  async #ingestEnvelopes(envelopes: Envelope[]): Promise<void> {
    if (envelopes.length === 0) return
    for (const e of envelopes) this.#remember(envKey(e))
    const res = await this.#r.ingestEnvelopes(envelopes, this.peer)
    this.#count(this.#received, 'envelopes', res.applied)
    const authors = new Map<DocId, Uint8Array[]>()
    for (const e of envelopes) authors.set(e.docId, [...(authors.get(e.docId) ?? []), e.author])
    await this.#judge(res.rejected, res.equivocations, 'envelopes', authors)
  }

  async #judge(
    rejected: readonly { code: string; message: string; docId?: string }[],
    equivocations: number,
    what: string,
    authors?: Map<DocId, Uint8Array[]>,
  ): Promise<void> {
    if (equivocations > 0) {
      this.#log.error('peer %s relayed %d equivocating envelope(s)', this.peer, equivocations)
    }
    if (rejected.length === 0) return
    const fatal = rejected.filter((r) => FATAL_REJECTIONS.has(r.code))
    // An author who is no member anywhere cannot have been accepted by an honest relay;
    // a member's NOT_AUTHORIZED can be a matter of order (rules arrive first, but still).
    for (const r of rejected) {
      if (r.code !== 'NOT_AUTHORIZED' || r.docId === undefined || !authors) continue
      for (const author of new Set((authors.get(r.docId) ?? []).map(hex))) {
        let member: string
        try {
          member = memberIdFromPublicKey(Buffer.from(author, 'hex'))
        } catch {
          fatal.push(r)
          break
        }
        if (!(await this.#isKnownMember(member))) {
          fatal.push(r)
          break
        }
      }
    }
    if (fatal.length > 0) {
      throw new SyncForgeryError(
        `peer sent ${fatal.length} forged ${what}: ${fatal
          .slice(0, 3)
          .map((r) => `${r.code} ${r.message}`)
          .join('; ')}`,
        fatal,
      )
    }
    this.#log(
      'refused %d %s from %s: %s',
      rejected.length,
      what,
      this.peer,
      rejected
        .slice(0, 3)
        .map((r) => r.code)
        .join(', '),
    )
  }

  #remember(key: string): void {
    this.#recent.delete(key)
    this.#recent.add(key)
    if (this.#recent.size > RECENT_MAX) {
      let n = this.#recent.size - RECENT_MAX + 1024
      for (const k of this.#recent) {
        if (n-- <= 0) break
        this.#recent.delete(k)
      }
    }
  }

  // ---- outgoing ---------------------------------------------------------------------

  async #snapshot(): Promise<Snapshot> {
    return snapshotOf(await this.#r.visibleDocuments(this.tribeId, this.peer))
  }

  /** VECTORS frames for `buckets` from `snapshot`, each covering whole buckets. */
  async *#vectorFrames(
    round: number,
    reply: boolean,
    buckets: readonly number[],
    snapshot: Snapshot,
    final: boolean,
  ): AsyncIterable<Frame> {
    let group: number[] = []
    let docs: VisibleDocument[] = []
    let size = 0
    const frame = (last: boolean): Frame => ({
      bytes: encodeMessage({
        type: 'vectors',
        round,
        reply,
        final: final && last,
        buckets: group,
        docs,
      }),
    })
    for (const b of buckets) {
      const inBucket = snapshot.byBucket.get(b) ?? []
      const bucketSize = inBucket.reduce(
        (n, d) => n + d.docId.length + 8 + d.vv.size * 48 + d.recordIds.length * 32,
        4,
      )
      if (group.length > 0 && size + bucketSize > this.#o.maxBatchBytes) {
        yield frame(false)
        group = []
        docs = []
        size = 0
      }
      group.push(b)
      docs = docs.concat(inBucket)
      size += bucketSize
    }
    yield frame(true)
  }

  /** RECORDS then ENVELOPES the peer lacks, for the buckets its VECTORS frame covers. */
  async *#missingFrames(theirs: Vectors, snapshot: Snapshot): AsyncIterable<Frame> {
    const peerDocs = new Map(theirs.docs.map((d) => [d.docId, d]))
    const mine = theirs.buckets.flatMap((b) => snapshot.byBucket.get(b) ?? [])
    let batch: Uint8Array[] = []
    let size = 0
    const flush = (type: 'records' | 'envelopes'): Frame => {
      const f: Frame = { bytes: encodeBatch(type, batch), [type]: batch.length }
      batch = []
      size = 0
      return f
    }
    for (const doc of mine) {
      const have = new Set(peerDocs.get(doc.docId)?.recordIds ?? [])
      if (doc.recordIds.every((id) => have.has(id))) continue
      for (const rec of await this.#r.recordsFor(doc.docId, this.peer)) {
        const bytes = encodeRecord(rec)
        if (have.has(recordIdOf(bytes))) continue
        if (size > 0 && size + bytes.byteLength > this.#o.maxBatchBytes) yield flush('records')
        batch.push(bytes)
        size += bytes.byteLength
      }
    }
    if (batch.length > 0) yield flush('records')
    for (const doc of mine) {
      if (!doc.content) continue
      const vv: ReadonlyMap<WriterKey, number> = peerDocs.get(doc.docId)?.vv ?? new Map()
      if (![...doc.vv].some(([w, seq]) => seq > (vv.get(w) ?? 0))) continue
      for (const env of await this.#r.envelopesFor(doc.docId, vv, this.peer)) {
        const bytes = encodeEnvelope(env)
        if (size > 0 && size + bytes.byteLength > this.#o.maxBatchBytes) yield flush('envelopes')
        batch.push(bytes)
        size += bytes.byteLength
      }
    }
    if (batch.length > 0) yield flush('envelopes')
  }

  async #prepareOffer(item: StoredItem): Promise<Out[]> {
    const item_ = (type: 'records' | 'envelopes', bytes: Uint8Array): Out => ({
      kind: 'item',
      type,
      bytes,
      size: bytes.byteLength,
    })
    switch (item.type) {
      case 'envelope': {
        const e = item.envelope
        if (this.#recent.has(envKey(e))) return []
        if (!(await this.#r.mayReceive(e.docId, this.peer))) return []
        return [item_('envelopes', encodeEnvelope(e))]
      }
      case 'record': {
        const bytes = encodeRecord(item.record)
        const id = recordIdOf(bytes)
        if (this.#recent.has(`r/${id}`)) return []
        const allowed = await this.#r.recordsFor(item.record.docId, this.peer)
        return allowed.some((r) => recordIdOf(encodeRecord(r)) === id)
          ? [item_('records', bytes)]
          : []
      }
      case 'erased': {
        // The records that erased it (a withdrawal, a narrowed audience) go with it.
        const out: Out[] = []
        for (const r of await this.#r.recordsFor(item.docId, this.peer)) {
          const bytes = encodeRecord(r)
          if (!this.#recent.has(`r/${recordIdOf(bytes)}`)) out.push(item_('records', bytes))
        }
        return out
      }
    }
  }

  #enqueueMsg(m: SyncMessage): void {
    const frame = encodeMessage(m)
    this.#enqueue({ kind: 'msg', frame, size: frame.byteLength })
  }

  #enqueueTask(run: () => AsyncIterable<Frame>): void {
    this.#enqueue({ kind: 'task', run, size: TASK_SIZE })
  }

  #enqueue(o: Out): void {
    if (this.#closed) return
    if (
      this.#queue.length + 1 > this.#o.maxQueueItems ||
      this.#queuedBytes + o.size > this.#o.maxQueueBytes
    ) {
      this.#overflow()
      return
    }
    this.#queue.push(o)
    this.#queuedBytes += o.size
    void this.#pump()
  }

  /** A slow peer: drop what is queued and every round, repair with a fresh round later. */
  #overflow(): void {
    const dropped = this.#queue.length
    this.#queue.length = 0
    this.#queuedBytes = 0
    this.#myRounds.clear()
    this.#peerRounds.clear()
    this.#epoch++
    this.#recovering = true
    this.#log(
      'outgoing queue to %s overflowed: dropped %d, a digest round follows',
      this.peer,
      dropped,
    )
    this.#onEvent({ type: 'overflow', dropped })
    if (!this.#pumping) void this.#pump()
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return
    this.#pumping = true
    try {
      while (!this.#closed) {
        const o = this.#queue.shift()
        if (o === undefined) break
        this.#queuedBytes -= o.size
        if (o.kind === 'msg') await this.#send({ bytes: o.frame })
        else if (o.kind === 'item') {
          const items = [o.bytes]
          let size = o.size
          while (
            this.#queue[0]?.kind === 'item' &&
            this.#queue[0].type === o.type &&
            size + this.#queue[0].size <= this.#o.maxBatchBytes
          ) {
            const next = this.#queue.shift() as Extract<Out, { kind: 'item' }>
            this.#queuedBytes -= next.size
            items.push(next.bytes)
            size += next.size
          }
          await this.#send({ bytes: encodeBatch(o.type, items), [o.type]: items.length })
        } else {
          const epoch = this.#epoch
          for await (const f of o.run()) {
            if (this.#closed) break
            await this.#send(f)
            if (epoch !== this.#epoch) break // overflowed meanwhile: the new round covers it
          }
        }
      }
    } catch (err) {
      this.#internal(err)
    } finally {
      this.#pumping = false
    }
    if (!this.#closed && this.#recovering && this.#queue.length === 0) void this.startRound()
  }

  async #send(f: Frame): Promise<void> {
    this.bytesSent += f.bytes.byteLength
    if (f.records) this.#count(this.#sent, 'records', f.records)
    if (f.envelopes) this.#count(this.#sent, 'envelopes', f.envelopes)
    await this.#t.send(f.bytes)
  }

  #sendBye(code: string, message: string): void {
    const frame = encodeMessage({ type: 'bye', code, message })
    this.#t.send(frame).catch(() => {})
  }

  // ---- bookkeeping ------------------------------------------------------------------

  #count(c: Counts, k: keyof Counts, n: number): void {
    if (n === 0) return
    c[k] += n
    ;(c === this.#sent ? this.totals.sent : this.totals.received)[k] += n
    this.#progressTimer ??= setTimeout(() => this.#flushProgress(), this.#o.progressIntervalMs)
    this.#progressTimer.unref?.()
  }

  #flushProgress(): void {
    this.#progressTimer = undefined
    const received = { ...this.#received }
    const sent = { ...this.#sent }
    this.#received.records = this.#received.envelopes = 0
    this.#sent.records = this.#sent.envelopes = 0
    if (received.records + received.envelopes + sent.records + sent.envelopes > 0) {
      this.#onEvent({ type: 'progress', received, sent })
    }
  }

  #roundEnded(round: number, initiator: boolean, inSync: boolean, documents: number): void {
    this.rounds.completed++
    if (inSync) this.rounds.inSync++
    this.#onEvent({ type: 'round', round, initiator, inSync, documents })
    if (initiator && this.#roundAgain) void this.startRound()
  }

  #schedule(): void {
    if (this.#timer) clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.#closed || this.#o.intervalMs <= 0) return
    const jitter = 0.8 + Math.random() * 0.4
    this.#timer = setTimeout(() => void this.startRound(), this.#o.intervalMs * jitter)
    this.#timer.unref?.()
  }

  /** A failure of our own (the store closed under us, a send on a dead stream): end quietly. */
  #internal(err: unknown): void {
    if (this.#closed) return
    if (err instanceof SyncError) {
      this.#end(err)
      return
    }
    this.#log('sync session with %s ended: %s', this.peer, (err as Error)?.message ?? err)
    this.#end(undefined)
  }

  #end(error: SyncError | undefined): void {
    if (this.#closed) return
    this.#closed = true
    if (this.#timer) clearTimeout(this.#timer)
    if (this.#progressTimer) clearTimeout(this.#progressTimer)
    this.#flushProgress()
    this.#queue.length = 0
    this.#myRounds.clear()
    this.#peerRounds.clear()
    if (error) this.#log.error('closing connection to %s: %s', this.peer, error.message)
    this.#onEvent(error ? { type: 'closed', error } : { type: 'closed' })
    this.#t.close(error)
  }
}
