import '../src/polyfill.js'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { createTribeHost, type TribeHost } from '../src/net/host.js'
import { decodeSwarmKey } from '../src/net/swarm-key.js'
import { hasNarrative, link, type TwoTribes, twoTribes } from './helpers/federation.js'
import { TestNet, waitFor } from './helpers/mesh-nodes.js'
import { filesContaining } from './helpers/store-files.js'

/**
 * Federation on real nodes: tribe A (a1 steward, a2) and tribe B (b1 steward, b2), each
 * a private mesh of its own, linked by a1's offer and b1's acceptance. a1 and b1 carry
 * the link (hold its key); a2 and b2 never connect to the other tribe.
 */
let net: TestNet
let tribes: TwoTribes | undefined
const hosts: TribeHost[] = []
afterEach(async () => {
  tribes = undefined
  await Promise.all(hosts.splice(0).map((h) => h.stop()))
  await net?.cleanup()
})

const B = ['b1', 'b2']
const marker = (what: string) =>
  `${what}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`

async function restart(names: string[]) {
  // A clean stop flushes snapshots and logs, so a byte scan sees everything stored.
  for (const n of names) await net.stop(n)
}

describe('federation between two tribes', () => {
  it('a federated narrative crosses to every member of the other tribe; a tribe narrative never does', async () => {
    net = new TestNet()
    tribes = await twoTribes(net)
    const { tribeA, tribeB } = tribes
    const linkId = await link(net)
    expect(
      net
        .mesh('a1')
        .networks()
        .map((n) => n.kind)
        .sort(),
    ).toEqual(['link', 'tribe'])
    expect(
      net
        .mesh('a2')
        .networks()
        .map((n) => n.kind),
    ).toEqual(['tribe'])

    const shared = marker('federated')
    const privateText = marker('tribe-only')
    const started = performance.now()
    const { narrativeId } = await net
      .node('a2')
      .narrate({ title: `Shared ${shared}`, body: shared, audience: 'federated' })
    const reached: Record<string, number> = {}
    await Promise.all(
      B.map((n) =>
        waitFor(() => hasNarrative(net, n, narrativeId), 30_000, `narrative on ${n}`).then(() => {
          reached[n] = performance.now() - started
        }),
      ),
    )
    console.log(
      `federated narrative a2 → tribe B: b1 ${reached.b1?.toFixed(0)} ms, b2 ${reached.b2?.toFixed(0)} ms`,
    )
    // Figures: more federated narratives, each timed from a2's write to its arrival on b2.
    const times: number[] = []
    for (let i = 0; i < 10; i++) {
      const t0 = performance.now()
      const { narrativeId: id } = await net
        .node('a2')
        .narrate({ title: `figure ${i}`, body: `${shared} ${i}`, audience: 'federated' })
      await waitFor(() => hasNarrative(net, 'b2', id), 30_000, `figure ${i} on b2`)
      times.push(performance.now() - t0)
    }
    times.sort((x, y) => x - y)
    console.log(
      `a2 → b2 (a2 → a1 → link → b1 → b2), 10 narratives: min ${times[0]!.toFixed(0)} ms, median ${times[5]!.toFixed(0)} ms, max ${times[9]!.toFixed(0)} ms`,
    )
    const seen = (await net.node('b2').narratives({})).find((n) => n.id === narrativeId)
    expect(seen).toMatchObject({
      tribeId: tribeA,
      title: `Shared ${shared}`,
      audience: 'federated',
    })
    expect(await net.node('b2').narratives({ tribeId: tribeB })).toEqual([])
    expect(await net.node('b2').narratives({ tribeId: tribeA })).toHaveLength(11)

    const { narrativeId: privateId } = await net
      .node('a2')
      .narrate({ title: `Private ${privateText}`, body: privateText, audience: 'tribe' })
    await waitFor(() => hasNarrative(net, 'a1', privateId), 20_000, 'tribe narrative on a1')
    // An echo from tribe B travels back to the author in tribe A.
    await net.node('b2').echo(narrativeId, `echo from b2 ${shared}`)
    await waitFor(
      async () => (await net.node('a2').show(narrativeId)).echoes.length === 1,
      30_000,
      'echo on a2',
    )
    // A few more sync rounds (1 s interval) for anything that should not cross to do so.
    for (const n of ['a1', 'b1']) net.mesh(n).syncNow()
    await new Promise((r) => setTimeout(r, 2_500))
    expect(await hasNarrative(net, 'b1', privateId)).toBe(false)
    await restart(['a1', 'a2', 'b1', 'b2'])
    for (const n of B) {
      const dir = net.get(n).dir
      expect((await filesContaining(dir, shared)).length, n).toBeGreaterThan(0)
      expect(await filesContaining(dir, privateText), n).toEqual([])
    }
    expect((await filesContaining(net.get('a1').dir, privateText)).length).toBeGreaterThan(0)
    // The link key is only in the carriers' data directories, never in a store.
    const key = await readFile(join(net.get('a1').dir, 'links', linkId, 'swarm.key'), 'utf8')
    const hex = key.trim().split('\n').at(-1)!
    for (const n of ['a1', 'a2', 'b1', 'b2']) {
      const hits = await filesContaining(net.get(n).dir, hex)
      expect(hits, n).toEqual(n === 'a1' || n === 'b1' ? [`links/${linkId}/swarm.key`] : [])
    }
  })

  it('an author narrowing consent after crossing erases it in tribe B, with receipts', async () => {
    net = new TestNet()
    tribes = await twoTribes(net)
    await link(net)
    const text = marker('narrowed')
    const { narrativeId } = await net
      .node('a2')
      .narrate({ title: `Narrowed ${text}`, body: text, audience: 'federated' })
    for (const n of B) await waitFor(() => hasNarrative(net, n, narrativeId), 30_000, n)
    // The text is in tribe B's stores before (so the scan after cannot pass by accident).
    await restart(B)
    for (const n of B)
      expect((await filesContaining(net.get(n).dir, text)).length, n).toBeGreaterThan(0)
    await tribes.start('b1')
    await tribes.start('b2', net.mesh('b1').host(tribes.tribeB)!.addrs())

    const started = performance.now()
    await net.node('a2').consentSet({ narrativeId, audience: 'tribe' })
    const b = B.map((n) => net.get(n).memberId).sort()
    await waitFor(
      async () => {
        const confirmed = (await net.node('a2').receipts(narrativeId)).confirmed
        return b.every((m) => confirmed.some((c) => c.memberId === m))
      },
      30_000,
      'receipts from tribe B on a2',
    )
    console.log(
      `narrowing → receipts from both members of tribe B: ${(performance.now() - started).toFixed(0)} ms`,
    )
    for (const n of B) expect(await hasNarrative(net, n, narrativeId), n).toBe(false)
    expect(await hasNarrative(net, 'a1', narrativeId)).toBe(true)
    await restart(B)
    for (const n of B) expect(await filesContaining(net.get(n).dir, text), n).toEqual([])
  })

  it('a withdrawal by the author in tribe A erases it in tribe B, with receipts', async () => {
    net = new TestNet()
    tribes = await twoTribes(net)
    await link(net)
    const text = marker('withdrawn')
    const { narrativeId } = await net
      .node('a2')
      .narrate({ title: `Withdrawn ${text}`, body: text, audience: 'federated' })
    for (const n of B) await waitFor(() => hasNarrative(net, n, narrativeId), 30_000, n)
    await net.node('b2').echo(narrativeId, `b2 answers ${text}`)
    await waitFor(
      async () => (await net.node('a2').show(narrativeId)).echoes.length === 1,
      30_000,
      'echo on a2',
    )
    await net.node('a2').withdraw(narrativeId)
    const b = B.map((n) => net.get(n).memberId)
    await waitFor(
      async () => {
        const confirmed = (await net.node('a2').receipts(narrativeId)).confirmed
        return b.every((m) => confirmed.some((c) => c.memberId === m))
      },
      30_000,
      'receipts from tribe B',
    )
    for (const n of B) {
      const [v] = (await net.node(n).narratives({})).filter((x) => x.id === narrativeId)
      expect(v, n).toMatchObject({ status: 'withdrawn', title: '', body: '' })
    }
    await restart(B)
    for (const n of B) expect(await filesContaining(net.get(n).dir, text), n).toEqual([])
  })

  it('ending the link stops the flow and erases what crossed, with receipts', async () => {
    net = new TestNet()
    tribes = await twoTribes(net)
    const linkId = await link(net)
    const before = marker('before-end')
    const { narrativeId } = await net
      .node('a2')
      .narrate({ title: `Before ${before}`, body: before, audience: 'federated' })
    for (const n of B) await waitFor(() => hasNarrative(net, n, narrativeId), 30_000, n)

    await net.node('b1').federateEnd(linkId)
    for (const n of ['a1', 'a2', 'b1', 'b2']) {
      await waitFor(
        async () =>
          (await net.node(n).federation()).some((l) => l.linkId === linkId && l.status === 'ended'),
        30_000,
        `link ended on ${n}`,
      )
    }
    const b = B.map((n) => net.get(n).memberId).sort()
    await waitFor(
      async () => {
        const confirmed = (await net.node('a2').receipts(narrativeId)).confirmed
        return b.every((m) => confirmed.some((c) => c.memberId === m))
      },
      30_000,
      'receipts from tribe B after the end',
    )
    for (const n of B) expect(await hasNarrative(net, n, narrativeId), n).toBe(false)

    const after = marker('after-end')
    const { narrativeId: laterId } = await net
      .node('a2')
      .narrate({ title: `After ${after}`, body: after, audience: 'federated' })
    await waitFor(() => hasNarrative(net, 'a1', laterId), 20_000, 'later narrative on a1')
    for (const n of ['a1', 'b1']) net.mesh(n).syncNow()
    await new Promise((r) => setTimeout(r, 2_500))
    for (const n of B) expect(await hasNarrative(net, n, laterId), n).toBe(false)
    await restart(B)
    for (const n of B) {
      expect(await filesContaining(net.get(n).dir, before), n).toEqual([])
      expect(await filesContaining(net.get(n).dir, after), n).toEqual([])
    }
  })

  it('a member of tribe B cannot reach tribe A’s private mesh with the link key', async () => {
    net = new TestNet()
    tribes = await twoTribes(net)
    const linkId = await link(net, ['a1', 'b1'])
    const linkKey = decodeSwarmKey(
      await readFile(join(net.get('b1').dir, 'links', linkId, 'swarm.key'), 'utf8'),
    )
    const host = await createTribeHost({
      privateKey: net.node('b2').identity.privateKey,
      keys: () => ({ current: linkKey }),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
    })
    hosts.push(host)
    const tribeHostOfA = net.mesh('a1').host(tribes.tribeA)!.addrs()[0]!
    await expect(host.dial(tribeHostOfA)).rejects.toMatchObject({ code: 'SWARM_KEY_MISMATCH' })
    expect(
      net
        .get('a1')
        .events.filter((e) => e.event === 'peer:connect' && e.peer === net.get('b2').memberId),
    ).toEqual([])
    // b2's own node runs no host for tribe A (it holds no key of it), and knows no link key.
    expect(
      net
        .mesh('b2')
        .networks()
        .map((n) => n.tribeId),
    ).toEqual([tribes.tribeB])
  })
})
