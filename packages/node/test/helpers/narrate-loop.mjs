// Child process of test/durability.test.ts: opens the member's node from the built
// library and writes narratives until it is killed. Prints one line per narrative,
// `{"i","id","title","body"}`, only after `narrate` resolved (the write is durable).
//
//   node narrate-loop.mjs DATA_DIR SEED
import { Tapestry } from '../../dist/index.js'

const [dataDir, seedArg] = process.argv.slice(2)
let state = Number(seedArg) >>> 0
/** mulberry32: the same seed writes the same narratives. */
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0
  let t = state
  t = Math.imul(t ^ (t >>> 15), t | 1)
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}
const WORDS = ['river', 'boat', 'flood', 'elder', 'song', 'harvest', 'fire', 'stone', 'night']
const words = (n) => Array.from({ length: n }, () => WORDS[Math.floor(random() * WORDS.length)])

const node = (await Tapestry.open({ dataDir })).node
for (let i = 0; ; i++) {
  // Mostly short bodies; one in eight spans LevelDB log blocks (32 KiB).
  const length =
    random() < 0.125 ? 6000 + Math.floor(random() * 4000) : 5 + Math.floor(random() * 200)
  const title = `${seedArg}-${i} ${words(3).join(' ')}`
  const body = `${words(length).join(' ')} ${i}`
  const { narrativeId } = await node.narrate({ title, body })
  process.stdout.write(`${JSON.stringify({ i, id: narrativeId, title, body })}\n`)
}
