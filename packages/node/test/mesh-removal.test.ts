import { afterEach, describe, expect, it } from 'vitest'
import { makeTribe, TestNet, titles, waitFor } from './helpers/mesh-nodes.js'
import { filesContaining } from './helpers/store-files.js'

/**
 * Removal over a real mesh: the removed member's connections close, the others switch
 * to the new swarm-key epoch on the same port, nothing written afterwards reaches the
 * removed node in any way, and it cannot come back with the old key.
 */
let net: TestNet
afterEach(async () => {
  await net?.cleanup()
})

describe('removal over the mesh', () => {
  it('cuts the removed member off; later writes never reach it; the old key no longer opens the tribe', async () => {
    net = new TestNet()
    for (const n of ['a', 'b', 'c']) await net.add(n)
    const tribeId = await makeTribe(net, 'a', ['b', 'c'])
    const ma = await net.start('a')
    const boot = ma.host(tribeId)!.addrs()
    await net.start('b', { bootstrap: boot })
    await net.start('c', { bootstrap: boot })
    for (const n of ['b', 'c']) {
      await waitFor(async () => (await net.node(n).tribes()).length === 1, 20_000, `roster on ${n}`)
    }
    const port = ma.host(tribeId)!.addrs()[0]
    const c = net.get('c').memberId

    const removed = await net.node('a').remove(c, { tribeId })
    expect(removed.epoch).toBe(1)
    // Open connections to the removed member close at once.
    await waitFor(
      () =>
        !net
          .mesh('a')
          .peers()
          .some((p) => p.memberId === c),
      10_000,
      'c cut off',
    )
    // b learns the new epoch and keeps talking to a with the new key.
    await waitFor(
      async () => (await net.node('b').members({ tribeId })).every((m) => m.memberId !== c),
      20_000,
      'removal on b',
    )
    const marker = 'after-removal-7c1d'
    await net.node('a').narrate({ title: 'After', body: marker })
    await waitFor(
      async () => (await titles(net.node('b'), tribeId)).includes('After'),
      20_000,
      'b gets it',
    )
    expect(ma.host(tribeId)!.addrs()[0]).toBe(port)

    // c tries again with the key it still has: refused.
    await net
      .mesh('c')
      .dial(tribeId, boot[0]!)
      .catch(() => undefined)
    await net.mesh('c').syncNow(tribeId)
    await waitFor(
      () =>
        !net
          .mesh('a')
          .peers()
          .some((p) => p.memberId === c),
      10_000,
      'c refused',
    )
    expect(await titles(net.node('c'), tribeId)).not.toContain('After')
    await net.stop('c')
    expect(await holds(net.get('c').dir, marker)).toBe(false)
  })
})

const holds = async (dir: string, marker: string) => (await filesContaining(dir, marker)).length > 0
