import '../src/polyfill.js'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { foldRoster, type RosterView, readRoster } from '@tapestry/crdt-schema'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import { linkKeySet } from '../src/federation/link-keys.js'
import type { Federation } from '../src/federation/links.js'
import { createTribeHost, type TribeHost } from '../src/net/host.js'
import { decodeSwarmKey } from '../src/net/swarm-key.js'
import { hasNarrative, link, type TwoTribes, twoTribes } from './helpers/federation.js'
import { TestNet, waitFor } from './helpers/mesh-nodes.js'

/**
 * Removing a member from either tribe of a federation link rotates the link's key
 * (federation/link-keys.ts): tribe A (a1 steward, a2) and tribe B (b1 steward, b2),
 * linked by a1's offer and b1's acceptance, so a1 and b1 carry the link.
 */
let net: TestNet
let tribes: TwoTribes | undefined
const hosts: TribeHost[] = []
afterEach(async () => {
  tribes = undefined
  await Promise.all(hosts.splice(0).map((h) => h.stop()))
  await net?.cleanup()
})

const hex = (k: Uint8Array | undefined) => (k ? Buffer.from(k).toString('hex') : undefined)

async function linkKeys(name: string, linkId: string) {
  const nets = await net.node(name).replication.networks()
  return nets.find((n) => n.id === linkId)?.keys
}

/** A roster as `name`'s node holds it (its envelopes, folded). */
async function rosterOn(name: string, tribeId: string): Promise<RosterView> {
  const node = net.node(name)
  const doc = new Y.Doc()
  for (const e of await node.replication.envelopesFor(tribeId, new Map(), node.memberId)) {
    Y.applyUpdate(doc, e.update)
  }
  const r = readRoster(doc, tribeId)
  if (!r.ok) throw r.error
  return foldRoster(r.value)
}

/** A bare host with `name`'s identity and `key` dials `addr`: did the connection stay open? */
async function staysConnected(name: string, key: Uint8Array, addr: string): Promise<boolean> {
  const host = await createTribeHost({
    privateKey: net.node(name).identity.privateKey,
    keys: () => ({ current: key }),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
  })
  hosts.push(host)
  try {
    await host.dial(addr)
  } catch {
    return false
  }
  // The gate of the host dialled decides after the handshake: give it time to close.
  await new Promise((r) => setTimeout(r, 1_500))
  return host.libp2p.getConnections().some((c) => c.status === 'open')
}

describe('link keys follow removals', () => {
  it('a removal in either tribe rotates the link key for both carriers; the removed member is refused', async () => {
    net = new TestNet()
    tribes = await twoTribes(net)
    const { tribeA, tribeB } = tribes
    const linkId = await link(net)
    const offerKey = decodeSwarmKey(
      await readFile(join(net.get('a1').dir, 'links', linkId, 'swarm.key'), 'utf8'),
    )
    expect(hex((await linkKeys('a1', linkId))?.current)).toBe(hex(offerKey))
    const a2 = net.get('a2').memberId
    const linkAddrOfB = net.mesh('b1').host(linkId)!.addrs()[0]!
    // While a member, a2 holding the link key (as a carrier of A would) may connect.
    expect(await staysConnected('a2', offerKey, linkAddrOfB)).toBe(true)

    await net.node('a1').remove(a2, { tribeId: tribeA })
    // Both carriers converge on one new key; the offer's key stays as a previous one.
    await waitFor(
      async () => {
        const [ka, kb] = [await linkKeys('a1', linkId), await linkKeys('b1', linkId)]
        return hex(ka?.current) === hex(kb?.current) && hex(kb?.current) !== hex(offerKey)
      },
      30_000,
      'new link key on a1 and b1',
    )
    const afterA = (await linkKeys('b1', linkId))!
    expect(afterA.previous.map(hex)).toEqual([hex(offerKey)])
    // Epoch 1 of A holds a box for b1 (B's carrier) and none for a2.
    const epochA = (await rosterOn('b1', tribeA)).currentEpoch!
    expect(Object.keys(epochA.sealedKeys).sort()).toEqual(
      [net.get('a1').memberId, net.get('b1').memberId].sort(),
    )
    // The mesh hosts run on the new key: a federated narrative written now crosses.
    const { narrativeId } = await net
      .node('a1')
      .narrate({ title: 'After removal', body: 'after', audience: 'federated' })
    await waitFor(() => hasNarrative(net, 'b2', narrativeId), 30_000, 'narrative on b2')
    // The old key is accepted from members only (grace): b2 gets in, the removed a2 not.
    const linkAddrOfA = net.mesh('a1').host(linkId)!.addrs()[0]!
    expect(await staysConnected('b2', offerKey, linkAddrOfA)).toBe(true)
    expect(await staysConnected('a2', offerKey, linkAddrOfB)).toBe(false)
    expect(await staysConnected('a2', offerKey, linkAddrOfA)).toBe(false)

    // A removal in tribe B (by its carrier) rotates the link again, from B's side.
    await net.node('b1').remove(net.get('b2').memberId, { tribeId: tribeB })
    await waitFor(
      async () => {
        const [ka, kb] = [await linkKeys('a1', linkId), await linkKeys('b1', linkId)]
        return hex(ka?.current) === hex(kb?.current) && hex(ka?.current) !== hex(afterA.current)
      },
      30_000,
      'second link key on a1 and b1',
    )
    expect((await linkKeys('a1', linkId))!.previous.map(hex)).toEqual(
      [afterA.current, offerKey].map(hex),
    )

    // The key set is the rosters' alone: neither removed member opens a rotation, and
    // once the grace period has passed only the current key is left.
    const rosters = new Map([
      [tribeA, await rosterOn('a1', tribeA)],
      [tribeB, await rosterOn('a1', tribeB)],
    ])
    const federation = net.node('a1').federationPeer as Federation
    const folded = (await federation.folded()).find((l) => l.linkId === linkId)!
    const input = { link: folded, rosters, offerKey, graceMs: 60_000 }
    const later = Date.now() + 120_000
    const forA1 = linkKeySet({
      ...input,
      tribeId: tribeA,
      identity: net.node('a1').identity,
      now: later,
    })
    expect(forA1.previous).toEqual([])
    expect(hex(forA1.current)).toBe(hex((await linkKeys('a1', linkId))!.current))
    for (const [name, tribeId] of [
      ['a2', tribeA],
      ['b2', tribeB],
    ] as const) {
      const k = linkKeySet({ ...input, tribeId, identity: net.node(name).identity, now: later })
      expect(hex(k.current), name).toBe(hex(offerKey))
    }
  })
  it('a carrier offline during the rotation reaches the link with the old key and adopts the new one', async () => {
    net = new TestNet()
    tribes = await twoTribes(net)
    const linkId = await link(net)
    const offerKey = (await linkKeys('b1', linkId))!.current
    await net.stop('b1')
    await net.node('a1').remove(net.get('a2').memberId, { tribeId: tribes.tribeA })
    const rotated = (await linkKeys('a1', linkId))!
    expect(hex(rotated.current)).not.toBe(hex(offerKey))
    expect(rotated.previous.map(hex)).toEqual([hex(offerKey)])

    await tribes.start('b1')
    await waitFor(
      async () => hex((await linkKeys('b1', linkId))?.current) === hex(rotated.current),
      30_000,
      'new link key on b1',
    )
    const { narrativeId } = await net
      .node('a1')
      .narrate({ title: 'While b1 was away', body: 'away', audience: 'federated' })
    await waitFor(() => hasNarrative(net, 'b2', narrativeId), 30_000, 'narrative on b2')
  })
})
