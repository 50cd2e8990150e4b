/**
 * The stream plumbing of `/tapestry/sync/1.0.0` on one tribe host: registers the
 * protocol, opens one session per connected member, feeds frames to the session and
 * closes the connection of a peer that sends bad input. The protocol itself lives in
 * session.ts; this file only moves frames.
 *
 * Who opens: the side whose member id sorts first opens the stream when a peer connects
 * (so two simultaneous dials never make two sessions); the other side answers. A
 * session that ends while the peer stays connected is reopened (with backoff).
 */
import type { Connection, Libp2p, Logger, PeerId } from '@libp2p/interface'
import type { Replication } from '../core/replication.js'
import { FrameError } from '../net/errors.js'
import { type FramedStream, framed, openFramedStream } from '../net/frames.js'
import { SyncDecodeError, type SyncError, SyncNotMemberError } from './errors.js'
import { SYNC_PROTOCOL } from './messages.js'
import { type SessionEvent, SyncSession, type SyncSessionOptions } from './session.js'

export type SessionTuning = Pick<
  SyncSessionOptions,
  | 'intervalMs'
  | 'roundTimeoutMs'
  | 'maxQueueBytes'
  | 'maxQueueItems'
  | 'maxPendingOffers'
  | 'maxBatchBytes'
  | 'progressIntervalMs'
>

export interface SyncServiceOptions {
  libp2p: Pick<
    Libp2p,
    | 'handle'
    | 'unhandle'
    | 'dialProtocol'
    | 'getConnections'
    | 'addEventListener'
    | 'removeEventListener'
    | 'peerId'
  >
  tribeId: string
  replication: Replication
  log: Logger
  /** Current membership (asked before every session). @default replication.isMember */
  isMember?: (peer: string) => Promise<boolean>
  /** Member of any tribe of this node (judges NOT_AUTHORIZED rejections). */
  isKnownMember?: (memberId: string) => Promise<boolean>
  session?: SessionTuning
  onEvent?: (peer: string, event: SessionEvent) => void
  /** A peer sent bad input; its connections are already being closed. */
  onBadPeer?: (peer: string, err: SyncError) => void
}

const LENGTH_ERRORS = new Set([
  'InvalidDataLengthError',
  'InvalidDataLengthLengthError',
  'InvalidMessageLengthError',
])

export class SyncService {
  readonly #o: SyncServiceOptions
  readonly #sessions = new Map<string, { session: SyncSession; stream: FramedStream }>()
  readonly #opening = new Set<string>()
  readonly #retries = new Map<string, number>()
  #running = false
  readonly #onConnect = (evt: CustomEvent<PeerId>) => void this.ensure(evt.detail)

  constructor(opts: SyncServiceOptions) {
    this.#o = opts
  }

