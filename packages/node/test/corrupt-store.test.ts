import { cp, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import type { NarrativeView } from '../src/core/node-api.js'
import { createIdentity } from '../src/identity/index.js'
import { Tapestry } from '../src/root/tapestry.js'
import { CliSandbox } from './helpers/cli.js'
import { readAllFiles } from './helpers/store-files.js'

/**
 * A corrupt or truncated store (issue 3): the CLI exits non-zero with STORE_CORRUPT and
 * a hint saying what to do, and loses nothing: the damaged files stay as they were, so
 * putting the damaged file back from a backup brings every narrative back.
 */

const cli = new CliSandbox()
afterEach(() => cli.cleanup())

const TITLES = ['In a table', 'Also in a table', 'Only in the log']
let pristine: string

/** A data directory whose store has narratives in table files and one in the log. */
beforeAll(async () => {
  pristine = await mkdtemp(join(tmpdir(), 'tapestry-pristine-'))
  await createIdentity(pristine, 'Ada')
  let node = (await Tapestry.open({ dataDir: pristine })).node
  await node.createTribe('River Folk')
  await node.narrate({ title: TITLES[0]!, body: 'one' })
  await node.narrate({ title: TITLES[1]!, body: 'two' })
  await node.close()
  // Reopening turns the log into a table; the third narrative stays in the new log.
  node = (await Tapestry.open({ dataDir: pristine })).node
  await node.narrate({ title: TITLES[2]!, body: 'three' })
  await node.close()
})
afterAll(() => rm(pristine, { recursive: true, force: true }))

const storeOf = (dir: string) => join(dir, 'store')

/** The store's files LevelDB must not rewrite on a refused open (its LOG and LOCK may). */
async function dataFiles(dir: string): Promise<Map<string, Buffer>> {
  const files = await readAllFiles(storeOf(dir))
  for (const name of ['LOG', 'LOG.old', 'LOCK']) files.delete(name)
  return files
}

async function fileNamed(dir: string, pattern: RegExp): Promise<string> {
  const names = (await readdir(storeOf(dir))).filter((n) => pattern.test(n)).sort()
  expect(names.length, `a file matching ${pattern}`).toBeGreaterThan(0)
  // The largest one: the table or log that holds the narratives.
  const sizes = await Promise.all(
    names.map(async (n) => (await readFile(join(storeOf(dir), n))).length),
  )
  return names[sizes.indexOf(Math.max(...sizes))]!
}

interface Damage {
  name: string
  /** Damages the copy in `dir`; returns the store file to put back from the backup. */
  damage(dir: string): Promise<string>
  /** LevelDB refuses to open (or our check refuses first): not one data file changes. */
  refusedBeforeOpen: boolean
}

const damages: Damage[] = [
  {
    name: 'garbage in CURRENT',
    refusedBeforeOpen: true,
    async damage(dir) {
      await writeFile(join(storeOf(dir), 'CURRENT'), 'garbage without newline')
      return 'CURRENT'
    },
  },
  {
    name: 'CURRENT naming a missing MANIFEST',
    refusedBeforeOpen: true,
    async damage(dir) {
      await writeFile(join(storeOf(dir), 'CURRENT'), 'MANIFEST-999999\n')
      return 'CURRENT'
    },
  },
  {
    name: 'CURRENT deleted (LevelDB would start afresh and delete the rest)',
    refusedBeforeOpen: true,
    async damage(dir) {
      await rm(join(storeOf(dir), 'CURRENT'))
      return 'CURRENT'
    },
  },
  {
    name: 'truncated MANIFEST',
    refusedBeforeOpen: true,
    async damage(dir) {
      const manifest = await fileNamed(dir, /^MANIFEST-/)
      await truncate(join(storeOf(dir), manifest), 7)
      return manifest
    },
  },
  {
    name: 'damaged bytes in the write-ahead log (LevelDB alone would drop the record)',
    refusedBeforeOpen: true,
    async damage(dir) {
      const log = await fileNamed(dir, /^\d+\.log$/)
      const path = join(storeOf(dir), log)
      const bytes = await readFile(path)
      expect(bytes.length).toBeGreaterThan(200)
      for (let i = 100; i < 140; i++) bytes[i]! ^= 0x5a
      await writeFile(path, bytes)
      return log
    },
  },
  {
    name: 'truncated table file',
    refusedBeforeOpen: false,
    async damage(dir) {
      const table = await fileNamed(dir, /^\d+\.ldb$/)
      await truncate(join(storeOf(dir), table), 40)
      return table
    },
  },
  {
    name: 'damaged bytes in a table file',
    refusedBeforeOpen: false,
    async damage(dir) {
      const table = await fileNamed(dir, /^\d+\.ldb$/)
      const path = join(storeOf(dir), table)
      const bytes = await readFile(path)
      bytes.fill(0x5a, 0, Math.min(200, bytes.length - 48))
      await writeFile(path, bytes)
      return table
    },
  },
]

describe('a damaged store', () => {
  it('the pristine copy reads cleanly (the damage below is what fails)', async () => {
    const dir = await cli.dataDir()
    await cp(pristine, dir, { recursive: true })
    const titles = (await cli.json<NarrativeView[]>(dir, 'narratives')).map((n) => n.title)
    expect(titles).toEqual(TITLES)
  })

  for (const d of damages) {
    it(`${d.name}: STORE_CORRUPT with a hint, and nothing lost`, async () => {
      const dir = await cli.dataDir()
      await cp(pristine, dir, { recursive: true })
      const damaged = await d.damage(dir)
      const damagedBytes = await readFile(join(storeOf(dir), damaged)).catch(() => undefined)
      const before = await dataFiles(dir)

      const e = await cli.fail(dir, 'narratives')
      expect(e).toMatchObject({ code: 'STORE_CORRUPT', exit: 1 })
      expect(e.message).toContain(storeOf(dir))
      const human = await cli.run(dir, ['narratives'])
      expect(human.code).toBe(1)
      expect(human.stdout).toBe('')
      expect(human.stderr).toMatch(/^error: the store at .* is damaged/)
      expect(human.stderr).toMatch(/\nhint: .*backup.*Nothing has been deleted/)
      // Other commands refuse the same way; none "repairs" the store by dropping data.
      for (const args of [['status'], ['narrate', '--title', 'new', '--body', 'b']]) {
        expect(await cli.fail(dir, ...args), args[0]).toMatchObject({ code: 'STORE_CORRUPT' })
      }

      if (d.refusedBeforeOpen) {
        expect(await dataFiles(dir)).toEqual(before)
      } else {
        // LevelDB opened (and rotated its log and manifest) before the damage showed:
        // the damaged table itself is kept as it was.
        expect(await readFile(join(storeOf(dir), damaged))).toEqual(damagedBytes)
      }

      // What the hint says works: put the damaged file back from a backup.
      await cp(join(storeOf(pristine), damaged), join(storeOf(dir), damaged))
      const titles = (await cli.json<NarrativeView[]>(dir, 'narratives')).map((n) => n.title)
      expect(titles).toEqual(TITLES)
    })
  }
})
