/**
 * Ending a link (a steward of either tribe): a `link.end` record, then the erasure of what
 * this member may no longer receive.
 */
import { ForbiddenError, NotFoundError } from '../errors.js'
import type { EndResult } from './api-types.js'
import { linksChanged } from './link-consent.js'
import type { LinkContext } from './link-context.js'

export async function endLink(c: LinkContext, linkId: string): Promise<EndResult> {
  const rosters = await c.d.authority.rosters()
  const a = typeof linkId === 'string' ? await c.fold(linkId, rosters) : undefined
  if (!a) throw new NotFoundError('federation link', String(linkId), 'see `tapestry federation`')
  const tribes = [a.proposal.tribe.id, ...(a.link ? [a.link.tribeB.id] : [])]
  const tribeId = tribes.find((t) => rosters.get(t)?.isSteward(c.me))
  if (tribeId === undefined) {
    throw new ForbiddenError('only a steward of one of the two tribes may end a link')
  }
  if (!a.ended) {
    await c.d.putRecord(
      await c.sign(linkId, {
        v: 1,
        type: 'link.end',
        linkId,
        tribeId,
        steward: c.me,
        at: c.d.now(),
      }),
    )
  }
  await linksChanged(c)
  return { linkId, status: 'ended' }
}
