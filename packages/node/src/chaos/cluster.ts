/**
 * The nodes of one chaos schedule: members of one tribe, each on its own data directory
 * under a temp root, each running either in this process (a TapestryNode with a Mesh on
 * 127.0.0.1) or in a child process (child.ts, which the harness may SIGKILL), plus
 * the partition rules that cut connections and refuse new ones between two sides.
 */
import '../polyfill.js'
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Connection } from '@libp2p/interface'
import type { Replication } from '../core/replication.js'
import type { TapestryNode } from '../core/tapestry-node.js'
import { createIdentity, Identity } from '../identity/identity.js'
import type { Mesh } from '../mesh/mesh.js'
import { Tapestry } from '../root/tapestry.js'
import { CHAOS_MESH } from './mesh-tuning.js'

export type MemberKind = 'node' | 'child' | 'rogue'

export interface ChaosMember {
  readonly name: string
  /** How the member runs now ('child' becomes 'node' for the final checks). */
  kind: MemberKind
  readonly dir: string
  readonly memberId: string
  /** A second writer of the member (same key, its own writer id): the rogue forges with it. */
  readonly device: Identity
  /** The member's node as the composition root runs it (in-process members). */
  tapestry: Tapestry | undefined
  node: TapestryNode | undefined
  mesh: Mesh | undefined
  child: ChildNode | undefined
}

/** The compiled child script (tests run from src/, the child always from dist/). */
export function childScript(): string {
  const rel = import.meta.url.endsWith('.ts') ? '../../dist/chaos/child.js' : './child.js'
  return fileURLToPath(new URL(rel, import.meta.url))
}

export interface ChildAck {
  id: string
  title: string
}

/** A node running child.ts: commands on stdin, acknowledgments on stdout. */
export class ChildNode {
  readonly acks: ChildAck[] = []
  addrs: string[] = []
  #stdout = ''
  #stderr = ''
  #waiters: Array<{ match: (v: Record<string, unknown>) => boolean; resolve: () => void }> = []
  readonly exited: Promise<{ code: number | null; signal: string | null }>
  #onAck: ((a: ChildAck) => void) | undefined

  private constructor(readonly proc: ChildProcess) {
    this.exited = new Promise((resolve) =>
      proc.once('exit', (code, signal) => {
        resolve({ code, signal })
        for (const w of this.#waiters) w.resolve()
      }),
    )
    proc.stdout!.setEncoding('utf8').on('data', (d: string) => this.#read(d))
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.#stderr = (this.#stderr + d).slice(-8_000)
    })
    proc.stdin!.on('error', () => {}) // EPIPE after a kill
  }

  static async spawn(dir: string, name: string, dial: string[]): Promise<ChildNode> {
    const proc = spawn(process.execPath, [childScript(), dir, name, ...dial], {
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const child = new ChildNode(proc)
    let ready: Record<string, unknown> | undefined
    await child.#wait((v) => {
      if (v.type !== 'ready') return false
      ready = v
      return true
    }, 30_000)
    if (!ready) throw new Error(`child ${name} did not start: ${child.stderr}`)
    child.addrs = ready.addrs as string[]
    return child
  }

  get stderr(): string {
    return this.#stderr
  }

  get alive(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null
  }

  send(command: Record<string, unknown>): void {
    if (this.alive) this.proc.stdin!.write(`${JSON.stringify(command)}\n`)
  }

  /** Narrates one story; resolves with its ack, or undefined if the child died first. */
  async narrate(item: { title: string; body: string; audience?: string }, ms = 20_000) {
    const before = this.acks.length
    this.send({ op: 'narrate', ...item })
    await this.#wait((v) => v.type === 'ack' && v.title === item.title, ms)
    return this.acks.slice(before).find((a) => a.title === item.title)
  }

  async waitTribe(ms = 30_000): Promise<boolean> {
    let ok = false
    this.send({ op: 'wait-tribe' })
    await this.#wait((v) => {
      ok = v.type === 'tribe'
      return ok
    }, ms)
    return ok
  }

  /** Starts writing `items` one after the other; `onAck` hears each acknowledgment. */
  burst(items: { title: string; body: string; audience?: string }[], onAck: (a: ChildAck) => void) {
    this.#onAck = onAck
    this.send({ op: 'burst', items })
  }

  /** Resolves at the next ack (or after `ms`). */
  nextAck(ms: number): Promise<void> {
    return this.#wait((v) => v.type === 'ack', ms)
  }

  async kill(): Promise<{ code: number | null; signal: string | null }> {
    if (this.alive) this.proc.kill('SIGKILL')
    return this.exited
  }

  #read(d: string): void {
    this.#stdout += d
    let nl = this.#stdout.indexOf('\n')
    while (nl >= 0) {
      const line = this.#stdout.slice(0, nl)
      this.#stdout = this.#stdout.slice(nl + 1)
      nl = this.#stdout.indexOf('\n')
      // Only complete lines count: a line cut by a kill was never fully acknowledged.
      let v: Record<string, unknown>
      try {
        v = JSON.parse(line) as Record<string, unknown>
      } catch {
        continue
      }
      if (v.type === 'ack') {
        const ack = { id: String(v.id), title: String(v.title) }
        this.acks.push(ack)
        this.#onAck?.(ack)
      }
      if (v.type === 'error') this.#stderr += `\n[command error] ${JSON.stringify(v)}`
      this.#waiters = this.#waiters.filter((w) => {
        if (!w.match(v)) return true
        w.resolve()
        return false
      })
    }
  }

  #wait(match: (v: Record<string, unknown>) => boolean, ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms)
      const w = { match, resolve: done }
      function done() {
        clearTimeout(timer)
        resolve()
      }
      if (!this.alive) return done()
      this.#waiters.push(w)
    })
  }
}

