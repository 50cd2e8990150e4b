import '../src/polyfill.js'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { converged, makeTribe, TestNet, titles, waitFor } from './helpers/mesh-nodes.js'

let net: TestNet
afterEach(async () => {
  await net?.cleanup()
})

describe('mesh: real nodes over TCP on 127.0.0.1', () => {
  it('two members converge: narratives and echoes written on either side reach both', async () => {
    net = new TestNet()
    await net.add('a')
    await net.add('b')
    const tribeId = await makeTribe(net, 'a', ['b'])
    const ma = await net.start('a')
    await net.start('b', { bootstrap: ma.host(tribeId)!.addrs() })
    await waitFor(async () => (await net.node('b').tribes()).length === 1, 20_000, 'roster on b')
    const { narrativeId } = await net.node('a').narrate({ title: 'from a', body: 'the river' })
    await net.node('b').narrate({ title: 'from b', body: 'the hill' })
    await waitFor(async () => (await titles(net.node('b'), tribeId)).length === 2)
    await net.node('b').echo(narrativeId, 'an echo from b')
    await waitFor(async () => (await net.node('a').show(narrativeId)).echoes.length === 1)
    await converged(net, ['a', 'b'], tribeId)
    expect(await titles(net.node('a'), tribeId)).toEqual(['from a', 'from b'])
    const events = net.get('a').events
    expect(events.some((e) => e.event === 'peer:connect')).toBe(true)
    expect(events.some((e) => e.event === 'sync')).toBe(true)
    expect(net.mesh('a').peers()).toEqual([
      expect.objectContaining({
        peerId: net.get('b').memberId,
        memberId: net.get('b').memberId,
        tribeId,
      }),
    ])
  })

  it('three members converge', async () => {
    net = new TestNet()
    for (const n of ['a', 'b', 'c']) await net.add(n)
    const tribeId = await makeTribe(net, 'a', ['b', 'c'])
    const ma = await net.start('a')
    const boot = ma.host(tribeId)!.addrs()
    await net.start('b', { bootstrap: boot })
    await net.start('c', { bootstrap: boot })
    await net.connect('b', 'c', tribeId)
    for (const n of ['b', 'c']) {
      await waitFor(async () => (await net.node(n).tribes()).length === 1, 20_000, `roster on ${n}`)
    }
    for (const n of ['a', 'b', 'c']) await net.node(n).narrate({ title: `by ${n}`, body: n })
    await converged(net, ['a', 'b', 'c'], tribeId)
    for (const n of ['a', 'b', 'c']) {
      expect(await titles(net.node(n), tribeId)).toEqual(['by a', 'by b', 'by c'])
    }
  })

  it('a line A–B–C converges through B, including what C wrote while offline', async () => {
    net = new TestNet()
    for (const n of ['a', 'b', 'c']) await net.add(n)
    const tribeId = await makeTribe(net, 'a', ['b', 'c'])
    await net.start('a')
    await net.start('b')
    await net.connect('b', 'a', tribeId)
    await waitFor(async () => (await net.node('b').tribes()).length === 1, 20_000, 'roster on b')
    // c gets the roster through b only; a and c never connect
    await net.start('c')
    await net.connect('c', 'b', tribeId)
    await waitFor(async () => (await net.node('c').tribes()).length === 1, 20_000, 'roster on c')
    await net.stop('c')
    await net.node('a').narrate({ title: 'a while c is away', body: 'a' })
    // c writes offline (node open, no mesh), then comes back (redials b from its peer store)
    await net.start('c')
    await net.offline('c')
    await net.node('c').narrate({ title: 'c offline', body: 'c' })
    await net.start('c')
    await waitFor(() => net.connected('c', 'b', tribeId), 20_000, 'c redials b')
    await net.node('a').narrate({ title: 'a live', body: 'a' })
    const all = ['a live', 'a while c is away', 'c offline']
    await waitFor(
      async () => (await titles(net.node('a'), tribeId)).length === 3,
      30_000,
      'a has all',
    )
    await waitFor(
      async () => (await titles(net.node('c'), tribeId)).length === 3,
      30_000,
      'c has all',
    )
    await converged(net, ['a', 'b', 'c'], tribeId)
    expect(await titles(net.node('c'), tribeId)).toEqual(all)
    expect(net.connected('a', 'c', tribeId)).toBe(false)
  })

  it('an offline node catches up on restart, on the same port, without bootstrap', async () => {
    net = new TestNet()
    await net.add('a')
    await net.add('b')
    const tribeId = await makeTribe(net, 'a', ['b'])
    const ma = await net.start('a')
    const port = ma.host(tribeId)!.addrs()[0]!.split('/')[4]
    await net.start('b', { bootstrap: ma.host(tribeId)!.addrs() })
    await converged(net, ['a', 'b'], tribeId)
    await net.stop('b')
    for (let i = 0; i < 5; i++) await net.node('a').narrate({ title: `while away ${i}`, body: '…' })
    await net.stop('a')
    const remembered = JSON.parse(
      await readFile(join(net.get('a').dir, 'tribes', tribeId, 'host.json'), 'utf8'),
    )
    expect(remembered.ports).toEqual([Number(port)])
    const ma2 = await net.start('a')
    expect(ma2.host(tribeId)!.addrs()[0]!.split('/')[4]).toBe(port)
    await net.start('b') // no bootstrap: b redials a from its peer store
    await waitFor(
      async () => (await titles(net.node('b'), tribeId)).length === 5,
      30_000,
      'catch-up',
    )
    await converged(net, ['a', 'b'], tribeId)
  })

  it('writes on both sides of a partition merge when it heals', async () => {
    net = new TestNet()
    await net.add('a')
    await net.add('b')
    const tribeId = await makeTribe(net, 'a', ['b'])
    await net.start('a')
    await net.start('b')
    await net.connect('b', 'a', tribeId)
    await converged(net, ['a', 'b'], tribeId)
    const { narrativeId } = await net.node('a').narrate({ title: 'before', body: 'shared' })
    await waitFor(async () => (await titles(net.node('b'), tribeId)).length === 1)
    await net.cut('a', 'b', tribeId)
    await waitFor(() => !net.connected('a', 'b', tribeId))
    await net.node('a').narrate({ title: 'a during partition', body: 'a' })
    await net.node('b').narrate({ title: 'b during partition', body: 'b' })
    await net.node('b').echo(narrativeId, 'b echoes during partition')
    await net.node('a').echo(narrativeId, 'a echoes during partition')
    expect(await titles(net.node('a'), tribeId)).not.toEqual(await titles(net.node('b'), tribeId))
    await net.connect('a', 'b', tribeId)
    await converged(net, ['a', 'b'], tribeId)
    expect(await titles(net.node('b'), tribeId)).toEqual([
      'a during partition',
      'b during partition',
      'before',
    ])
    expect((await net.node('b').show(narrativeId)).echoes).toHaveLength(2)
  })

  it('a withdrawal spreads along a line and erases the narrative everywhere', async () => {
    net = new TestNet()
    for (const n of ['a', 'b', 'c']) await net.add(n)
    const tribeId = await makeTribe(net, 'a', ['b', 'c'])
    for (const n of ['a', 'b', 'c']) await net.start(n)
    await net.connect('b', 'a', tribeId)
    await net.connect('c', 'b', tribeId)
    const { narrativeId } = await net.node('a').narrate({ title: 'soon gone', body: 'erase me' })
    await waitFor(async () => (await titles(net.node('c'), tribeId)).length === 1, 20_000, 'on c')
    await net.node('a').withdraw(narrativeId)
    for (const n of ['b', 'c']) {
      await waitFor(
        async () => (await net.node(n).show(narrativeId)).status === 'withdrawn',
        20_000,
        `withdrawn on ${n}`,
      )
      expect((await net.node(n).show(narrativeId)).body).toBe('')
    }
    await converged(net, ['a', 'b', 'c'], tribeId)
  })

  it('a stranger holding the key gets only the join window: no sync, then cut', async () => {
    net = new TestNet()
    await net.add('a')
    await net.add('x')
    const tribeId = await makeTribe(net, 'a', [])
    await net.node('a').narrate({ title: 'members only', body: 'not for x' })
    await net.node('x').adoptSwarmKey(tribeId, await net.node('a').swarmKey(tribeId))
    const ma = await net.start('a', { joinWindowMs: 1_500 })
    const joined: string[] = []
    const refusedMembersOnly: string[] = []
    await ma.handle(
      '/tapestry-test/join/1.0.0',
      (stream, connection, ctx) => {
        joined.push(`${connection.remotePeer} member=${ctx.member}`)
        stream.abort(new Error('done'))
      },
      { allowNonMembers: true },
    )
    await ma.handle('/tapestry-test/members/1.0.0', (stream) => {
      refusedMembersOnly.push('ran')
      stream.abort(new Error('done'))
    })
    const mx = await net.start('x')
    await net.connect('x', 'a', tribeId)
    const hx = mx.host(tribeId)!
    const aPeer = ma.host(tribeId)!.peerId
    await hx.libp2p.dialProtocol(aPeer, '/tapestry-test/join/1.0.0').catch(() => {})
    await hx.libp2p.dialProtocol(aPeer, '/tapestry-test/members/1.0.0').catch(() => {})
    await waitFor(() => joined.length === 1, 10_000, 'join handler ran')
    expect(joined[0]).toContain('member=false')
    // the window closes: a cuts the stranger, who received nothing
    await waitFor(() => !net.connected('x', 'a', tribeId), 10_000, 'stranger cut')
    expect(refusedMembersOnly).toEqual([])
    expect(await titles(net.node('x'), tribeId)).toEqual([])
    expect(net.mesh('x').sessions()).toEqual([])
  })

  it('with mDNS on, members on one LAN find each other without any address', async () => {
    net = new TestNet()
    await net.add('a')
    await net.add('b')
    const tribeId = await makeTribe(net, 'a', ['b'])
    await net.start('a', { mdns: { interval: 500 } })
    await net.start('b', { mdns: { interval: 500 } })
    await waitFor(() => net.connected('a', 'b', tribeId), 20_000, 'mDNS discovery')
    await net.node('a').narrate({ title: 'found you', body: 'on the LAN' })
    await waitFor(async () => (await titles(net.node('b'), tribeId)).length === 1, 20_000)
  })
})
