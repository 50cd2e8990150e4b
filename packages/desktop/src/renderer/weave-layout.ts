/**
 * The weave's geometry, as pure functions of the narratives (no DOM), so that it can be
 * tested and timed on its own.
 *
 * - Time runs left to right, by order: each narrative is at least one `step` after the
 *   previous one, plus more for a longer silence (logarithmic), so bursts stay readable
 *   and long gaps stay visible without empty screens.
 * - One lane (a thread) per member, ordered by their first narrative or echo.
 * - An echo is a knot on its responder's thread, at its own time, tied to its narrative.
 */
import type { WeaveItem } from '../shared/wire.js'

export interface LayoutOptions {
  /** Pixels between two narratives written at the same moment. */
  step: number
  laneHeight: number
  /** Left margin, where the lanes' names are drawn. */
  gutter: number
  top: number
}

export interface LaidNode {
  item: WeaveItem
  x: number
  y: number
  /** Lanes of co-authors beyond the first author. */
  coYs: number[]
  /** Room for the title to the right, before the next title on the same side of the lane. */
  room: number
  /** Titles alternate above and below their thread, so neighbours share the room. */
  side: 'above' | 'below'
}

export interface LaidKnot {
  id: string
  from: LaidNode
  x: number
  y: number
}

export interface Lane {
  memberId: string
  y: number
  /** First and last x on this thread. */
  x0: number
  x1: number
}

export interface Tick {
  x: number
  label: string
}

export interface Layout {
  nodes: LaidNode[]
  /** x of each node, ascending: for finding what a scroll window shows. */
  xs: Float64Array
  knots: LaidKnot[]
  /** Knots' x, ascending, and the knots in that order. */
  knotXs: Float64Array
  lanes: Lane[]
  ticks: Tick[]
  width: number
  height: number
}

export const DEFAULT_LAYOUT: LayoutOptions = { step: 44, laneHeight: 64, gutter: 148, top: 40 }

const MINUTE = 60_000
/** Steps of room after the newest narrative, for its title. */
const TAIL_STEPS = 3

/** Gap in `step`s for a silence of `ms` between two consecutive narratives. */
export function gapSteps(ms: number): number {
  return 1 + Math.min(3, Math.log10(1 + Math.max(0, ms) / MINUTE) * 0.9)
}

/** The width of a weave in steps: what a step must be for the weave to fill a width. */
export function weaveUnits(sorted: readonly WeaveItem[]): number {
  let units = 1
  for (let i = 1; i < sorted.length; i++) {
    units += gapSteps(sorted[i]!.createdAt - sorted[i - 1]!.createdAt)
  }
  return units + TAIL_STEPS
}

