import { narrativeBody } from '@tapestry/crdt-schema'
import { afterEach, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import type { DocumentEvent } from '../src/core/node-api.js'
import { makeMember, makeTribe, pull, type TestMember } from './helpers/tribe.js'

const b64 = (u: Uint8Array) => Buffer.from(u).toString('base64')

/** A renderer's replica: starts from the session's state, writes as the session's client. */
function replica(state: string, clientId: number): Y.Doc {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, new Uint8Array(Buffer.from(state, 'base64')), 'node')
  doc.clientID = clientId
  return doc
}

/** Runs `fn` on the replica and returns the update it made. */
function edit(doc: Y.Doc, fn: (d: Y.Doc) => void): Uint8Array {
  let update: Uint8Array | undefined
  const on = (u: Uint8Array, origin: unknown) => {
    if (origin !== 'node') update = u
  }
  doc.on('update', on)
  fn(doc)
  doc.off('update', on)
  if (!update) throw new Error('no update')
  return update
}

describe('editing sessions', () => {
  const members: TestMember[] = []
  afterEach(async () => {
    for (const m of members.splice(0)) await m.cleanup()
  })

  it("an edit session's updates become envelopes another node accepts", async () => {
    const ada = await makeMember('Ada')
    const bo = await makeMember('Bo')
    members.push(ada, bo)
    const { tribeId } = await makeTribe('River Folk', [ada, bo])
    const { narrativeId } = await ada.node.narrate({ title: 'River', body: 'Hello' })
    const events: DocumentEvent[] = []
    ada.node.subscribe((e) => events.push(e))

    const s = await ada.node.editSession(narrativeId)
    expect(s.writerId).toMatch(/^[0-9a-f]{16}$/)
    const doc = replica(s.state, s.clientId)
    expect(narrativeBody(doc).toString()).toBe('Hello')
    const u1 = edit(doc, (d) => narrativeBody(d).insert(5, ', river'))
    expect(await ada.node.editUpdate(narrativeId, s.writerId, b64(u1))).toEqual({ seq: 1 })
    const u2 = edit(doc, (d) => narrativeBody(d).delete(0, 1))
    expect(await ada.node.editUpdate(narrativeId, s.writerId, b64(u2))).toEqual({ seq: 2 })

    expect((await ada.node.show(narrativeId)).body).toBe('ello, river')
    // Subscribers (the UI, other pages) receive the update bytes.
    expect(events.filter((e) => e.docId === narrativeId && e.update).length).toBe(2)

    const { e } = await pull(ada.node, bo.node, tribeId)
    expect(e).toBeDefined()
    expect((await bo.node.show(narrativeId)).body).toBe('ello, river')
    // And the node's own writes still go on after the session's.
    await ada.reopen()
    expect((await ada.node.show(narrativeId)).body).toBe('ello, river')
  })

  it('refuses an update under another client id', async () => {
    const ada = await makeMember('Ada')
    members.push(ada)
    await makeTribe('River Folk', [ada])
    const { narrativeId } = await ada.node.narrate({ title: 'River', body: 'Hello' })
    const s = await ada.node.editSession(narrativeId)
    const doc = replica(s.state, 12345)
    const forged = edit(doc, (d) => narrativeBody(d).insert(0, 'X'))
    await expect(ada.node.editUpdate(narrativeId, s.writerId, b64(forged))).rejects.toMatchObject({
      code: 'FOREIGN_CLIENT',
    })
    expect((await ada.node.show(narrativeId)).body).toBe('Hello')
  })

  it('refuses a member who is not an author, and edits after a withdrawal', async () => {
    const ada = await makeMember('Ada')
    const bo = await makeMember('Bo')
    members.push(ada, bo)
    const { tribeId } = await makeTribe('River Folk', [ada, bo])
    const { narrativeId } = await ada.node.narrate({ title: 'River', body: 'Hello' })
    await pull(ada.node, bo.node, tribeId)
    await expect(bo.node.editSession(narrativeId)).rejects.toMatchObject({ code: 'FORBIDDEN' })

    const s = await ada.node.editSession(narrativeId)
    const doc = replica(s.state, s.clientId)
    const u = edit(doc, (d) => narrativeBody(d).insert(0, 'X'))
    await ada.node.withdraw(narrativeId)
    await expect(ada.node.editUpdate(narrativeId, s.writerId, b64(u))).rejects.toMatchObject({
      code: 'FORBIDDEN',
    })
  })
})
