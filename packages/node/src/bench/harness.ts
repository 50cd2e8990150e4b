/**
 * The benchmark runner behind `npm run bench`: workloads register by name, each measures
 * Tapestry and its baseline in the same run and returns rows
 * `{name, value, unit, baseline, ratio, goal}`. The runner prints an aligned table (or, with
 * `--json`, exactly one JSON object `{"results":[...]}` on stdout), sends progress to stderr,
 * and writes an HTML report with SVG plots under the git-ignored `bench-report/`.
 *
 * No test asserts on time: the bench reports, people judge.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { renderReport } from './report.js'

/** One row of the bench table. `value` is Tapestry's figure; `null` when not measured. */
export interface BenchResult {
  readonly name: string
  readonly value: number | null
  readonly unit: string
  readonly baseline: number | null
  readonly ratio: number | null
  /** Human-readable goal on `ratio` (or on `value` when there is no baseline): "≤ 1.3x". */
  readonly goal: string
  /** Whether `goal` holds; `null` when it cannot be judged (nothing measured). */
  readonly met: boolean | null
  /** Further figures worth printing (bytes on disk, reload time, what the baseline was...). */
  readonly details?: Readonly<Record<string, number | string>>
}

/** A curve for the report: cost against size. */
export interface Series {
  readonly title: string
  readonly xLabel: string
  readonly yLabel: string
  readonly lines: ReadonlyArray<{ label: string; points: ReadonlyArray<readonly [number, number]> }>
}

export interface WorkloadOutput {
  readonly results: BenchResult[]
  readonly series?: Series[]
}

export interface WorkloadContext {
  /** Reduced sizes: the whole suite must finish in under 60 s. */
  readonly quick: boolean
  /** How many times to repeat the short, noise-prone measurements (the best is kept). */
  readonly repeat: number
  /** A progress line on stderr, prefixed with the workload name. */
  progress(message: string): void
  /** A fresh temporary directory, removed when the workload ends (unless `--keep`). */
  tempDir(label: string): Promise<string>
  /** Full garbage collection when node runs with `--expose-gc` (scripts/bench.mjs does). */
  gc(): void
}

export interface Workload {
  readonly name: string
  readonly description: string
  /** Row names this workload produces (so `--only ROW` finds it). Defaults to `[name]`. */
  readonly resultNames?: readonly string[]
  run(ctx: WorkloadContext): Promise<WorkloadOutput>
}

const registry = new Map<string, Workload>()

export function registerWorkload(workload: Workload): void {
  if (registry.has(workload.name)) throw new Error(`workload ${workload.name} registered twice`)
  registry.set(workload.name, workload)
}

export function workloads(): Workload[] {
  return [...registry.values()]
}

/**
 * Judges `ratio` (or `value`) against a goal string: `≤ N`, `≥ N`, `< N`, `> N` (ASCII `<=`,
 * `>=` too), with any unit suffix ignored. Unparseable goals (e.g. "report") are `null`.
 */
export function goalMet(goal: string, figure: number | null): boolean | null {
  if (figure === null || !Number.isFinite(figure)) return null
  const m = /^\s*(≤|≥|<=|>=|<|>)\s*([0-9]*\.?[0-9]+)/.exec(goal)
  if (!m) return null
  const target = Number(m[2])
  switch (m[1]) {
    case '≤':
    case '<=':
      return figure <= target
    case '≥':
    case '>=':
      return figure >= target
    case '<':
      return figure < target
    default:
      return figure > target
  }
}

/** Builds a row, judging the goal on `ratio` when there is one, else on `value`. */
export function benchResult(row: Omit<BenchResult, 'met'>): BenchResult {
  const figure = row.ratio ?? (row.baseline === null ? row.value : null)
  const { details, ...figures } = row
  const met = goalMet(row.goal, figure)
  return details ? { ...figures, met, details } : { ...figures, met }
}

