import '../polyfill.js'
import { removeControlInfo, writeControlInfo } from '../api/control-file.js'
import { startControlServer } from '../api/control-server.js'
import { TapestryNode } from '../core/tapestry-node.js'
import { attachFederation, type FederationEvent } from '../federation/attach.js'
import { attachJoin, type JoinEvent } from '../mesh/join.js'
import { Mesh, type MeshEvent } from '../mesh/mesh.js'
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
 * `tapestry start`: open the node, start its mesh (one host per tribe), serve the control
 * API, announce readiness (`ready` with every host's addresses), print peer and sync
 * events, and run until SIGINT/SIGTERM. Shutdown closes the API first so no request
 * lands on a closing store, then the mesh, then the node (which flushes pending writes).
 */
export async function runNode({
  dataDir,
  out,
  listen,
  bootstrap,
  mdns,
}: RunNodeOptions): Promise<void> {
  const node = await TapestryNode.open({ dataDir, running: true })
  // We hold the store's lock: a control.json still here was left by a killed node, and a
  // command must not read its port and token while this one starts.
  await removeControlInfo(dataDir)
  let mesh: Mesh
  try {
    mesh = await Mesh.start({
      replication: node.replication,
      privateKey: node.identity.privateKey,
      dataDir,
      listen: listen && listen.length > 0 ? listen : ['/ip4/0.0.0.0/tcp/0'],
      bootstrap: bootstrap ?? [],
      mdns: mdns ?? true,
    })
  } catch (err) {
    await node.close()
    throw err
  }
  // `tapestry peers` and invitations (the node's listen addresses) read the mesh.
  node.attachNetwork({
    listenAddrs: (tribeId) => mesh.host(tribeId)?.addrs() ?? [],
    peers: () => mesh.peers().map((p) => ({ ...p, name: '' })),
    refresh: () => mesh.refresh(),
  })
  const server = await startControlServer({ api: node, subscribe: (l) => node.subscribe(l) })
  await writeControlInfo(dataDir, {
    port: server.port,
    token: server.token,
    pid: process.pid,
    memberId: node.memberId,
  })
  const networks = mesh.networks().map(({ networkId, kind, tribeId, addrs }) => ({
    networkId,
    kind,
    tribeId,
    addrs,
  }))
  out.line(
    {
      event: 'ready',
      memberId: node.memberId,
      addrs: mesh.addrs(),
      networks,
      controlPort: server.port,
      dataDir,
    },
    () =>
      [
        `Tapestry node running for ${node.memberId}`,
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
  mesh.on((e) => out.line(e, () => describe(e)))
  const detachJoin = await attachJoin(mesh, node.replication, (e) =>
    out.line(e, () => describeJoin(e)),
  )
  const detachFederation = await attachFederation(mesh, node.federationPeer, (e) =>
    out.line(e, () => describeFederation(e)),
  )

  const stopped = new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  const signal = await stopped
  await server.close()
  await removeControlInfo(dataDir)
  node.attachNetwork(undefined)
  detachJoin()
  detachFederation()
  await mesh.stop()
  await node.close()
  out.line({ event: 'stopped', signal }, () => 'Stopped.')
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

function describe(e: MeshEvent): string {
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
