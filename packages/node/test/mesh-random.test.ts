import '../src/polyfill.js'
import { afterEach, describe, expect, it } from 'vitest'
import { MESH_WEIGHTS, nextAction, rng } from '../src/chaos/schedule.js'
import type { TapestryNode } from '../src/core/tapestry-node.js'
import { Tapestry } from '../src/root/tapestry.js'
import { converged, makeTribe, TestNet, titles, waitFor } from './helpers/mesh-nodes.js'

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
        const action = nextAction(r, { running: running(), stopped: stopped() }, MESH_WEIGHTS)
        switch (action?.kind) {
          case 'write': {
            await write(net.node(action.who), action.who, step)
            break
          }
          case 'offline-write': {
            // a write made offline, on a stopped node's store
            const node = (await Tapestry.open({ dataDir: net.get(action.who).dir })).node
            try {
              await write(node, `${action.who}(offline)`, step)
            } finally {
              await node.close()
            }
            break
          }
          case 'stop':
            log.push(`${step} stop ${action.who}`)
            await net.stop(action.who)
            break
          case 'start':
            log.push(`${step} start ${action.who}`)
            await net.start(action.who) // redials its known peers
            break
          case 'restart':
            log.push(`${step} restart ${action.who}`)
            await net.stop(action.who)
            await net.start(action.who)
            break
          case 'cut':
            log.push(`${step} cut ${action.a}-${action.b}`)
            await net.cut(action.a, action.b, tribeId)
            break
          case 'connect':
            log.push(`${step} heal ${action.a}-${action.b}`)
            await net.connect(action.a, action.b, tribeId).catch(() => {})
            break
          default:
            break
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
