#!/usr/bin/env node
/**
 * `npm run bench -- [--quick] [--json] [--only NAME] [--cpu-prof] [--no-build] ...`
 *
 * Builds packages/node (incremental `tsc -b`, a no-op when up to date; its output goes to
 * stderr so `--json` keeps stdout to one JSON object), then runs the bench entry with
 * `--expose-gc`. `--cpu-prof`, `--cpu-prof-dir=DIR` and `--heap-prof` go to node (profiles
 * land in DIR, default ./bench-report/profiles); every other argument goes to the bench.
 */
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const entry = join(root, 'packages', 'node', 'dist', 'bench', 'main.js')

const nodeFlags = ['--expose-gc']
const benchArgs = []
let build = true
let profiling = false
let profDir = null
for (const arg of process.argv.slice(2)) {
  if (arg === '--no-build') build = false
  else if (arg === '--cpu-prof' || arg === '--heap-prof') {
    nodeFlags.push(arg)
    profiling = true
  } else if (arg.startsWith('--cpu-prof-dir=') || arg.startsWith('--heap-prof-dir=')) {
    profDir = arg.slice(arg.indexOf('=') + 1)
  } else benchArgs.push(arg)
}
if (profiling) {
  const dir = profDir ?? join(root, 'bench-report', 'profiles')
  if (nodeFlags.includes('--cpu-prof')) nodeFlags.push(`--cpu-prof-dir=${dir}`)
  if (nodeFlags.includes('--heap-prof')) nodeFlags.push(`--heap-prof-dir=${dir}`)
  process.stderr.write(`[bench] profiles go to ${dir}\n`)
}

if (build) {
  const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
  process.stderr.write('[bench] building (tsc -b packages/node)...\n')
  const r = spawnSync(process.execPath, [tsc, '-b', join(root, 'packages', 'node')], {
    cwd: root,
    stdio: ['ignore', 2, 2],
  })
  if (r.status !== 0) {
    if (!existsSync(entry)) {
      process.stderr.write('[bench] the build failed and there is no built bench to run\n')
      process.exit(r.status ?? 1)
    }
    process.stderr.write('[bench] WARNING: the build reported errors; running what was emitted\n')
  }
}

const child = spawnSync(process.execPath, [...nodeFlags, entry, ...benchArgs], {
  cwd: root,
  stdio: 'inherit',
})
if (child.error) {
  process.stderr.write(`[bench] could not run node: ${child.error.message}\n`)
  process.exit(1)
}
process.exit(child.status ?? (child.signal ? 1 : 0))
