/**
 * Invitations along a chain of stewards, over real nodes started by the composition root
 * (as `tapestry start` starts them): the founder invites Bo as a steward, Bo invites Cy as
 * a steward, Cy invites Dee as a member. A steward admitted by invitation is a steward
 * only through the admission records, so every node must fold the chain to any depth.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ForbiddenError } from '../src/errors.js'
import { TestNet, waitFor } from './helpers/mesh-nodes.js'

let net: TestNet | undefined
afterEach(async () => {
  await net?.cleanup()
  net = undefined
})

const roleIn = async (n: TestNet, name: string, tribeId: string) =>
  (await n.node(name).tribes()).find((t) => t.tribeId === tribeId)?.role

describe('invitations from stewards admitted by invitation', () => {
  it('founder → Bo (steward) → Cy (steward) → Dee (member): each is admitted with the role granted', async () => {
    const n = new TestNet()
    net = n
    for (const name of ['ada', 'bo', 'cy', 'dee', 'eve']) await n.add(name)
    const { tribeId } = await n.node('ada').createTribe('River Folk')
    await n.start('ada')

    /** `inviter` invites `joiner` with `role`; the joiner joins and starts its node. */
    const chain = async (inviter: string, joiner: string, role: 'steward' | 'member') => {
      const { invite } = await n.node(inviter).invite({ tribeId, role })
      await n.node(joiner).join(invite)
      await n.start(joiner)
      await waitFor(
        async () => (await roleIn(n, joiner, tribeId)) === role,
        30_000,
        `${joiner} admitted as ${role}`,
      )
      const refused = n.get(joiner).events.find((e) => e.event === 'join:refused')
      expect(refused).toBeUndefined()
    }
    await chain('ada', 'bo', 'steward')
    await chain('bo', 'cy', 'steward')
    await chain('cy', 'dee', 'member')

    // Every node folds the same chain: the founder, who admitted none of them directly.
    await waitFor(
      async () => (await n.node('ada').members({ tribeId })).length === 4,
      30_000,
      'all four members on the founder',
    )
    const roles = Object.fromEntries(
      (await n.node('ada').members({ tribeId })).map((m) => [m.memberId, m.role]),
    )
    expect(roles).toEqual({
      [n.get('ada').memberId]: 'steward',
      [n.get('bo').memberId]: 'steward',
      [n.get('cy').memberId]: 'steward',
      [n.get('dee').memberId]: 'member',
    })
    // Dee holds a member's invitation: not a steward anywhere, so Dee may not invite.
    await expect(n.node('dee').invite({ tribeId })).rejects.toBeInstanceOf(ForbiddenError)

    // Bo issues an invitation nobody has used yet, then the founder removes Bo.
    const { invite: unused } = await n.node('bo').invite({ tribeId })
    await n.node('ada').remove(n.get('bo').memberId, { tribeId })
    await n.node('eve').join(unused)
    const [pending] = await n.node('eve').replication.pendingJoins()
    expect(pending?.tribeId).toBe(tribeId)
    const reply = await n.node('ada').replication.admit(pending!.admission, n.get('eve').memberId)
    expect(reply).toMatchObject({ ok: false, code: 'ISSUER_NOT_STEWARD' })
    const after = (await n.node('ada').members({ tribeId })).map((m) => m.memberId)
    expect(after).not.toContain(n.get('eve').memberId)
    expect(after).not.toContain(n.get('bo').memberId)
    // What Bo's invitation admitted before the removal stands: Cy, and Dee through Cy.
    expect(after).toContain(n.get('cy').memberId)
    expect(after).toContain(n.get('dee').memberId)
  })
})
