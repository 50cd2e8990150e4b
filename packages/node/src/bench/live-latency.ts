/**
 * Workload `live-latency`: W writers typing one character every 1/R s each (each into its
 * own narrative, on node w mod N) on N real nodes in this process, fully connected over
 * 127.0.0.1 (every node dials every other: a LAN tribe), for D seconds. Each keystroke
 * goes through the writer node's write path (coalescer → sign → durable store → live
 * push); its arrival is the receiving node's remote document event carrying it (its Yjs
 * clock). Latency = arrival − the moment the edit was made, for every (write, other node).
 *
 * The shape is 16 writers x 6 chars/s, 8 nodes, 2 minutes (`--quick`: 20 s). All
 * nodes run in this one process, so every node's signing, verifying, disk syncs and sockets
 * share its thread; on 2 cores 8 fully connected nodes saturate it (queues grow without
 * bound), so the row runs the writers and rate on 3 nodes for 120 s (`--quick`:
 * 8 s), and the full run adds a sweep over 2, 4 and 8 nodes (10 s each) for the
 * cost-against-nodes plot. `TAPESTRY_BENCH_LIVE_NODES`, `_WRITERS`, `_RATE`, `_SECONDS`
 * (and `_SWEEP=0`) change the shape; the row says what was run.
 * Growth over time: p99 of the writes made in the first quarter vs the last quarter
 * (after a warm-up that is not measured).
 * Baseline: one frame at 60 Hz (16.7 ms), a constant.
 */
import * as Y from 'yjs'
import { clientIdFor } from '../envelope/client-ids.js'
import { benchResult, type Series, type Workload, type WorkloadContext } from './harness.js'
import {
  type BenchNode,
  connect,
  createMember,
  edit,
  fixtureDir,
  foundTribe,
  narrativeArrivals,
  percentile,
  startMesh,
  stopNode,
  waitFor,
} from './mesh-fixture.js'

const FRAME_MS = 1000 / 60

function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name])
  return Number.isFinite(v) && v > 0 ? v : fallback
}

interface Writer {
  readonly index: number
  readonly node: BenchNode
  readonly docId: string
  readonly client: number
  /** clock after write k → when it was made */
  readonly sentAt: Map<number, number>
  /** per receiving node: the highest clock seen */
  readonly seen: Map<string, number>
}

interface Shape {
  readonly nodes: number
  readonly writers: number
  /** characters per second per writer */
  readonly rate: number
  /** measured seconds (after `warmup` seconds of typing that are not measured) */
  readonly seconds: number
  readonly warmup: number
}

interface ShapeRun {
  readonly shape: Shape
  readonly samples: Array<[sentAt: number, latency: number]>
  readonly t0: number
  readonly writes: number
  readonly expected: number
}

