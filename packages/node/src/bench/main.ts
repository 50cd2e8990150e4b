#!/usr/bin/env node
/** Entry of `npm run bench` (via scripts/bench.mjs, which builds first and adds --expose-gc). */
import '../polyfill.js'
import { chainReplication } from './chain-replication.js'
import { coldStart } from './cold-start.js'
import { coldSyncWorkload } from './cold-sync.js'
import { traceConcurrentMerge } from './concurrent-merge.js'
import { encryptedStream } from './encrypted-stream.js'
import { registerWorkload, runBench } from './harness.js'
import { liveLatency } from './live-latency.js'
import { disposeFixtures } from './mesh-fixture.js'
import { traceWritePath } from './trace-write-path.js'
import { catchUpBytes, inSyncCheckBytes } from './wire-bytes.js'

// Yjs warns on console.log (stdout) when a node applies its own envelopes back (documents.ts
// then restores the writer's client id); stdout belongs to the table or the one JSON object.
console.log = (...args: unknown[]) => console.error(...args)

registerWorkload(traceWritePath)
registerWorkload(traceConcurrentMerge)
registerWorkload(coldSyncWorkload)
registerWorkload(catchUpBytes)
registerWorkload(inSyncCheckBytes)
registerWorkload(liveLatency)
registerWorkload(chainReplication)
registerWorkload(encryptedStream)
registerWorkload(coldStart)

try {
  process.exitCode = await runBench(process.argv.slice(2))
} finally {
  await disposeFixtures()
}
