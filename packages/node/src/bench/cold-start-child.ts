/**
 * Child process of `cold-start-10k` / `memory-10k` (a fresh process, so start-up and
 * resident memory are the node's own): `node --expose-gc cold-start-child.js DATA_DIR
 * [--heap-snapshot FILE_PREFIX]`. Prints one JSON line on stdout.
 *
 * Ready means what `tapestry start` does before it serves: Tapestry.open, the list of
 * tribes, and Tapestry.start (a host per tribe listening on 127.0.0.1, mDNS off, the control
 * API, the join and federation handshakes). Memory is
 * the RSS (and heap) growth from just before open to ready, after a full GC each side.
 */
import '../polyfill.js'
import { writeHeapSnapshot } from 'node:v8'

const t0 = performance.now()
const { Tapestry } = await import('../root/tapestry.js')
const importSeconds = (performance.now() - t0) / 1000

const dataDir = process.argv[2]
if (!dataDir) throw new Error('usage: cold-start-child DATA_DIR [--heap-snapshot PREFIX]')
const snapIdx = process.argv.indexOf('--heap-snapshot')
const snapPrefix = snapIdx > 0 ? process.argv[snapIdx + 1] : undefined
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {})

const settle = async () => {
  for (let i = 0; i < 3; i++) {
    gc()
    await new Promise((r) => setImmediate(r))
  }
}

await settle()
const before = process.memoryUsage()
const snapBefore = snapPrefix ? writeHeapSnapshot(`${snapPrefix}-before.heapsnapshot`) : undefined

const s0 = performance.now()
const tapestry = await Tapestry.open({ dataDir })
const node = tapestry.node
const t1 = performance.now()
const tribes = await node.tribes()
const t2 = performance.now()
await tapestry.start({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false })
const ready = performance.now()

await settle()
const after = process.memoryUsage()
const snapAfter = snapPrefix ? writeHeapSnapshot(`${snapPrefix}-after.heapsnapshot`) : undefined
const documents = (await node.status()).documents
await tapestry.close()

process.stdout.write(
  `${JSON.stringify({
    importSeconds,
    openSeconds: (t1 - s0) / 1000,
    tribesSeconds: (t2 - t1) / 1000,
    meshSeconds: (ready - t2) / 1000,
    readySeconds: (ready - s0) / 1000,
    tribes: tribes.length,
    documents,
    before,
    after,
    snapBefore,
    snapAfter,
  })}\n`,
)