/** Runs one shape; samples are writes made after the warm-up, times relative to `t0`. */
async function runShape(ctx: WorkloadContext, shape: Shape): Promise<ShapeRun> {
  const { nodes: nodesN, writers: writersN, rate, seconds, warmup } = shape
  const nodes: BenchNode[] = []
  try {
    for (let i = 0; i < nodesN; i++) {
      nodes.push(await createMember(await fixtureDir(`live-${i}`), `n${i}`))
    }
    const [founder, ...others] = nodes as [BenchNode, ...BenchNode[]]
    const tribeId = await foundTribe(founder, others)
    for (const n of nodes) await startMesh(n)
    // Everyone meets the founder first (and so learns the roster), then everyone else.
    for (const n of others) await connect(n, founder, tribeId)
    await waitFor(
      async () => {
        for (const n of nodes) if ((await n.node.tribes()).length === 0) return false
        return true
      },
      60_000,
      'every node knows the roster',
      50,
    )
    for (let i = 1; i < nodesN; i++)
      for (let j = i + 1; j < nodesN; j++) await connect(nodes[j]!, nodes[i]!, tribeId)
    const arrivals = nodes.map((n) => narrativeArrivals(n.node))
    const writers: Writer[] = []
    for (let w = 0; w < writersN; w++) {
      const node = nodes[w % nodesN]!
      const { narrativeId } = await node.node.narrate({ tribeId, title: `writer ${w}`, body: '' })
      const id = node.node.identity
      writers.push({
        index: w,
        node,
        docId: narrativeId,
        client: clientIdFor(id.publicKey, id.writerId),
        sentAt: new Map(),
        seen: new Map(),
      })
    }
    // Every node holds every other writer's narrative before typing starts.
    await waitFor(
      () =>
        nodes.every((n, i) => arrivals[i]!.seen.size >= writers.filter((w) => w.node !== n).length),
      60_000,
      'narratives everywhere',
      50,
    )
    for (const a of arrivals) a.stop()

    const byDoc = new Map(writers.map((w) => [w.docId, w]))
    const samples: Array<[sentAt: number, latency: number]> = []
    const unsubs = nodes.map((n) =>
      n.node.subscribe((e) => {
        if (e.origin !== 'remote' || !e.update) return
        const w = byDoc.get(e.docId)
        if (!w || w.node === n) return
        const now = performance.now()
        let max = 0
        for (const s of Y.decodeUpdate(e.update).structs) {
          if (s.id.client === w.client) max = Math.max(max, s.id.clock + s.length)
        }
        const from = w.seen.get(n.name) ?? 0
        if (max <= from) return
        w.seen.set(n.name, max)
        for (let c = from + 1; c <= max; c++) {
          const t = w.sentAt.get(c)
          if (t !== undefined) samples.push([t, now - t])
        }
      }),
    )

    ctx.progress(
      `${nodesN} nodes (full mesh), ${writersN} writers x ${rate} chars/s for ${seconds} s...`,
    )
    const tw = performance.now()
    const t0 = tw + warmup * 1000
    const end = t0 + seconds * 1000
    let writes = 0
    let measuredWrites = 0
    const failures: string[] = []
    const pending = new Set<Promise<void>>()
    const timerOf = new Map<number, NodeJS.Timeout>()
    const timers = writers.map((w) => {
      const type = () => {
        if (performance.now() >= end) return
        const made = performance.now()
        const p = edit(w.node.node, w.docId, (doc) => {
          const text = doc.getText('body')
          text.insert(text.length, String.fromCharCode(97 + (writes % 26)))
          w.sentAt.set(Y.getState(doc.store, w.client), made)
        })
          .catch((err: unknown) => {
            failures.push((err as Error).message)
          })
          .finally(() => pending.delete(p))
        pending.add(p)
        writes++
        if (made >= t0) measuredWrites++
      }
      // Staggered starts, then a steady 1/rate s period each.
      const start = setTimeout(
        () => {
          type()
          timerOf.set(w.index, setInterval(type, 1000 / rate))
        },
        (w.index * 1000) / rate / writersN,
      )
      return start
    })
    const progressTimer = setInterval(() => {
      ctx.progress(
        `${((performance.now() - t0) / 1000).toFixed(0)} s: ${writes} writes, ${samples.length} arrivals`,
      )
    }, 10_000)
    await new Promise((r) => setTimeout(r, (warmup + seconds) * 1000))
    for (const t of timers) clearTimeout(t)
    for (const t of timerOf.values()) clearInterval(t)
    clearInterval(progressTimer)
    await Promise.all(pending)
    const expectedAll = writes * (nodesN - 1)
    await waitFor(() => samples.length >= expectedAll, 15_000, 'stragglers', 20).catch(() => {})
    for (const u of unsubs) u()
    if (failures.length > 0) throw new Error(`${failures.length} writes failed: ${failures[0]}`)
    return {
      shape,
      samples: samples.filter(([t]) => t >= t0).map(([t, l]) => [t - t0, l] as [number, number]),
      t0,
      writes: measuredWrites,
      expected: measuredWrites * (nodesN - 1),
    }
  } finally {
    for (const n of nodes) await stopNode(n)
  }
}

const describe = (s: Shape) =>
  `${s.nodes} nodes full mesh, ${s.writers} writers x ${s.rate} chars/s, ${s.seconds} s measured (after ${s.warmup} s warm-up), one process`

function stats(r: ShapeRun) {
  const lat = r.samples.map((s) => s[1]).sort((a, b) => a - b)
  const span = r.shape.seconds * 1000
  const quarter = (q: number) =>
    r.samples
      .filter(([t]) => t >= (q * span) / 4 && t < ((q + 1) * span) / 4)
      .map((s) => s[1])
      .sort((a, b) => a - b)
  return {
    lat,
    p50: percentile(lat, 50),
    p90: percentile(lat, 90),
    p99: percentile(lat, 99),
    max: lat.at(-1) ?? Number.NaN,
    firstP99: percentile(quarter(0), 99),
    lastP99: percentile(quarter(3), 99),
  }
}

