/**
 * Two tribes of two members each on real nodes (TestNet: TCP on 127.0.0.1, mDNS off),
 * each node running federation on its mesh as `tapestry start` does, and helpers to
 * link the tribes by offer and acceptance.
 */
import { attachFederation } from '../../src/federation/attach.js'
import { makeTribe, type TestNet, waitFor } from './mesh-nodes.js'

export interface TwoTribes {
  tribeA: string
  tribeB: string
  /** (Re)starts a node's mesh with federation, dialling its tribe's steward if given. */
  start(name: string, bootstrap?: string[]): Promise<void>
  /** Stops federation on every node (call before `net.cleanup()`). */
  detach(): void
}

/** Starts `name`'s mesh with federation attached, as `tapestry start` does. */
export async function startFederated(
  net: TestNet,
  name: string,
  bootstrap: string[] = [],
  detachers: (() => void)[] = [],
): Promise<void> {
  const mesh = await net.start(name, { bootstrap })
  const node = net.node(name)
  node.attachNetwork({
    listenAddrs: (id) => mesh.host(id)?.addrs() ?? [],
    peers: () => mesh.peers().map((p) => ({ ...p, name: '' })),
    refresh: () => mesh.refresh(),
  })
  detachers.push(await attachFederation(mesh, node.federationPeer, () => {}, { retryMs: 500 }))
}

/** a1 (steward) + a2 in tribe A, b1 (steward) + b2 in tribe B; every roster replicated. */
export async function twoTribes(net: TestNet): Promise<TwoTribes> {
  for (const n of ['a1', 'a2', 'b1', 'b2']) await net.add(n)
  const tribeA = await makeTribe(net, 'a1', ['a2'])
  const tribeB = await makeTribe(net, 'b1', ['b2'])
  const detachers: (() => void)[] = []
  await startFederated(net, 'a1', [], detachers)
  await startFederated(net, 'a2', net.mesh('a1').host(tribeA)!.addrs(), detachers)
  await startFederated(net, 'b1', [], detachers)
  await startFederated(net, 'b2', net.mesh('b1').host(tribeB)!.addrs(), detachers)
  for (const n of ['a2', 'b2']) {
    await waitFor(async () => (await net.node(n).tribes()).length === 1, 20_000, `roster on ${n}`)
  }
  return {
    tribeA,
    tribeB,
    start: (name, bootstrap = []) => startFederated(net, name, bootstrap, detachers),
    detach: () => {
      for (const d of detachers.splice(0)) d()
    },
  }
}

/** a1 proposes, b1 accepts; resolves when every node sees the link active. */
export async function link(net: TestNet, names = ['a1', 'a2', 'b1', 'b2']): Promise<string> {
  const { offer } = await net.node('a1').federatePropose({})
  const { linkId } = await net.node('b1').federateAccept(offer)
  for (const n of names) {
    await waitFor(
      async () =>
        (await net.node(n).federation()).some((l) => l.linkId === linkId && l.status === 'active'),
      30_000,
      `link active on ${n}`,
    )
  }
  return linkId
}

export const hasNarrative = async (net: TestNet, name: string, id: string): Promise<boolean> =>
  (await net.node(name).narratives({})).some((n) => n.id === id && n.status === 'published')
