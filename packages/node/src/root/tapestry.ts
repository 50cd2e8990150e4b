/**
 * The composition root: the one place that builds a running node from its parts, in
 * one order, and takes it down in the reverse order. The `tapestry` command, the
 * desktop's `tapestry ui`, every test helper, the chaos harness and the benchmarks build
 * their nodes here, so each runs exactly what a member runs (docs/DESIGN.md, "Data flow").
 *
 *   open:  identity → store → TapestryNode (documents, authority, consent, offline API)
 *   start: mesh (a host per network) → stored items fanned out to the sync sessions →
 *          the node's view of the network (addresses for invitations, peers) →
 *          control API + control.json → join protocol → federation handshake
 *   stop:  the same in reverse; close() then closes the node (it flushes its writes).
 *
 * ```ts
 * import { Tapestry } from '@tapestry/node'
 * const tapestry = await Tapestry.open({ dataDir: '/tmp/ada' })   // offline use
 * await tapestry.start({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
 * tapestry.on((e) => console.log(e.event))
 * await tapestry.node.narrate({ title: 'The flood', body: '…' })  // pushed to peers
 * await tapestry.close()
 * ```
 */
import '../polyfill.js'
import { removeControlInfo, writeControlInfo } from '../api/control-file.js'
import { type ControlServer, startControlServer } from '../api/control-server.js'
import type { Replication } from '../core/replication.js'
import { type OpenOptions, TapestryNode } from '../core/tapestry-node.js'
import { attachFederation, type FederationEvent } from '../federation/attach.js'
import { attachJoin, type JoinEvent } from '../mesh/join.js'
import { Mesh, type MeshEvent, type MeshOptions } from '../mesh/mesh.js'

/** Everything a running node reports: connections, sync, joins and federation links. */
export type TapestryEvent = MeshEvent | JoinEvent | FederationEvent

export interface StartOptions extends Omit<MeshOptions, 'replication' | 'privateKey' | 'dataDir'> {
  /** Serve the local control API and write `control.json` (port, token). @default true */
  control?: boolean
  /**
   * Serve the control API only, with no hosts (`tapestry ui` when no node runs: the CLI
   * keeps working beside the UI; `tapestry start` is what syncs). @default false
   */
  offline?: boolean
  /** How often pending federation acceptances redial the proposer. @default 5000 */
  federationRetryMs?: number
  /**
   * Harnesses only (chaos): observe or distort what the mesh sees of this node's
   * replication, e.g. a rogue member that forges what it sends. Users never set it.
   */
  replication?: (real: Replication) => Replication
}

/** Kept for the first listener; a node nobody listens to does not grow without bound. */
const MAX_EARLY_EVENTS = 256

interface Started {
  mesh: Mesh | undefined
  control: ControlServer | undefined
  /** Undo steps of start, in the order they run at stop. */
  undo: (() => Promise<void> | void)[]
}

export class Tapestry {
  readonly #listeners = new Set<(e: TapestryEvent) => void>()
  /** Events emitted before anyone listened (a join answered while start() ran). */
  #early: TapestryEvent[] | undefined = []
  #started: Started | undefined
  #starting: Promise<void> | undefined

  private constructor(readonly node: TapestryNode) {}

  /** Opens the node on `dataDir` for offline use (no network until start()). */
  static async open(opts: OpenOptions): Promise<Tapestry> {
    return new Tapestry(await TapestryNode.open(opts))
  }

  get dataDir(): string {
    return this.node.dataDir
  }

  get memberId(): string {
    return this.node.memberId
  }

  /** The running mesh, or undefined while the node is offline. */
  get mesh(): Mesh | undefined {
    return this.#started?.mesh
  }

  /** The control API while it is served. */
  get control(): ControlServer | undefined {
    return this.#started?.control
  }

  /**
   * Node events. The first listener also receives what happened before it subscribed
   * (start() returns before anyone can listen, and a join may be answered meanwhile).
   */
  on(listener: (e: TapestryEvent) => void): () => void {
    this.#listeners.add(listener)
    const early = this.#early
    this.#early = undefined
    for (const e of early ?? []) listener(e)
    return () => this.#listeners.delete(listener)
  }

