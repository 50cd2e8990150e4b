/**
 * What a sync session is given and what it reports: the transport its frames go out
 * through, its options (bounds, timers, the membership check) and its events.
 */
import type { Logger } from '@libp2p/interface'
import type { Replication } from '../core/replication.js'
import type { SyncError } from './errors.js'

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

/** The options every session has a value for, once defaults are applied. */
export type SessionBounds = Required<
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

export function boundsOf(opts: SyncSessionOptions): SessionBounds {
  return {
    intervalMs: opts.intervalMs ?? 30_000,
    roundTimeoutMs: opts.roundTimeoutMs ?? 120_000,
    maxQueueBytes: opts.maxQueueBytes ?? 8 * 1024 * 1024,
    maxQueueItems: opts.maxQueueItems ?? 4096,
    maxPendingOffers: opts.maxPendingOffers ?? 10_000,
    maxBatchBytes: opts.maxBatchBytes ?? 256 * 1024,
    progressIntervalMs: opts.progressIntervalMs ?? 250,
  }
}
