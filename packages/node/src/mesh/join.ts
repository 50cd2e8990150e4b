import { peerIdFromString } from '@libp2p/peer-id'
import type { Replication } from '../core/replication.js'
import { registerJoinHandler, requestJoin } from '../invite/join-protocol.js'
import type { Mesh, MeshEvent } from './mesh.js'

/** What joining tells the person running the node. */
export type JoinEvent =
  | { event: 'join:admitted'; tribeId: string; via: string }
  | { event: 'join:refused'; tribeId: string; via: string; code: string; message: string }

/**
 * Joining by invitation on a running mesh. Every tribe host serves the join protocol
 * (a stranger may use it during the mesh's join window); for each tribe this node joined
 * but was not admitted to yet, it dials the invitation's addresses and presents its
 * signed admission to each tribe peer it meets until one admits it. The admission then
 * replicates like any roster record, so the rest of the tribe learns it from that peer.
 */
export async function attachJoin(
  mesh: Mesh,
  replication: Replication,
  emit: (e: JoinEvent) => void,
): Promise<() => void> {
  const served = new Set<string>()
  const asking = new Set<string>()

  const serve = async () => {
    for (const { tribeId, kind } of mesh.networks()) {
      const host = mesh.host(tribeId)
      // Joining a tribe is for its own network: a federation link's host never serves it.
      if (!host || served.has(tribeId) || kind !== 'tribe') continue
      served.add(tribeId)
      await registerJoinHandler(host.libp2p, async (record, from) => {
        const reply = await replication.admit(record, from)
        // The joiner is a member now: keep its connection and start syncing with it.
        if (reply.ok) await mesh.onMembershipChange()
        return reply
      })
    }
  }

  const ask = async (tribeId: string, peer: string) => {
    const pending = (await replication.pendingJoins()).find((p) => p.tribeId === tribeId)
    const host = mesh.host(tribeId)
    const key = `${tribeId} ${peer}`
    if (!pending || !host || asking.has(key)) return
    asking.add(key)
    try {
      const reply = await requestJoin(host.libp2p, peerIdFromString(peer), pending.admission)
      if (reply.ok) {
        emit({ event: 'join:admitted', tribeId, via: peer })
        await mesh.onMembershipChange()
        mesh.syncNow(tribeId)
      } else {
        emit({ event: 'join:refused', tribeId, via: peer, ...reply })
      }
    } catch {
      // This peer could not answer (not serving the join protocol yet, gone): the next
      // peer met, or the next start, asks again.
    } finally {
      asking.delete(key)
    }
  }

  const dialInvitations = async () => {
    for (const p of await replication.pendingJoins()) {
      for (const addr of p.addrs) {
        mesh.dial(p.tribeId, addr).catch(() => {
          // Unreachable or a stale address: mDNS and other addresses may still work.
        })
      }
    }
  }

  const off = mesh.on((e: MeshEvent) => {
    if (e.event === 'network:added') void serve().then(dialInvitations)
    if (e.event === 'peer:connect') void ask(e.tribeId, e.peer)
  })
  await serve()
  for (const p of mesh.peers()) void ask(p.tribeId, p.peerId)
  await dialInvitations()
  return off
}
