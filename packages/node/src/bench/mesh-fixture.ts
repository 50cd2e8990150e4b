/**
 * Real nodes for the mesh workloads of the bench (the pattern of test/helpers/mesh-nodes.ts,
 * kept in src/ so the built bench can use it): a TapestryNode on its own data directory with
 * a Mesh on 127.0.0.1 (mDNS off), tribes founded with `admitMember` + the swarm key given out
 * of band, narratives created through `narrate`, body edits through the node's own write
 * path (DocumentSet.change: coalescer → sign → durable store → live push), a counting TCP
 * proxy for bytes on the wire, and a cache of populated founders shared between workloads
 * (10,000 narratives take a while to write; they are written once per bench run).
 */
import '../polyfill.js'
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ok, type WriteResult } from '@tapestry/crdt-schema'
import type * as Y from 'yjs'
import type { DocumentSet } from '../core/documents.js'
import type { DocumentEvent } from '../core/node-api.js'
import type { TapestryNode } from '../core/tapestry-node.js'
import { encodeEnvelope, encodeRecord } from '../envelope/codec.js'
import type { DocId, Envelope, SignedRecord } from '../envelope/types.js'
import { createIdentity } from '../identity/identity.js'
import type { Mesh, MeshEvent } from '../mesh/mesh.js'
import { type StartOptions, Tapestry } from '../root/tapestry.js'
import { LevelEnvelopeStore } from '../store/level-store.js'

export interface BenchNode {
  readonly name: string
  readonly dir: string
  readonly memberId: string
  /** The node as the composition root runs it. */
  readonly tapestry: Tapestry
  readonly node: TapestryNode
  mesh: Mesh | undefined
}

/** Sync tuning of the bench meshes: the defaults, with progress events every 50 ms. */
export const BENCH_SYNC = { progressIntervalMs: 50 } as const

/** Creates an identity in `dir` and opens its node (running: it serves a mesh). */
export async function createMember(dir: string, name: string): Promise<BenchNode> {
  const id = await createIdentity(dir, name)
  const tapestry = await Tapestry.open({ dataDir: dir })
  return { name, dir, memberId: id.memberId, tapestry, node: tapestry.node, mesh: undefined }
}

/** Opens an existing member directory. */
export async function openMember(dir: string, name: string): Promise<BenchNode> {
  const tapestry = await Tapestry.open({ dataDir: dir })
  return { name, dir, memberId: tapestry.memberId, tapestry, node: tapestry.node, mesh: undefined }
}

export async function startMesh(n: BenchNode, opts: StartOptions = {}): Promise<Mesh> {
  await n.tapestry.start({
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    name: n.name,
    sync: BENCH_SYNC,
    ...opts,
  })
  const mesh = n.tapestry.mesh!
  n.mesh = mesh
  return mesh
}

export async function stopNode(n: BenchNode): Promise<void> {
  n.mesh = undefined
  await n.tapestry.close().catch(() => {})
}

/** A tribe founded by `founder`; every other member admitted and given the swarm key. */
export async function foundTribe(founder: BenchNode, others: readonly BenchNode[]) {
  const { tribeId } = await founder.node.createTribe('bench tribe')
  await admit(founder, tribeId, others)
  return tribeId
}

export async function admit(founder: BenchNode, tribeId: string, others: readonly BenchNode[]) {
  const key = await founder.node.swarmKey(tribeId)
  for (const m of others) {
    await founder.node.admitMember(tribeId, { memberId: m.memberId, name: m.name })
    await m.node.adoptSwarmKey(tribeId, key)
  }
}

/** The first listen address of `n`'s host for `tribeId` (with `/p2p/<peer>`). */
export function addrOf(n: BenchNode, tribeId: string): string {
  const addr = n.mesh?.host(tribeId)?.addrs()[0]
  if (!addr) throw new Error(`${n.name} has no host for ${tribeId}`)
  return addr
}

export function peerIdOf(n: BenchNode, tribeId: string): string {
  const host = n.mesh?.host(tribeId)
  if (!host) throw new Error(`${n.name} has no host for ${tribeId}`)
  return host.peerId.toString()
}

/**
 * Dials `to` from `from`. libp2p limits inbound connections per remote IP and second (every
 * bench node is 127.0.0.1), so a refused dial is retried after a pause.
 */
