/**
 * Workload `encrypted-stream`: bulk transfer through two tribe hosts (net/host.ts: TCP, our
 * pnet protector (XSalsa20), Noise, Yamux) on 127.0.0.1, one stream, 256 KiB frames with
 * backpressure (net/frames.ts), timed until the receiver holds every byte; against a
 * plain loopback TCP socket moving the same bytes in the same chunks, in the same run.
 * Figures are throughput (MiB/s); the ratio is Tapestry / plain (goal ≥ 0.15x).
 */
import '../polyfill.js'
import { createServer, connect as tcpConnect } from 'node:net'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { handleFramed, openFramedStream } from '../net/frames.js'
import { createTribeHost, type TribeHost } from '../net/host.js'
import { generateSwarmKey } from '../net/swarm-key.js'
import { benchResult, type Workload, type WorkloadContext } from './harness.js'

const PROTOCOL = '/tapestry-bench/bulk/1.0.0'
const CHUNK = 256 * 1024
const MiB = 1024 * 1024

async function plainTcp(total: number, chunk: Uint8Array): Promise<number> {
  let received = 0
  let done!: () => void
  const finished = new Promise<void>((r) => {
    done = r
  })
  const server = createServer((s) => {
    s.on('data', (d: Buffer) => {
      received += d.byteLength
      if (received >= total) done()
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as { port: number }).port
  const c = tcpConnect({ host: '127.0.0.1', port })
  await new Promise<void>((r) => c.once('connect', () => r()))
  const t0 = performance.now()
  let sent = 0
  await new Promise<void>((resolve) => {
    const pump = () => {
      while (sent < total) {
        sent += chunk.byteLength
        if (!c.write(chunk)) return
      }
      resolve()
    }
    c.on('drain', pump)
    pump()
  })
  await finished
  const seconds = (performance.now() - t0) / 1000
  c.destroy()
  await new Promise<void>((r) => server.close(() => r()))
  return seconds
}

async function throughHosts(a: TribeHost, b: TribeHost, total: number, chunk: Uint8Array) {
  let received = 0
  let done!: () => void
  const finished = new Promise<void>((r) => {
    done = r
  })
  await handleFramed(
    b.libp2p,
    PROTOCOL,
    async (s) => {
      for await (const frame of s.frames) {
        received += frame.byteLength
        if (received >= total) done()
      }
    },
    { maxFrameLength: CHUNK + 1024, highWaterMark: 4 * MiB },
  )
  const s = await openFramedStream(a.libp2p, b.peerId, PROTOCOL, { maxFrameLength: CHUNK + 1024 })
  const t0 = performance.now()
  for (let sent = 0; sent < total; sent += chunk.byteLength) await s.send(chunk)
  await finished
  const seconds = (performance.now() - t0) / 1000
  await s.close().catch(() => {})
  await b.libp2p.unhandle(PROTOCOL)
  return seconds
}

async function run(ctx: WorkloadContext) {
  const total = (ctx.quick ? 32 : 256) * MiB
  const chunk = new Uint8Array(CHUNK).map((_, i) => (i * 31) & 0xff)
  const key = generateSwarmKey()
  const hosts = await Promise.all(
    ['a', 'b'].map(async (n) =>
      createTribeHost({
        privateKey: await generateKeyPair('Ed25519'),
        keys: () => ({ current: key, previous: [] }),
        listen: ['/ip4/127.0.0.1/tcp/0'],
        mdns: false,
        name: `bench-stream-${n}`,
      }),
    ),
  )
  const [a, b] = hosts as [TribeHost, TribeHost]
  try {
    await a.dial(b.addrs()[0]!)
    // Warm both paths (JIT, TCP windows); not timed.
    await plainTcp(8 * MiB, chunk)
    await throughHosts(a, b, 8 * MiB, chunk)
    let plain = Number.POSITIVE_INFINITY
    let tribe = Number.POSITIVE_INFINITY
    for (let r = 0; r < ctx.repeat; r++) {
      plain = Math.min(plain, await plainTcp(total, chunk))
      ctx.gc()
      tribe = Math.min(tribe, await throughHosts(a, b, total, chunk))
      ctx.gc()
    }
    const tMiBs = total / MiB / tribe
    const pMiBs = total / MiB / plain
    ctx.progress(`tribe hosts ${tMiBs.toFixed(0)} MiB/s, plain TCP ${pMiBs.toFixed(0)} MiB/s`)
    return {
      results: [
        benchResult({
          name: 'encrypted-stream',
          value: tMiBs,
          unit: 'MiB/s',
          baseline: pMiBs,
          ratio: tMiBs / pMiBs,
          goal: '≥ 0.15x',
          details: {
            transfer: `${total / MiB} MiB in ${CHUNK / 1024} KiB frames, one stream, 127.0.0.1, best of ${ctx.repeat}`,
            stack: 'TCP + pnet (XSalsa20, ours) + Noise + Yamux + length-prefixed frames',
            'Tapestry s': tribe,
            'plain TCP s': plain,
          },
        }),
      ],
    }
  } finally {
    await Promise.all(hosts.map((h) => h.stop()))
  }
}

export const encryptedStream: Workload = {
  name: 'encrypted-stream',
  description: 'bulk transfer through two tribe hosts vs plain loopback TCP (≥ 0.15x)',
  run,
}
