import { randomUUID } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readNarrative } from '@tapestry/crdt-schema'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { DocumentEvent } from '../src/core/node-api.js'
import type { TapestryNode } from '../src/core/tapestry-node.js'
import { NotFoundError, UsageError } from '../src/errors.js'
import { createIdentity } from '../src/identity/index.js'
import { Tapestry } from '../src/root/tapestry.js'
import { filesContaining } from './helpers/store-files.js'

/** TapestryNode in-process: the NodeApi the CLI and the control API are built on. */

let dataDir: string
let node: TapestryNode | undefined

const open = async () => {
  node = (await Tapestry.open({ dataDir })).node
  return node
}
const reopen = async () => {
  await node?.close()
  node = undefined
  return open()
}

beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'tapestry-node-'))
  await createIdentity(dataDir, 'Ada')
})
afterEach(async () => {
  await node?.close()
  node = undefined
  await rm(dataDir, { recursive: true, force: true })
})

describe('TapestryNode', () => {
  it('creates a tribe, narrates, echoes, and keeps it all across a reopen', async () => {
    const n = await open()
    const { tribeId } = await n.createTribe('River Folk')
    expect(await n.tribes()).toEqual([{ tribeId, name: 'River Folk', role: 'steward', members: 1 }])
    const { narrativeId } = await n.narrate({
      title: 'The flood',
      body: 'We carried the boats.',
      tags: ['water'],
      mood: 'solemn',
    })
    const { echoId } = await n.echo(narrativeId, 'I was there.')
    const shown = await n.show(narrativeId)
    expect(shown).toMatchObject({
      id: narrativeId,
      tribeId,
      title: 'The flood',
      body: 'We carried the boats.',
      authors: [n.memberId],
      audience: 'tribe',
      tags: ['water'],
      mood: 'solemn',
      status: 'published',
    })
    expect(shown.echoes).toEqual([
      { id: echoId, author: n.memberId, body: 'I was there.', createdAt: expect.any(Number) },
    ])
    const status = await n.status()
    expect(status).toMatchObject({ memberId: n.memberId, name: 'Ada', running: false })

    const tribes = await n.tribes()
    const again = await reopen()
    expect(await again.tribes()).toEqual(tribes)
    expect(await again.show(narrativeId)).toEqual(shown)
    expect(await again.status()).toEqual(status)
    const { echoes: _, ...view } = shown
    expect(await again.narratives({})).toEqual([view])
  })

  it('refuses what it cannot do with typed errors', async () => {
    const n = await open()
    await expect(n.narrate({ title: 't', body: 'b' })).rejects.toMatchObject({ code: 'USAGE' })
    const { tribeId } = await n.createTribe('One')
    const { tribeId: two } = await n.createTribe('Two')
    const needTribe = await n.narrate({ title: 't', body: 'b' }).catch((e: unknown) => e)
    expect(needTribe).toBeInstanceOf(UsageError)
    expect(needTribe).toMatchObject({ hint: expect.stringContaining('--tribe') })
    const { narrativeId } = await n.narrate({ title: 't', body: 'b', tribeId: two })
    expect((await n.narratives({ tribeId })).length).toBe(0)
    expect((await n.narratives({ tribeId: two })).map((v) => v.id)).toEqual([narrativeId])

    const other = await mkdtemp(join(tmpdir(), 'tapestry-node-other-'))
    try {
      await createIdentity(other, 'Bo')
      const bo = (await Tapestry.open({ dataDir: other })).node
      await bo.createTribe('Elsewhere')
      const { narrativeId: foreign } = await bo.narrate({ title: 'theirs', body: 'b' })
      await bo.close()
      await expect(n.show(foreign)).rejects.toBeInstanceOf(NotFoundError)
      await expect(n.withdraw(foreign)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    } finally {
      await rm(other, { recursive: true, force: true })
    }
    await expect(n.show('nope')).rejects.toBeInstanceOf(UsageError)
    const documents = (await n.status()).documents
    await expect(n.narrate({ title: 'x'.repeat(201), body: 'b', tribeId })).rejects.toMatchObject({
      code: expect.stringMatching(/OVERSIZED/),
    })
    await expect(n.echo(narrativeId, 'e'.repeat(64 * 1024 + 1))).rejects.toMatchObject({
      code: expect.stringMatching(/OVERSIZED/),
    })
    expect((await n.status()).documents).toBe(documents)
  })

  it('withdraw erases the content: the marker is in the files before, in none after', async () => {
    const n = await open()
    await n.createTribe('River Folk')
    const marker = `marker-${randomUUID()}`
    const echoMarker = `echo-${randomUUID()}`
    const kept = `kept-${randomUUID()}`
    const { narrativeId } = await n.narrate({
      title: `Title ${marker}`,
      body: `The body says ${marker} twice: ${marker}.`,
    })
    await n.echo(narrativeId, `Echoing ${echoMarker}`)
    const { narrativeId: other } = await n.narrate({ title: 'Other', body: kept })
    // Durable and uncompressed: the text is in the store's files now (not a vacuous test).
    expect(await filesContaining(dataDir, marker)).not.toEqual([])
    expect(await filesContaining(dataDir, echoMarker)).not.toEqual([])
    // Through a reopen too, so it sits in table files as well as the log.
    const m = await reopen()
    expect(await filesContaining(dataDir, marker)).not.toEqual([])

    expect(await m.withdraw(narrativeId)).toEqual({ narrativeId, status: 'withdrawn' })
    expect(await filesContaining(dataDir, marker)).toEqual([])
    expect(await filesContaining(dataDir, echoMarker)).toEqual([])
    expect(await m.show(narrativeId)).toMatchObject({ status: 'withdrawn', title: '', body: '' })
    expect((await m.show(other)).body).toBe(kept)

    const after = await reopen()
    expect(await filesContaining(dataDir, marker)).toEqual([])
    expect(await after.show(narrativeId)).toMatchObject({ status: 'withdrawn', echoes: [] })
    expect((await after.show(other)).body).toBe(kept)
    expect(await filesContaining(dataDir, kept)).not.toEqual([])
  })

  it('subscribe() delivers local writes with their Yjs update, and erasures', async () => {
    const n = await open()
    const events: DocumentEvent[] = []
    const unsubscribe = n.subscribe((e) => events.push(e))
    const { tribeId } = await n.createTribe('River Folk')
    expect(events.some((e) => e.docId === tribeId && e.kind === 'roster')).toBe(true)

    const { narrativeId } = await n.narrate({ title: 'Live', body: 'as it happens' })
    // Delivered by the time narrate resolved (the write is durable, then announced).
    const written = events.filter((e) => e.docId === narrativeId && e.update)
    expect(written).toHaveLength(1)
    // Its signed genesis record is announced too (subscribers refresh authority from it).
    expect(events.some((e) => e.docId === narrativeId && e.record === 'narrative.genesis')).toBe(
      true,
    )
    expect(written[0]).toMatchObject({ kind: 'narrative', origin: 'local' })
    const doc = new Y.Doc()
    Y.applyUpdate(doc, written[0]!.update!)
    const content = readNarrative(doc, narrativeId)
    expect(content.ok && content.value).toMatchObject({ title: 'Live', body: 'as it happens' })

    await n.withdraw(narrativeId)
    expect(events.filter((e) => e.docId === narrativeId && e.erased)).toEqual([
      { docId: narrativeId, kind: 'narrative', origin: 'local', erased: true },
    ])

    unsubscribe()
    const count = events.length
    await n.narrate({ title: 'Unheard', body: 'b' })
    expect(events.length).toBe(count)
  })
})
