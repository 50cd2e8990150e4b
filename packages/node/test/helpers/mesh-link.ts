/**
 * Two sync sessions joined by an in-memory pipe: frames are delivered in order, one at
 * a time, and `send` resolves when the receiver has handled the frame (a buffer of
 * zero: the strictest backpressure). Counts bytes each way and records close errors.
 */
import type { SyncError } from '../../src/sync/errors.js'
import { type SessionEvent, SyncSession, type SyncSessionOptions } from '../../src/sync/session.js'
import type { FakeReplication } from './mesh-fake-replication.js'

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
const hubs = new WeakMap<FakeReplication, Set<SyncSession>>()
function hub(rep: FakeReplication): Set<SyncSession> {
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
  ra: FakeReplication,
  rb: FakeReplication,
  tribeId: string,
  opts: Partial<SyncSessionOptions> & { delayMs?: number; keepFrames?: boolean } = {},
): Link {
  const { delayMs = 0, keepFrames = false, ...sessionOpts } = opts
  let cut = false
  const mk = (rep: FakeReplication, peer: FakeReplication, initiate: boolean): LinkSide => {
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
          if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs))
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
