/**
 * Workload `cold-start`: rows `cold-start-10k` (seconds until ready) and `memory-10k`
 * (resident memory the node adds) for a node holding 10,000 narratives (quick: 500),
 * each in a fresh child process (cold-start-child.ts), best of `repeat` starts. Smaller
 * sizes (a tribe with no narratives, 1,000) are measured too for the cost-against-size plot.
 * One more start of the largest size writes two heap snapshots (before open, when ready);
 * their difference by constructor says what dominates the node's memory.
 */
import { spawn } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  benchResult,
  formatBytes,
  type Series,
  type Workload,
  type WorkloadContext,
} from './harness.js'
import { heapBySize, topGrowth } from './heap-summary.js'
import { fixtureDir, populatedFounder, QUICK_DOCS } from './mesh-fixture.js'

interface Mem {
  rss: number
  heapUsed: number
  heapTotal: number
  external: number
  arrayBuffers: number
}

interface ChildResult {
  importSeconds: number
  openSeconds: number
  tribesSeconds: number
  meshSeconds: number
  readySeconds: number
  tribes: number
  documents: number
  before: Mem
  after: Mem
  snapBefore?: string
  snapAfter?: string
}

const CHILD = fileURLToPath(new URL('./cold-start-child.js', import.meta.url))

function startChild(dataDir: string, snapPrefix?: string): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    const args = ['--expose-gc', CHILD, dataDir]
    if (snapPrefix) args.push('--heap-snapshot', snapPrefix)
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString()
    })
    child.on('error', reject)
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`cold-start child exited ${code}: ${err.trim()}`))
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as ChildResult)
      } catch (e) {
        reject(new Error(`cold-start child printed no result: ${(e as Error).message} ${err}`))
      }
    })
  })
}

const MiB = 1024 * 1024

async function run(ctx: WorkloadContext) {
  const sizes = ctx.quick ? [0, QUICK_DOCS] : [0, 1_000, 10_000]
  const largest = sizes.at(-1)!
  const startPoints: Array<[number, number]> = []
  const rssPoints: Array<[number, number]> = []
  const heapPoints: Array<[number, number]> = []
  let best: ChildResult | undefined
  let dir = ''
  for (const size of sizes) {
    const p = await populatedFounder(size, ctx.progress)
    dir = p.dir
    await rm(join(p.dir, 'tribes', p.tribeId, 'peers'), { recursive: true, force: true })
    let b: ChildResult | undefined
    for (let r = 0; r < ctx.repeat; r++) {
      const c = await startChild(p.dir)
      if (!b || c.readySeconds < b.readySeconds) b = c
    }
    ctx.progress(
      `${size} narratives: ready in ${b!.readySeconds.toFixed(3)} s, ` +
        `RSS +${formatBytes(b!.after.rss - b!.before.rss)}`,
    )
    startPoints.push([size, b!.readySeconds])
    rssPoints.push([size, (b!.after.rss - b!.before.rss) / MiB])
    heapPoints.push([size, (b!.after.heapUsed - b!.before.heapUsed) / MiB])
    if (size === largest) best = b
  }
  const r = best!
  // What dominates: the heap growth by constructor (one more start, with snapshots).
  const snapDir = await fixtureDir('heap')
  const snap = await startChild(dir, join(snapDir, 'node'))
  const growth = topGrowth(await heapBySize(snap.snapBefore!), await heapBySize(snap.snapAfter!), 8)
  await rm(snapDir, { recursive: true, force: true })
  const d = (k: keyof Mem) => r.after[k] - r.before[k]
  const sizeNote = `${largest} narratives (${r.documents} documents)${ctx.quick ? ', --quick: reduced from 10,000' : ''}`
  const results = [
    benchResult({
      name: 'cold-start-10k',
      value: r.readySeconds,
      unit: 's',
      baseline: null,
      ratio: null,
      goal: '≤ 1 s',
      details: {
        node: sizeNote,
        ready: 'Tapestry.open + tribes() + start (one host, 127.0.0.1, mDNS off)',
        'open s': r.openSeconds,
        'tribes s': r.tribesSeconds,
        'mesh start s': r.meshSeconds,
        'module import s (not in the figure)': r.importSeconds,
        'best of': ctx.repeat,
      },
    }),
    benchResult({
      name: 'memory-10k',
      value: d('rss') / MiB,
      unit: 'MiB',
      baseline: null,
      ratio: null,
      goal: 'report',
      details: {
        node: sizeNote,
        measured: 'RSS growth from before open to ready, full GC each side, fresh process',
        'RSS before open (runtime + modules) MiB': r.before.rss / MiB,
        'heapUsed growth MiB': d('heapUsed') / MiB,
        'external growth MiB (LevelDB, buffers)': d('external') / MiB,
        'arrayBuffers growth MiB': d('arrayBuffers') / MiB,
        'the rest of RSS growth MiB (native: LevelDB caches, libp2p, code)':
          (d('rss') - d('heapUsed') - d('external')) / MiB,
        'heap growth by constructor (snapshot diff, top 8)': growth
          .map(([k, v]) => `${k} ${formatBytes(v)}`)
          .join('; '),
      },
    }),
  ]
  const series: Series[] = [
    {
      title: 'cold-start: ready time against documents',
      xLabel: 'narratives held',
      yLabel: 'seconds',
      lines: [{ label: 'Tapestry.open + start', points: startPoints }],
    },
    {
      title: 'memory: node growth against documents',
      xLabel: 'narratives held',
      yLabel: 'MiB',
      lines: [
        { label: 'RSS growth', points: rssPoints },
        { label: 'heapUsed growth', points: heapPoints },
      ],
    },
  ]
  return { results, series }
}

export const coldStart: Workload = {
  name: 'cold-start',
  description: 'start a node holding 10,000 narratives until ready (≤ 1 s), and its memory',
  resultNames: ['cold-start-10k', 'memory-10k'],
  run,
}
