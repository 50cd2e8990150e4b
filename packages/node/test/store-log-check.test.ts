import { appendFile, readdir, readFile, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { ClassicLevel } from 'classic-level'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { checkLevelLogs, findLogDamage } from '../src/store/log-check.js'
import { removeDir, tempDir } from './helpers/store-files.js'

/** The check of LevelDB's write-ahead log that runs before LevelDB replays (and prunes) it. */

let dir: string
beforeEach(async () => {
  dir = await tempDir('tapestry-logcheck-')
})
afterEach(() => removeDir(dir))

/** A log written by LevelDB itself: small records, then one spanning three blocks. */
async function writtenLog(): Promise<string> {
  const db = new ClassicLevel<string, string>(dir)
  await db.put('small', 'x'.repeat(100), { sync: true })
  await db.put('large', Array.from({ length: 15_000 }, (_, i) => `w${i}`).join(' '), { sync: true })
  await db.put('last', 'tail '.repeat(400), { sync: true })
  await db.close()
  const log = (await readdir(dir)).find((n) => n.endsWith('.log'))!
  expect((await readFile(join(dir, log))).length).toBeGreaterThan(64 * 1024)
  return join(dir, log)
}

describe('checkLevelLogs', () => {
  it('accepts what LevelDB wrote, fragments across blocks included', async () => {
    await writtenLog()
    expect(await checkLevelLogs(dir)).toBeUndefined()
  })

  it('accepts a torn tail: the last write cut short, or its last sectors zeros', async () => {
    const log = await writtenLog()
    const pristine = await readFile(log)
    const size = pristine.length
    const boundary = Math.floor((size - 1) / 512) * 512
    expect(size - boundary).toBeLessThan(2000) // inside the last record
    await truncate(log, boundary)
    expect(await checkLevelLogs(dir)).toBeUndefined()
    await appendFile(log, Buffer.alloc(size - boundary + 3000))
    expect(await checkLevelLogs(dir)).toBeUndefined()
    // Zeros that do not start on a sector boundary are not a torn write but damage.
    const cut = boundary + Math.ceil((size - boundary) / 2)
    expect(cut).toBeGreaterThan(boundary)
    await writeFile(log, Buffer.concat([pristine.subarray(0, cut), Buffer.alloc(size - cut)]))
    expect(await checkLevelLogs(dir)).toMatch(/checksum mismatch/)
  })

  it('reports a flipped bit in any block, and bad lengths, naming the file', async () => {
    const log = await writtenLog()
    const pristine = await readFile(log)
    for (const at of [20, 40_000, pristine.length - 5]) {
      const bytes = Buffer.from(pristine)
      bytes[at]! ^= 0x01
      await writeFile(log, bytes)
      expect(await checkLevelLogs(dir), `bit ${at}`).toMatch(/^\d+\.log: (checksum|bad record)/)
    }
    // A length running past its block (not at the end of the file) is damage.
    const bytes = Buffer.from(pristine)
    bytes.writeUInt16LE(0xffff, 4)
    expect(findLogDamage(bytes)).toMatch(/bad record length at offset 0/)
  })

  it('is quiet for a missing directory', async () => {
    expect(await checkLevelLogs(join(dir, 'nope'))).toBeUndefined()
  })
})
