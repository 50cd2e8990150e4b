import { afterEach, describe, expect, it } from 'vitest'
import { encodeOffer, parseOffer } from '../src/federation/offer.js'
import { makeMember, makeTribe, pull, type TestMember } from './helpers/tribe.js'

/**
 * The link handshake's decisions and what a link network offers, on nodes without a
 * network (the Replication boundary and FederationPeer called directly).
 */
const members: TestMember[] = []
afterEach(async () => {
  for (const m of members.splice(0)) await m.cleanup()
})

async function member(name: string): Promise<TestMember> {
  const m = await makeMember(name)
  members.push(m)
  return m
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'ok',
    (e: { code?: string }) => e.code,
  )

describe('federation link handshake', () => {
  it('the proposer countersigns one tribe only, for the steward who presents it', async () => {
    const ada = await member('Ada')
    const ari = await member('Ari')
    const bo = await member('Bo')
    const bea = await member('Bea')
    const cy = await member('Cy')
    const { tribeId: river } = await makeTribe('River', [ada, ari])
    const { tribeId: hill } = await makeTribe('Hill', [bo, bea])
    await makeTribe('Dale', [cy])
    await pull(bo.node, bea.node, hill)
    await pull(ada.node, ari.node, river)

    expect(await codeOf(ari.node.federatePropose({}))).toBe('FORBIDDEN')
    const { offer, linkId } = await ada.node.federatePropose({})
    expect(await codeOf(ari.node.federateAccept(offer))).toBe('USAGE') // own tribe
    expect(await codeOf(bea.node.federateAccept(offer))).toBe('FORBIDDEN') // not a steward
    const tampered = parseOffer(offer)
    const forgedKey = encodeOffer({
      key: new Uint8Array(32).fill(7),
      addrs: [],
      genesis: tampered.genesis,
    })
    expect(await codeOf(bo.node.federateAccept(forgedKey))).toBe('BAD_OFFER')

    expect(await bo.node.federateAccept(offer)).toMatchObject({ linkId, tribeId: hill })
    const [pending] = await bo.node.federationPeer.pendingAccepts()
    expect(pending).toMatchObject({ linkId, proposer: ada.node.memberId })
    // Nothing flows and nobody is a member of the link network before both signed.
    expect(await ada.node.replication.isMember(linkId, bo.node.memberId)).toBe(false)
    expect(await bo.node.replication.visibleDocuments(linkId, ada.node.memberId)).toEqual([])

    const stolen = await ada.node.federationPeer.confirm(pending!.accept, cy.node.memberId)
    expect(stolen).toMatchObject({ ok: false, code: 'WRONG_PEER' })
    const reply = await ada.node.federationPeer.confirm(pending!.accept, bo.node.memberId)
    if (!reply.ok) throw new Error(reply.message)
    expect(await bo.node.federationPeer.countersigned(reply.accept, cy.node.memberId)).toBe(false)
    expect(await bo.node.federationPeer.countersigned(reply.accept, ada.node.memberId)).toBe(true)
    for (const m of [ada, bo]) {
      expect((await m.node.federation()).map((l) => [l.linkId, l.status])).toEqual([
        [linkId, 'active'],
      ])
    }
    expect(await ada.node.replication.isMember(linkId, bo.node.memberId)).toBe(true)
    expect(await ada.node.replication.isMember(linkId, cy.node.memberId)).toBe(false)

    // A third tribe holding the same (leaked) offer is refused.
    await cy.node.federateAccept(offer)
    const [cyPending] = await cy.node.federationPeer.pendingAccepts()
    const late = await ada.node.federationPeer.confirm(cyPending!.accept, cy.node.memberId)
    expect(late).toMatchObject({ ok: false, code: 'ALREADY_LINKED' })
    expect((await cy.node.federation())[0]?.status).toBe('accepting')
    await cy.node.federationPeer.refused(linkId, late.ok ? '' : late.code, '')
    expect((await cy.node.federation())[0]?.status).toBe('refused')
    expect(await cy.node.federationPeer.pendingAccepts()).toEqual([])
  })

  it('a link network offers the link, both rosters and federated documents: nothing else', async () => {
    const ada = await member('Ada')
    const bo = await member('Bo')
    const { tribeId: river } = await makeTribe('River', [ada])
    await makeTribe('Hill', [bo])
    const { offer, linkId } = await ada.node.federatePropose({})
    await bo.node.federateAccept(offer)
    const [pending] = await bo.node.federationPeer.pendingAccepts()
    const reply = await ada.node.federationPeer.confirm(pending!.accept, bo.node.memberId)
    if (!reply.ok) throw new Error(reply.message)
    await bo.node.federationPeer.countersigned(reply.accept, ada.node.memberId)

    const shared = await ada.node.narrate({ title: 's', body: 's', audience: 'federated' })
    const kept = await ada.node.narrate({ title: 'k', body: 'k', audience: 'tribe' })
    const mine = await ada.node.narrate({ title: 'p', body: 'p', audience: 'private' })
    const offeredNow = async () =>
      (await ada.node.replication.visibleDocuments(linkId, bo.node.memberId)).map((d) => d.docId)
    // Until each side holds the other's roster (which only its stewards can write), only
    // rosters and the link cross: a steward's claim to speak for a tribe is checked first.
    expect((await offeredNow()).sort()).toEqual([linkId, river].sort())
    await pull(ada.node, bo.node, linkId)
    await pull(bo.node, ada.node, linkId)
    const offered = await offeredNow()
    expect(offered).toContain(linkId)
    expect(offered).toContain(river)
    expect(offered).toContain(shared.narrativeId)
    expect(offered).not.toContain(kept.narrativeId)
    expect(offered).not.toContain(mine.narrativeId)
    expect(offered.some((id) => id.startsWith('profile_'))).toBe(false)

    const r = await pull(ada.node, bo.node, linkId)
    expect(r.e.rejected).toEqual([])
    expect((await bo.node.narratives({})).map((n) => [n.id, n.tribeId])).toEqual([
      [shared.narrativeId, river],
    ])
  })
})
