import '../src/polyfill.js'
import { createHash, randomBytes } from 'node:crypto'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { afterEach, describe, expect, it } from 'vitest'
import { handleFramed, openFramedStream } from '../src/net/frames.js'
import { createTribeHost } from '../src/net/host.js'
import { generateSwarmKey } from '../src/net/swarm-key.js'

const TOTAL = 256 * 1024 * 1024
const FRAME = 256 * 1024
const PROTOCOL = '/tapestry-test/blob/1.0.0'
const pool = new Uint8Array(randomBytes(4 * 1024 * 1024))

const stops: Array<() => Promise<void>> = []
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()))
})

/** Streams TOTAL bytes from `from` to `to` over a framed stream; returns MB/s. */
async function transfer(
  from: Pick<Libp2p, 'dialProtocol'>,
  to: Pick<Libp2p, 'handle'>,
  toPeer: PeerId,
): Promise<{ mbps: number; peakMemory: number }> {
  await handleFramed(to, PROTOCOL, async (s) => {
    const hash = createHash('sha256')
    let received = 0
    for await (const frame of s.frames) {
      hash.update(frame)
      received += frame.byteLength
    }
    await s.send(new TextEncoder().encode(`${received}:${hash.digest('hex')}`))
    await s.close()
  })
  const baseline = process.memoryUsage().arrayBuffers
  let peakMemory = 0
  const s = await openFramedStream(from, toPeer, PROTOCOL)
  const hash = createHash('sha256')
  const started = performance.now()
  for (let sent = 0, i = 0; sent < TOTAL; sent += FRAME, i++) {
    const offset = (i * 7919 * 61) % (pool.length - FRAME)
    const frame = pool.subarray(offset, offset + FRAME)
    hash.update(frame)
    await s.send(frame)
    if (i % 64 === 0)
      peakMemory = Math.max(peakMemory, process.memoryUsage().arrayBuffers - baseline)
  }
  await s.close()
  const answers: string[] = []
  for await (const frame of s.frames) answers.push(new TextDecoder().decode(frame))
  const seconds = (performance.now() - started) / 1000
  expect(answers).toEqual([`${TOTAL}:${hash.digest('hex')}`])
  return { mbps: TOTAL / 1024 / 1024 / seconds, peakMemory }
}

describe('bulk transfer', () => {
  it('moves 256 MiB through two tribe hosts byte-identical', async () => {
    const key = generateSwarmKey()
    const mk = async () => {
      const h = await createTribeHost({
        privateKey: await generateKeyPair('Ed25519'),
        keys: () => ({ current: key }),
        listen: ['/ip4/127.0.0.1/tcp/0'],
        mdns: false,
      })
      stops.push(() => h.stop())
      return h
    }
    const a = await mk()
    const b = await mk()
    await b.dial(a.addrs()[0]!)
    const { mbps, peakMemory } = await transfer(b.libp2p, a.libp2p, a.peerId)
    console.log(
      `tcp+pnet(tapestry)+noise+yamux: 256 MiB at ${mbps.toFixed(0)} MB/s, peak extra buffers ${(peakMemory / 2 ** 20).toFixed(0)} MiB`,
    )
    expect(peakMemory).toBeLessThan(128 * 2 ** 20)
  }, 180_000)

  it('baseline: the same transfer over noise+yamux without a protector', async () => {
    const mk = async () => {
      const node = await createLibp2p({
        privateKey: await generateKeyPair('Ed25519'),
        addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
        transports: [tcp()],
        connectionEncrypters: [noise()],
        streamMuxers: [yamux()],
      })
      stops.push(async () => {
        await node.stop()
      })
      return node
    }
    const a = await mk()
    const b = await mk()
    await b.dial(multiaddr(a.getMultiaddrs()[0]!.toString()))
    const { mbps } = await transfer(b, a, a.peerId)
    console.log(`tcp+noise+yamux (no protector): 256 MiB at ${mbps.toFixed(0)} MB/s`)
  }, 180_000)
})
