/**
 * A chaos node in its own process, so that the harness can SIGKILL it mid-write.
 *
 *   node dist/chaos/child.js DATA_DIR NAME [ADDR...]
 *
 * Opens the member's node, starts its mesh (dialling ADDRs), prints
 * `{"type":"ready","addrs":[...]}` and then runs commands read from stdin, one JSON
 * object per line, in order:
 *
 *   {"op":"dial","addr":A}                        dial a peer (no reply)
 *   {"op":"wait-tribe"}                           reply {"type":"tribe"} once a member
 *   {"op":"narrate","title","body","audience"}    reply {"type":"ack","id","title"}
 *   {"op":"burst","items":[{title,body,audience}]} one ack per narrative, written in turn
 *   {"op":"exit"}                                 stop cleanly and exit 0
 *
 * An ack is printed only after `narrate` resolved (the write is durable), so every
 * acknowledged narrative must survive a SIGKILL at any moment.
 */
import '../polyfill.js'
import { createInterface } from 'node:readline'
import { Tapestry } from '../root/tapestry.js'
import { CHAOS_MESH } from './mesh-tuning.js'

interface Item {
  title: string
  body: string
  audience?: string
}
type Command =
  | { op: 'dial'; addr: string }
  | { op: 'wait-tribe' }
  | ({ op: 'narrate' } & Item)
  | { op: 'burst'; items: Item[] }
  | { op: 'exit' }

const [dataDir, name, ...dial] = process.argv.slice(2)
if (!dataDir || !name) {
  console.error('usage: child.js DATA_DIR NAME [ADDR...]')
  process.exit(2)
}
const out = (v: unknown) => process.stdout.write(`${JSON.stringify(v)}\n`)

const tapestry = await Tapestry.open({ dataDir })
await tapestry.start({ ...CHAOS_MESH, name })
const node = tapestry.node
const mesh = tapestry.mesh!
const tribeId = () => mesh.networks()[0]?.tribeId
const dialOne = (addr: string) => {
  const t = tribeId()
  if (t) mesh.dial(t, addr).catch(() => {})
}
for (const a of dial) dialOne(a)
out({ type: 'ready', addrs: mesh.addrs() })

async function narrate(item: Item): Promise<void> {
  const { narrativeId } = await node.narrate({
    title: item.title,
    body: item.body,
    ...(item.audience === undefined ? {} : { audience: item.audience }),
  })
  out({ type: 'ack', id: narrativeId, title: item.title })
}

async function run(c: Command): Promise<void> {
  switch (c.op) {
    case 'dial':
      return dialOne(c.addr)
    case 'wait-tribe': {
      while ((await node.tribes()).length === 0) await new Promise((r) => setTimeout(r, 25))
      out({ type: 'tribe' })
      return
    }
    case 'narrate':
      return narrate(c)
    case 'burst':
      for (const item of c.items) await narrate(item)
      return
    case 'exit':
      await tapestry.close()
      process.exit(0)
  }
}

let queue = Promise.resolve()
const input = createInterface({ input: process.stdin })
// The harness went away without killing us: do not linger.
input.on('close', () => process.exit(0))
input.on('line', (line) => {
  if (line.trim() === '') return
  const c = JSON.parse(line) as Command
  queue = queue.then(() =>
    run(c).catch((err: unknown) => {
      out({ type: 'error', op: c.op, message: String(err) })
    }),
  )
})