  async start(): Promise<void> {
    if (this.#running) return
    this.#running = true
    const { libp2p } = this.#o
    await libp2p.handle(
      SYNC_PROTOCOL,
      (stream, connection) => void this.#inbound(framed(stream, connection.remotePeer), connection),
      { runOnLimitedConnection: false },
    )
    libp2p.addEventListener('peer:connect', this.#onConnect)
    // Peers that connected before the protocol was registered (known peers redialled at start).
    for (const c of libp2p.getConnections()) void this.ensure(c.remotePeer)
  }

  async stop(): Promise<void> {
    if (!this.#running) return
    this.#running = false
    this.#o.libp2p.removeEventListener('peer:connect', this.#onConnect)
    for (const { session, stream } of this.#sessions.values()) {
      session.stop()
      stream.abort(new Error('sync service stopped'))
    }
    this.#sessions.clear()
    try {
      await this.#o.libp2p.unhandle(SYNC_PROTOCOL)
    } catch {
      // the host may already be stopping
    }
  }

  sessions(): SyncSession[] {
    return [...this.#sessions.values()].map((s) => s.session)
  }

  /** Starts a digest round with every peer now. */
  syncNow(): void {
    for (const { session } of this.#sessions.values()) void session.startRound()
  }

  /** Ends sessions of peers that are no longer members (their connections close too). */
  async recheck(): Promise<void> {
    for (const [peer, { session }] of this.#sessions) {
      if (!(await this.#isMember(peer))) {
        this.#o.log('%s is no longer a member: closing', peer)
        session.stop()
        this.#closeConnections(peer, new SyncNotMemberError(peer, this.#o.tribeId))
      }
    }
    for (const c of this.#o.libp2p.getConnections()) void this.ensure(c.remotePeer)
  }

  /** Opens a session to `peer` if this side is the opener and none runs. */
  async ensure(peerId: PeerId): Promise<void> {
    const peer = peerId.toString()
    const me = this.#o.libp2p.peerId.toString()
    if (!this.#running || peer === me || !(me < peer)) return
    if (this.#sessions.has(peer) || this.#opening.has(peer)) return
    this.#opening.add(peer)
    try {
      if (!(await this.#isMember(peer))) return
      if (this.#o.libp2p.getConnections(peerId).length === 0) return
      let s: FramedStream
      try {
        s = await openFramedStream(this.#o.libp2p, peerId, SYNC_PROTOCOL, {
          signal: AbortSignal.timeout(10_000),
        })
      } catch (err) {
        this.#o.log('could not open sync with %s: %s', peer, (err as Error).message)
        this.#retryLater(peerId)
        return
      }
      const conn = this.#o.libp2p.getConnections(peerId)[0]
      if (!this.#running || conn === undefined) {
        s.abort(new Error('not running'))
        return
      }
      void this.#run(s, conn, true)
    } finally {
      this.#opening.delete(peer)
    }
  }

  #retryLater(peerId: PeerId): void {
    const peer = peerId.toString()
    const n = (this.#retries.get(peer) ?? 0) + 1
    this.#retries.set(peer, n)
    if (n > 6 || !this.#running) return
    setTimeout(() => void this.ensure(peerId), Math.min(250 * 2 ** n, 10_000)).unref?.()
  }

  async #isMember(peer: string): Promise<boolean> {
    try {
      return await (this.#o.isMember ?? ((p) => this.#o.replication.isMember(this.#o.tribeId, p)))(
        peer,
      )
    } catch (err) {
      this.#o.log('membership check of %s failed: %s', peer, (err as Error).message)
      return false
    }
  }

  async #inbound(s: FramedStream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    if (!this.#running || !(await this.#isMember(peer))) {
      this.#o.log('refused sync from %s: not a member of %s', peer, this.#o.tribeId)
      s.abort(new SyncNotMemberError(peer, this.#o.tribeId))
      return
    }
    await this.#run(s, connection, false)
  }

  async #run(s: FramedStream, connection: Connection, initiate: boolean): Promise<void> {
    const peer = connection.remotePeer.toString()
    const previous = this.#sessions.get(peer)
    if (previous) {
      previous.session.stop()
      previous.stream.abort(new Error('replaced by a new sync stream'))
    }
    const session = new SyncSession({
      tribeId: this.#o.tribeId,
      peer,
      replication: this.#o.replication,
      log: this.#o.log,
      initiate,
      isKnownMember: this.#o.isKnownMember,
      ...this.#o.session,
      onEvent: (e) => this.#o.onEvent?.(peer, e),
      transport: {
        send: (frame) => s.send(frame),
        close: (err) => {
          if (err) this.#penalize(peer, err)
          else s.close().catch(() => s.abort(new Error('sync session ended')))
        },
      },
    })
    this.#sessions.set(peer, { session, stream: s })
    this.#retries.delete(peer)
    session.start()
    try {
      for await (const frame of s.frames) {
        await session.receive(frame)
        if (session.closed) break
      }
    } catch (err) {
      const cause = (err as { cause?: { name?: string } }).cause
      if (err instanceof FrameError && LENGTH_ERRORS.has(cause?.name ?? '')) {
        const e = new SyncDecodeError(`oversized or malformed frame: ${cause?.name}`)
        session.stop()
        this.#penalize(peer, e)
      }
    } finally {
      session.stop()
      if (this.#sessions.get(peer)?.session === session) this.#sessions.delete(peer)
    }
    // The stream ended but the peer may still be connected: sync again over a new stream.
    if (this.#running && initiate && !this.#penalized.has(peer)) {
      const remote = connection.remotePeer
      if (this.#o.libp2p.getConnections(remote).length > 0) this.#retryLater(remote)
    }
  }

  readonly #penalized = new Set<string>()

  #penalize(peer: string, err: SyncError): void {
    this.#o.log.error(
      'bad input from %s (%s): %s; closing its connection',
      peer,
      err.code,
      err.message,
    )
    this.#penalized.add(peer)
    setTimeout(() => this.#penalized.delete(peer), 60_000).unref?.()
    this.#closeConnections(peer, err)
    this.#o.onBadPeer?.(peer, err)
  }

  #closeConnections(peer: string, err: Error): void {
    for (const c of this.#o.libp2p.getConnections()) {
      if (c.remotePeer.toString() === peer) c.abort(err)
    }
  }
}
