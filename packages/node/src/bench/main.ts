#!/usr/bin/env node
/** Entry of `npm run bench` (via scripts/bench.mjs, which builds first and adds --expose-gc). */
import '../polyfill.js'
import { registerWorkload, runBench } from './harness.js'
import { traceWritePath } from './trace-write-path.js'

registerWorkload(traceWritePath)

process.exitCode = await runBench(process.argv.slice(2))
