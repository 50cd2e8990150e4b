/**
 * The tribe host: one libp2p node per private network (a tribe, or a federation link),
 * with TCP, our pnet protector (protector.ts), Noise, Yamux, identify, ping, optional
 * mDNS under the network's opaque tag, bootstrap addresses, a caller-supplied gate and
 * an optional on-disk peer store.
 *
 * libp2p does not dial what it discovers: this host dials every peer found by mDNS or
 * bootstrap, every `bootstrap` address, and (with a datastore) every known peer on start.
 * Dials that fail because the other side holds another swarm key are logged quietly:
 * on a LAN with several tribes, and with stale bootstrap lists, they are expected.
 *
 * ```ts
 * import '../polyfill.js'
 * const host = await createTribeHost({
 *   privateKey: await generateKeyPair('Ed25519'),
 *   keys: () => ({ current: swarmKey }),
 *   listen: ['/ip4/127.0.0.1/tcp/0'],
 *   gate: (peerId) => roster.knows(peerId),
 * })
 * console.log(host.addrs())
 * await host.stop()
 * ```
 */
import '../polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { bootstrap } from '@libp2p/bootstrap'
import { type Identify, identify } from '@libp2p/identify'
import type {
  AbortOptions,
  ComponentLogger,
  Connection,
  ConnectionGater,
  Libp2p,
  PeerId,
  PrivateKey,
} from '@libp2p/interface'
import { prefixLogger } from '@libp2p/logger'
import { mdns } from '@libp2p/mdns'
import { type Ping, ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { type Multiaddr, multiaddr } from '@multiformats/multiaddr'
import { LevelDatastore } from 'datastore-level'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { isSwarmKeyMismatch, SwarmKeyMismatchError } from './errors.js'
import { type KeyAdmission, type SwarmKeys, TribeProtector } from './protector.js'
import { networkId as deriveNetworkId, networkTag } from './swarm-key.js'

export interface GateInfo {
  direction: 'inbound' | 'outbound'
  /** Which key epoch admitted the connection (undefined if unknown). */
  admission: KeyAdmission | undefined
}

/** Decides whether an encrypted connection to `peerId` may proceed: true admits. */
export type Gate = (peerId: PeerId, info: GateInfo) => boolean | Promise<boolean>

export interface TribeHostOptions {
  /** The member's libp2p identity (libp2p 3 does not expose a generated one). */
  privateKey: PrivateKey
  /** The swarm keys, read on each connection (rotation needs no restart of the protector). */
  keys: () => SwarmKeys
  /** @default ['/ip4/0.0.0.0/tcp/0'] */
  listen?: string[]
  /** Advertise and discover on the LAN under networkTag(current key). @default true */
  mdns?: boolean | { interval?: number }
  /** Multiaddrs to dial on start (with `/p2p/...` they are also kept as bootstrap peers). */
  bootstrap?: string[]
  /** The connection gater hook; every peer is admitted when absent. */
  gate?: Gate
  /** Directory of an on-disk libp2p datastore; known peers' addresses survive restarts. */
  datastorePath?: string
  /** Logger prefix, e.g. `tapestry:node-a:tribe`. @default 'tapestry' */
  name?: string
  /** Id of the network for logs and JSON. @default networkId(current key) */
  networkId?: string
  /** Private network handshake timeout (ms). @default 5000 */
  handshakeTimeout?: number
  /** Dial timeout (ms). @default 10000 */
  dialTimeout?: number
  /** Redial peers from the datastore on start. @default true */
  redialKnownPeers?: boolean
}

export type TribeLibp2p = Libp2p<{ identify: Identify; ping: Ping }>

export interface TribeHost {
  readonly libp2p: TribeLibp2p
  readonly peerId: PeerId
  readonly networkId: string
  /** The mDNS service tag (derived from the key at start). */
  readonly serviceTag: string
  readonly protector: TribeProtector
  readonly logger: ComponentLogger
  /** Full listen multiaddrs, each ending in `/p2p/<peerId>`. */
  addrs(): string[]
  /** The key epoch a connection was admitted with. */
  admissionOf(connection: Connection): KeyAdmission | undefined
  /** Dials a peer or address; a key mismatch rejects with SwarmKeyMismatchError. */
  dial(target: PeerId | Multiaddr | string, options?: AbortOptions): Promise<Connection>
  stop(): Promise<void>
}

export async function createTribeHost(opts: TribeHostOptions): Promise<TribeHost> {
  const logger = prefixLogger(opts.name ?? 'tapestry')
  const log = logger.forComponent('host')
  const keys = opts.keys()
  const id = opts.networkId ?? deriveNetworkId(keys.current)
  const serviceTag = networkTag(keys.current)
  const protector = new TribeProtector({
    keys: opts.keys,
    handshakeTimeout: opts.handshakeTimeout,
  })
  const gate = opts.gate
  const connectionGater: ConnectionGater = {}
  if (gate !== undefined) {
    connectionGater.denyInboundEncryptedConnection = async (peerId, maConn) =>
      !(await gate(peerId, { direction: 'inbound', admission: protector.admissionOf(maConn) }))
    connectionGater.denyOutboundEncryptedConnection = async (peerId, maConn) =>
      !(await gate(peerId, { direction: 'outbound', admission: protector.admissionOf(maConn) }))
  }

  const bootstrapList = opts.bootstrap ?? []
  const withPeerId = bootstrapList.filter((a) =>
    multiaddr(a)
      .getComponents()
      .some((c) => c.name === 'p2p'),
  )
  const peerDiscovery: NonNullable<Libp2pOptions['peerDiscovery']> = []
  const mdnsOpt = opts.mdns ?? true
  if (mdnsOpt !== false) {
    peerDiscovery.push(mdns({ serviceTag, ...(typeof mdnsOpt === 'object' ? mdnsOpt : {}) }))
  }
  if (withPeerId.length > 0) {
    peerDiscovery.push(bootstrap({ list: withPeerId, timeout: 0 }))
  }

  let datastore: LevelDatastore | undefined
  if (opts.datastorePath !== undefined) {
    datastore = new LevelDatastore(opts.datastorePath)
    await datastore.open()
  }

  let libp2p: TribeLibp2p
  try {
    libp2p = await createLibp2p({
      privateKey: opts.privateKey,
      logger,
      addresses: { listen: opts.listen ?? ['/ip4/0.0.0.0/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionProtector: () => protector,
      connectionGater,
      connectionManager: { dialTimeout: opts.dialTimeout ?? 10_000 },
      peerDiscovery,
      ...(datastore === undefined ? {} : { datastore }),
      services: { identify: identify(), ping: ping() },
      start: false,
    })
  } catch (err) {
    await datastore?.close()
    throw err
  }

  /** Whether a failed dial of `target` started at `since` was a swarm key mismatch. */
  const keyMismatch = async (err: unknown, target: PeerId | Multiaddr, since: number) => {
    if (isSwarmKeyMismatch(err)) return true
    let addrs: Multiaddr[] = []
    if (isMultiaddr(target)) addrs = [target]
    else {
      try {
        addrs = (await libp2p.peerStore.get(target)).addresses.map((a) => a.multiaddr)
      } catch {
        addrs = []
      }
    }
    return addrs.some((a) => protector.mismatchSince(a, since))
  }

  const dialing = new Set<string>()
  let stopped = false
  const quietDial = (target: PeerId | Multiaddr, why: string): void => {
    const key = target.toString()
    if (stopped || dialing.has(key)) return
    if (!isMultiaddr(target)) {
      if (target.equals(libp2p.peerId) || libp2p.getConnections(target).length > 0) return
    }
    dialing.add(key)
    const since = Date.now()
    libp2p
      .dial(target)
      .then(() => log('dialled %s peer %s', why, key))
      .catch(async (err: unknown) => {
        if (stopped) return
        if (await keyMismatch(err, target, since))
          log('%s peer %s holds another swarm key', why, key)
        else log('could not dial %s peer %s: %s', why, key, (err as Error).message)
      })
      .finally(() => dialing.delete(key))
  }

  libp2p.addEventListener('peer:discovery', (evt) => quietDial(evt.detail.id, 'discovered'))

  await libp2p.start()
  log('network %s listening on %s', id, libp2p.getMultiaddrs().join(', '))

  for (const addr of bootstrapList) {
    if (!withPeerId.includes(addr)) quietDial(multiaddr(addr), 'bootstrap')
  }
  if (datastore !== undefined && opts.redialKnownPeers !== false) {
    for (const peer of await libp2p.peerStore.all()) {
      if (!peer.id.equals(libp2p.peerId) && peer.addresses.length > 0) quietDial(peer.id, 'known')
    }
  }

  return {
    libp2p,
    peerId: libp2p.peerId,
    networkId: id,
    serviceTag,
    protector,
    logger,
    addrs: () => libp2p.getMultiaddrs().map((a) => a.toString()),
    admissionOf: (connection) => protector.admissionOf(connection),
    async dial(target, options) {
      const t = typeof target === 'string' ? multiaddr(target) : target
      const since = Date.now()
      try {
        return await libp2p.dial(t, options)
      } catch (err) {
        if (await keyMismatch(err, t, since)) throw new SwarmKeyMismatchError({ cause: err })
        throw err
      }
    },
    async stop() {
      stopped = true
      await libp2p.stop()
      await datastore?.close()
    },
  }
}

function isMultiaddr(x: PeerId | Multiaddr): x is Multiaddr {
  return typeof (x as Multiaddr).getComponents === 'function'
}
