/**
 * Real nodes for the mesh tests, built by the composition root exactly as `tapestry start`
 * builds them (mesh, control API, join and federation handshakes) on a temp data
 * directory, listening on 127.0.0.1 (mDNS off); started, stopped and restarted on the
 * same directory. Every node is stopped and every directory removed by `cleanup()`.
 */
import '../../src/polyfill.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { VisibleDocument } from '../../src/core/replication.js'
import type { TapestryNode } from '../../src/core/tapestry-node.js'
import { createIdentity } from '../../src/identity/identity.js'
import type { Mesh } from '../../src/mesh/mesh.js'
import { type StartOptions, Tapestry, type TapestryEvent } from '../../src/root/tapestry.js'

export interface TestNode {
  name: string
  dir: string
  memberId: string
  /** The node as the composition root runs it (undefined while closed). */
  tapestry: Tapestry | undefined
  node: TapestryNode | undefined
  mesh: Mesh | undefined
  events: TapestryEvent[]
}

/** Nodes whose events a TestNode already records (a restart keeps the same listener). */
const listened = new WeakSet<Tapestry>()

export class TestNet {
  readonly nodes = new Map<string, TestNode>()
  readonly #root: Promise<string> = mkdtemp(join(tmpdir(), 'tapestry-mesh-'))

  constructor(readonly defaults: StartOptions = {}) {}

  /** A new member with an identity, its node open (no mesh yet). */
  async add(name: string): Promise<TestNode> {
    const dir = join(await this.#root, name)
    const id = await createIdentity(dir, name)
    const t: TestNode = {
      name,
      dir,
      memberId: id.memberId,
      tapestry: undefined,
      node: undefined,
      mesh: undefined,
      events: [],
    }
    this.nodes.set(name, t)
    t.tapestry = await Tapestry.open({ dataDir: dir })
    t.node = t.tapestry.node
    return t
  }

  get(name: string): TestNode {
    const t = this.nodes.get(name)
    if (!t) throw new Error(`no node ${name}`)
    return t
  }

  node(name: string): TapestryNode {
    const n = this.get(name).node
    if (!n) throw new Error(`node ${name} is not running`)
    return n
  }

  mesh(name: string): Mesh {
    const m = this.get(name).mesh
    if (!m) throw new Error(`mesh of ${name} is not running`)
    return m
  }

  /** Opens the node (if closed) and starts it (mesh, control API, join, federation). */
  async start(name: string, opts: StartOptions = {}): Promise<Mesh> {
    const t = this.get(name)
    t.tapestry ??= await Tapestry.open({ dataDir: t.dir })
    t.node = t.tapestry.node
    await t.tapestry.start({
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      name,
      joinWindowMs: 3_000,
      sync: { intervalMs: 1_000, progressIntervalMs: 50 },
      redialIntervalMs: 1_000,
      federationRetryMs: 500,
      ...this.defaults,
      ...opts,
    })
    if (!listened.has(t.tapestry)) {
      listened.add(t.tapestry)
      t.tapestry.on((e) => t.events.push(e))
    }
    t.mesh = t.tapestry.mesh!
    return t.mesh
  }

  /** Stops the node's network and keeps it open (offline use: writes, no sync). */
  async offline(name: string): Promise<void> {
    const t = this.get(name)
    t.mesh = undefined
    await t.tapestry?.stop()
  }

  /** Stops the node's network and closes it (a clean shutdown). */
  async stop(name: string): Promise<void> {
    const t = this.get(name)
    const tapestry = t.tapestry
    t.tapestry = undefined
    t.mesh = undefined
    t.node = undefined
    await tapestry?.close()
  }

  running(): TestNode[] {
    return [...this.nodes.values()].filter((t) => t.mesh !== undefined)
  }

  /** Dials `to`'s host for `tribeId` from `from`. */
  async connect(from: string, to: string, tribeId: string): Promise<void> {
    const addr = this.mesh(to).host(tribeId)?.addrs()[0]
    if (!addr) throw new Error(`${to} has no host for ${tribeId}`)
    await this.mesh(from).dial(tribeId, addr)
  }

  /** Closes every connection between two running nodes. */
  async cut(a: string, b: string, tribeId: string): Promise<void> {
    const ha = this.mesh(a).host(tribeId)
    const hb = this.mesh(b).host(tribeId)
    if (!ha || !hb) return
    await ha.libp2p.hangUp(hb.peerId).catch(() => {})
    await hb.libp2p.hangUp(ha.peerId).catch(() => {})
  }

  connected(a: string, b: string, tribeId: string): boolean {
    const ha = this.get(a).mesh?.host(tribeId)
    const hb = this.get(b).mesh?.host(tribeId)
    if (!ha || !hb) return false
    return ha.libp2p.getConnections(hb.peerId).length > 0
  }

  async cleanup(): Promise<void> {
    for (const name of this.nodes.keys()) await this.stop(name).catch(() => {})
    await rm(await this.#root, { recursive: true, force: true })
  }
}

/**
 * A tribe founded by `founder` with every other node admitted directly (the library's
 * `admitMember`) and given the swarm key out of band, as an invitation will.
 */
export async function makeTribe(net: TestNet, founder: string, others: string[]): Promise<string> {
  const a = net.node(founder)
  const { tribeId } = await a.createTribe('test tribe')
  const key = await a.swarmKey(tribeId)
  for (const name of others) {
    const t = net.get(name)
    await a.admitMember(tribeId, { memberId: t.memberId, name })
    await net.node(name).adoptSwarmKey(tribeId, key)
  }
  return tribeId
}

/** A node's documents of a tribe as it would offer them to itself: ids, versions, records. */
export async function stateOf(node: TapestryNode, tribeId: string): Promise<string> {
  const docs = await node.replication.visibleDocuments(tribeId, node.memberId)
  return JSON.stringify(docs.map(normalize))
}

function normalize(d: VisibleDocument) {
  return [d.docId, [...d.vv].sort(([a], [b]) => (a < b ? -1 : 1)), d.recordIds, d.content]
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  ms = 30_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

/** Waits until every named node holds the same documents of `tribeId`. */
export async function converged(
  net: TestNet,
  names: string[],
  tribeId: string,
  ms = 30_000,
): Promise<string> {
  let last: string[] = []
  try {
    await waitFor(
      async () => {
        last = await Promise.all(names.map((n) => stateOf(net.node(n), tribeId)))
        return last.every((s) => s === last[0])
      },
      ms,
      'convergence',
    )
  } catch (err) {
    const detail = names.map((n, i) => `${n}: ${last[i]?.length ?? 0} chars`).join(', ')
    throw new Error(`${(err as Error).message} (${detail})`)
  }
  return last[0]!
}

export const titles = async (node: TapestryNode, tribeId: string): Promise<string[]> =>
  (await node.narratives({ tribeId })).map((n) => n.title).sort()
