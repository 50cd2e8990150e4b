/**
 * Bytes on the wire, counted by a loopback TCP proxy between two real nodes (everything
 * the socket carries: the pnet nonce, Noise, Yamux, identify, the sync protocol):
 *
 * - `catch-up-bytes`: a founder and a member hold the same narratives; the member goes
 *   offline (connection closed), the founder edits (each edit its own envelope, as typed
 *   text arrives), the member dials again through the proxy and catches up. Tapestry:
 *   bytes both ways from the TCP connect until the member holds every missing envelope and
 *   the wire is quiet; baseline: the size of the missing envelopes (`encodeEnvelope`).
 *   The fixed cost of meeting (connect + an in-sync check with nothing missing) is
 *   measured first on the same pair and reported beside it.
 * - `in-sync-check-bytes`: two nodes holding the same 10,000 documents (quick: 500)
 *   meet: bytes from the TCP connect until the first sync round says "in sync" and the
 *   wire is quiet (the whole meeting: connection set-up + sync). The sync protocol's own
 *   share is measured as a second round on the open connection (`syncNow`).
 */
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeEnvelope } from '../envelope/codec.js'
import type { Envelope } from '../envelope/types.js'
import { syncedPair } from './cold-sync.js'
import { benchResult, type Workload, type WorkloadContext } from './harness.js'
import {
  type BenchNode,
  collect,
  countingProxy,
  createMember,
  edit,
  fixtureDir,
  foundTribe,
  narrateMany,
  narrativeArrivals,
  openMember,
  peerIdOf,
  QUICK_DOCS,
  startMesh,
  stopNode,
  tcpPortOf,
  waitFor,
} from './mesh-fixture.js'

const QUIET_MS = 400

/** Resolves once `bytes()` has not changed for `quietMs`. */
async function quiet(bytes: () => number, quietMs = QUIET_MS, maxMs = 30_000): Promise<void> {
  const deadline = Date.now() + maxMs
  let last = bytes()
  let since = Date.now()
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 25))
    const now = bytes()
    if (now !== last) {
      last = now
      since = Date.now()
    } else if (Date.now() - since >= quietMs) return
  }
}

async function hangUp(a: BenchNode, b: BenchNode, tribeId: string): Promise<void> {
  const ha = a.mesh!.host(tribeId)!
  const hb = b.mesh!.host(tribeId)!
  await ha.libp2p.hangUp(hb.peerId).catch(() => {})
  await hb.libp2p.hangUp(ha.peerId).catch(() => {})
  await waitFor(
    () =>
      ha.libp2p.getConnections(hb.peerId).length === 0 &&
      hb.libp2p.getConnections(ha.peerId).length === 0,
    10_000,
    'disconnect',
  )
}

/** Dials `to` from `from` through a fresh counting proxy; returns the proxy. */
async function dialThroughProxy(from: BenchNode, to: BenchNode, tribeId: string) {
  const host = to.mesh!.host(tribeId)!
  const proxy = await countingProxy(tcpPortOf(host.addrs()[0]!))
  await from.mesh!.dial(tribeId, `/ip4/127.0.0.1/tcp/${proxy.port}/p2p/${peerIdOf(to, tribeId)}`)
  return proxy
}

/** The member's connections to the founder all go through `proxyPort` (nothing bypassed it). */
function onlyThroughProxy(
  member: BenchNode,
  founder: BenchNode,
  tribeId: string,
  proxyPort: number,
) {
  const conns = member
    .mesh!.host(tribeId)!
    .libp2p.getConnections(founder.mesh!.host(tribeId)!.peerId)
  return conns.every((c) => c.remoteAddr.toString().includes(`/tcp/${proxyPort}`))
}