  /** Starts the network parts; resolves once every host listens (not when peers answer). */
  async start(opts: StartOptions = {}): Promise<void> {
    if (this.#started) return
    this.#starting ??= this.#start(opts).finally(() => {
      this.#starting = undefined
    })
    return this.#starting
  }

  async #start(opts: StartOptions): Promise<void> {
    const { control = true, offline = false, federationRetryMs, replication, ...meshOpts } = opts
    const node = this.node
    const undo: Started['undo'] = []
    const emit = (e: TapestryEvent) => this.#emit(e)
    try {
      const mesh = offline
        ? undefined
        : await this.#startMesh(
            undo,
            meshOpts,
            replication ? replication(node.replication) : node.replication,
          )
      const server = control ? await this.#serveControl(undo) : undefined
      if (mesh) {
        undo.unshift(await attachJoin(mesh, mesh.replication, emit))
        undo.unshift(
          await attachFederation(
            mesh,
            node.federationPeer,
            emit,
            federationRetryMs === undefined ? {} : { retryMs: federationRetryMs },
          ),
        )
      }
      node.setRunning(true)
      undo.unshift(() => node.setRunning(false))
      this.#started = { mesh, control: server, undo }
    } catch (err) {
      await runAll(undo)
      throw err
    }
  }

  async #startMesh(
    undo: Started['undo'],
    opts: Omit<MeshOptions, 'replication' | 'privateKey' | 'dataDir'>,
    replication: Replication,
  ): Promise<Mesh> {
    const node = this.node
    const mesh = await Mesh.start({
      ...opts,
      replication,
      privateKey: node.identity.privateKey,
      dataDir: node.dataDir,
    })
    undo.unshift(() => mesh.stop())
    undo.unshift(mesh.on((e) => this.#emit(e)))
    // Forwarding: whatever the node newly stores (its user's writes, a push, a
    // catch-up) is offered once to every connected session, which asks mayReceive.
    undo.unshift(node.onStored((item) => mesh.offer(item)))
    // Invitations carry the hosts' addresses; `tapestry peers` reads the mesh.
    node.attachNetwork({
      listenAddrs: (networkId) => mesh.host(networkId)?.addrs() ?? [],
      peers: () => mesh.peers().map((p) => ({ ...p, name: '' })),
      refresh: () => mesh.refresh(),
    })
    undo.unshift(() => node.attachNetwork(undefined))
    return mesh
  }

  /** The control API on 127.0.0.1, announced in control.json (mode 0600: it holds the token). */
  async #serveControl(undo: Started['undo']): Promise<ControlServer> {
    const node = this.node
    // We hold the store's lock: a control.json still here was left by a killed node, and
    // a command must not read its port and token while this one starts.
    await removeControlInfo(node.dataDir)
    const server = await startControlServer({ api: node, subscribe: (l) => node.subscribe(l) })
    undo.unshift(async () => {
      await server.close()
      await removeControlInfo(node.dataDir)
    })
    await writeControlInfo(node.dataDir, {
      port: server.port,
      token: server.token,
      pid: process.pid,
      memberId: node.memberId,
    })
    return server
  }

  /** Stops the network parts (the node stays open for offline use). */
  async stop(): Promise<void> {
    await this.#starting?.catch(() => {})
    const started = this.#started
    this.#started = undefined
    if (started) await runAll(started.undo)
  }

  /** Stops the network parts, then closes the node. */
  async close(): Promise<void> {
    await this.stop()
    await this.node.close()
  }

  #emit(e: TapestryEvent): void {
    if (this.#early) {
      if (this.#early.length < MAX_EARLY_EVENTS) this.#early.push(e)
      return
    }
    for (const l of this.#listeners) l(e)
  }
}

/** Runs every undo step even when one fails, then reports the first failure. */
async function runAll(steps: readonly (() => Promise<void> | void)[]): Promise<void> {
  let first: unknown
  for (const step of steps) {
    try {
      await step()
    } catch (err) {
      first ??= err
    }
  }
  if (first !== undefined) throw first
}
