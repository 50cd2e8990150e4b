import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { DEFAULT_KEY_GRACE_MS, TribeKeys } from '../src/core/tribe-keys.js'
import { decodeSwarmKey, encodeSwarmKey, generateSwarmKey } from '../src/net/swarm-key.js'

const T = 'roster_baaaaaaaaaaaaaaaaaaaaaaaaaa'

describe('tribe keys with epochs', () => {
  const dirs: string[] = []
  afterEach(async () => {
    for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true })
  })
  async function keysAt(clock: { now: number }, graceMs?: number) {
    const dir = await mkdtemp(join(tmpdir(), 'tapestry-keys-'))
    dirs.push(dir)
    return {
      dir,
      keys: new TribeKeys(dir, { now: () => clock.now, ...(graceMs ? { graceMs } : {}) }),
    }
  }

  it('rotates: swarm.key stays the standard current key; the old one is kept with its epoch', async () => {
    const clock = { now: 1_000 }
    const { dir, keys } = await keysAt(clock)
    const k0 = generateSwarmKey()
    const k1 = generateSwarmKey()
    await keys.save(T, k0)
    expect(await keys.keys(T)).toEqual({ current: k0, epoch: 0, previous: [] })
    clock.now = 2_000
    await keys.rotate(T, 1, k1)
    await keys.rotate(T, 1, k1) // idempotent
    expect(await keys.keys(T)).toEqual({
      current: k1,
      epoch: 1,
      previous: [{ epoch: 0, key: k0, retiredAt: 2_000 }],
    })
    expect(decodeSwarmKey(await readFile(keys.file(T), 'utf8'))).toEqual(k1)
    expect(await keys.load(T)).toEqual(k1)
    for (const f of ['swarm.key', 'key-epochs.json']) {
      expect((await stat(join(dir, 'tribes', T, f))).mode & 0o777).toBe(0o600)
    }
    expect(await keys.list()).toEqual([T])
  })

  it('keeps previous keys only for the grace period (default 7 days)', async () => {
    const clock = { now: 0 }
    const { keys } = await keysAt(clock)
    await keys.save(T, generateSwarmKey())
    await keys.rotate(T, 1, generateSwarmKey())
    clock.now = DEFAULT_KEY_GRACE_MS - 1
    expect((await keys.keys(T)).previous).toHaveLength(1)
    clock.now = DEFAULT_KEY_GRACE_MS
    expect((await keys.keys(T)).previous).toEqual([])
    const short = await keysAt({ now: 10 }, 5)
    await short.keys.save(T, generateSwarmKey())
    await short.keys.rotate(T, 1, generateSwarmKey())
    expect((await short.keys.keys(T)).previous).toHaveLength(1)
  })

  it('a losing same-epoch key is replaced by the winner and kept as previous', async () => {
    const { keys } = await keysAt({ now: 5 })
    const k0 = generateSwarmKey()
    const mine = generateSwarmKey()
    const winner = generateSwarmKey()
    await keys.save(T, k0)
    await keys.rotate(T, 1, mine)
    await keys.rotate(T, 1, winner)
    const held = await keys.keys(T)
    expect(held.current).toEqual(winner)
    expect(held.epoch).toBe(1)
    expect(held.previous.map((p) => [p.epoch, p.key])).toEqual([
      [1, mine],
      [0, k0],
    ])
  })

  it('a swarm.key replaced by hand reads as epoch 0; discard forgets the tribe', async () => {
    const { keys } = await keysAt({ now: 5 })
    await keys.save(T, generateSwarmKey())
    await keys.rotate(T, 3, generateSwarmKey())
    await writeFile(keys.file(T), encodeSwarmKey(generateSwarmKey()))
    expect((await keys.keys(T)).epoch).toBe(0)
    await keys.discard(T)
    expect(await keys.list()).toEqual([])
    await expect(keys.load(T)).rejects.toMatchObject({ code: 'NO_SWARM_KEY' })
  })
})
