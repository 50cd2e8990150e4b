import '../src/polyfill.js'
import { describe, expect, it } from 'vitest'
import { runSchedule } from '../src/chaos/run.js'

/**
 * Two chaos schedules (src/chaos/run.ts), as `npm run chaos` runs them: in-process nodes,
 * a child-process node SIGKILLed mid-write and a rogue member, through writes,
 * partitions, restarts and forgeries, then healed and checked against invariants 2–6.
 * Replay a failing schedule with `npm run chaos -- --seed <seed>` (or TAPESTRY_SEED).
 */
// Fixed seeds, so a test run is repeatable; `npm run chaos` explores new ones.
const FIRST = Number(process.env.TAPESTRY_SEED ?? 1000)

describe('chaos: seeded schedules of faults', () => {
  it(`two schedules keep every invariant (seeds ${FIRST}, ${FIRST + 1})`, async () => {
    for (const seed of [FIRST, FIRST + 1]) {
      const r = await runSchedule({ seed, steps: 20, convergeMs: 30_000 })
      const detail = [...r.failures, 'schedule:', ...r.log].join('\n')
      expect(
        r.failures,
        `seed ${seed} (replay: npm run chaos -- --seed ${seed})\n${detail}`,
      ).toEqual([])
      console.log(`chaos seed ${seed}: pass in ${(r.ms / 1000).toFixed(1)} s`)
    }
  }, 150_000)
})
