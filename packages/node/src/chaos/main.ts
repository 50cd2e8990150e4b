/**
 * `npm run chaos -- [--seed S | --schedules N [--first S]] [--steps K] [--nodes K]
 *                   [--time-limit SECONDS] [--keep] [--verbose] [--no-child] [--no-rogue]`
 *
 * Runs seeded chaos schedules (run.ts), one after the other. `--seed S` replays one;
 * `--schedules N` runs seeds FIRST, FIRST+1, ... (FIRST random unless given) and stops
 * early, between schedules, once `--time-limit` has passed. Prints one line per schedule
 * (the failures and the schedule's log when it fails), then the summary line
 * `P passed, F failed` and the failing seeds. Exits 1 if any schedule failed.
 */
import { type ChaosOptions, runSchedule } from './run.js'

function parse(argv: string[]) {
  const o = {
    seed: undefined as number | undefined,
    schedules: 1,
    first: undefined as number | undefined,
    steps: undefined as number | undefined,
    nodes: undefined as number | undefined,
    timeLimit: Number.POSITIVE_INFINITY,
    keep: false,
    verbose: false,
    child: true,
    rogue: true,
  }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    const num = () => {
      const v = Number(argv[++i])
      if (!Number.isFinite(v)) throw new Error(`${a} needs a number`)
      return v
    }
    if (a === '--seed') o.seed = num()
    else if (a === '--schedules') o.schedules = num()
    else if (a === '--first') o.first = num()
    else if (a === '--steps') o.steps = num()
    else if (a === '--nodes') o.nodes = num()
    else if (a === '--time-limit') o.timeLimit = num()
    else if (a === '--keep') o.keep = true
    else if (a === '--verbose') o.verbose = true
    else if (a === '--no-child') o.child = false
    else if (a === '--no-rogue') o.rogue = false
    else if (a === '--help' || a === '-h') {
      console.log(
        'usage: npm run chaos -- [--seed S | --schedules N [--first S]] [--steps K] [--nodes K] [--time-limit SECONDS] [--keep] [--verbose] [--no-child] [--no-rogue]',
      )
      process.exit(0)
    } else throw new Error(`unknown argument ${a}`)
  }
  return o
}

const o = parse(process.argv.slice(2))
const seeds: number[] = []
if (o.seed !== undefined) seeds.push(o.seed)
else {
  const first = o.first ?? Math.floor(Math.random() * 2 ** 31)
  for (let i = 0; i < o.schedules; i++) seeds.push(first + i)
}

const started = Date.now()
const failed: number[] = []
let passed = 0
const durations: number[] = []
for (const seed of seeds) {
  if ((Date.now() - started) / 1000 > o.timeLimit) {
    console.log(
      `time limit of ${o.timeLimit} s reached: ${seeds.length - passed - failed.length} schedules not run`,
    )
    break
  }
  const opts: ChaosOptions = {
    seed,
    keep: o.keep,
    child: o.child,
    rogue: o.rogue,
    ...(o.steps === undefined ? {} : { steps: o.steps }),
    ...(o.nodes === undefined ? {} : { nodes: o.nodes }),
    ...(o.verbose ? { log: (l: string) => console.log(`  [${seed}] ${l}`) } : {}),
  }
  const r = await runSchedule(opts)
  durations.push(r.ms)
  const stats = Object.entries(r.stats)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')
  if (r.ok) {
    passed++
    console.log(`seed ${seed}: pass in ${(r.ms / 1000).toFixed(1)} s (${stats})`)
  } else {
    failed.push(seed)
    console.log(`seed ${seed}: FAIL in ${(r.ms / 1000).toFixed(1)} s (${stats})`)
    for (const f of r.failures) console.log(`  ${f}`)
    console.log(`  schedule (replay: npm run chaos -- --seed ${seed}):`)
    for (const l of r.log) console.log(`    ${l}`)
    if (o.keep) console.log(`  data directories kept in ${r.root}`)
  }
}
const sorted = [...durations].sort((a, b) => a - b)
if (sorted.length > 0) {
  const mean = sorted.reduce((s, x) => s + x, 0) / sorted.length
  console.log(
    `one schedule: mean ${(mean / 1000).toFixed(1)} s, median ${(sorted[sorted.length >> 1]! / 1000).toFixed(1)} s, max ${(sorted[sorted.length - 1]! / 1000).toFixed(1)} s; total ${((Date.now() - started) / 1000).toFixed(0)} s`,
  )
}
console.log(`${passed} passed, ${failed.length} failed`)
if (failed.length > 0) console.log(`failing seeds: ${failed.join(' ')}`)
process.exit(failed.length > 0 ? 1 : 0)