export interface ClusterOptions {
  /** Names of in-process members (the first founds the tribe). */
  nodes: string[]
  /** Names of child-process members. */
  children: string[]
  /** Name of the rogue member (in-process), if any. */
  rogue?: string
  /** Wraps a member's replication before its mesh gets it (observers, the rogue). */
  wrap?: (m: ChaosMember, r: Replication) => Replication
  /** Called when an in-process member's network is up (the rogue pushes through it). */
  started?: (m: ChaosMember) => void
  log?: (line: string) => void
}

/** The members of one schedule and what connects them. */
export class ChaosCluster {
  readonly members = new Map<string, ChaosMember>()
  tribeId = ''
  /** memberId → side, while a partition is in force. */
  #sides: Map<string, number> | undefined
  #sweeper: NodeJS.Timeout | undefined

  private constructor(
    readonly root: string,
    readonly opts: ClusterOptions,
  ) {}

  /** Identities, the tribe (founded by the first node, everyone admitted), no mesh yet. */
  static async create(opts: ClusterOptions): Promise<ChaosCluster> {
    const root = await mkdtemp(join(tmpdir(), 'tapestry-chaos-'))
    const c = new ChaosCluster(root, opts)
    const all: [string, MemberKind][] = [
      ...opts.nodes.map((n) => [n, 'node'] as [string, MemberKind]),
      ...opts.children.map((n) => [n, 'child'] as [string, MemberKind]),
      ...(opts.rogue ? [[opts.rogue, 'rogue'] as [string, MemberKind]] : []),
    ]
    for (const [name, kind] of all) {
      const dir = join(root, name)
      const id = await createIdentity(dir, name)
      c.members.set(name, {
        name,
        kind,
        dir,
        memberId: id.memberId,
        device: new Identity(id.privateKey, new Uint8Array(randomBytes(8)), name),
        tapestry: undefined,
        node: undefined,
        mesh: undefined,
        child: undefined,
      })
    }
    const founder = c.get(opts.nodes[0]!)
    founder.tapestry = await Tapestry.open({ dataDir: founder.dir })
    founder.node = founder.tapestry.node
    const { tribeId } = await founder.node.createTribe('chaos tribe')
    c.tribeId = tribeId
    const key = await founder.node.swarmKey(tribeId)
    for (const [name] of all.slice(1)) {
      const m = c.get(name)
      await founder.node.admitMember(tribeId, { memberId: m.memberId, name })
      const tapestry = await Tapestry.open({ dataDir: m.dir })
      await tapestry.node.adoptSwarmKey(tribeId, key)
      if (m.kind === 'child') await tapestry.close()
      else {
        m.tapestry = tapestry
        m.node = tapestry.node
      }
    }
    return c
  }

  get(name: string): ChaosMember {
    const m = this.members.get(name)
    if (!m) throw new Error(`no member ${name}`)
    return m
  }

  byMemberId(memberId: string): ChaosMember | undefined {
    for (const m of this.members.values()) if (m.memberId === memberId) return m
    return undefined
  }

  isRunning(name: string): boolean {
    const m = this.get(name)
    return m.kind === 'child' ? m.child?.alive === true : m.mesh !== undefined
  }

  /** Addresses other members dial to reach `name` (empty when it is down). */
  addrsOf(name: string): string[] {
    const m = this.get(name)
    if (m.kind === 'child') return m.child?.alive ? m.child.addrs : []
    return m.mesh?.host(this.tribeId)?.addrs() ?? []
  }

