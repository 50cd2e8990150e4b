#!/usr/bin/env node
// `npm run demo`: a 3-member tribe on this machine (127.0.0.1, no mDNS) to watch.
// Ada founds the tribe and invites Bo and Cy; each runs a real node; each writes a
// narrative; every node's events are printed with its name. Ctrl+C stops all three.
// Data lives in .tapestry-demo/ (git-ignored); run again to reuse it, delete it to reset.
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync } from 'node:fs'
import { createInterface } from 'node:readline'

const bin = new URL('../packages/node/bin/tapestry.js', import.meta.url).pathname
const root = new URL('../.tapestry-demo/', import.meta.url).pathname
const names = ['Ada', 'Bo', 'Cy']
const dir = (name) => `${root}${name.toLowerCase()}`

function cli(name, ...args) {
  const r = spawnSync(process.execPath, [bin, '--data', dir(name), ...args, '--json'], {
    encoding: 'utf8',
  })
  if (r.status !== 0) throw new Error(`${name}: tapestry ${args[0]} failed: ${r.stderr.trim()}`)
  return JSON.parse(r.stdout)
}

function start(name) {
  const child = spawn(
    process.execPath,
    [bin, '--data', dir(name), 'start', '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--json'],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${name}'s node exited (${code})`)))
    createInterface({ input: child.stdout }).on('line', (line) => {
      const e = JSON.parse(line)
      if (e.event === 'ready') resolve(e)
      const who = e.peer ? (names.find((n) => members[n] === e.peer) ?? e.peer.slice(-6)) : ''
      console.log(
        `${name.padEnd(3)} ${e.event}${who ? ` ${who}` : ''}${e.received ? ` +${e.received.envelopes} changes` : ''}`,
      )
    })
  })
  return { child, ready }
}

const members = {}
const fresh = !existsSync(root)
mkdirSync(root, { recursive: true })
for (const n of names) {
  if (fresh) cli(n, 'init', '--name', n)
  members[n] = cli(n, 'status').memberId
}
const nodes = { Ada: start('Ada') }
await nodes.Ada.ready
if (fresh) {
  cli('Ada', 'tribe', 'create', 'Demo Tribe')
  for (const n of ['Bo', 'Cy']) cli(n, 'join', cli('Ada', 'invite').invite)
}
for (const n of ['Bo', 'Cy']) nodes[n] = start(n)
await Promise.all(Object.values(nodes).map((n) => n.ready))
for (const n of names)
  cli(
    n,
    'narrate',
    '--title',
    `${n}'s story`,
    '--body',
    `Told by ${n} at ${new Date().toISOString()}`,
  )
console.log('\nThree nodes run. In another terminal, try:')
console.log(`  npx tapestry --data ${dir('Cy')} narratives`)
console.log(`  npx tapestry --data ${dir('Bo')} peers`)
console.log('Ctrl+C stops them.\n')
const stop = () => {
  for (const n of Object.values(nodes)) n.child.kill('SIGTERM')
}
process.once('SIGINT', stop)
process.once('SIGTERM', stop)
