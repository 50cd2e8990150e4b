import { afterEach, describe, expect, it } from 'vitest'
import type { NarrativeView } from '../src/core/node-api.js'
import { CliSandbox, until } from './helpers/cli.js'

/**
 * The end-to-end path, as a newcomer runs it: three members on one machine,
 * each a `tapestry` child process on its own data directory, joined by invitation,
 * replicating over real libp2p on 127.0.0.1 (mDNS off: only invitation addresses).
 */
const cli = new CliSandbox()
afterEach(() => cli.cleanup())

const LOCAL = ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns']

describe('tapestry invite / join / start / narrate / narratives', () => {
  it('three members converge, each seeing what the others wrote', async () => {
    const dirs = { ada: await cli.dataDir(), bo: await cli.dataDir(), cy: await cli.dataDir() }
    const ids: Record<string, string> = {}
    for (const [name, dir] of Object.entries(dirs)) {
      ids[name] = (await cli.json<{ memberId: string }>(dir, 'init', '--name', name)).memberId
    }
    const { tribeId } = await cli.json<{ tribeId: string }>(dirs.ada, 'tribe', 'create', 'Kin')
    await cli.json(dirs.ada, 'narrate', '--title', 'From Ada', '--body', 'first story')
    const ada = await cli.startNode(dirs.ada, 20_000, LOCAL)
    expect(ada.ready.networks).toHaveLength(1)

    for (const name of ['bo', 'cy'] as const) {
      // Invitations made through the running node carry its listen addresses.
      const { invite } = await cli.json<{ invite: string }>(dirs.ada, 'invite')
      expect(await cli.json(dirs[name], 'join', invite)).toEqual({ tribeId, name: 'Kin' })
      // Until a member's node confirms the admission, writing says what to do.
      const early = await cli.fail(dirs[name], 'narrate', '--title', 'Too early', '--body', 'x')
      expect(early).toMatchObject({
        code: 'USAGE',
        message: expect.stringMatching(/not confirmed yet/),
      })
      await cli.startNode(dirs[name], 20_000, LOCAL)
      await until(
        async () => (await cli.json<unknown[]>(dirs[name], 'tribes')).length === 1,
        `${name} admitted`,
        30_000,
      )
      await cli.json(dirs[name], 'narrate', '--title', `From ${name}`, '--body', `${name}'s story`)
    }

    const titles = async (dir: string) =>
      (await cli.json<NarrativeView[]>(dir, 'narratives')).map((n) => n.title).sort()
    const all = ['From Ada', 'From bo', 'From cy']
    for (const dir of Object.values(dirs)) {
      await until(
        async () => (await titles(dir)).join() === all.join(),
        `convergence in ${dir}`,
        30_000,
      )
    }
    const members = await cli.json<{ memberId: string; role: string }[]>(dirs.cy, 'members')
    expect(members.map((m) => m.memberId).sort()).toEqual(Object.values(ids).sort())
    const peers = await cli.json<{ memberId: string }[]>(dirs.ada, 'peers')
    expect(peers.map((p) => p.memberId).sort()).toEqual([ids.bo, ids.cy].sort())
  })

  it('a one-time invitation admits one member; a second joiner is refused', async () => {
    const ada = await cli.dataDir()
    const bo = await cli.dataDir()
    const cy = await cli.dataDir()
    for (const [dir, name] of [
      [ada, 'Ada'],
      [bo, 'Bo'],
      [cy, 'Cy'],
    ] as const) {
      await cli.json(dir, 'init', '--name', name)
    }
    await cli.json(ada, 'tribe', 'create', 'Kin')
    await cli.json(ada, 'narrate', '--title', 'Private to members', '--body', 'marker-one-time')
    await cli.startNode(ada, 20_000, LOCAL)
    const { invite } = await cli.json<{ invite: string }>(ada, 'invite', '--uses', '1')
    await cli.json(bo, 'join', invite)
    await cli.startNode(bo, 20_000, LOCAL)
    await until(
      async () => (await cli.json<NarrativeView[]>(bo, 'narratives')).length === 1,
      'Bo admitted and synced',
      30_000,
    )
    await cli.json(cy, 'join', invite)
    const cyNode = await cli.startNode(cy, 20_000, LOCAL)
    const refused = await until(
      () => cyNode.lines.find((l) => l.event === 'join:refused'),
      'Cy refused',
      30_000,
    )
    expect(refused).toMatchObject({ code: 'INVITE_USED_UP' })
    expect(await cli.json<NarrativeView[]>(cy, 'narratives')).toEqual([])
  })
})
