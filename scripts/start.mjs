#!/usr/bin/env node
// `npm start`: a newcomer's first run. Creates an identity and a first tribe when the
// data directory has none (sensible defaults, printed so they can be changed), then runs
// the node in the foreground. Everything after the first run is plain `tapestry start`.
import { spawnSync } from 'node:child_process'
import { userInfo } from 'node:os'

const bin = new URL('../packages/node/bin/tapestry.js', import.meta.url).pathname
const args = process.argv.slice(2)

function tapestry(...cmd) {
  const r = spawnSync(process.execPath, [bin, ...args, ...cmd, '--json'], { encoding: 'utf8' })
  const err = r.stderr ? JSON.parse(r.stderr.trim().split('\n').pop() || '{}').error : undefined
  return { ok: r.status === 0, value: r.status === 0 ? JSON.parse(r.stdout) : undefined, err }
}

const status = tapestry('status')
if (!status.ok && status.err?.code === 'NO_IDENTITY') {
  const name = process.env.TAPESTRY_NAME || userInfo().username || 'member'
  const init = tapestry('init', '--name', name)
  if (!init.ok) throw new Error(init.err?.message)
  console.log(`Created your identity ${init.value.memberId} as "${name}".`)
} else if (!status.ok) {
  console.error(`error: ${status.err?.message ?? 'tapestry status failed'}`)
  process.exit(1)
}
const tribes = tapestry('tribes')
if (tribes.ok && tribes.value.length === 0) {
  const t = tapestry('tribe', 'create', process.env.TAPESTRY_TRIBE || 'My tribe')
  if (!t.ok) throw new Error(t.err?.message)
  console.log(`Created tribe "${t.value.name}" (${t.value.tribeId}) with you as steward.`)
}
const r = spawnSync(process.execPath, [bin, ...args, 'start'], { stdio: 'inherit' })
process.exit(r.status ?? 0)
