import '../polyfill.js'
import type { FederationEvent } from '../federation/attach.js'
import type { JoinEvent } from '../mesh/join.js'
import type { MeshEvent } from '../mesh/mesh.js'
import { Tapestry, type TapestryEvent } from '../root/tapestry.js'
import { type Output, short } from './output.js'

export interface RunNodeOptions {
  dataDir: string
  out: Output
  /** Listen multiaddrs. @default ['/ip4/0.0.0.0/tcp/0'] */
  listen?: string[]
  /** Addresses every tribe host dials on start. */
  bootstrap?: string[]
  /** mDNS discovery on the LAN. @default true */
  mdns?: boolean
}

/**
 * `tapestry start`: open and start the node through the composition root (root/tapestry.ts:
 * mesh, control API, join and federation), announce readiness (`ready` with every host's
 * addresses), print peer, sync, join and link events, and run until SIGINT/SIGTERM.
 */
export async function runNode({
  dataDir,
  out,
  listen,
  bootstrap,
  mdns,
}: RunNodeOptions): Promise<void> {
  const tapestry = await Tapestry.open({ dataDir })
  try {
    await tapestry.start({
      listen: listen && listen.length > 0 ? listen : ['/ip4/0.0.0.0/tcp/0'],
      bootstrap: bootstrap ?? [],
      mdns: mdns ?? true,
    })
  } catch (err) {
    await tapestry.close()
    throw err
  }
  const mesh = tapestry.mesh!
  const networks = mesh.networks().map(({ networkId, kind, tribeId, addrs }) => ({
    networkId,
    kind,
    tribeId,
    addrs,
  }))
  out.line(
    {
      event: 'ready',
      memberId: tapestry.memberId,
      addrs: mesh.addrs(),
      networks,
      controlPort: tapestry.control?.port,
      dataDir,
    },
    () =>
      [
        `Tapestry node running for ${tapestry.memberId}`,
        `data directory: ${dataDir}`,
        ...networks.map(
          (n) => `${n.kind} ${n.tribeId} listening on ${n.addrs.join(', ') || '(none)'}`,
        ),
        networks.length === 0 ? 'no tribe yet: create one with `tapestry tribe create NAME`' : '',
        'Press Ctrl+C to stop.',
      ]
        .filter((l) => l !== '')
        .join('\n'),
  )
  tapestry.on((e) => out.line(e, () => describe(e)))

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  // The control API closes first so no request lands on a closing store; the node
  // closes last and flushes pending writes.
  await tapestry.close()
  out.line({ event: 'stopped', signal }, () => 'Stopped.')
}

function describe(e: TapestryEvent): string {
  switch (e.event) {
    case 'join:admitted':
    case 'join:refused':
      return describeJoin(e)
    case 'link:accepted':
    case 'link:refused':
      return describeFederation(e)
    default:
      return describeMesh(e)
  }
}

function describeJoin(e: JoinEvent): string {
  return e.event === 'join:admitted'
    ? `admitted to tribe ${short(e.tribeId)} by ${short(e.via)}: syncing`
    : `${short(e.via)} refused the admission to tribe ${short(e.tribeId)}: ${e.message}`
}

function describeFederation(e: FederationEvent): string {
  return e.event === 'link:accepted'
    ? `link ${short(e.linkId)} with ${short(e.peer)} is signed by both tribes: syncing`
    : `${short(e.peer)} refused link ${short(e.linkId)}: ${e.message}`
}

function describeMesh(e: MeshEvent): string {
  switch (e.event) {
    case 'peer:connect':
      return `connected to ${short(e.peer)} (tribe ${short(e.tribeId)})${e.addr ? ` at ${e.addr}` : ''}`
    case 'peer:disconnect':
      return `disconnected from ${short(e.peer)} (tribe ${short(e.tribeId)})`
    case 'sync':
      return `sync with ${short(e.peer)}: received ${e.received.envelopes} change(s), ${e.received.records} record(s); sent ${e.sent.envelopes} change(s), ${e.sent.records} record(s)`
    case 'sync:round':
      return `sync round with ${short(e.peer)}: ${e.inSync ? 'in sync' : 'exchanged differences'} (${e.documents} documents)`
    case 'sync:overflow':
      return `${short(e.peer)} is slow: dropped ${e.dropped} queued item(s), catching up by digest`
    case 'peer:refused':
      return `closed the connection of ${short(e.peer)}: ${e.message}`
    case 'network:added':
      return `tribe ${short(e.tribeId)} listening on ${e.addrs.join(', ')}`
    case 'network:removed':
      return `left the network of tribe ${short(e.tribeId)}`
  }
}
