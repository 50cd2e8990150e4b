import { afterEach, describe, expect, it } from 'vitest'
import { makeTribe, TestNet, waitFor } from './helpers/mesh-nodes.js'
import { filesContaining } from './helpers/store-files.js'

/**
 * Withdrawal erases physically on every node of a real mesh, with receipts back to the
 * author. The marker is shown present in every data directory first, so a store that
 * compressed or encrypted could not pass by accident.
 */
let net: TestNet
afterEach(async () => {
  await net?.cleanup()
})

describe('erasure over the mesh', () => {
  it('withdraw on a 5-node mesh: every store loses the text, every member signs a receipt', async () => {
    net = new TestNet()
    const names = ['a', 'b', 'c', 'd', 'e']
    for (const n of names) await net.add(n)
    const tribeId = await makeTribe(net, 'a', names.slice(1))
    const ma = await net.start('a')
    for (const n of names.slice(1)) await net.start(n, { bootstrap: ma.host(tribeId)!.addrs() })
    const marker = `erase-me-${Date.now().toString(36)}`
    const { narrativeId } = await net.node('a').narrate({ title: `Title ${marker}`, body: marker })
    for (const n of names) {
      await waitFor(
        async () => (await net.node(n).narratives({ tribeId })).some((x) => x.id === narrativeId),
        30_000,
        `narrative on ${n}`,
      )
    }
    // Present everywhere before (snapshots and logs flushed by a restart of each node).
    for (const n of names) {
      await net.stop(n)
      expect(await holds(net.get(n).dir, marker)).toBe(true)
    }
    await net.start('a')
    for (const n of names.slice(1))
      await net.start(n, { bootstrap: net.mesh('a').host(tribeId)!.addrs() })

    const started = performance.now()
    await net.node('a').withdraw(narrativeId)
    await waitFor(
      async () => (await net.node('a').receipts(narrativeId)).pending.length === 0,
      60_000,
      'all receipts',
    )
    const ms = performance.now() - started
    console.log(`withdraw -> all 5 receipts on a 5-node mesh: ${ms.toFixed(0)} ms`)
    const receipts = await net.node('a').receipts(narrativeId)
    expect(receipts.confirmed.map((r) => r.memberId).sort()).toEqual(
      names.map((n) => net.get(n).memberId).sort(),
    )
    for (const n of names) {
      await net.stop(n)
      const hits = await filesContaining(net.get(n).dir, marker)
      expect(hits, `node ${n}`).toEqual([])
    }
  })
})

const holds = async (dir: string, marker: string) => (await filesContaining(dir, marker)).length > 0
