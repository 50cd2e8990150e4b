import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TapestryNode } from '../../src/core/tapestry-node.js'
import { createIdentity } from '../../src/identity/index.js'
import { Tapestry } from '../../src/root/tapestry.js'

/** A member's node on a temp data directory, for tests. `cleanup` closes it and removes the dir. */
export interface TestMember {
  name: string
  dataDir: string
  node: TapestryNode
  reopen(): Promise<TapestryNode>
  close(): Promise<void>
  cleanup(): Promise<void>
}

export async function makeMember(name: string): Promise<TestMember> {
  const dataDir = await mkdtemp(join(tmpdir(), `tapestry-${name.toLowerCase()}-`))
  await createIdentity(dataDir, name)
  let node: TapestryNode | undefined = (await Tapestry.open({ dataDir })).node
  const m: TestMember = {
    name,
    dataDir,
    get node() {
      if (!node) throw new Error(`${name}'s node is closed`)
      return node
    },
    async reopen() {
      await m.close()
      node = (await Tapestry.open({ dataDir })).node
      return node
    },
    async close() {
      const n = node
      node = undefined
      await n?.close()
    },
    async cleanup() {
      await m.close()
      await rm(dataDir, { recursive: true, force: true })
    },
  }
  return m
}

/**
 * A tribe founded by the first member, with every other member admitted by that
 * steward and holding the swarm key (what an invitation gives a joiner). Nothing is
 * replicated yet: the other members receive the roster when they sync.
 */
export async function makeTribe(
  name: string,
  members: readonly TestMember[],
): Promise<{ tribeId: string; swarmKey: Uint8Array }> {
  const [founder, ...others] = members
  if (!founder) throw new Error('a tribe needs a founder')
  const { tribeId } = await founder.node.createTribe(name)
  const swarmKey = await founder.node.swarmKey(tribeId)
  for (const m of others) {
    await founder.node.admitMember(tribeId, { memberId: m.node.memberId, name: m.name })
    await m.node.adoptSwarmKey(tribeId, swarmKey)
  }
  return { tribeId, swarmKey }
}

/**
 * One honest catch-up round from `from` to `to` through the Replication boundary (no
 * network): what `from` may send `to`, records before envelopes, as sync does.
 */
export async function pull(from: TapestryNode, to: TapestryNode, tribeId: string) {
  const docs = await from.replication.visibleDocuments(tribeId, to.memberId)
  const records = []
  const envelopes = []
  for (const d of docs) {
    records.push(...(await from.replication.recordsFor(d.docId, to.memberId)))
    envelopes.push(...(await from.replication.envelopesFor(d.docId, new Map(), to.memberId)))
  }
  const r = await to.replication.ingestRecords(records, from.memberId)
  const e = await to.replication.ingestEnvelopes(envelopes, from.memberId)
  return { docs, r, e }
}
