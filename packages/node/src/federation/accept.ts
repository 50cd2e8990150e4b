/**
 * Accepting an offer (a steward of tribe B): this node's `link.accept`, the offer's key
 * and the proposer's addresses kept in the data directory; the mesh then presents the
 * acceptance to the proposer (handshake.ts).
 */
import { ForbiddenError, UsageError } from '../errors.js'
import type { AcceptInput, AcceptResult } from './api-types.js'
import type { LinkContext } from './link-context.js'
import { parseOffer } from './offer.js'

export async function acceptOffer(
  c: LinkContext,
  code: string,
  input?: AcceptInput | null,
): Promise<AcceptResult> {
  const offer = parseOffer(code, { now: c.d.now() })
  const g = offer.proposal
  const mine = await myTribes(c)
  let tribeId = input?.tribeId
  if (tribeId === undefined) {
    const candidates = mine.filter((t) => t !== g.tribe.id)
    if (candidates.length !== 1) {
      throw new UsageError(
        candidates.length === 0
          ? 'you belong to no tribe other than the proposer’s'
          : 'you belong to several tribes',
        candidates.length === 0
          ? 'a link joins two different tribes: a steward of another tribe accepts it'
          : 'pick one with --tribe ID (see `tapestry tribes`)',
      )
    }
    tribeId = candidates[0]!
  } else {
    tribeId = await c.d.tribeFor(tribeId)
  }
  if (tribeId === g.tribe.id) {
    throw new UsageError(
      'this offer comes from your own tribe',
      'a steward of another tribe accepts it',
    )
  }
  const roster = (await c.d.authority.rosters()).get(tribeId)
  if (!roster?.isSteward(c.me)) {
    throw new ForbiddenError(
      'only a steward may accept a federation link',
      'forward the offer to one of your tribe’s stewards',
    )
  }
  const known = await c.fold(offer.linkId, await c.d.authority.rosters())
  if (known?.ended) throw new ForbiddenError('this link was ended; ask for a new offer')
  if (known?.link && known.link.tribeB.id !== tribeId && known.link.accepted) {
    throw new ForbiddenError('this offer was already accepted by another tribe')
  }
  const accept = await c.sign(offer.linkId, {
    v: 1,
    type: 'link.accept',
    linkId: offer.linkId,
    tribeA: { ...g.tribe },
    tribeB: { id: tribeId, name: roster.name },
    terms: [...g.terms],
    tribeId,
    steward: c.me,
    at: c.d.now(),
  })
  await c.files.save(offer.linkId, offer.key, {
    v: 1,
    role: 'accepter',
    tribeId,
    addrs: [...offer.addrs],
    createdAt: c.d.now(),
  })
  await c.d.putRecord(offer.genesis)
  if (!known?.link?.acceptances[tribeId]) await c.d.putRecord(accept)
  // The mesh starts the link host, dials the proposer and presents the acceptance.
  await c.d.refreshNetwork()
  return { linkId: offer.linkId, tribeId, partner: { id: g.tribe.id, name: g.tribe.name } }
}

async function myTribes(c: LinkContext): Promise<string[]> {
  return [...(await c.d.authority.rosters()).values()]
    .filter((r) => r.isMember(c.me))
    .map((r) => r.tribeId)
}