export function formatNumber(n: number): string {
  const a = Math.abs(n)
  if (Number.isInteger(n)) return n.toLocaleString('en-US')
  if (a >= 100) return Math.round(n).toLocaleString('en-US')
  if (a >= 10) return n.toFixed(1)
  if (a >= 0.01) return n.toFixed(2)
  return n.toPrecision(3)
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(2)} MiB`
}

function fmtFigure(n: number | null, unit: string): string {
  if (n === null) return '—'
  return `${formatNumber(n)} ${unit}`.trim()
}

export function renderTable(results: readonly BenchResult[]): string {
  const header = ['name', 'Tapestry', 'baseline', 'ratio', 'goal', 'met?']
  const rows = results.map((r) => [
    r.name,
    r.value === null ? 'not measured' : fmtFigure(r.value, r.unit),
    fmtFigure(r.baseline, r.unit),
    r.ratio === null ? '—' : `${r.ratio.toFixed(2)}x`,
    r.goal,
    r.met === null ? '—' : r.met ? 'yes' : 'NO',
  ])
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)))
  const numeric = new Set([1, 2, 3])
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (numeric.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd()
  const out = [line(header), widths.map((w) => '-'.repeat(w)).join('  ')]
  for (const row of rows) out.push(line(row))
  const detailed = results.filter((r) => r.details && Object.keys(r.details).length > 0)
  if (detailed.length > 0) out.push('')
  for (const r of detailed) {
    out.push(`${r.name}:`)
    const entries = Object.entries(r.details!)
    const kw = Math.max(...entries.map(([k]) => k.length))
    for (const [k, v] of entries) {
      out.push(`  ${k.padEnd(kw)}  ${typeof v === 'number' ? formatNumber(v) : v}`)
    }
  }
  return out.join('\n')
}

/** `<repo>/bench-report`: this module sits four levels below the repository root. */
export function defaultReportDir(): string {
  return fileURLToPath(new URL('../../../../bench-report/', import.meta.url))
}

const USAGE = `usage: npm run bench -- [--quick] [--json] [--only NAME]... [--repeat N] [--list]
                                  [--keep] [--report DIR | --no-report]
  --quick      reduced sizes (whole suite under 60 s)
  --json       stdout is exactly one JSON object {"results":[...]}; progress on stderr
  --only NAME  run one workload (or the workload producing row NAME); may repeat
  --repeat N   repeat short measurements N times and keep the best (default 3)
  --list       list workloads and exit
  --keep       keep temporary directories (their paths go to stderr)
  --report DIR where to write index.html (default <repo>/bench-report)
  --cpu-prof   (scripts/bench.mjs) profile into bench-report/profiles
  --no-build   (scripts/bench.mjs) skip the incremental tsc -b`

/** Runs the bench from command-line arguments; resolves to the process exit code. */
export async function runBench(argv: readonly string[]): Promise<number> {
  let values: ReturnType<typeof parse>['values']
  function parse(args: readonly string[]) {
    return parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: false,
      options: {
        quick: { type: 'boolean', default: false },
        repeat: { type: 'string', default: '3' },
        json: { type: 'boolean', default: false },
        only: { type: 'string', multiple: true },
        list: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        report: { type: 'string' },
        'no-report': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  }
  try {
    values = parse(argv).values
  } catch (err) {
    process.stderr.write(`bench: ${(err as Error).message}\n${USAGE}\n`)
    return 2
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (values.list) {
    for (const w of workloads()) {
      process.stdout.write(`${w.name.padEnd(28)} ${w.description}\n`)
    }
    return 0
  }

  const repeat = Number(values.repeat)
  if (!Number.isSafeInteger(repeat) || repeat < 1) {
    process.stderr.write(`bench: --repeat wants a positive integer, not ${values.repeat}\n`)
    return 2
  }

  let selected = workloads()
  if (values.only && values.only.length > 0) {
    const wanted = new Set(values.only)
    selected = selected.filter(
      (w) => wanted.has(w.name) || (w.resultNames ?? []).some((n) => wanted.has(n)),
    )
    if (selected.length === 0) {
      process.stderr.write(
        `bench: no workload named ${[...wanted].join(', ')}; known: ${workloads()
          .map((w) => w.name)
          .join(', ')}\n`,
      )
      return 2
    }
  }

  const gcFn = (globalThis as { gc?: () => void }).gc
  if (!gcFn) {
    process.stderr.write(
      'bench: run node with --expose-gc (npm run bench does) for steadier figures\n',
    )
  }
  const started = performance.now()
  const results: BenchResult[] = []
  const series: Series[] = []
  let failed = 0
  for (const w of selected) {
    const temps: string[] = []
    const ctx: WorkloadContext = {
      quick: values.quick ?? false,
      repeat,
      progress: (m) => process.stderr.write(`[bench ${w.name}] ${m}\n`),
      tempDir: async (label) => {
        const d = await mkdtemp(join(tmpdir(), `tapestry-bench-${label}-`))
        temps.push(d)
        return d
      },
      gc: () => gcFn?.(),
    }
    const t0 = performance.now()
    ctx.progress(`start${ctx.quick ? ' (--quick)' : ''}`)
    try {
      const out = await w.run(ctx)
      const only = values.only
      results.push(
        ...out.results.filter(
          (r) => !only || only.includes(w.name) || only.includes(r.name) || only.length === 0,
        ),
      )
      series.push(...(out.series ?? []))
      ctx.progress(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`)
    } catch (err) {
      failed++
      const e = err as Error
      ctx.progress(`FAILED: ${e.stack ?? e.message}`)
      for (const name of w.resultNames ?? [w.name]) {
        results.push({
          name,
          value: null,
          unit: '',
          baseline: null,
          ratio: null,
          goal: '—',
          met: null,
          details: { error: e.message },
        })
      }
    } finally {
      if (values.keep) {
        for (const d of temps) ctx.progress(`kept ${d}`)
      } else {
        await Promise.all(temps.map((d) => rm(d, { recursive: true, force: true })))
      }
    }
  }
  const elapsed = (performance.now() - started) / 1000
  process.stderr.write(`[bench] ${selected.length} workload(s) in ${elapsed.toFixed(1)} s\n`)

  if (!values['no-report']) {
    const dir = values.report ?? defaultReportDir()
    try {
      await mkdir(dir, { recursive: true })
      const meta = {
        date: new Date().toISOString(),
        quick: values.quick ?? false,
        repeat,
        node: process.version,
        platform: `${process.platform}/${process.arch}`,
        elapsedSeconds: elapsed,
      }
      await writeFile(join(dir, 'index.html'), renderReport(results, series, meta))
      await writeFile(join(dir, 'results.json'), `${JSON.stringify({ meta, results }, null, 2)}\n`)
      process.stderr.write(`[bench] report: ${join(dir, 'index.html')}\n`)
    } catch (err) {
      process.stderr.write(`[bench] could not write the report: ${(err as Error).message}\n`)
    }
  }

  if (values.json) {
    process.stdout.write(`${JSON.stringify({ results })}\n`)
  } else {
    process.stdout.write(`${renderTable(results)}\n`)
  }
  return failed > 0 ? 1 : 0
}
