import { readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { NarrativeView, StatusView, TribeSummary } from '../src/core/node-api.js'
import { CliSandbox } from './helpers/cli.js'

/**
 * The `tapestry` command's contract (issue 3), on the real binary with no node running:
 * every command's JSON shape, `--json` errors, and what people read.
 */

const cli = new CliSandbox()
afterEach(() => cli.cleanup())

const NARRATIVE_KEYS = [
  'audience',
  'authors',
  'body',
  'createdAt',
  'id',
  'mood',
  'status',
  'tags',
  'title',
  'tribeId',
]
const keys = (o: object) => Object.keys(o).sort()

interface Member {
  dir: string
  memberId: string
  tribeId: string
}

/** A member with an identity and one tribe they steward. */
async function member(name = 'Ada'): Promise<Member> {
  const dir = await cli.dataDir()
  const { memberId } = await cli.json<{ memberId: string }>(dir, 'init', '--name', name)
  const { tribeId } = await cli.json<{ tribeId: string }>(dir, 'tribe', 'create', `${name}'s tribe`)
  return { dir, memberId, tribeId }
}

const narrate = async (dir: string, ...args: string[]) =>
  (await cli.json<{ narrativeId: string }>(dir, 'narrate', ...args)).narrativeId

const narratives = (dir: string, ...args: string[]) =>
  cli.json<NarrativeView[]>(dir, 'narratives', ...args)

const status = (dir: string) => cli.json<StatusView>(dir, 'status')

describe('tapestry init', () => {
  it('prints {memberId,name}, keeps the key 0600, never prints it, and refuses to overwrite', async () => {
    const dir = join(await cli.dataDir(), 'nested', 'data')
    const r = await cli.run(dir, ['init', '--name', 'Ada', '--json'])
    expect(r.code).toBe(0)
    const created = JSON.parse(r.stdout) as { memberId: string; name: string }
    expect(keys(created)).toEqual(['memberId', 'name'])
    expect(created).toEqual({ memberId: expect.stringMatching(/^12D3KooW\w+$/), name: 'Ada' })

    expect((await stat(join(dir, 'identity.key'))).mode & 0o777).toBe(0o600)
    expect((await stat(dir)).mode & 0o777).toBe(0o700)
    const key = await readFile(join(dir, 'identity.key'))
    for (const form of [key.toString('hex'), key.toString('base64'), key.toString('base64url')]) {
      expect(r.stdout + r.stderr).not.toContain(form.slice(-40))
    }

    const again = await cli.fail(dir, 'init', '--name', 'Someone else')
    expect(again).toMatchObject({ code: 'IDENTITY_EXISTS', message: expect.stringContaining(dir) })
    expect(again.exit).not.toBe(0)
    expect(await readFile(join(dir, 'identity.key'))).toEqual(key)
    expect(await status(dir)).toMatchObject({ memberId: created.memberId, name: 'Ada' })

    // Without --json, the refusal is for people: a message and a hint, no JSON.
    const human = await cli.run(dir, ['init', '--name', 'Ada'])
    expect(human.code).toBe(1)
    expect(human.stdout).toBe('')
    expect(human.stderr).toMatch(/^error: an identity already exists/)
    expect(human.stderr).toMatch(/\nhint: /)
  })

  it('commands before init say so, without creating the data directory', async () => {
    const dir = join(await cli.dataDir(), 'none')
    const e = await cli.fail(dir, 'status')
    expect(e).toMatchObject({ code: 'NO_IDENTITY', message: expect.stringContaining('init') })
    await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('TAPESTRY_DATA selects the data directory when --data is absent', async () => {
    const dir = await cli.dataDir()
    const r = await cli.run('', ['init', '--name', 'Env', '--json'], {
      env: { TAPESTRY_DATA: dir },
    })
    expect(r.code).toBe(0)
    expect(JSON.parse(r.stdout)).toMatchObject({ name: 'Env' })
    expect((await stat(join(dir, 'identity.key'))).isFile()).toBe(true)
  })
})

describe('tribes and status', () => {
  it('tribe create, tribes and status have the documented shapes', async () => {
    const dir = await cli.dataDir()
    const { memberId } = await cli.json<{ memberId: string }>(dir, 'init', '--name', 'Ada')
    const created = await cli.json<{ tribeId: string; name: string }>(
      dir,
      'tribe',
      'create',
      'River Folk',
    )
    expect(keys(created)).toEqual(['name', 'tribeId'])
    expect(created.name).toBe('River Folk')

    const tribes = await cli.json<TribeSummary[]>(dir, 'tribes')
    expect(tribes).toEqual([
      { tribeId: created.tribeId, name: 'River Folk', role: 'steward', members: 1 },
    ])

    const s = await status(dir)
    expect(keys(s)).toEqual(['documents', 'memberId', 'name', 'running', 'tribes'])
    expect(s).toMatchObject({ memberId, name: 'Ada', running: false, tribes })
    expect(s.documents).toBeGreaterThanOrEqual(2) // the roster and this member's profile
  })
})

describe('tapestry narrate and narratives', () => {
  it('--tribe may be left out with one tribe; --audience defaults to tribe', async () => {
    const m = await member()
    const id = await narrate(m.dir, '--title', 'The flood', '--body', 'We carried the boats.')
    expect(id).toMatch(/^narrative_/)
    const tagged = await narrate(
      m.dir,
      '--title',
      'Harvest',
      '--body',
      'Apples.',
      '--tags',
      'autumn, food',
      '--mood',
      'joyful',
    )
    const list = await narratives(m.dir)
    expect(list.map((n) => n.id)).toEqual([id, tagged])
    for (const n of list) expect(keys(n)).toEqual(NARRATIVE_KEYS)
    expect(list[0]).toEqual({
      id,
      tribeId: m.tribeId,
      title: 'The flood',
      body: 'We carried the boats.',
      authors: [m.memberId],
      audience: 'tribe',
      tags: [],
      mood: null,
      createdAt: expect.any(Number),
      status: 'published',
    })
    expect(list[1]).toMatchObject({ tags: ['autumn', 'food'], mood: 'joyful', audience: 'tribe' })
    expect(Math.abs(list[0]!.createdAt - Date.now())).toBeLessThan(60_000)
  })

  it('with two tribes --tribe is required, with a clear error; --tribe picks and filters', async () => {
    const m = await member()
    const { tribeId: second } = await cli.json<{ tribeId: string }>(m.dir, 'tribe', 'create', 'Two')
    const before = await status(m.dir)

    const e = await cli.fail(m.dir, 'narrate', '--title', 'Where?', '--body', 'b')
    expect(e).toMatchObject({
      code: 'USAGE',
      exit: 2,
      message: expect.stringMatching(/several tribes/),
    })
    const human = await cli.run(m.dir, ['narrate', '--title', 'Where?', '--body', 'b'])
    expect(human.code).toBe(2)
    expect(human.stderr).toMatch(/hint: .*--tribe/)
    expect(await status(m.dir)).toEqual(before)

    const inSecond = await narrate(m.dir, '--title', 'Second', '--body', 'b', '--tribe', second)
    const inFirst = await narrate(m.dir, '--title', 'First', '--body', 'b', '--tribe', m.tribeId)
    expect((await narratives(m.dir, '--tribe', second)).map((n) => n.id)).toEqual([inSecond])
    expect((await narratives(m.dir, '--tribe', m.tribeId)).map((n) => n.id)).toEqual([inFirst])
    expect((await narratives(m.dir)).map((n) => n.tribeId).sort()).toEqual(
      [m.tribeId, second].sort(),
    )

    const unknown = await cli.fail(
      m.dir,
      'narrate',
      '--title',
      't',
      '--body',
      'b',
      '--tribe',
      'roster_nope',
    )
    expect(unknown.code).toBe('NOT_FOUND')
  })

  it('--audience takes private, federated, tribe and circle:MEMBER,MEMBER', async () => {
    const m = await member()
    const other = await member('Bo')
    const circle = `circle:${other.memberId},${m.memberId}`
    const ids = {
      private: await narrate(m.dir, '--title', 'p', '--body', 'b', '--audience', 'private'),
      federated: await narrate(m.dir, '--title', 'f', '--body', 'b', '--audience', 'federated'),
      tribe: await narrate(m.dir, '--title', 't', '--body', 'b', '--audience', 'tribe'),
      circle: await narrate(m.dir, '--title', 'c', '--body', 'b', '--audience', circle),
    }
    const byId = new Map((await narratives(m.dir)).map((n) => [n.id, n.audience]))
    expect(byId.get(ids.private)).toBe('private')
    expect(byId.get(ids.federated)).toBe('federated')
    expect(byId.get(ids.tribe)).toBe('tribe')
    const members = byId
      .get(ids.circle)!
      .replace(/^circle:/, '')
      .split(',')
      .sort()
    expect(members).toEqual([m.memberId, other.memberId].sort())

    const before = await status(m.dir)
    for (const bad of ['everyone', 'circle:', 'circle:not-a-member-id']) {
      const e = await cli.fail(m.dir, 'narrate', '--title', 'x', '--body', 'b', '--audience', bad)
      expect(e, bad).toMatchObject({ code: 'USAGE', exit: 2 })
    }
    expect(await status(m.dir)).toEqual(before)
  })

  it('--body-file reads the body; exactly one of --body and --body-file', async () => {
    const m = await member()
    const file = join(m.dir, 'story.txt')
    const body = 'Line one\n  indented — “quoted” ✓\n\nlast line without newline'
    await writeFile(file, body)
    const id = await narrate(m.dir, '--title', 'From a file', '--body-file', file)
    expect((await cli.json<NarrativeView>(m.dir, 'show', id)).body).toBe(body)

    const both = await cli.fail(
      m.dir,
      'narrate',
      '--title',
      't',
      '--body',
      'b',
      '--body-file',
      file,
    )
    expect(both).toMatchObject({ code: 'USAGE', exit: 2 })
    const neither = await cli.fail(m.dir, 'narrate', '--title', 't')
    expect(neither).toMatchObject({ code: 'USAGE', exit: 2 })
    const missing = await cli.fail(
      m.dir,
      'narrate',
      '--title',
      't',
      '--body-file',
      join(m.dir, 'nope'),
    )
    expect(missing).toMatchObject({
      code: 'USAGE',
      exit: 2,
      message: expect.stringContaining('--body-file'),
    })
    expect((await narratives(m.dir)).map((n) => n.id)).toEqual([id])
  })
})

describe('tapestry show, echo and withdraw', () => {
  it('show lists echoes; withdraw erases the content and refuses new echoes', async () => {
    const m = await member()
    const id = await narrate(m.dir, '--title', 'The well', '--body', 'Deep water.')
    const echo = await cli.json<{ echoId: string }>(m.dir, 'echo', id, '--body', 'I remember it.')
    expect(keys(echo)).toEqual(['echoId'])
    expect(echo.echoId).toMatch(/^echo_/)

    const shown = await cli.json<NarrativeView & { echoes: unknown[] }>(m.dir, 'show', id)
    expect(keys(shown)).toEqual([...NARRATIVE_KEYS, 'echoes'].sort())
    expect(shown).toMatchObject({ id, title: 'The well', body: 'Deep water.', status: 'published' })
    expect(shown.echoes).toEqual([
      {
        id: echo.echoId,
        author: m.memberId,
        body: 'I remember it.',
        createdAt: expect.any(Number),
      },
    ])

    const withdrawn = await cli.json(m.dir, 'withdraw', id)
    expect(withdrawn).toEqual({ narrativeId: id, status: 'withdrawn' })
    const after = await cli.json<NarrativeView & { echoes: unknown[] }>(m.dir, 'show', id)
    expect(after).toMatchObject({ id, status: 'withdrawn', title: '', body: '', echoes: [] })
    expect(await cli.fail(m.dir, 'echo', id, '--body', 'too late')).toMatchObject({
      code: 'FORBIDDEN',
    })
    // Withdrawing again is harmless.
    expect(await cli.json(m.dir, 'withdraw', id)).toEqual({ narrativeId: id, status: 'withdrawn' })
  })

  it('unknown ids: NOT_FOUND for a well-formed id this node lacks, USAGE for a malformed one', async () => {
    const m = await member()
    const elsewhere = await member('Bo')
    const foreign = await narrate(elsewhere.dir, '--title', 'Not yours', '--body', 'b')
    const before = await status(m.dir)
    for (const args of [
      ['show', foreign],
      ['echo', foreign, '--body', 'x'],
      ['withdraw', foreign],
    ]) {
      const e = await cli.fail(m.dir, ...args)
      expect(e, args.join(' ')).toMatchObject({ code: 'NOT_FOUND', exit: 1 })
      expect(e.message).toContain(foreign)
    }
    for (const args of [
      ['show', 'nope'],
      ['echo', 'nope', '--body', 'x'],
      ['withdraw', 'nope'],
    ]) {
      expect(await cli.fail(m.dir, ...args), args.join(' ')).toMatchObject({
        code: 'USAGE',
        exit: 2,
      })
    }
    // An echo id is not a narrative id.
    const id = await narrate(m.dir, '--title', 't', '--body', 'b')
    const { echoId } = await cli.json<{ echoId: string }>(m.dir, 'echo', id, '--body', 'e')
    expect(await cli.fail(m.dir, 'show', echoId)).toMatchObject({ code: 'USAGE' })
    expect((await status(m.dir)).documents).toBe(before.documents + 2)
  })
})

describe('bad input is refused with a typed error and nothing stored', () => {
  it('oversized title, body, tags and echo body', async () => {
    const m = await member()
    const id = await narrate(m.dir, '--title', 'Kept', '--body', 'b')
    const before = { list: await narratives(m.dir), status: await status(m.dir) }
    const bigBody = join(m.dir, 'big.txt')
    await writeFile(bigBody, 'y'.repeat(1024 * 1024 + 1))
    const attempts: string[][] = [
      ['narrate', '--title', 't'.repeat(201), '--body', 'b'],
      ['narrate', '--title', 'big', '--body-file', bigBody],
      [
        'narrate',
        '--title',
        'tags',
        '--body',
        'b',
        '--tags',
        Array.from({ length: 33 }, (_, i) => `t${i}`).join(','),
      ],
      ['narrate', '--title', 'mood', '--body', 'b', '--mood', 'm'.repeat(41)],
      ['echo', id, '--body', 'e'.repeat(64 * 1024 + 1)],
    ]
    for (const args of attempts) {
      const e = await cli.fail(m.dir, ...args)
      expect(e.code, args[1]).toMatch(/OVERSIZED/)
      expect(e.message).toMatch(/limit/)
    }
    expect(await narratives(m.dir)).toEqual(before.list)
    expect(await status(m.dir)).toEqual(before.status)
    expect((await cli.json<{ echoes: unknown[] }>(m.dir, 'show', id)).echoes).toEqual([])
  })

  it('malformed flags and commands: USAGE, exit 2, nothing on stdout', async () => {
    const m = await member()
    const id = await narrate(m.dir, '--title', 't', '--body', 'b')
    const before = await status(m.dir)
    const attempts: string[][] = [
      ['narratives', '--bogus'],
      ['frobnicate'],
      [],
      ['tribe'],
      ['narrate', '--body', 'no title'],
      ['narrate', '--title'],
      ['show'],
      ['echo', id],
      ['init'],
      ['tribe', 'create'],
      ['narratives', 'extra', 'args'],
    ]
    for (const args of attempts) {
      const e = await cli.fail(m.dir, ...args)
      expect(e, args.join(' ')).toMatchObject({ code: 'USAGE', exit: 2 })
    }
    const human = await cli.run(m.dir, ['narratives', '--bogus'])
    expect(human).toMatchObject({ code: 2, stdout: '' })
    expect(human.stderr).toMatch(/^error: unknown option '--bogus'\nhint: .*--help/)
    const bare = await cli.run(m.dir, [])
    expect(bare.code).toBe(2)
    expect(bare.stderr).toMatch(/Usage: tapestry/)
    expect(await status(m.dir)).toEqual(before)
  })
})

describe('output for people', () => {
  it('aligned tables with the titles, and status in words', async () => {
    const m = await member()
    await narrate(m.dir, '--title', 'A short one', '--body', 'b')
    await narrate(
      m.dir,
      '--title',
      'A much longer title than that',
      '--body',
      'b',
      '--audience',
      'private',
    )

    const r = await cli.run(m.dir, ['narratives'])
    expect(r.code).toBe(0)
    const lines = r.stdout.trimEnd().split('\n')
    expect(lines[0]).toMatch(/^id\s+title\s+audience\s+status\s+authors\s+created$/)
    expect(lines[1]).toMatch(/^-+( +-+){5}$/)
    expect(lines).toHaveLength(4)
    const col = (name: string) => lines[0]!.indexOf(name)
    expect(lines[2]!.indexOf('A short one')).toBe(col('title'))
    expect(lines[3]!.indexOf('A much longer title than that')).toBe(col('title'))
    expect(lines[2]!.indexOf('tribe')).toBe(col('audience'))
    expect(lines[3]!.indexOf('private')).toBe(col('audience'))
    expect(lines[2]!.indexOf('published')).toBe(col('status'))
    expect(() => JSON.parse(r.stdout)).toThrow()

    const tribes = (await cli.run(m.dir, ['tribes'])).stdout.split('\n')
    expect(tribes[0]).toMatch(/^tribe\s+name\s+role\s+members$/)
    expect(tribes[2]!.indexOf('steward')).toBe(tribes[0]!.indexOf('role'))

    const s = await cli.run(m.dir, ['status'])
    expect(s.stdout).toContain(m.memberId)
    expect(s.stdout).toMatch(/node\s+not running/)
    expect(s.stdout).toContain("Ada's tribe")

    const id = (await narratives(m.dir))[0]!.id
    const show = await cli.run(m.dir, ['show', id])
    expect(show.stdout).toMatch(/^A short one {2}\[tribe, published\]/)
    expect(show.stdout).toContain('0 echo(es)')
  })
})
