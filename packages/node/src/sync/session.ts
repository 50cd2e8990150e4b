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
import type { Replication, StoredItem } from '../core/replication.js'
import { encodeMessage, tryDecodeMessage } from './codec.js'
import { differingBuckets, type Snapshot, sameBytes, snapshotOf } from './digest.js'
import { SyncError, SyncHandshakeError, SyncStateError } from './errors.js'
import { type IngestContext, ingestEnvelopes, ingestRecords } from './ingest.js'
import { prepareOffer } from './live-offer.js'
import { SYNC_PROTOCOL_VERSION, type SyncMessage } from './messages.js'
import { type Frame, OutgoingQueue, TASK_SIZE } from './outgoing-queue.js'
import { SessionProgress } from './progress.js'
import { RecentItems } from './recent-items.js'
import { missingFrames, vectorFrames } from './round-frames.js'
import {
  boundsOf,
  type SessionBounds,
  type SessionEvent,
  type SessionTransport,
  type SyncSessionOptions,
} from './session-options.js'

export { FATAL_REJECTIONS } from './ingest.js'
export type {
  Counts,
  SessionEvent,
  SessionTransport,
  SyncSessionOptions,
} from './session-options.js'

interface Round {
  snapshot: Snapshot
  touched: number
}

const MAX_PEER_ROUNDS = 4
const noop = Object.assign(() => {}, {
  error: () => {},
  trace: () => {},
  enabled: false,
  newScope: () => noop,
}) as unknown as Logger

export class SyncSession {
  readonly tribeId: string
  readonly peer: string
  readonly #r: Replication
  readonly #t: SessionTransport
  readonly #log: Logger
  readonly #o: SessionBounds
  readonly #initiate: boolean
  readonly #onEvent: (e: SessionEvent) => void
  readonly #isKnownMember: (memberId: string) => Promise<boolean>

  #closed = false
  #helloReceived = false
  #started = false
  readonly #queue: OutgoingQueue
  /** Set after an overflow: a round is due once the writer is idle; live offers wait for it. */
  #recovering = false
  #offers: Promise<void> = Promise.resolve()
  #pendingOffers = 0
  readonly #recent = new RecentItems()
  readonly #ingest: IngestContext
  #nextRound = 1
  #roundAgain = false
  readonly #myRounds = new Map<number, Round>()
  #lastPeerRound = 0
  readonly #peerRounds = new Map<number, Round>()
  #timer: NodeJS.Timeout | undefined
  readonly #progress: SessionProgress
  /** Totals since the session began. */
  readonly totals: SessionProgress['totals']
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
    this.#o = boundsOf(opts)
    this.#progress = new SessionProgress(this.#o.progressIntervalMs, (received, sent) =>
      this.#onEvent({ type: 'progress', received, sent }),
    )
    this.totals = this.#progress.totals
    this.#queue = new OutgoingQueue({
      maxQueueBytes: this.#o.maxQueueBytes,
      maxQueueItems: this.#o.maxQueueItems,
      maxBatchBytes: this.#o.maxBatchBytes,
      send: (f) => this.#send(f),
      closed: () => this.#closed,
      onOverflow: (dropped) => this.#overflowed(dropped),
      onIdle: () => {
        if (!this.#closed && this.#recovering && this.#queue.length === 0) void this.startRound()
      },
      onError: (err) => this.#internal(err),
    })
    this.#ingest = {
      peer: this.peer,
      replication: this.#r,
      recent: this.#recent,
      progress: this.#progress,
      isKnownMember: this.#isKnownMember,
      log: this.#log,
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
    const epoch = this.#queue.epoch
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
    if (this.#closed || epoch !== this.#queue.epoch || this.#myRounds.get(round) !== pending) return
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
      this.#queue.overflow()
      return
    }
    const epoch = this.#queue.epoch
    this.#pendingOffers++
    this.#offers = this.#offers
      .then(async () => {
        if (this.#closed || epoch !== this.#queue.epoch) return
        const out = await prepareOffer(item, this.#r, this.peer, this.#recent)
        if (this.#closed || epoch !== this.#queue.epoch) return
        for (const o of out) this.#queue.enqueue(o)
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
        this.#enqueueTask(() =>
          vectorFrames(m.round, false, differ, round.snapshot, true, this.#o.maxBatchBytes),
        )
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
              const max = this.#o.maxBatchBytes
              yield* vectorFrames(m.round, true, m.buckets, round.snapshot, m.final, max)
              yield* missingFrames(m, round.snapshot, this.#r, this.peer, max)
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
        this.#enqueueTask(() =>
          missingFrames(m, round.snapshot, this.#r, this.peer, this.#o.maxBatchBytes),
        )
        if (m.final) {
          this.#myRounds.delete(m.round)
          this.#roundEnded(m.round, true, false, round.snapshot.count)
        }
        return
      }
      case 'records':
        return ingestRecords(this.#ingest, m.records)
      case 'envelopes':
        return ingestEnvelopes(this.#ingest, m.envelopes)
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

  // ---- outgoing ---------------------------------------------------------------------

  async #snapshot(): Promise<Snapshot> {
    return snapshotOf(await this.#r.visibleDocuments(this.tribeId, this.peer))
  }

  #enqueueMsg(m: SyncMessage): void {
    const frame = encodeMessage(m)
    this.#queue.enqueue({ kind: 'msg', frame, size: frame.byteLength })
  }

  #enqueueTask(run: () => AsyncIterable<Frame>): void {
    this.#queue.enqueue({ kind: 'task', run, size: TASK_SIZE })
  }

  /** A slow peer: drop every round too, repair with a fresh round once the writer is idle. */
  #overflowed(dropped: number): void {
    this.#myRounds.clear()
    this.#peerRounds.clear()
    this.#recovering = true
    this.#log(
      'outgoing queue to %s overflowed: dropped %d, a digest round follows',
      this.peer,
      dropped,
    )
    this.#onEvent({ type: 'overflow', dropped })
  }

  async #send(f: Frame): Promise<void> {
    this.bytesSent += f.bytes.byteLength
    if (f.records) this.#progress.count('sent', 'records', f.records)
    if (f.envelopes) this.#progress.count('sent', 'envelopes', f.envelopes)
    await this.#t.send(f.bytes)
  }

  #sendBye(code: string, message: string): void {
    const frame = encodeMessage({ type: 'bye', code, message })
    this.#t.send(frame).catch(() => {})
  }

  // ---- bookkeeping ------------------------------------------------------------------

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
    this.#progress.stop()
    this.#progress.flush()
    this.#queue.clear()
    this.#myRounds.clear()
    this.#peerRounds.clear()
    if (error) this.#log.error('closing connection to %s: %s', this.peer, error.message)
    this.#onEvent(error ? { type: 'closed', error } : { type: 'closed' })
    this.#t.close(error)
  }
}