export async function connect(from: BenchNode, to: BenchNode, tribeId: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await from.mesh!.dial(tribeId, addrOf(to, tribeId))
      return
    } catch (err) {
      if (attempt >= 20) throw err
      await new Promise((r) => setTimeout(r, 250))
    }
  }
}

const docSets = new WeakMap<TapestryNode, DocumentSet>()

/**
 * The node's document set: its write path. TapestryNode keeps it private and exposes no
 * body editing; the bench finds it behind `node.replication` (whatever wraps the node's
 * own replication: it is the object with `change` and `applyRemote`).
 */
export function documentsOf(node: TapestryNode): DocumentSet {
  const known = docSets.get(node)
  if (known) return known
  const seen = new Set<object>()
  const search = (o: unknown, depth: number): DocumentSet | undefined => {
    if (typeof o !== 'object' || o === null || seen.has(o) || depth > 3) return undefined
    seen.add(o)
    const r = o as Record<string, unknown>
    if (typeof r.change === 'function' && typeof r.applyRemote === 'function') {
      return o as DocumentSet
    }
    for (const v of Object.values(r)) {
      const found = search(v, depth + 1)
      if (found) return found
    }
    return undefined
  }
  const found = search(node.replication, 0)
  if (!found) throw new Error("the bench cannot find the node's DocumentSet behind replication")
  docSets.set(node, found)
  return found
}