  /** Starts a member: in-process node + mesh, or a child process. Dials `dial` members. */
  async start(name: string, dial: string[] = []): Promise<void> {
    const m = this.get(name)
    const addrs = dial.filter((d) => !this.blocked(name, d)).flatMap((d) => this.addrsOf(d))
    if (m.kind === 'child') {
      if (m.child?.alive) return
      m.child = await ChildNode.spawn(m.dir, name, addrs.slice(0, 3))
      return
    }
    if (m.mesh) return
    m.tapestry ??= await Tapestry.open({ dataDir: m.dir })
    m.node = m.tapestry.node
    const wrap = this.opts.wrap
    await m.tapestry.start({
      ...CHAOS_MESH,
      name,
      ...(wrap ? { replication: (r: Replication) => wrap(m, r) } : {}),
    })
    const mesh = m.tapestry.mesh!
    m.mesh = mesh
    this.opts.started?.(m)
    const libp2p = mesh.host(this.tribeId)?.libp2p
    libp2p?.addEventListener('connection:open', (e) => this.#guard(m, e.detail))
    for (const c of libp2p?.getConnections() ?? []) this.#guard(m, c)
    for (const a of addrs) await mesh.dial(this.tribeId, a).catch(() => {})
  }

  /** Stops a member: a clean shutdown in-process, SIGKILL for a child. */
  async stop(name: string): Promise<void> {
    const m = this.get(name)
    if (m.kind === 'child') {
      await m.child?.kill()
      m.child = undefined
      return
    }
    const { tapestry } = m
    m.tapestry = undefined
    m.mesh = undefined
    m.node = undefined
    await tapestry?.close()
  }

  /** Dials `b` from `a` (a child dials through a command). Refused across a partition. */
  async connect(a: string, b: string): Promise<boolean> {
    if (this.blocked(a, b)) return false
    const ma = this.get(a)
    const addrs = this.addrsOf(b)
    if (addrs.length === 0 || !this.isRunning(a)) return false
    if (ma.kind === 'child') {
      ma.child?.send({ op: 'dial', addr: addrs[0] })
      return true
    }
    try {
      await ma.mesh!.dial(this.tribeId, addrs[0]!)
      return true
    } catch {
      return false
    }
  }

  connected(a: string, b: string): boolean {
    const [ma, mb] = [this.get(a), this.get(b)]
    const side = ma.mesh ? ma : mb.mesh ? mb : undefined
    const other = side === ma ? mb : ma
    const libp2p = side?.mesh?.host(this.tribeId)?.libp2p
    if (!libp2p) return false
    return libp2p.getConnections().some((c) => c.remotePeer.toString() === other.memberId)
  }

  /** Closes every connection between `a` and `b` (whichever side runs in-process). */
  async cut(a: string, b: string): Promise<void> {
    for (const [x, y] of [
      [a, b],
      [b, a],
    ] as const) {
      const libp2p = this.get(x).mesh?.host(this.tribeId)?.libp2p
      if (!libp2p) continue
      for (const c of libp2p.getConnections()) {
        if (c.remotePeer.toString() === this.get(y).memberId)
          await c.close().catch(() => c.abort(new Error('cut')))
      }
    }
  }

  /** Splits the members in two: connections across are cut now and refused until `heal`. */
  async partition(sides: [string[], string[]]): Promise<void> {
    this.#sides = new Map()
    sides.forEach((names, i) => {
      for (const n of names) this.#sides!.set(this.get(n).memberId, i)
    })
    // Members not named (the rogue) stay on side 0.
    for (const m of this.members.values())
      if (!this.#sides.has(m.memberId)) this.#sides.set(m.memberId, 0)
    this.#sweep()
    this.#sweeper = setInterval(() => this.#sweep(), 100)
    this.#sweeper.unref?.()
  }

  heal(): void {
    this.#sides = undefined
    if (this.#sweeper) clearInterval(this.#sweeper)
    this.#sweeper = undefined
  }

  get partitioned(): boolean {
    return this.#sides !== undefined
  }

  blocked(a: string, b: string): boolean {
    if (!this.#sides) return false
    return this.#sides.get(this.get(a).memberId) !== this.#sides.get(this.get(b).memberId)
  }

  #blockedIds(x: string, y: string): boolean {
    if (!this.#sides) return false
    const [sx, sy] = [this.#sides.get(x), this.#sides.get(y)]
    return sx !== undefined && sy !== undefined && sx !== sy
  }

  #guard(m: ChaosMember, c: Connection): void {
    if (this.#blockedIds(m.memberId, c.remotePeer.toString())) c.abort(new Error('partitioned'))
  }

  #sweep(): void {
    for (const m of this.members.values()) {
      for (const c of m.mesh?.host(this.tribeId)?.libp2p.getConnections() ?? []) this.#guard(m, c)
    }
  }

  /** Stops everything and removes the data directories (unless `keep`). */
  async cleanup(keep = false): Promise<void> {
    this.heal()
    for (const name of this.members.keys()) await this.stop(name).catch(() => {})
    if (!keep) await rm(this.root, { recursive: true, force: true, maxRetries: 3 })
  }
}
