import { toTapestryError } from '../errors.js'

/**
 * How the CLI speaks. With `--json`, stdout is exactly one JSON value (or JSON lines for
 * `start`) and a failure is `{"error":{code,message}}` on stderr with a non-zero exit.
 * Without it, output is for people: aligned tables and hints.
 */
export interface Output {
  json: boolean
  result(value: unknown, human: () => string): void
  line(event: Record<string, unknown>, human: () => string): void
  fail(err: unknown): never
}

export function createOutput(json: boolean): Output {
  return {
    json,
    result(value, human) {
      process.stdout.write(json ? `${JSON.stringify(value)}\n` : `${human()}\n`)
    },
    line(event, human) {
      process.stdout.write(json ? `${JSON.stringify(event)}\n` : `${human()}\n`)
    },
    fail(err) {
      const e = toTapestryError(err)
      if (json) {
        process.stderr.write(`${JSON.stringify({ error: { code: e.code, message: e.message } })}\n`)
      } else {
        process.stderr.write(`error: ${e.message}\n`)
        if (e.hint) process.stderr.write(`hint: ${e.hint}\n`)
        if (e.code === 'INTERNAL' && e.stack) process.stderr.write(`${e.stack}\n`)
      }
      process.exit(e.code === 'USAGE' ? 2 : 1)
    },
  }
}

/** A plain text table with aligned columns. */
export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '(none)'
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)))
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()
  return [fmt(headers), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n')
}

/** Short form of a member or document id for human tables. */
export function short(id: string): string {
  return id.length > 16 ? `${id.slice(0, 12)}…${id.slice(-4)}` : id
}
