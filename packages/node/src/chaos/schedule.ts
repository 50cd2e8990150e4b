/**
 * Seeded random schedules for the mesh tests and the chaos harness: a small PRNG and
 * the choice of the next action (writes, restarts, connection cuts, partitions, kills)
 * from what is running. The same seed and the same view give the same action, so a
 * failing schedule replays with its seed (up to timing: what a kill interrupts or what
 * has propagated when a write happens depends on the machine).
 */

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number
  /** Uniform integer in [0, n). */
  int(n: number): number
  pick<T>(xs: readonly T[]): T
  chance(p: number): boolean
  shuffle<T>(xs: readonly T[]): T[]
  /** A derived generator (independent stream) for a sub-task. */
  fork(): Rng
}

/** mulberry32: small, fast, good enough for schedules. */
export function rng(seed: number): Rng {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const int = (n: number) => Math.floor(next() * n)
  const r: Rng = {
    next,
    int,
    pick: <T>(xs: readonly T[]): T => {
      if (xs.length === 0) throw new Error('pick from an empty list')
      return xs[int(xs.length)]!
    },
    chance: (p) => next() < p,
    shuffle: <T>(xs: readonly T[]): T[] => {
      const out = [...xs]
      for (let i = out.length - 1; i > 0; i--) {
        const j = int(i + 1)
        ;[out[i], out[j]] = [out[j]!, out[i]!]
      }
      return out
    },
    fork: () => rng(Math.floor(next() * 2 ** 32)),
  }
  return r
}

/** One step of a schedule. Names are the schedule's node names. */
export type ScheduleAction =
  | { kind: 'write'; who: string }
  | { kind: 'offline-write'; who: string }
  | { kind: 'stop'; who: string }
  | { kind: 'start'; who: string }
  | { kind: 'restart'; who: string }
  | { kind: 'cut'; a: string; b: string }
  | { kind: 'connect'; a: string; b: string }
  /** Cut every connection between the two sides and refuse new ones until `heal`. */
  | { kind: 'partition'; sides: [string[], string[]] }
  | { kind: 'heal' }
  /** SIGKILL a child-process node in the middle of a burst of writes. */
  | { kind: 'kill'; who: string }
  /** A rogue peer injects forged envelopes and records. */
  | { kind: 'forge' }

export type ActionKind = ScheduleAction['kind']

/** Relative weights of each kind of action (absent or 0: never chosen). */
export type ScheduleWeights = Partial<Record<ActionKind, number>>

/** What the schedule can act on now. */
export interface ScheduleView {
  /** Nodes whose mesh runs (in-process or child processes). */
  running: readonly string[]
  /** Nodes that are down (their data directory stays). */
  stopped: readonly string[]
  /** Running nodes that are child processes (may be SIGKILLed mid-write). */
  killable?: readonly string[]
  /** Whether a partition is in force. */
  partitioned?: boolean
  /** Never stop a node when fewer than this many would keep running. @default 2 */
  minRunning?: number
}

/** The weights of `test/mesh-random.test.ts`: writes, offline writes, restarts and cuts. */
export const MESH_WEIGHTS: ScheduleWeights = {
  write: 0.35,
  'offline-write': 0.1,
  stop: 0.1,
  start: 0.1,
  restart: 0.07,
  cut: 0.14,
  connect: 0.14,
}

/** The chaos harness: everything, partitions and kills included. */
export const CHAOS_WEIGHTS: ScheduleWeights = {
  write: 0.42,
  'offline-write': 0.05,
  stop: 0.06,
  start: 0.08,
  restart: 0.05,
  cut: 0.07,
  connect: 0.07,
  partition: 0.05,
  heal: 0.06,
  kill: 0.05,
  forge: 0.04,
}

function twoDistinct(r: Rng, xs: readonly string[]): [string, string] {
  const a = r.pick(xs)
  const rest = xs.filter((x) => x !== a)
  return [a, r.pick(rest)]
}

/**
 * The next action of a schedule: a kind drawn by weight among those possible in `view`,
 * then its arguments. Undefined only when nothing is possible.
 */
export function nextAction(
  r: Rng,
  view: ScheduleView,
  weights: ScheduleWeights,
): ScheduleAction | undefined {
  const { running, stopped } = view
  const minRunning = view.minRunning ?? 2
  const killable = view.killable ?? []
  const possible: Record<ActionKind, boolean> = {
    write: running.length > 0,
    'offline-write': stopped.length > 0,
    stop: running.length - 1 >= minRunning,
    start: stopped.length > 0,
    restart: running.length > 0,
    cut: running.length >= 2,
    connect: running.length >= 2,
    partition: !view.partitioned && running.length + stopped.length >= 2,
    heal: view.partitioned === true,
    kill: killable.length > 0,
    forge: true,
  }
  const kinds = (Object.keys(possible) as ActionKind[]).filter(
    (k) => possible[k] && (weights[k] ?? 0) > 0,
  )
  if (kinds.length === 0) return undefined
  const total = kinds.reduce((s, k) => s + weights[k]!, 0)
  let roll = r.next() * total
  let kind = kinds[kinds.length - 1]!
  for (const k of kinds) {
    roll -= weights[k]!
    if (roll < 0) {
      kind = k
      break
    }
  }
  switch (kind) {
    case 'write':
    case 'stop':
    case 'restart':
      return { kind, who: r.pick(running) }
    case 'offline-write':
    case 'start':
      return { kind, who: r.pick(stopped) }
    case 'cut':
    case 'connect': {
      const [a, b] = twoDistinct(r, running)
      return { kind, a, b }
    }
    case 'partition': {
      const all = r.shuffle([...running, ...stopped])
      const cut = 1 + r.int(all.length - 1)
      return { kind, sides: [all.slice(0, cut), all.slice(cut)] }
    }
    case 'heal':
    case 'forge':
      return { kind }
    case 'kill':
      return { kind, who: r.pick(killable) }
  }
}