async function run(ctx: WorkloadContext) {
  const main: Shape = {
    nodes: envInt('TAPESTRY_BENCH_LIVE_NODES', 3),
    writers: envInt('TAPESTRY_BENCH_LIVE_WRITERS', 16),
    rate: envInt('TAPESTRY_BENCH_LIVE_RATE', 6),
    seconds: envInt('TAPESTRY_BENCH_LIVE_SECONDS', ctx.quick ? 8 : 120),
    warmup: ctx.quick ? 2 : 5,
  }
  ctx.progress(`${describe(main)}...`)
  const r = await runShape(ctx, main)
  const st = stats(r)
  const { seconds } = main

  // p99 per second of the run (growth over time), for the plot.
  const perSecond: Array<[number, number]> = []
  for (let s = 0; s < seconds; s += Math.max(1, Math.floor(seconds / 40))) {
    const bucket = r.samples
      .filter(([t]) => t >= s * 1000 && t < (s + 1) * 1000)
      .map((x) => x[1])
      .sort((a, b) => a - b)
    if (bucket.length > 0) perSecond.push([s, percentile(bucket, 99)])
  }
  const series: Series[] = [
    {
      title: `live-latency: p99 per second (${describe(main)})`,
      xLabel: 'seconds into the run',
      yLabel: 'p99 ms',
      lines: [{ label: 'p99 write → arrival', points: perSecond }],
    },
  ]

  // Cost against nodes: short runs of the same writers at several mesh sizes (full only).
  const sweep: Record<string, string> = {}
  if (!ctx.quick && process.env.TAPESTRY_BENCH_LIVE_SWEEP !== '0') {
    const p50s: Array<[number, number]> = []
    const p99s: Array<[number, number]> = []
    for (const n of [2, 4, 8]) {
      const shape: Shape = { ...main, nodes: n, seconds: 10, warmup: 2 }
      ctx.progress(`sweep: ${describe(shape)}...`)
      const sr = await runShape(ctx, shape)
      const ss = stats(sr)
      p50s.push([n, ss.p50])
      p99s.push([n, ss.p99])
      sweep[`sweep ${n} nodes, 10 s: p50 / p99 / max ms, arrivals`] =
        `${ss.p50.toFixed(1)} / ${ss.p99.toFixed(1)} / ${ss.max.toFixed(0)}, ${sr.samples.length} of ${sr.expected}`
      ctx.gc()
    }
    series.push({
      title: `live-latency against nodes (${main.writers} writers x ${main.rate} chars/s, full mesh, one process)`,
      xLabel: 'nodes',
      yLabel: 'ms',
      lines: [
        { label: 'p50', points: p50s },
        { label: 'p99', points: p99s },
      ],
    })
  }

  const common = {
    run: describe(main),
    'issue shape':
      '8 nodes, 16 writers x 6 chars/s, 120 s (--quick 20 s): saturates one process on 2 cores, see the sweep',
    'writes measured': r.writes,
    'arrivals measured / expected': `${r.samples.length} / ${r.expected}`,
    'p50 ms': st.p50,
    'p90 ms': st.p90,
    'p99 ms': st.p99,
    'max ms': st.max,
    'p99 first quarter ms': st.firstP99,
    'p99 last quarter ms': st.lastP99,
    baseline: 'one frame at 60 Hz (a constant)',
    ...sweep,
  }
  return {
    results: [
      benchResult({
        name: 'live-latency',
        value: st.p99,
        unit: 'ms',
        baseline: FRAME_MS,
        ratio: st.p99 / FRAME_MS,
        goal: '≤ 1x (p99 ≤ 16.7 ms)',
        details: common,
      }),
      benchResult({
        name: 'live-latency-p50',
        value: st.p50,
        unit: 'ms',
        baseline: FRAME_MS,
        ratio: st.p50 / FRAME_MS,
        goal: '≤ 1x',
      }),
      benchResult({
        name: 'live-latency-growth',
        value: st.lastP99,
        unit: 'ms',
        baseline: st.firstP99,
        ratio: st.lastP99 / st.firstP99,
        goal: '≤ 1.5x (no growth)',
        details: { compared: 'p99 of writes made in the last quarter vs the first quarter' },
      }),
    ],
    series,
  }
}

export const liveLatency: Workload = {
  name: 'live-latency',
  description: 'p50/p99 write → arrival, writers typing on a mesh of nodes (p99 ≤ 16.7 ms)',
  resultNames: ['live-latency', 'live-latency-p50', 'live-latency-growth'],
  run,
}