/** One local edit through the node's write path; resolves once durable. */
export function edit(node: TapestryNode, docId: DocId, fn: (doc: Y.Doc) => void): Promise<void> {
  return documentsOf(node).change(docId, (doc): WriteResult => {
    fn(doc)
    return ok(undefined)
  })
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
  everyMs = 5,
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not met within ${ms} ms`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}

/** Resolves when `count` distinct narratives have arrived from peers (remote events). */
export function narrativeArrivals(node: TapestryNode): {
  readonly seen: Set<string>
  until(count: number, ms: number): Promise<void>
  stop(): void
} {
  const seen = new Set<string>()
  let waiter: { count: number; resolve: () => void } | undefined
  const unsubscribe = node.subscribe((e: DocumentEvent) => {
    if (e.origin !== 'remote' || !e.docId.startsWith('narrative_')) return
    seen.add(e.docId)
    if (waiter && seen.size >= waiter.count) {
      waiter.resolve()
      waiter = undefined
    }
  })
  return {
    seen,
    until(count, ms) {
      if (seen.size >= count) return Promise.resolve()
      return new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`only ${seen.size} of ${count} narratives within ${ms} ms`)),
          ms,
        )
        waiter = {
          count,
          resolve: () => {
            clearTimeout(timer)
            resolve()
          },
        }
      })
    },
    stop: unsubscribe,
  }
}

/** Mesh events of one kind, collected. */
export function collect<K extends MeshEvent['event']>(
  mesh: Mesh,
  kind: K,
): Extract<MeshEvent, { event: K }>[] {
  const out: Extract<MeshEvent, { event: K }>[] = []
  mesh.on((e) => {
    if (e.event === kind) out.push(e as Extract<MeshEvent, { event: K }>)
  })
  return out
}

/** Creates `count` narratives of `bodyChars` characters each, `concurrency` at a time. */
export async function narrateMany(
  node: TapestryNode,
  tribeId: string,
  count: number,
  opts: { bodyChars?: number; concurrency?: number; progress?: (done: number) => void } = {},
): Promise<string[]> {
  const body = 'x'.repeat(opts.bodyChars ?? 200)
  const ids: string[] = new Array(count)
  let next = 0
  const worker = async () => {
    while (next < count) {
      const i = next++
      const { narrativeId } = await node.narrate({ tribeId, title: `story ${i}`, body })
      ids[i] = narrativeId
      if ((i + 1) % 1000 === 0) opts.progress?.(i + 1)
    }
  }
  await Promise.all(Array.from({ length: opts.concurrency ?? 8 }, worker))
  return ids
}

/** Everything a node's store holds (closed store only): envelopes and records, encoded. */
export async function storedBytes(storeDir: string): Promise<{
  envelopes: Envelope[]
  records: SignedRecord[]
  envelopeBytes: Uint8Array[]
  recordBytes: Uint8Array[]
}> {
  const store = new LevelEnvelopeStore(storeDir)
  await store.open()
  try {
    const envelopes: Envelope[] = []
    const records: SignedRecord[] = []
    for (const { id } of await store.listDocuments()) {
      envelopes.push(...(await store.envelopesSince(id, new Map())))
      for (const r of await store.records(id)) records.push(r.record)
    }
    return {
      envelopes,
      records,
      envelopeBytes: envelopes.map(encodeEnvelope),
      recordBytes: records.map(encodeRecord),
    }
  } finally {
    await store.close()
  }
}

// ---- a counting TCP proxy ------------------------------------------------------------

export interface CountingProxy {
  readonly port: number
  /** Bytes from the dialler to the target, and back. */
  readonly bytes: { up: number; down: number }
  reset(): void
  close(): Promise<void>
}

/** A loopback TCP proxy to `targetPort` counting every byte both ways (what the wire sees). */
export async function countingProxy(targetPort: number): Promise<CountingProxy> {
  const bytes = { up: 0, down: 0 }
  const sockets = new Set<Socket>()
  const server: Server = createServer((client) => {
    const upstream = tcpConnect({ host: '127.0.0.1', port: targetPort })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.setNoDelay(true)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => {
        client.destroy()
        upstream.destroy()
      })
    }
    client.on('data', (d: Buffer) => {
      bytes.up += d.byteLength
      if (!upstream.write(d)) client.pause()
    })
    upstream.on('drain', () => client.resume())
    upstream.on('data', (d: Buffer) => {
      bytes.down += d.byteLength
      if (!client.write(d)) upstream.pause()
    })
    client.on('drain', () => upstream.resume())
    client.on('end', () => upstream.end())
    upstream.on('end', () => client.end())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  return {
    port,
    bytes,
    reset() {
      bytes.up = 0
      bytes.down = 0
    },
    async close() {
      for (const s of sockets) s.destroy()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export function tcpPortOf(addr: string): number {
  const m = /\/tcp\/(\d+)/.exec(addr)
  if (!m) throw new Error(`no TCP port in ${addr}`)
  return Number(m[1])
}

// ---- populated founders, cached for the whole bench run -------------------------------

export interface Populated {
  /** A closed founder directory holding `count` narratives of one tribe. */
  readonly dir: string
  readonly tribeId: string
  readonly count: number
  readonly narrativeIds: readonly string[]
  /** Seconds the narratives took to write (through `narrate`). */
  readonly writeSeconds: number
}

/** The `--quick` stand-in for 10,000 documents (cold-sync-10k, in-sync-check-bytes, cold-start-10k). */
export const QUICK_DOCS = 500

let cacheRoot: Promise<string> | undefined
const cache = new Map<number, Promise<Populated>>()
let memberSeq = 0

export function fixtureRoot(): Promise<string> {
  cacheRoot ??= mkdtemp(join(tmpdir(), 'tapestry-bench-fixtures-'))
  return cacheRoot
}

/** A fresh directory under the fixture root (removed by `disposeFixtures`). */
export async function fixtureDir(label: string): Promise<string> {
  const dir = join(await fixtureRoot(), `${label}-${++memberSeq}`)
  await mkdir(dir, { recursive: true })
  return dir
}

/**
 * A founder holding `count` narratives (200-char bodies) of one tribe, written once per
 * bench run and shared by the workloads that need it; returned closed.
 */
export function populatedFounder(count: number, progress: (m: string) => void): Promise<Populated> {
  let p = cache.get(count)
  if (!p) {
    p = (async () => {
      const dir = await fixtureDir(`founder-${count}`)
      const founder = await createMember(dir, 'founder')
      const tribeId = await foundTribe(founder, [])
      const t0 = performance.now()
      const narrativeIds = await narrateMany(founder.node, tribeId, count, {
        progress: (d) => progress(`fixture: ${d} of ${count} narratives written`),
      })
      const writeSeconds = (performance.now() - t0) / 1000
      await stopNode(founder)
      progress(`fixture: ${count} narratives written in ${writeSeconds.toFixed(1)} s`)
      return { dir, tribeId, count, narrativeIds, writeSeconds }
    })()
    cache.set(count, p)
    p.catch(() => cache.delete(count))
  }
  return p
}

/** A private copy of a populated founder's directory (for a workload that changes it). */
export async function copyOf(p: Populated, label: string): Promise<string> {
  const dir = await fixtureDir(label)
  await cp(p.dir, dir, { recursive: true })
  return dir
}

export async function disposeFixtures(): Promise<void> {
  if (!cacheRoot) return
  const root = await cacheRoot
  cache.clear()
  cacheRoot = undefined
  await rm(root, { recursive: true, force: true })
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[i]!
}
