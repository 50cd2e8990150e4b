/**
 * Federation on a running mesh. Every link host serves `/tapestry/federate/1.0.0` (to
 * peers in their join window too: the accepter is nobody's member before the
 * countersignature). For each acceptance this node signed that is not countersigned
 * yet, it dials the offer's addresses on the link host and, when it meets the proposer
 * there, presents the acceptance; the countersignature it gets back completes the link
 * here, and sync over the link starts at once on both sides.
 *
 * ```ts
 * const mesh = await Mesh.start({ replication: node.replication, ... })
 * const detach = await attachFederation(mesh, node.federationPeer, (e) => console.log(e))
 * ```
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { Mesh, MeshEvent } from '../mesh/mesh.js'
import type { FederationPeer } from './links.js'
import { FEDERATE_PROTOCOL, requestCountersign, serveLinkRequest } from './protocol.js'

export type FederationEvent =
  | { event: 'link:accepted'; linkId: string; peer: string }
  | { event: 'link:refused'; linkId: string; peer: string; code: string; message: string }

export interface AttachFederationOptions {
  /** How often pending acceptances redial the proposer. @default 5000 */
  retryMs?: number
}

export async function attachFederation(
  mesh: Mesh,
  federation: FederationPeer,
  emit: (e: FederationEvent) => void = () => {},
  opts: AttachFederationOptions = {},
): Promise<() => void> {
  const asking = new Set<string>()
  let stopped = false

  await mesh.handle(
    FEDERATE_PROTOCOL,
    async (stream, connection, ctx) => {
      if (ctx.kind !== 'link') {
        stream.abort(new Error('not a link network'))
        return
      }
      const reply = await serveLinkRequest(stream, connection.remotePeer, (record, from) =>
        record.docId === ctx.tribeId
          ? federation.confirm(record, from)
          : Promise.resolve({ ok: false, code: 'WRONG_LINK', message: 'not this network’s link' }),
      ).catch(() => undefined)
      if (!reply) return
      const peer = connection.remotePeer.toString()
      if (reply.ok) {
        emit({ event: 'link:accepted', linkId: ctx.tribeId, peer })
        await mesh.onMembershipChange()
        mesh.syncNow(ctx.tribeId)
      } else {
        emit({ event: 'link:refused', linkId: ctx.tribeId, peer, ...reply })
      }
    },
    { allowNonMembers: true },
  )

  const ask = async (linkId: string, peer: string) => {
    if (stopped || !isLinkNetwork(mesh, linkId)) return
    const pending = (await federation.pendingAccepts()).find((p) => p.linkId === linkId)
    const host = mesh.host(linkId)
    const key = `${linkId} ${peer}`
    if (!pending || pending.proposer !== peer || !host || asking.has(key)) return
    asking.add(key)
    try {
      const reply = await requestCountersign(host.libp2p, peerIdFromString(peer), pending.accept)
      if (reply.ok && (await federation.countersigned(reply.accept, peer))) {
        emit({ event: 'link:accepted', linkId, peer })
        await mesh.onMembershipChange()
        mesh.syncNow(linkId)
      } else if (!reply.ok) {
        emit({ event: 'link:refused', linkId, peer, code: reply.code, message: reply.message })
        // Final (another tribe was first, expired, ended, …) unless the proposer failed.
        if (reply.code !== 'INTERNAL') await federation.refused(linkId, reply.code, reply.message)
      }
    } catch {
      // The proposer could not answer now: the next connection or retry asks again.
    } finally {
      asking.delete(key)
    }
  }

  const dialPending = async () => {
    if (stopped) return
    for (const p of await federation.pendingAccepts()) {
      if (!mesh.host(p.linkId)) continue
      const connected = mesh.peers().some((x) => x.tribeId === p.linkId && x.peerId === p.proposer)
      if (connected) {
        void ask(p.linkId, p.proposer)
        continue
      }
      for (const addr of p.addrs) {
        mesh.dial(p.linkId, addr).catch(() => {
          // Unreachable or stale: the next retry (or the proposer's next start) tries again.
        })
      }
    }
  }

  const off = mesh.on((e: MeshEvent) => {
    if (e.event === 'network:added' && e.kind === 'link') void dialPending()
    if (e.event === 'peer:connect') void ask(e.tribeId, e.peer)
  })
  const timer = setInterval(() => void dialPending().catch(() => {}), opts.retryMs ?? 5_000)
  timer.unref?.()
  for (const p of mesh.peers()) void ask(p.tribeId, p.peerId)
  await dialPending()
  return () => {
    stopped = true
    clearInterval(timer)
    off()
  }
}

const isLinkNetwork = (mesh: Mesh, id: string) =>
  mesh.networks().some((n) => n.tribeId === id && n.kind === 'link')
