import '../src/polyfill.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it } from 'vitest'
import { signEnvelope } from '../src/envelope/sign.js'
import { Identity } from '../src/identity/identity.js'
import { openFramedStream } from '../src/net/frames.js'
import { createTribeHost, type TribeHost } from '../src/net/host.js'
import { generateSwarmKey } from '../src/net/swarm-key.js'
import { encodeMessage } from '../src/sync/codec.js'
import { SYNC_PROTOCOL } from '../src/sync/messages.js'
import { makeTribe, TestNet, titles, waitFor } from './helpers/mesh-nodes.js'
import { filesContaining } from './helpers/store-files.js'

let net: TestNet
const hosts: TribeHost[] = []
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()))
  await net?.cleanup()
})

const SECRET = 'the tribe text that must not leak'

describe('mesh: attacks', () => {
  it('a node with another swarm key never connects and receives no text', async () => {
    net = new TestNet()
    await net.add('a')
    await net.add('x')
    const tribeId = await makeTribe(net, 'a', [])
    await net.node('a').narrate({ title: 'secret', body: SECRET })
    // x believes it is in the same tribe (same id) but holds another key
    await net.node('x').adoptSwarmKey(tribeId, generateSwarmKey())
    const ma = await net.start('a')
    const mx = await net.start('x', { bootstrap: ma.host(tribeId)!.addrs() })
    await expect(mx.dial(tribeId, ma.host(tribeId)!.addrs()[0]!)).rejects.toMatchObject({
      code: 'SWARM_KEY_MISMATCH',
    })
    const hx = mx.host(tribeId)!
    await expect(hx.dial(ma.host(tribeId)!.peerId)).rejects.toThrow()
    expect(net.get('a').events.filter((e) => e.event === 'peer:connect')).toEqual([])
    expect(net.get('x').events.filter((e) => e.event === 'peer:connect')).toEqual([])
    expect(hx.libp2p.getConnections()).toEqual([])
    expect(await titles(net.node('x'), tribeId)).toEqual([])
    await net.stop('x')
    expect(await filesContaining(net.get('x').dir, SECRET)).toEqual([])
    expect((await filesContaining(net.get('a').dir, SECRET)).length).toBeGreaterThan(0)
  })

  it('bad input costs the peer its connection; the victim keeps running with its data', async () => {
    net = new TestNet()
    await net.add('a')
    await net.add('b')
    const tribeId = await makeTribe(net, 'a', ['b'])
    const { narrativeId } = await net.node('a').narrate({ title: 'kept', body: SECRET })
    const a = net.node('a')
    const ma = await net.start('a', { banMs: 1 })
    const key = await a.swarmKey(tribeId)
    const [good] = await a.replication.envelopesFor(narrativeId, new Map(), a.memberId)
    expect(good).toBeDefined()
    const stranger = new Identity(await generateKeyPair('Ed25519'), new Uint8Array(8).fill(1), 's')
    const hello = encodeMessage({ type: 'hello', version: 1, tribeId })
    const attacks: [string, Uint8Array[]][] = [
      [
        'tampered envelope (bad signature)',
        [
          hello,
          encodeMessage({
            type: 'envelopes',
            envelopes: [{ ...good!, seq: good!.seq + 1, update: new TextEncoder().encode('evil') }],
          }),
        ],
      ],
      [
        'envelope by a non-member author',
        [
          hello,
          encodeMessage({
            type: 'envelopes',
            envelopes: [
              await signEnvelope(stranger, {
                docId: narrativeId,
                seq: 1,
                update: new Uint8Array([0]),
              }),
            ],
          }),
        ],
      ],
      ['garbage frame', [new Uint8Array([0xde, 0xad, 0xbe, 0xef])]],
      ['replayed HELLO', [hello, hello]],
    ]
    // the attacker is member b's key on a bare libp2p host speaking the protocol by hand
    const attacker = await createTribeHost({
      privateKey: net.node('b').identity.privateKey,
      keys: () => ({ current: key }),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
      name: 'tapestry:attacker',
    })
    hosts.push(attacker)
    const target = ma.host(tribeId)!
    const refused = () => net.get('a').events.filter((e) => e.event === 'peer:refused').length
    for (const [name, frames] of attacks) {
      const before = refused()
      await attacker.dial(target.addrs()[0]!)
      const s = await openFramedStream(attacker.libp2p, target.peerId, SYNC_PROTOCOL)
      for (const f of frames) await s.send(f)
      await waitFor(() => refused() > before, 10_000, `${name}: refused`)
      await waitFor(() => attacker.libp2p.getConnections().length === 0, 10_000, `${name}: closed`)
    }
    // an oversized frame: a length prefix of 5 MiB
    {
      const before = refused()
      await attacker.dial(target.addrs()[0]!)
      const s = await openFramedStream(attacker.libp2p, target.peerId, SYNC_PROTOCOL)
      await s.send(hello)
      s.stream.send(new Uint8Array([0x80, 0x80, 0xc0, 0x02, 1, 2, 3])) // varint 5 MiB, then bytes
      await waitFor(() => refused() > before, 10_000, 'oversized: refused')
      await waitFor(
        () => attacker.libp2p.getConnections().length === 0,
        10_000,
        'oversized: closed',
      )
    }
    const codes = net.get('a').events.flatMap((e) => (e.event === 'peer:refused' ? [e.code] : []))
    expect(codes).toEqual([
      'SYNC_FORGED',
      'SYNC_FORGED',
      'SYNC_MALFORMED',
      'SYNC_UNEXPECTED',
      'SYNC_MALFORMED',
    ])
    // the victim runs on with its data intact and unchanged
    expect(await titles(a, tribeId)).toEqual(['kept'])
    expect((await a.show(narrativeId)).body).toBe(SECRET)
    const after = await a.replication.envelopesFor(narrativeId, new Map(), a.memberId)
    expect(after).toHaveLength(1)
    await a.narrate({ title: 'still writing', body: 'ok' })
    expect(await titles(a, tribeId)).toEqual(['kept', 'still writing'])
  })

  it('a peer that sent bad input is refused for a while', async () => {
    net = new TestNet()
    await net.add('a')
    await net.add('b')
    const tribeId = await makeTribe(net, 'a', ['b'])
    const ma = await net.start('a', { banMs: 60_000 })
    const key = await net.node('a').swarmKey(tribeId)
    const attacker = await createTribeHost({
      privateKey: net.node('b').identity.privateKey,
      keys: () => ({ current: key }),
      listen: ['/ip4/127.0.0.1/tcp/0'],
      mdns: false,
    })
    hosts.push(attacker)
    const target = ma.host(tribeId)!
    await attacker.dial(target.addrs()[0]!)
    const s = await openFramedStream(attacker.libp2p, target.peerId, SYNC_PROTOCOL)
    await s.send(new Uint8Array([1, 2, 3]))
    await waitFor(() => attacker.libp2p.getConnections().length === 0, 10_000, 'closed')
    const connects = () => net.get('a').events.filter((e) => e.event === 'peer:connect').length
    const before = connects()
    // the dialer may see its side of the upgrade finish, but a refuses the connection
    const redial = await attacker.dial(target.addrs()[0]!).then(
      () => 'connected',
      () => 'refused',
    )
    await waitFor(() => attacker.libp2p.getConnections().length === 0, 10_000, 'refused')
    expect(connects(), redial).toBe(before)
  })
})