async function catchUp(ctx: WorkloadContext) {
  const docs = ctx.quick ? 20 : 50
  const editsPerDoc = ctx.quick ? 5 : 20
  const charsPerEdit = 120
  const founder = await createMember(await fixtureDir('catchup-founder'), 'founder')
  const member = await createMember(await fixtureDir('catchup-member'), 'member')
  try {
    const tribeId = await foundTribe(founder, [member])
    const ids = await narrateMany(founder.node, tribeId, docs)
    await startMesh(founder)
    await startMesh(member)
    const arrivals = narrativeArrivals(member.node)
    await member.mesh!.dial(tribeId, founder.mesh!.host(tribeId)!.addrs()[0]!)
    await arrivals.until(docs, 60_000)
    arrivals.stop()
    await new Promise((r) => setTimeout(r, 500))
    await hangUp(member, founder, tribeId)

    // 1. The fixed cost: meet again with nothing missing.
    const rounds = collect(member.mesh!, 'sync:round')
    const idle = await dialThroughProxy(member, founder, tribeId)
    await waitFor(() => rounds.some((r) => r.inSync), 30_000, 'in-sync round')
    await quiet(() => idle.bytes.up + idle.bytes.down)
    const meetBytes = idle.bytes.up + idle.bytes.down
    if (!onlyThroughProxy(member, founder, tribeId, idle.port))
      throw new Error('a connection bypassed the proxy')
    await hangUp(member, founder, tribeId)
    await idle.close()

    // 2. Offline edits on the founder, one envelope each.
    const missing: Envelope[] = []
    const unsubscribe = founder.node.onStored((item) => {
      if (item.type === 'envelope') missing.push(item.envelope)
    })
    const text = 'y'.repeat(charsPerEdit)
    for (let e = 0; e < editsPerDoc; e++) {
      await Promise.all(
        ids.map((id) => edit(founder.node, id, (doc) => doc.getText('body').insert(0, text))),
      )
    }
    unsubscribe()
    let missingBytes = 0
    for (const env of missing) missingBytes += encodeEnvelope(env).byteLength
    ctx.progress(
      `${missing.length} envelopes written offline (${missingBytes} bytes); member reconnects`,
    )

    // 3. Catch up through the proxy.
    let got = 0
    const stop = member.node.subscribe((e) => {
      if (e.origin === 'remote' && e.docId.startsWith('narrative_')) got++
    })
    const proxy = await dialThroughProxy(member, founder, tribeId)
    const t0 = performance.now()
    await waitFor(() => got >= missing.length, 60_000, 'catch-up')
    const seconds = (performance.now() - t0) / 1000
    await quiet(() => proxy.bytes.up + proxy.bytes.down)
    stop()
    if (!onlyThroughProxy(member, founder, tribeId, proxy.port))
      throw new Error('a connection bypassed the proxy')
    const wire = proxy.bytes.up + proxy.bytes.down
    await proxy.close()
    return {
      results: [
        benchResult({
          name: 'catch-up-bytes',
          value: wire,
          unit: 'B',
          baseline: missingBytes,
          ratio: wire / missingBytes,
          goal: '≤ 1.1x',
          details: {
            workload: `${docs} narratives held by both; offline, the founder makes ${editsPerDoc} edits of ${charsPerEdit} chars in each (${missing.length} envelopes); the member reconnects`,
            'wire bytes founder→member': proxy.bytes.down,
            'wire bytes member→founder': proxy.bytes.up,
            'missing envelopes': missing.length,
            'catch-up s': seconds,
            'fixed cost: meeting with nothing missing, wire bytes': meetBytes,
            'catch-up wire bytes minus the fixed cost, ratio': (wire - meetBytes) / missingBytes,
            counted: 'every byte of the TCP connection (pnet, Noise, Yamux, identify, sync)',
          },
        }),
      ],
    }
  } finally {
    await stopNode(member)
    await stopNode(founder)
  }
}

export const catchUpBytes: Workload = {
  name: 'catch-up-bytes',
  description: 'bytes on the wire for a catch-up after offline writes vs missing envelopes',
  run: catchUp,
}

async function inSyncCheck(ctx: WorkloadContext) {
  const count = ctx.quick ? QUICK_DOCS : 10_000
  // A pair that cold-synced these narratives earlier in the run (or now).
  const pair = await syncedPair(count, ctx.progress)
  const tribeId = pair.founder.tribeId
  // Forget known peers, so the only connection is the one dialled through the proxy.
  for (const dir of [pair.founder.dir, pair.memberDir]) {
    await rm(join(dir, 'tribes', tribeId, 'peers'), { recursive: true, force: true })
  }
  const founder = await openMember(pair.founder.dir, 'founder')
  const member = await openMember(pair.memberDir, 'member')
  try {
    const documents = (await founder.node.status()).documents
    const memberDocuments = (await member.node.status()).documents
    if (documents !== memberDocuments)
      throw new Error(`founder holds ${documents} documents, member ${memberDocuments}`)
    await startMesh(founder)
    await startMesh(member)
    const rounds = collect(member.mesh!, 'sync:round')
    const roundsA = collect(founder.mesh!, 'sync:round')
    const received = collect(member.mesh!, 'sync')
    const proxy = await dialThroughProxy(member, founder, tribeId)
    const t0 = performance.now()
    await waitFor(
      () => rounds.some((r) => r.inSync) || roundsA.some((r) => r.inSync),
      60_000,
      'in-sync round',
    )
    const seconds = (performance.now() - t0) / 1000
    await quiet(() => proxy.bytes.up + proxy.bytes.down)
    const meeting = proxy.bytes.up + proxy.bytes.down
    const transferred = received.reduce((s, e) => s + e.received.envelopes + e.sent.envelopes, 0)
    if (!onlyThroughProxy(member, founder, tribeId, proxy.port))
      throw new Error('a connection bypassed the proxy')

    // The sync protocol's share: one more round on the open connection.
    const before = proxy.bytes.up + proxy.bytes.down
    const n0 = rounds.length + roundsA.length
    member.mesh!.syncNow(tribeId)
    await waitFor(() => rounds.length + roundsA.length > n0, 10_000, 'second round')
    await quiet(() => proxy.bytes.up + proxy.bytes.down)
    const secondRound = proxy.bytes.up + proxy.bytes.down - before
    await proxy.close()
    return {
      results: [
        benchResult({
          name: 'in-sync-check-bytes',
          value: meeting,
          unit: 'B',
          baseline: null,
          ratio: null,
          goal: '≤ 1024 B',
          details: {
            workload: `two nodes holding the same ${documents} documents (${count} narratives${ctx.quick ? ', --quick: reduced from 10,000' : ''}) meet over 127.0.0.1`,
            'whole meeting wire bytes (connect + handshakes + identify + sync)': meeting,
            'of which one in-sync round on the open connection (DIGEST + MATCH, framed, encrypted)':
              secondRound,
            'so connection set-up and session start (pnet, Noise, identify, HELLO) ≈':
              meeting - secondRound,
            'envelopes transferred (must be 0)': transferred,
            'meeting s': seconds,
          },
        }),
      ],
    }
  } finally {
    await stopNode(member)
    await stopNode(founder)
  }
}

export const inSyncCheckBytes: Workload = {
  name: 'in-sync-check-bytes',
  description: 'bytes of the whole in-sync check when two nodes with 10,000 equal documents meet',
  run: inSyncCheck,
}