export function layoutWeave(
  items: readonly WeaveItem[],
  opts: LayoutOptions = DEFAULT_LAYOUT,
  tickLabel: (t: number, span: number) => string = defaultTickLabel,
): Layout {
  const sorted = [...items].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
  // Lanes: every author and responder, in order of first appearance.
  const firstSeen = new Map<string, number>()
  const see = (m: string, t: number) => {
    const prev = firstSeen.get(m)
    if (prev === undefined || t < prev) firstSeen.set(m, t)
  }
  for (const it of sorted) {
    for (const a of it.authors) see(a, it.createdAt)
    for (const e of it.echoes) see(e.author, e.at)
  }
  const laneOrder = [...firstSeen].sort((a, b) => a[1] - b[1] || (a[0] < b[0] ? -1 : 1))
  const laneY = new Map<string, number>()
  laneOrder.forEach(([m], i) => {
    laneY.set(m, opts.top + opts.laneHeight * (i + 0.5))
  })

  const nodes: LaidNode[] = []
  const xs = new Float64Array(sorted.length)
  const times = new Float64Array(sorted.length)
  let x = opts.gutter + opts.step
  for (let i = 0; i < sorted.length; i++) {
    const it = sorted[i]!
    if (i > 0) x += opts.step * gapSteps(it.createdAt - sorted[i - 1]!.createdAt)
    const [first, ...rest] = it.authors
    const y = laneY.get(first ?? '') ?? opts.top + opts.laneHeight / 2
    nodes.push({
      item: it,
      x,
      y,
      coYs: rest.map((a) => laneY.get(a) ?? y),
      room: 0,
      side: 'above',
    })
    xs[i] = x
    times[i] = it.createdAt
  }
  const lastX = x

  // Titles alternate sides along each lane; a title's room ends at the next title on
  // its side of the same lane.
  const count = new Map<number, number>()
  for (const n of nodes) {
    const c = count.get(n.y) ?? 0
    n.side = c % 2 === 0 ? 'above' : 'below'
    count.set(n.y, c + 1)
  }
  const next = new Map<string, number>()
  for (let i = nodes.length - 1; i >= 0; i--) {
    const n = nodes[i]!
    const key = `${n.y}:${n.side}`
    n.room = (next.get(key) ?? lastX + Math.max(opts.step * TAIL_STEPS, 220)) - n.x
    next.set(key, n.x)
  }

  // Knots: each echo on its responder's lane at the x of its time.
  const knots: LaidKnot[] = []
  for (const n of nodes) {
    for (const e of n.item.echoes) {
      knots.push({
        id: e.id,
        from: n,
        x: xAt(e.at, times, xs, n.x, opts.step),
        y: laneY.get(e.author) ?? n.y,
      })
    }
  }
  knots.sort((a, b) => a.x - b.x)
  const knotXs = Float64Array.from(knots, (k) => k.x)

  const lanes: Lane[] = laneOrder.map(([memberId]) => ({
    memberId,
    y: laneY.get(memberId)!,
    x0: Number.POSITIVE_INFINITY,
    x1: Number.NEGATIVE_INFINITY,
  }))
  const laneOf = new Map(lanes.map((l) => [l.y, l]))
  const extend = (y: number, at: number) => {
    const l = laneOf.get(y)
    if (!l) return
    l.x0 = Math.min(l.x0, at)
    l.x1 = Math.max(l.x1, at)
  }
  for (const n of nodes) {
    extend(n.y, n.x)
    for (const cy of n.coYs) extend(cy, n.x)
  }
  for (const k of knots) extend(k.y, k.x)

  return {
    nodes,
    xs,
    knots,
    knotXs,
    lanes,
    ticks: ticks(sorted, xs, tickLabel),
    width: Math.max(
      lastX + Math.max(opts.step * TAIL_STEPS, 220),
      (knotXs[knotXs.length - 1] ?? 0) + 60,
    ),
    height: opts.top + opts.laneHeight * Math.max(1, lanes.length) + 24,
  }
}

/** The x of time `t`: between the narratives around it (after the narrative it answers). */
function xAt(t: number, times: Float64Array, xs: Float64Array, min: number, step: number): number {
  const i = upperBound(times, t)
  let x: number
  if (i === 0) x = xs[0] ?? min
  else if (i >= times.length) {
    // After the newest narrative: the same time scale, continued.
    const last = times.length - 1
    x = xs[last]! + step * (gapSteps(t - times[last]!) - 0.5)
  } else {
    const t0 = times[i - 1]!
    const t1 = times[i]!
    const f = t1 > t0 ? (t - t0) / (t1 - t0) : 0.5
    x = xs[i - 1]! + f * (xs[i]! - xs[i - 1]!)
  }
  return Math.max(x, min + 14)
}

/** First index whose value is greater than `v` (values ascending). */
export function upperBound(values: ArrayLike<number>, v: number): number {
  let lo = 0
  let hi = values.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (values[mid]! <= v) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** First index whose value is at least `v`. */
export function lowerBound(values: ArrayLike<number>, v: number): number {
  let lo = 0
  let hi = values.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (values[mid]! < v) lo = mid + 1
    else hi = mid
  }
  return lo
}

function ticks(
  sorted: readonly WeaveItem[],
  xs: Float64Array,
  label: (t: number, span: number) => string,
): Tick[] {
  if (sorted.length === 0) return []
  const span = sorted[sorted.length - 1]!.createdAt - sorted[0]!.createdAt
  const out: Tick[] = []
  let lastLabel = ''
  let lastX = Number.NEGATIVE_INFINITY
  for (let i = 0; i < sorted.length; i++) {
    const l = label(sorted[i]!.createdAt, span)
    if (l !== lastLabel && xs[i]! - lastX > 90) {
      out.push({ x: xs[i]!, label: l })
      lastLabel = l
      lastX = xs[i]!
    }
  }
  return out
}

function defaultTickLabel(t: number, span: number): string {
  const d = new Date(t)
  if (span < 36 * 3_600_000) {
    return d.toISOString().slice(11, 16)
  }
  return d.toISOString().slice(0, 10)
}
