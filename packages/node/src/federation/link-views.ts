/**
 * The links this node knows, as the FederationApi lists them: their status (proposed,
 * accepting, refused, active, ended) and whether this node carries them.
 */
import type { LinkView } from './api-types.js'
import type { LinkContext } from './link-context.js'

export async function listLinks(c: LinkContext): Promise<LinkView[]> {
  const rosters = await c.d.authority.rosters()
  const carried = new Set(await c.files.carried())
  const out: LinkView[] = []
  for (const { id, kind } of await c.d.listDocuments()) {
    if (kind !== 'link') continue
    const a = await c.fold(id, rosters)
    if (!a) continue
    const l = a.link
    const refused = (await c.files.read(id))?.refused !== undefined
    const status = a.ended
      ? 'ended'
      : l?.active
        ? 'active'
        : refused
          ? 'refused'
          : l?.acceptances[l.tribeB.id]
            ? 'accepting'
            : 'proposed'
    out.push({
      linkId: id,
      status,
      tribeA: { ...a.proposal.tribe },
      tribeB: l ? { ...l.tribeB } : undefined,
      terms: [...a.proposal.terms],
      proposedBy: a.proposal.proposer,
      proposedAt: a.proposal.proposedAt,
      expiresAt: a.proposal.expiresAt,
      endedAt: a.ended?.at,
      endedBy: a.ended?.steward,
      carrier: carried.has(id),
    })
  }
  return out.sort((x, y) => x.proposedAt - y.proposedAt || (x.linkId < y.linkId ? -1 : 1))
}
