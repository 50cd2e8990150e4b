import { afterEach, describe, expect, it } from 'vitest'
import { makeMember, makeTribe, pull, type TestMember } from './helpers/tribe.js'

describe('replication boundary', () => {
  const members: TestMember[] = []
  afterEach(async () => {
    for (const m of members.splice(0)) await m.cleanup()
  })

  it('a new member receives the roster, then narratives; writes flow back', async () => {
    const ada = await makeMember('Ada')
    const bo = await makeMember('Bo')
    members.push(ada, bo)
    const { tribeId } = await makeTribe('River Folk', [ada, bo])
    const { narrativeId } = await ada.node.narrate({
      title: 'The flood',
      body: 'We carried the boats',
    })
    await ada.node.narrate({ title: 'Secret', body: 'only mine', audience: 'private' })

    const first = await pull(ada.node, bo.node, tribeId)
    expect(first.r.rejected).toEqual([])
    expect(first.e.rejected).toEqual([])
    // The private narrative is not even listed for Bo.
    expect(first.docs.some((d) => d.docId.startsWith('narrative_') && !d.content)).toBe(false)
    const seen = await bo.node.narratives({})
    expect(seen.map((n) => n.title)).toEqual(['The flood'])
    expect(await bo.node.tribes()).toEqual([
      { tribeId, name: 'River Folk', role: 'member', members: 2 },
    ])

    await bo.node.echo(narrativeId, 'I remember')
    const back = await pull(bo.node, ada.node, tribeId)
    expect(back.e.rejected).toEqual([])
    const shown = await ada.node.show(narrativeId)
    expect(shown.echoes.map((e) => e.body)).toEqual(['I remember'])

    // Replaying everything is idempotent.
    const again = await pull(ada.node, bo.node, tribeId)
    expect(again.e.applied).toBe(0)
    expect(again.r.applied).toBe(0)
  })

  it('a withdrawal that arrives later erases the content', async () => {
    const ada = await makeMember('Ada')
    const bo = await makeMember('Bo')
    members.push(ada, bo)
    const { tribeId } = await makeTribe('River Folk', [ada, bo])
    const { narrativeId } = await ada.node.narrate({ title: 'Gone', body: 'marker-7f3a' })
    await pull(ada.node, bo.node, tribeId)
    expect((await bo.node.show(narrativeId)).body).toBe('marker-7f3a')
    await ada.node.withdraw(narrativeId)
    await pull(ada.node, bo.node, tribeId)
    const after = await bo.node.show(narrativeId)
    expect(after.status).toBe('withdrawn')
    expect(after.body).toBe('')
    // Stale envelopes of the withdrawn narrative can never come back.
    const stale = await ada.node.replication.envelopesFor(narrativeId, new Map(), bo.node.memberId)
    expect(stale).toEqual([])
  })

  it('refuses envelopes from a non-member and records forged by someone else', async () => {
    const ada = await makeMember('Ada')
    const eve = await makeMember('Eve')
    members.push(ada, eve)
    const { tribeId } = await makeTribe('River Folk', [ada])
    await eve.node.createTribe('Elsewhere')
    const eveNarr = await eve.node.narrate({ title: 'x', body: 'y' })
    const envs = await eve.node.replication.envelopesFor(
      eveNarr.narrativeId,
      new Map(),
      eve.node.memberId,
    )
    const result = await ada.node.replication.ingestEnvelopes(envs, eve.node.memberId)
    expect(result.applied).toBe(0)
    expect(result.rejected.map((r) => r.code)).toEqual(['NOT_AUTHORIZED'])
    expect((await ada.node.narratives({ tribeId })).length).toBe(0)
  })

  it('withdrawal receipts flow back; narrowing an audience erases it on members who left', async () => {
    const ada = await makeMember('Ada')
    const bo = await makeMember('Bo')
    const cy = await makeMember('Cy')
    members.push(ada, bo, cy)
    const { tribeId } = await makeTribe('River Folk', [ada, bo, cy])
    const gone = await ada.node.narrate({ title: 'Gone', body: 'w-marker' })
    const narrowed = await ada.node.narrate({ title: 'Narrowed', body: 'n-marker' })
    for (const m of [bo, cy]) await pull(ada.node, m.node, tribeId)
    expect((await cy.node.show(narrowed.narrativeId)).body).toBe('n-marker')

    await ada.node.withdraw(gone.narrativeId)
    const before = await ada.node.receipts(gone.narrativeId)
    expect(before.confirmed.map((c) => c.memberId)).toEqual([ada.node.memberId])
    expect(before.pending.sort()).toEqual([bo.node.memberId, cy.node.memberId].sort())
    await pull(ada.node, bo.node, tribeId)
    await pull(bo.node, ada.node, tribeId)
    const after = await ada.node.receipts(gone.narrativeId)
    expect(after.pending).toEqual([cy.node.memberId])

    await ada.node.consentSet({
      narrativeId: narrowed.narrativeId,
      audience: `circle:${bo.node.memberId}`,
    })
    await pull(ada.node, cy.node, tribeId)
    await pull(ada.node, bo.node, tribeId)
    expect((await bo.node.show(narrowed.narrativeId)).body).toBe('n-marker')
    await expect(cy.node.show(narrowed.narrativeId)).rejects.toMatchObject({ code: 'NOT_FOUND' })
    expect(
      await ada.node.replication.envelopesFor(narrowed.narrativeId, new Map(), cy.node.memberId),
    ).toEqual([])
  })

  it('a co-author edits the body and their consent bounds the audience', async () => {
    const ada = await makeMember('Ada')
    const bo = await makeMember('Bo')
    const cy = await makeMember('Cy')
    members.push(ada, bo, cy)
    const { tribeId } = await makeTribe('River Folk', [ada, bo, cy])
    const { narrativeId } = await ada.node.narrate({ title: 'Ours', body: 'x' })
    await pull(ada.node, bo.node, tribeId)
    const r = await ada.node.coauthor(narrativeId, bo.node.memberId)
    expect(r.authors.sort()).toEqual([ada.node.memberId, bo.node.memberId].sort())
    await pull(ada.node, bo.node, tribeId)
    expect(await bo.node.replication.mayReceive(narrativeId, cy.node.memberId)).toBe(true)
    await bo.node.consentSet({ narrativeId, audience: 'private' })
    await pull(bo.node, ada.node, tribeId)
    // Bo's consent now bounds it: Cy may no longer receive it from either author.
    expect(await ada.node.replication.mayReceive(narrativeId, cy.node.memberId)).toBe(false)
    expect(await bo.node.replication.mayReceive(narrativeId, cy.node.memberId)).toBe(false)
  })
})
