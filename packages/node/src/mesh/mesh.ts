/**
 * The member's mesh: one tribe host per network the node takes part in
 * (`Replication.networks()`: tribes and federation links, as `Network` values), each
 * running the sync protocol, with:
 *
 * - a connection gate: current members are admitted; a peer nobody knows is admitted
 *   for `joinWindowMs` only (the join protocol needs it), then cut unless it became a
 *   member; a peer that sent bad input is refused for `banMs`;
 * - protocol handlers registered on every host, current and future (`handle`); unless
 *   registered with `allowNonMembers` (the join protocol), a handler runs only for
 *   current members;
 * - a stable port per host (`<dataDir>/tribes/<tribeId>/host.json`, reused while free)
 *   and known peers on disk (`<dataDir>/tribes/<tribeId>/peers`), so a restarted node
 *   redials its tribe without any bootstrap address;
 * - live push: `offer` hands an item the node newly stored once to each connected
 *   member (each session asks `mayReceive` first);
 * - events for `tapestry start --json`: peer:connect, peer:disconnect, sync progress.
 *
 * The composition root (root/tapestry.ts) starts it, subscribes `offer` to the node's
 * stored items and attaches the join and federation handshakes; nothing else does.
 */
import '../polyfill.js'
import { mkdir, readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { join } from 'node:path'
import type { Connection, Logger, PeerId, PrivateKey, Stream } from '@libp2p/interface'
import { prefixLogger } from '@libp2p/logger'
import { kindOf } from '@tapestry/crdt-schema'
import type { Network, NetworkKind } from '../core/network.js'
import type { Replication, StoredItem } from '../core/replication.js'
import { createTribeHost, type GateInfo, type TribeHost } from '../net/host.js'
import type { SwarmKeys } from '../net/protector.js'
import { writeFileAtomic } from '../secret-file.js'
import { type SessionTuning, SyncService } from '../sync/service.js'
import type { Counts, SyncSession } from '../sync/session.js'

export interface MeshOptions {
  replication: Replication
  /** The member's libp2p key (`identity.privateKey`): the same on every host. */
  privateKey: PrivateKey
  dataDir: string
  /** Listen address templates for every host; port 0 means "the remembered one, else any". @default ['/ip4/0.0.0.0/tcp/0'] */
  listen?: string[]
  /** Addresses every tribe host dials (a key mismatch there is expected and logged quietly). */
  bootstrap?: string[]
  /** @default true */
  mdns?: boolean | { interval?: number }
  /** Name in logger prefixes: `tapestry:<name>:sync`. @default the member id's last 6 characters */
  name?: string
  /** How long a peer that is not a member may stay connected (to run the join protocol). @default 10_000 */
  joinWindowMs?: number
  /** How long a peer that sent bad input is refused. @default 60_000 */
  banMs?: number
  /** Sync session tuning (digest interval, queue bounds). */
  sync?: SessionTuning
  /**
   * How often to dial known members of each tribe that are not connected (after a
   * partition, a restart of theirs, or a join window that ended before the roster
   * arrived). @default 10_000
   */
  redialIntervalMs?: number
  dialTimeout?: number
  handshakeTimeout?: number
}

export type MeshEvent =
  | {
      event: 'peer:connect'
      tribeId: string
      networkId: string
      peer: string
      memberId: string
      addr?: string
    }
  | { event: 'peer:disconnect'; tribeId: string; networkId: string; peer: string }
  | { event: 'sync'; tribeId: string; peer: string; received: Counts; sent: Counts }
  | { event: 'sync:round'; tribeId: string; peer: string; inSync: boolean; documents: number }
  | { event: 'sync:overflow'; tribeId: string; peer: string; dropped: number }
  | { event: 'peer:refused'; tribeId: string; peer: string; code: string; message: string }
  | {
      event: 'network:added'
      tribeId: string
      networkId: string
      kind: NetworkKind
      addrs: string[]
    }
  | { event: 'network:removed'; tribeId: string; networkId: string }

export interface MeshPeer {
  peerId: string
  memberId: string
  addrs: string[]
  /** When the oldest open connection opened (ms since the epoch). */
  since: number
  tribeId: string
}

export interface MeshNetwork {
  networkId: string
  kind: NetworkKind
  tribeId: string
  name: string
  addrs: string[]
}

export interface MeshHandlerContext {
  /** The network's id (a tribe's or a link's). */
  tribeId: string
  kind: NetworkKind
  host: TribeHost
  /** Whether the remote peer is a current member (false during a join window). */
  member: boolean
}

export type MeshStreamHandler = (
  stream: Stream,
  connection: Connection,
  ctx: MeshHandlerContext,
) => void | Promise<void>

export interface MeshHandleOptions {
  /** Run the handler for peers in their join window too (the join protocol only). */
  allowNonMembers?: boolean
}

/** A network this mesh runs a host for. */
interface Hosted {
  net: Network
  keys: SwarmKeys
  host: TribeHost
  sync: SyncService
  unlisten: () => void
}

interface HostFile {
  version: 1
  ports: number[]
}

const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/0']

export class Mesh {
  readonly #o: MeshOptions
  readonly #log: Logger
  readonly #networks = new Map<string, Hosted>()
  readonly #handlers = new Map<string, { handler: MeshStreamHandler; opts: MeshHandleOptions }>()
  readonly #listeners = new Set<(e: MeshEvent) => void>()
  /** `${tribeId} ${peer}` → when its join window opened. */
  readonly #strangers = new Map<string, number>()
  readonly #banned = new Map<string, number>()
  readonly #timers = new Set<NodeJS.Timeout>()
  #refreshing: Promise<void> | undefined
  #refreshAgain = false
  #refreshTimer: NodeJS.Timeout | undefined
  #stopped = false

  private constructor(opts: MeshOptions) {
    this.#o = opts
    this.#log = prefixLogger(this.#prefix).forComponent('mesh')
  }

  /** Starts a host for every network of the node and begins syncing. */
  static async start(opts: MeshOptions): Promise<Mesh> {
    const mesh = new Mesh(opts)
    try {
      await mesh.refresh()
    } catch (err) {
      await mesh.stop()
      throw err
    }
    mesh.#scheduleRedial()
    return mesh
  }

  /** Keeps the mesh whole: dials known members not connected now, on every tribe host. */
  #scheduleRedial(): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      if (this.#stopped) return
      void this.#redialMembers()
        .catch((err: unknown) => this.#log('redial failed: %s', (err as Error).message))
        .finally(() => {
          if (!this.#stopped) this.#scheduleRedial()
        })
    }, this.#o.redialIntervalMs ?? 10_000)
    timer.unref?.()
    this.#timers.add(timer)
  }

  async #redialMembers(): Promise<void> {
    for (const [_tribeId, n] of this.#networks) {
      const libp2p = n.host.libp2p
      for (const peer of await libp2p.peerStore.all()) {
        if (peer.id.equals(libp2p.peerId) || libp2p.getConnections(peer.id).length > 0) continue
        if (peer.addresses.length === 0) continue
        if (!(await isMember(n.net, peer.id.toString()))) {
          continue
        }
        await libp2p.dial(peer.id).catch(() => {
          // Offline or unreachable now: the next round tries again.
        })
      }
    }
  }

  get memberId(): string {
    return this.#o.replication.memberId
  }

  /** The node's side of replication that this mesh serves. */
  get replication(): Replication {
    return this.#o.replication
  }

  get #prefix(): string {
    return `tapestry:${this.#o.name ?? this.#o.replication.memberId.slice(-6)}`
  }

  /** Mesh events (connections, sync progress). Returns unsubscribe. */
  on(listener: (e: MeshEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Re-reads the node's networks: starts hosts for new tribes, stops hosts of tribes the
   * member left, takes rotated keys, and re-checks membership of every connected peer.
   */
  async refresh(): Promise<void> {
    if (this.#refreshing) {
      this.#refreshAgain = true
      return this.#refreshing
    }
    this.#refreshing = (async () => {
      do {
        this.#refreshAgain = false
        await this.#reconcile()
      } while (this.#refreshAgain && !this.#stopped)
    })().finally(() => {
      this.#refreshing = undefined
    })
    return this.#refreshing
  }

  /** Membership changed (a member admitted or removed): re-check every connection. */
  async onMembershipChange(): Promise<void> {
    await this.refresh()
  }

  /** Registers `protocol` on every tribe host, current and future. */
  async handle(
    protocol: string,
    handler: MeshStreamHandler,
    opts: MeshHandleOptions = {},
  ): Promise<void> {
    this.#handlers.set(protocol, { handler, opts })
    for (const n of this.#networks.values()) await this.#register(n.net, n.host, protocol)
  }

  async unhandle(protocol: string): Promise<void> {
    this.#handlers.delete(protocol)
    for (const n of this.#networks.values()) await n.host.libp2p.unhandle(protocol).catch(() => {})
  }

  host(tribeId: string): TribeHost | undefined {
    return this.#networks.get(tribeId)?.host
  }

  networks(): MeshNetwork[] {
    return [...this.#networks.values()].map((n) => ({
      networkId: n.host.networkId,
      kind: n.net.kind,
      tribeId: n.net.id,
      name: n.net.name,
      addrs: n.host.addrs(),
    }))
  }

  /** Every host's full listen addresses (with `/p2p/...`). */
  addrs(): string[] {
    return [...this.#networks.values()].flatMap((n) => n.host.addrs())
  }

  peers(): MeshPeer[] {
    const out: MeshPeer[] = []
    for (const [tribeId, n] of this.#networks) {
      const byPeer = new Map<string, MeshPeer>()
      for (const c of n.host.libp2p.getConnections()) {
        if (c.status !== 'open') continue
        const id = c.remotePeer.toString()
        const since = c.timeline.open
        const p = byPeer.get(id)
        if (p) {
          p.addrs.push(c.remoteAddr.toString())
          p.since = Math.min(p.since, since)
        } else {
          byPeer.set(id, {
            peerId: id,
            memberId: id,
            addrs: [c.remoteAddr.toString()],
            since,
            tribeId,
          })
        }
      }
      out.push(...byPeer.values())
    }
    return out
  }

  /** The sync sessions of a tribe (tests, status). */
  sessions(tribeId?: string): SyncSession[] {
    return [...this.#networks.entries()]
      .filter(([t]) => tribeId === undefined || t === tribeId)
      .flatMap(([, n]) => n.sync.sessions())
  }

  /** Starts a digest round with every connected member now. */
  syncNow(tribeId?: string): void {
    for (const [t, n] of this.#networks)
      if (tribeId === undefined || t === tribeId) n.sync.syncNow()
  }

  /** Dials `addr` on the host of `tribeId` (bootstrap by hand, tests). */
  async dial(tribeId: string, addr: string): Promise<Connection> {
    const n = this.#networks.get(tribeId)
    if (!n) throw new Error(`no network for tribe ${tribeId}`)
    return n.host.dial(addr)
  }

  async stop(): Promise<void> {
    if (this.#stopped) return
    this.#stopped = true
    if (this.#refreshTimer) clearTimeout(this.#refreshTimer)
    for (const t of this.#timers) clearTimeout(t)
    await this.#refreshing?.catch(() => {})
    await Promise.all([...this.#networks.keys()].map((t) => this.#removeNetwork(t)))
  }

  // ---- internals --------------------------------------------------------------------

  async #reconcile(): Promise<void> {
    if (this.#stopped) return
    const nets = await this.#o.replication.networks()
    const wanted = new Map(nets.map((n) => [n.id, n]))
    for (const tribeId of [...this.#networks.keys()]) {
      if (!wanted.has(tribeId)) await this.#removeNetwork(tribeId)
    }
    for (const net of nets) {
      const existing = this.#networks.get(net.id)
      if (existing) {
        existing.net = net
        existing.keys.current = net.keys.current
        existing.keys.previous = net.keys.previous
        await existing.sync.recheck()
        await this.#cutStrangers(net, existing.host)
      } else if (!this.#stopped) {
        try {
          await this.#addNetwork(net)
        } catch (err) {
          this.#log.error(
            'could not start the host of tribe %s: %s',
            net.id,
            (err as Error).message,
          )
        }
      }
    }
  }

  async #addNetwork(net: Network): Promise<void> {
    const dir = join(this.#o.dataDir, 'tribes', net.id)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const hostFile = join(dir, 'host.json')
    const remembered = await readHostFile(hostFile)
    const templates = this.#o.listen ?? DEFAULT_LISTEN
    const listen: string[] = []
    for (const [i, t] of templates.entries()) listen.push(await choosePort(t, remembered?.ports[i]))
    const keys: SwarmKeys = { current: net.keys.current, previous: net.keys.previous }
    const tribeId = net.id
    const host = await createTribeHost({
      privateKey: this.#o.privateKey,
      keys: () => keys,
      listen,
      mdns: this.#o.mdns ?? true,
      bootstrap: this.#o.bootstrap ?? [],
      gate: (peerId, info) => this.#gate(net, peerId, info),
      datastorePath: join(dir, 'peers'),
      name: this.#prefix,
      ...(this.#o.dialTimeout === undefined ? {} : { dialTimeout: this.#o.dialTimeout }),
      ...(this.#o.handshakeTimeout === undefined
        ? {}
        : { handshakeTimeout: this.#o.handshakeTimeout }),
    })
    if (this.#stopped) {
      await host.stop()
      return
    }
    const bound = [
      ...new Set(
        host
          .addrs()
          .map(portOf)
          .filter((p) => p !== undefined),
      ),
    ]
    const ports = listen.map((a) => {
      const p = portOf(a)
      return p !== undefined && p > 0 ? p : (bound.shift() ?? 0)
    })
    await writeFileAtomic(
      hostFile,
      `${JSON.stringify({ version: 1, ports } satisfies HostFile)}\n`,
      {
        overwrite: true,
      },
    ).catch((err: unknown) => this.#log('could not remember the port: %s', (err as Error).message))

    const sync = new SyncService({
      libp2p: host.libp2p,
      tribeId,
      replication: this.#o.replication,
      log: host.logger.forComponent('sync'),
      isKnownMember: (m) => this.#isKnownMember(m),
      ...(this.#o.sync === undefined ? {} : { session: this.#o.sync }),
      onEvent: (peer, e) => {
        if (e.type === 'progress') {
          this.#emit({ event: 'sync', tribeId, peer, received: e.received, sent: e.sent })
        } else if (e.type === 'round') {
          this.#emit({
            event: 'sync:round',
            tribeId,
            peer,
            inSync: e.inSync,
            documents: e.documents,
          })
        } else if (e.type === 'overflow') {
          this.#emit({ event: 'sync:overflow', tribeId, peer, dropped: e.dropped })
        }
      },
      onBadPeer: (peer, err) => {
        this.#banned.set(peer, Date.now() + (this.#o.banMs ?? 60_000))
        this.#emit({ event: 'peer:refused', tribeId, peer, code: err.code, message: err.message })
      },
    })
    const onConnect = (evt: CustomEvent<PeerId>) => {
      const peer = evt.detail.toString()
      const addr = host.libp2p.getConnections(evt.detail)[0]?.remoteAddr.toString()
      this.#emit({
        event: 'peer:connect',
        tribeId,
        networkId: host.networkId,
        peer,
        memberId: peer,
        ...(addr === undefined ? {} : { addr }),
      })
    }
    const onDisconnect = (evt: CustomEvent<PeerId>) => {
      this.#emit({
        event: 'peer:disconnect',
        tribeId,
        networkId: host.networkId,
        peer: evt.detail.toString(),
      })
    }
    host.libp2p.addEventListener('peer:connect', onConnect)
    host.libp2p.addEventListener('peer:disconnect', onDisconnect)
    const n: Hosted = {
      net,
      keys,
      host,
      sync,
      unlisten: () => {
        host.libp2p.removeEventListener('peer:connect', onConnect)
        host.libp2p.removeEventListener('peer:disconnect', onDisconnect)
      },
    }
    this.#networks.set(tribeId, n)
    for (const protocol of this.#handlers.keys()) await this.#register(net, host, protocol)
    await sync.start()
    // Connections opened before the listeners were attached (known peers redialled).
    for (const c of host.libp2p.getConnections()) {
      onConnect(new CustomEvent('peer:connect', { detail: c.remotePeer }))
    }
    this.#emit({
      event: 'network:added',
      tribeId,
      networkId: host.networkId,
      kind: net.kind,
      addrs: host.addrs(),
    })
  }

  async #removeNetwork(tribeId: string): Promise<void> {
    const n = this.#networks.get(tribeId)
    if (!n) return
    this.#networks.delete(tribeId)
    n.unlisten()
    await n.sync.stop()
    await n.host.stop()
    this.#emit({ event: 'network:removed', tribeId, networkId: n.host.networkId })
  }

  async #register(net: Network, host: TribeHost, protocol: string): Promise<void> {
    const tribeId = net.id
    await host.libp2p.handle(
      protocol,
      async (stream, connection) => {
        const entry = this.#handlers.get(protocol)
        const peer = connection.remotePeer.toString()
        const member = await isMember(net, peer)
        if (!entry || (!member && !entry.opts.allowNonMembers)) {
          this.#log('refused %s from %s: not a member of %s', protocol, peer, tribeId)
          stream.abort(new Error('not a member'))
          return
        }
        await entry.handler(stream, connection, { tribeId, kind: net.kind, host, member })
      },
      { force: true },
    )
  }

  async #gate(net: Network, peerId: PeerId, info: GateInfo): Promise<boolean> {
    const tribeId = net.id
    const peer = peerId.toString()
    const now = Date.now()
    const bannedUntil = this.#banned.get(peer)
    if (bannedUntil !== undefined) {
      if (bannedUntil > now) return false
      this.#banned.delete(peer)
    }
    if (await isMember(net, peer)) return true
    // The previous swarm-key epoch is kept for members who missed a rotation only: a
    // removed member and an invitation issued before the removal both hold that key.
    if (info.admission?.epoch === 'previous') return false
    // A stranger: admitted for the join window once, then refused for a while.
    const window = this.#o.joinWindowMs ?? 10_000
    const key = `${tribeId} ${peer}`
    const opened = this.#strangers.get(key)
    if (opened !== undefined && now - opened < window) return true
    if (opened !== undefined && now - opened < window * 6) return false
    this.#strangers.set(key, now)
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      const n = this.#networks.get(tribeId)
      if (n) void this.#cutStrangers(n.net, n.host)
    }, window + 50)
    timer.unref?.()
    this.#timers.add(timer)
    this.#log(
      'admitting unknown peer %s to tribe %s for %d ms (join window)',
      peer,
      tribeId,
      window,
    )
    return true
  }

  /** Closes connections of non-members whose join window is over. */
  async #cutStrangers(net: Network, host: TribeHost): Promise<void> {
    const tribeId = net.id
    const window = this.#o.joinWindowMs ?? 10_000
    for (const c of host.libp2p.getConnections()) {
      const peer = c.remotePeer.toString()
      if (await isMember(net, peer)) continue
      const opened = this.#strangers.get(`${tribeId} ${peer}`) ?? 0
      if (Date.now() - opened < window) continue
      this.#log('join window of %s in tribe %s is over: disconnecting', peer, tribeId)
      await c.close().catch(() => c.abort(new Error('join window over')))
    }
  }

  async #isKnownMember(memberId: string): Promise<boolean> {
    for (const n of this.#networks.values()) if (await isMember(n.net, memberId)) return true
    return false
  }

  /**
   * Offers an item the node newly stored once per connected member, whichever host
   * connects them (the composition root subscribes this to the node's stored items).
   */
  offer(item: StoredItem): void {
    const seen = new Set<string>()
    for (const n of this.#networks.values()) {
      for (const s of n.sync.sessions()) {
        if (s.closed || seen.has(s.peer)) continue
        seen.add(s.peer)
        s.offer(item)
      }
    }
    // A roster changed (a tribe created or joined, a member admitted or removed): what
    // each peer may receive may have changed too, which live pushes (judged when each
    // item was stored) cannot see. Refresh the networks, then compare with every peer.
    const docId =
      item.type === 'envelope'
        ? item.envelope.docId
        : item.type === 'record'
          ? item.record.docId
          : item.docId
    const kind = kindOf(docId)
    if (kind === 'roster' || kind === 'link') {
      if (this.#refreshTimer) clearTimeout(this.#refreshTimer)
      this.#refreshTimer = setTimeout(() => {
        this.#refreshTimer = undefined
        this.refresh()
          .then(() => this.syncNow())
          .catch((err: unknown) => this.#log.error('refresh failed: %s', (err as Error).message))
      }, 100)
      this.#refreshTimer.unref?.()
    }
  }

  #emit(e: MeshEvent): void {
    for (const l of this.#listeners) {
      try {
        l(e)
      } catch (err) {
        this.#log.error('mesh listener threw: %s', (err as Error).message)
      }
    }
  }
}

