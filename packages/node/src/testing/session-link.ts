/**
 * Two sync sessions joined by an in-memory pipe over the session seam (`SyncSession`'s
 * `transport`): frames are delivered in order, one at a time, and `send` resolves when the
 * receiver has handled the frame (a buffer of zero: the strictest backpressure). Counts
 * bytes each way and records close errors. With `jitterMs` each frame waits a random
 * 0..jitterMs drawn from `seed`, so several links interleave in a seeded random order
 * (the same seed replays the same delays).
 */
import type { Replication, StoredItem } from '../core/replication.js'
import type { SyncError } from '../sync/errors.js'
import { type SessionEvent, SyncSession, type SyncSessionOptions } from '../sync/session.js'

/** A replication whose stored items can be watched, so live offers reach open sessions. */
export type LinkedReplication = Replication & {
  onStored(listener: (item: StoredItem) => void): unknown
}

export interface LinkSide {
  session: SyncSession
  events: SessionEvent[]
  /** Bytes this side sent. */
  bytes: number
  frames: Uint8Array[]
  closedWith: SyncError | undefined
  closed: boolean
}

export interface Link {
  a: LinkSide
  b: LinkSide
  cut(): void
}

/** Every node's live offers go to all its open sessions. */
const hubs = new WeakMap<LinkedReplication, Set<SyncSession>>()
function hub(rep: LinkedReplication): Set<SyncSession> {
  const known = hubs.get(rep)
  if (known) return known
  const sessions = new Set<SyncSession>()
  rep.onStored((item) => {
    for (const s of sessions) s.offer(item)
  })
  hubs.set(rep, sessions)
  return sessions
}

export function link(
  ra: LinkedReplication,
  rb: LinkedReplication,
  tribeId: string,
  opts: Partial<SyncSessionOptions> & {
    delayMs?: number
    jitterMs?: number
    seed?: number
    keepFrames?: boolean
  } = {},
): Link {
  const { delayMs = 0, jitterMs = 0, seed = 1, keepFrames = false, ...sessionOpts } = opts
  const random = mulberry32(seed)
  let cut = false
  const mk = (rep: LinkedReplication, peer: LinkedReplication, initiate: boolean): LinkSide => {
    const side = {
      events: [] as SessionEvent[],
      bytes: 0,
      frames: [] as Uint8Array[],
      closedWith: undefined as SyncError | undefined,
      closed: false,
    } as LinkSide
    side.session = new SyncSession({
      tribeId,
      peer: peer.memberId,
      replication: rep,
      initiate,
      intervalMs: 0,
      progressIntervalMs: 10,
      ...sessionOpts,
      onEvent: (e) => side.events.push(e),
      transport: {
        send: async (frame) => {
          if (cut || side.closed) throw new Error('link closed')
          side.bytes += frame.byteLength
          if (keepFrames) side.frames.push(frame)
          const wait = delayMs + (jitterMs > 0 ? Math.floor(random() * (jitterMs + 1)) : 0)
          if (wait > 0) await new Promise((r) => setTimeout(r, wait))
          await other(side).session.receive(frame)
        },
        close: (err) => {
          side.closed = true
          side.closedWith = err
          hub(rep).delete(side.session)
          const o = other(side)
          if (!o.closed) o.session.stop()
        },
      },
    })
    hub(rep).add(side.session)
    return side
  }
  const a = mk(ra, rb, true)
  const b = mk(rb, ra, false)
  const other = (s: LinkSide) => (s === a ? b : a)
  a.session.start()
  b.session.start()
  return {
    a,
    b,
    cut() {
      cut = true
      a.session.stop()
      b.session.stop()
    },
  }
}

/** A small seeded PRNG (mulberry32): numbers in [0, 1). */
export function mulberry32(seed: number): () => number {
  let t = seed >>> 0
  return () => {
    t = (t + 0x6d2b79f5) >>> 0
    let x = Math.imul(t ^ (t >>> 15), 1 | t)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

/** Polls `cond` every 10 ms until it holds; throws after `ms`. */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  ms = 20_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}
