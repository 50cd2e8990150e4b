/**
 * Two tribes of two members each on real nodes (TestNet: TCP on 127.0.0.1, mDNS off,
 * started by the composition root as `tapestry start` starts them, federation included),
 * and helpers to link the tribes by offer and acceptance.
 */
import { makeTribe, type TestNet, waitFor } from './mesh-nodes.js'

export interface TwoTribes {
  tribeA: string
  tribeB: string
  /** (Re)starts a node as `tapestry start` does, dialling its tribe's steward if given. */
  start(name: string, bootstrap?: string[]): Promise<void>
}

/** a1 (steward) + a2 in tribe A, b1 (steward) + b2 in tribe B; every roster replicated. */
export async function twoTribes(net: TestNet): Promise<TwoTribes> {
  for (const n of ['a1', 'a2', 'b1', 'b2']) await net.add(n)
  const tribeA = await makeTribe(net, 'a1', ['a2'])
  const tribeB = await makeTribe(net, 'b1', ['b2'])
  const start = async (name: string, bootstrap: string[] = []) => {
    await net.start(name, { bootstrap })
  }
  await start('a1')
  await start('a2', net.mesh('a1').host(tribeA)!.addrs())
  await start('b1')
  await start('b2', net.mesh('b1').host(tribeB)!.addrs())
  for (const n of ['a2', 'b2']) {
    await waitFor(async () => (await net.node(n).tribes()).length === 1, 20_000, `roster on ${n}`)
  }
  return { tribeA, tribeB, start }
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
