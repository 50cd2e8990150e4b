import { afterEach, describe, expect, it } from 'vitest'
import type { NarrativeView } from '../src/core/node-api.js'
import type { LinkView } from '../src/federation/api-types.js'
import { CliSandbox, until } from './helpers/cli.js'

/**
 * The federation commands as a steward runs them: two tribes, each a running
 * `tapestry start` on its own data directory (mDNS off), linked by `federate propose`
 * and `federate accept` with nothing else in between.
 */
const cli = new CliSandbox()
afterEach(() => cli.cleanup())

const LOCAL = ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns']

describe('tapestry federate / federation', () => {
  it('propose → accept links two running nodes; a federated narrative crosses', async () => {
    const ada = await cli.dataDir()
    const bo = await cli.dataDir()
    await cli.json(ada, 'init', '--name', 'Ada')
    await cli.json(bo, 'init', '--name', 'Bo')
    const { tribeId: river } = await cli.json<{ tribeId: string }>(ada, 'tribe', 'create', 'River')
    const { tribeId: hill } = await cli.json<{ tribeId: string }>(bo, 'tribe', 'create', 'Hill')
    const adaNode = await cli.startNode(ada, 20_000, LOCAL)
    await cli.startNode(bo, 20_000, LOCAL)

    const proposed = await cli.json<Record<string, string>>(ada, 'federate', 'propose')
    expect(Object.keys(proposed)).toEqual(['offer'])
    expect(proposed.offer).toMatch(/^tapestry-federate-1:/)
    const bad = await cli.fail(bo, 'federate', 'accept', `${proposed.offer!.slice(0, -4)}AAAA`)
    expect(bad.code).toBe('BAD_OFFER')
    const accepted = await cli.json<{ linkId: string }>(bo, 'federate', 'accept', proposed.offer!)
    expect(Object.keys(accepted)).toEqual(['linkId'])
    const { linkId } = accepted
    for (const dir of [ada, bo]) {
      await until(
        async () =>
          (await cli.json<LinkView[]>(dir, 'federation')).some(
            (l) => l.linkId === linkId && l.status === 'active',
          ),
        'link active',
        20_000,
      )
    }
    const [view] = await cli.json<LinkView[]>(ada, 'federation')
    expect(view).toMatchObject({
      linkId,
      status: 'active',
      tribeA: { id: river, name: 'River' },
      tribeB: { id: hill, name: 'Hill' },
      terms: ['echoes', 'narratives'],
      carrier: true,
    })

    await cli.json(ada, 'narrate', '--title', 'Shared', '--body', 'x', '--audience', 'federated')
    await cli.json(ada, 'narrate', '--title', 'Kept', '--body', 'y', '--audience', 'tribe')
    await until(
      async () => (await cli.json<NarrativeView[]>(bo, 'narratives')).length === 1,
      'federated narrative on bo',
      20_000,
    )
    const seen = await cli.json<NarrativeView[]>(bo, 'narratives')
    expect(seen.map((n) => [n.title, n.tribeId])).toEqual([['Shared', river]])

    // Restarted, the node's ready line names the link's host beside the tribe's.
    await adaNode.stop()
    const again = await cli.startNode(ada, 20_000, LOCAL)
    const kinds = (again.ready as unknown as { networks: { kind: string; tribeId: string }[] })
      .networks
    expect(kinds.map((n) => [n.kind, n.tribeId]).sort()).toEqual([
      ['link', linkId],
      ['tribe', river],
    ])

    expect(await cli.json(bo, 'federate', 'end', linkId)).toEqual({ linkId, status: 'ended' })
    await until(
      async () => (await cli.json<NarrativeView[]>(bo, 'narratives')).length === 0,
      'erased on bo after the end',
      20_000,
    )
  })
})
