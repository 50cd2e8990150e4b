/**
 * `npm run fuzz -- [--inputs N] [--seed S] [--only NAME]`
 *
 * A long fuzz run of every decoder that reads a peer's bytes (fuzz.ts). `--inputs`
 * (or TAPESTRY_FUZZ_INPUTS) is the total over all decoders, default 1,000,000, shared
 * by weight. Prints progress, one line per decoder (inputs, failures, time), then
 * `fuzz: N inputs, F failures`. Exits 1 on any failure; a failure prints its seed and
 * counterexample.
 */
import { runFuzz } from './fuzz.js'

let inputs = Number(process.env.TAPESTRY_FUZZ_INPUTS ?? 1_000_000)
let seed: number | undefined
let only: string | undefined
let quiet = false
const argv = process.argv.slice(2)
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  if (a === '--inputs') inputs = Number(argv[++i])
  else if (a === '--seed') seed = Number(argv[++i])
  else if (a === '--only') only = argv[++i]
  else if (a === '--quiet') quiet = true
  else {
    console.error('usage: npm run fuzz -- [--inputs N] [--seed S] [--only NAME] [--quiet]')
    process.exit(2)
  }
}
if (!Number.isFinite(inputs) || inputs <= 0) throw new Error('--inputs needs a positive number')
const started = Date.now()
const s = seed ?? Date.now() % 2 ** 31
console.log(`fuzz: ${inputs} inputs, seed ${s}${only ? `, only ${only}` : ''}`)
const results = await runFuzz({
  total: inputs,
  seed: s,
  ...(only === undefined ? {} : { only }),
  log: (l) => {
    if (!quiet || l.includes('FAILED')) console.log(`  ${l}`)
  },
})
let total = 0
let failures = 0
for (const r of results) {
  total += r.runs
  failures += r.failures
  console.log(
    `${r.name.padEnd(34)} ${String(r.runs).padStart(9)} inputs  ${r.failures} failures  ${(r.ms / 1000).toFixed(1)} s`,
  )
}
console.log(
  `fuzz: ${total} inputs, ${failures} failures (${((Date.now() - started) / 1000).toFixed(0)} s, seed ${s})`,
)
process.exit(failures > 0 ? 1 : 0)