/** A failed membership question (a store error) refuses: never admit by accident. */
function isMember(net: Network, peer: string): Promise<boolean> {
  return net.isMember(peer).catch(() => false)
}

async function readHostFile(file: string): Promise<HostFile | undefined> {
  try {
    const v = JSON.parse(await readFile(file, 'utf8')) as HostFile
    if (v?.version === 1 && Array.isArray(v.ports) && v.ports.every((p) => Number.isInteger(p))) {
      return v
    }
  } catch {
    // first start, or an unreadable file: pick a port afresh
  }
  return undefined
}

const TCP_RE = /^(\/(ip4|ip6|dns4|dns6|dns)\/([^/]+))\/tcp\/(\d+)(.*)$/

function portOf(addr: string | undefined): number | undefined {
  const m = addr === undefined ? null : TCP_RE.exec(addr)
  return m ? Number(m[4]) : undefined
}

/**
 * The listen address to use: the template's own port if it names one and it is free,
 * else the remembered port if free, else port 0 (any).
 */
async function choosePort(template: string, remembered: number | undefined): Promise<string> {
  const m = TCP_RE.exec(template)
  if (!m) return template
  const [, prefix, , hostname, portText, rest] = m
  const wanted = Number(portText)
  const candidates = [wanted, remembered].filter((p): p is number => p !== undefined && p > 0)
  for (const p of candidates) {
    if (await portFree(hostname!, p)) return `${prefix}/tcp/${p}${rest}`
  }
  return `${prefix}/tcp/0${rest}`
}

function portFree(hostname: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen({ host: hostname, port, exclusive: true }, () => {
      server.close(() => resolve(true))
    })
  })
}
