import '../src/polyfill.js'
import { afterEach, describe, expect, it } from 'vitest'
import { TapestryNode } from '../src/core/tapestry-node.js'
import { converged, makeTribe, TestNet, titles, waitFor } from './helpers/mesh-nodes.js'

/** mulberry32: a small seeded PRNG, so a failing schedule can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!,
  }
}

let net: TestNet
afterEach(async () => {
  await net?.cleanup()
})

const SEED = Number(process.env.TAPESTRY_SEED ?? Math.floor(Math.random() * 2 ** 31))
const STEPS = Number(process.env.TAPESTRY_STEPS ?? 40)

describe('mesh: a seeded random schedule over 5 nodes', () => {
  it(`ends with identical documents everywhere (seed ${SEED}; replay with TAPESTRY_SEED=${SEED})`, async () => {
    const r = rng(SEED)
    const log: string[] = []
    net = new TestNet()
    const names = ['n0', 'n1', 'n2', 'n3', 'n4']
    for (const n of names) await net.add(n)
    const tribeId = await makeTribe(net, 'n0', names.slice(1))
    for (const n of names) await net.start(n)
    for (let i = 1; i < names.length; i++) await net.connect(names[i]!, names[r.int(i)]!, tribeId)
    for (const n of names) {
      await waitFor(async () => (await net.node(n).tribes()).length === 1, 30_000, `roster on ${n}`)
    }
    const running = () => names.filter((n) => net.get(n).mesh !== undefined)
    const stopped = () => names.filter((n) => net.get(n).mesh === undefined)
    let writes = 0

    const write = async (node: TapestryNode, who: string, step: number) => {
      const seen = await node.narratives({ tribeId })
      if (seen.length > 0 && r.next() < 0.4) {
        const target = r.pick(seen)
        await node.echo(target.id, `echo ${step} by ${who}`)
        log.push(`${step} ${who} echoes ${target.title}`)
      } else {
        await node.narrate({ title: `s${step} by ${who}`, body: `body ${step}` })
        log.push(`${step} ${who} narrates`)
      }
      writes++
    }

    try {
      for (let step = 0; step < STEPS; step++) {
        const roll = r.next()
        if (roll < 0.35) {
          const who = r.pick(running())
          await write(net.node(who), who, step)
        } else if (roll < 0.45 && stopped().length > 0) {
          // a write made offline, on a stopped node's store
          const who = r.pick(stopped())
          const t = net.get(who)
          const node = await TapestryNode.open({ dataDir: t.dir })
          try {
            await write(node, `${who}(offline)`, step)
          } finally {
            await node.close()
          }
        } else if (roll < 0.55 && running().length > 2) {
          const who = r.pick(running())
          log.push(`${step} stop ${who}`)
          await net.stop(who)
        } else if (roll < 0.65 && stopped().length > 0) {
          const who = r.pick(stopped())
          log.push(`${step} start ${who}`)
          await net.start(who) // redials its known peers
        } else if (roll < 0.72) {
          const who = r.pick(running())
          log.push(`${step} restart ${who}`)
          await net.stop(who)
          await net.start(who)
        } else if (roll < 0.86) {
          const [a, b] = [r.pick(running()), r.pick(running())]
          if (a !== b) {
            log.push(`${step} cut ${a}-${b}`)
            await net.cut(a, b, tribeId)
          }
        } else {
          const [a, b] = [r.pick(running()), r.pick(running())]
          if (a !== b) {
            log.push(`${step} heal ${a}-${b}`)
            await net.connect(a, b, tribeId).catch(() => {})
          }
        }
      }
      // Everyone back, connected in a ring: all that is reachable converges.
      for (const n of stopped()) await net.start(n)
      for (let i = 0; i < names.length; i++) {
        const [a, b] = [names[i]!, names[(i + 1) % names.length]!]
        if (!net.connected(a, b, tribeId)) await net.connect(a, b, tribeId).catch(() => {})
      }
      const state = await converged(net, names, tribeId, 60_000)
      const expected = await titles(net.node('n0'), tribeId)
      for (const n of names) expect(await titles(net.node(n), tribeId)).toEqual(expected)
      expect(state.length).toBeGreaterThan(0)
      console.log(`seed ${SEED}: ${STEPS} steps, ${writes} writes, converged`)
    } catch (err) {
      console.error(
        `random mesh schedule failed: replay with TAPESTRY_SEED=${SEED}\n${log.join('\n')}`,
      )
      throw new Error(`seed ${SEED}: ${(err as Error).message}`, { cause: err })
    }
  })
})
