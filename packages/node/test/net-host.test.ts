import '../src/polyfill.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { PeerId } from '@libp2p/interface'
import { afterEach, describe, expect, it } from 'vitest'
import { SwarmKeyMismatchError } from '../src/net/errors.js'
import { handleFramed, openFramedStream } from '../src/net/frames.js'
import {
  createTribeHost,
  type Gate,
  type TribeHost,
  type TribeHostOptions,
} from '../src/net/host.js'
import type { SwarmKeys } from '../src/net/protector.js'
import { generateSwarmKey } from '../src/net/swarm-key.js'

const hosts: TribeHost[] = []
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()))
})

async function host(
  keys: SwarmKeys,
  gate?: Gate,
  extra: Partial<TribeHostOptions> = {},
): Promise<TribeHost> {
  const h = await createTribeHost({
    privateKey: await generateKeyPair('Ed25519'),
    keys: () => keys,
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    gate,
    name: `tapestry:test-${hosts.length}`,
    ...extra,
  })
  hosts.push(h)
  return h
}

async function waitFor(cond: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Records every connection / peer event a host emits. */
function watch(h: TribeHost): string[] {
  const events: string[] = []
  for (const type of ['connection:open', 'peer:connect'] as const) {
    h.libp2p.addEventListener(type, () => events.push(type))
  }
  return events
}

const SECRET = 'the tribe text that must not leak'
const PROTOCOL = '/tapestry-test/text/1.0.0'

async function serveText(h: TribeHost): Promise<string[]> {
  const served: string[] = []
  await handleFramed(h.libp2p, PROTOCOL, async (s) => {
    served.push(s.remotePeer.toString())
    await s.send(new TextEncoder().encode(SECRET))
    await s.close()
  })
  return served
}

describe('tribe host', () => {
  it('two hosts with the same key connect, ping and exchange frames', async () => {
    const key = generateSwarmKey()
    const a = await host({ current: key })
    const b = await host({ current: key })
    await serveText(a)
    const conn = await b.dial(a.addrs()[0]!)
    expect(conn.remotePeer.equals(a.peerId)).toBe(true)
    expect(b.admissionOf(conn)).toMatchObject({ epoch: 'current', index: 0 })
    const rtt = await b.libp2p.services.ping.ping(a.peerId)
    expect(rtt).toBeGreaterThanOrEqual(0)
    const s = await openFramedStream(b.libp2p, a.peerId, PROTOCOL)
    const got: string[] = []
    for await (const f of s.frames) got.push(new TextDecoder().decode(f))
    expect(got).toEqual([SECRET])
    await waitFor(() => a.libp2p.getConnections(b.peerId).length > 0)
    expect(a.admissionOf(a.libp2p.getConnections(b.peerId)[0]!)).toMatchObject({
      epoch: 'current',
      direction: 'inbound',
    })
  })

  it('a host with another key never completes a connection, in either direction', async () => {
    const a = await host({ current: generateSwarmKey() })
    const b = await host({ current: generateSwarmKey() })
    const served = await serveText(a)
    const eventsA = watch(a)
    const eventsB = watch(b)

    for (const [from, to] of [
      [b, a],
      [a, b],
    ] as const) {
      const started = Date.now()
      const err = await from.dial(to.addrs()[0]!).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(SwarmKeyMismatchError)
      expect((err as SwarmKeyMismatchError).code).toBe('SWARM_KEY_MISMATCH')
      expect((err as Error).message).toBe(
        'this peer is not in the same tribe network (swarm key differs)',
      )
      expect(Date.now() - started).toBeLessThan(3000) // fails fast, not a timeout
    }
    // a framed stream cannot be opened either, and the handler never runs
    const err = await openFramedStream(b.libp2p, a.peerId, PROTOCOL, {
      signal: AbortSignal.timeout(5000),
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Error)
    expect(served).toEqual([])
    expect(eventsA).toEqual([])
    expect(eventsB).toEqual([])
    expect(a.libp2p.getConnections()).toEqual([])
    expect(b.libp2p.getConnections()).toEqual([])
  })

  it('accepts a dialer holding the previous epoch key only when it is offered', async () => {
    const old = generateSwarmKey()
    const fresh = generateSwarmKey()
    const seen: Array<{ peer: PeerId; epoch: string | undefined }> = []
    const a = await host({ current: fresh, previous: [old] }, (peer, info) => {
      seen.push({ peer, epoch: info.admission?.epoch })
      return true
    })
    const stale = await host({ current: old })
    const conn = await stale.dial(a.addrs()[0]!)
    expect(conn.remotePeer.equals(a.peerId)).toBe(true)
    await waitFor(() => a.libp2p.getConnections(stale.peerId).length > 0)
    const admission = a.admissionOf(a.libp2p.getConnections(stale.peerId)[0]!)
    expect(admission).toMatchObject({ epoch: 'previous', index: 1, direction: 'inbound' })
    expect(seen.some((s) => s.peer.equals(stale.peerId) && s.epoch === 'previous')).toBe(true)
    await stale.libp2p.services.ping.ping(a.peerId)

    // a host that no longer offers the old key rejects it
    const strict = await host({ current: fresh })
    await expect(stale.dial(strict.addrs()[0]!)).rejects.toBeInstanceOf(SwarmKeyMismatchError)
    expect(strict.libp2p.getConnections()).toEqual([])
  })

  it('the gate sees the epoch and can refuse previous-epoch connections', async () => {
    const old = generateSwarmKey()
    const fresh = generateSwarmKey()
    const a = await host({ current: fresh, previous: [old] }, (_peer, info) => {
      return info.admission?.epoch === 'current'
    })
    const events = watch(a)
    const stale = await host({ current: old })
    // the listener refuses after the Noise handshake, which the dialer may already
    // have finished: its dial can resolve, but the connection is closed at once
    await stale.dial(a.addrs()[0]!).catch(() => undefined)
    await waitFor(() => stale.libp2p.getConnections(a.peerId).length === 0)
    const current = await host({ current: fresh })
    await current.dial(a.addrs()[0]!)
    await waitFor(() => a.libp2p.getConnections(current.peerId).length > 0)
    expect(a.libp2p.getConnections(stale.peerId)).toEqual([])
    expect(events.filter((e) => e === 'peer:connect')).toHaveLength(1)
  })

  it('dials bootstrap addresses, and a bootstrap of another network fails quietly', async () => {
    const key = generateSwarmKey()
    const a = await host({ current: key })
    const other = await host({ current: generateSwarmKey() })
    const b = await host({ current: key }, undefined, {
      bootstrap: [other.addrs()[0]!, a.addrs()[0]!],
    })
    await waitFor(() => b.libp2p.getConnections(a.peerId).length > 0)
    expect(other.libp2p.getConnections()).toEqual([])
  })

  it('finds same-network peers over mDNS under the opaque tag, not other networks', async () => {
    const key = generateSwarmKey()
    const mdns = { mdns: { interval: 500 } }
    const a = await host({ current: key }, undefined, mdns)
    const b = await host({ current: key }, undefined, mdns)
    const other = await host({ current: generateSwarmKey() }, undefined, mdns)
    expect(a.serviceTag).toBe(b.serviceTag)
    expect(other.serviceTag).not.toBe(a.serviceTag)
    await waitFor(() => a.libp2p.getConnections(b.peerId).length > 0, 15_000)
    expect(other.libp2p.getConnections()).toEqual([])
  })

  it('a restarted host redials known peers from its datastore, without bootstrap', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tapestry-net-'))
    try {
      const key = generateSwarmKey()
      const privateKey = await generateKeyPair('Ed25519')
      const a = await host({ current: key })
      const b1 = await host({ current: key }, undefined, { privateKey, datastorePath: dir })
      await b1.dial(a.addrs()[0]!)
      await waitFor(() => a.libp2p.getConnections(b1.peerId).length > 0)
      await b1.stop()
      hosts.splice(hosts.indexOf(b1), 1)
      await waitFor(() => a.libp2p.getConnections(b1.peerId).length === 0)
      const b2 = await host({ current: key }, undefined, { privateKey, datastorePath: dir })
      expect(b2.peerId.equals(b1.peerId)).toBe(true)
      await waitFor(() => b2.libp2p.getConnections(a.peerId).length > 0)
    } finally {
      await Promise.all(hosts.splice(0).map((h) => h.stop()))
      await rm(dir, { recursive: true, force: true })
    }
  })
})
