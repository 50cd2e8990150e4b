/**
 * What consent decisions need to know of links (the schema's `mayReceive` takes them in
 * `ConsentContext.links`), who may use a link network, and the erasure that follows a
 * change of links.
 *
 * A node that knows a linked tribe only through the link (its roster has not arrived
 * yet) counts the steward who signed that tribe's acceptance as its one member, so the
 * rosters can cross in the first place; the real roster replaces that view on arrival.
 * Until both rosters are known, the link's terms are empty for consent decisions: only
 * rosters cross (a steward's claim to speak for a tribe is checked against its roster,
 * which only that tribe's stewards can write, before any narrative follows).
 */
import {
  type ConsentContext,
  type FoldedLink,
  foldRoster,
  type LinkAcceptance,
  type LinkSnapshot,
  type RosterView,
} from '@tapestry/crdt-schema'
import type { DocId } from '../envelope/types.js'
import type { LinkContext } from './link-context.js'

export function isFoldedLink(l: LinkSnapshot): l is FoldedLink {
  return typeof (l as Partial<FoldedLink>).linkId === 'string'
}

/** A link as if it had not ended: what was once allowed across it (for erasure records). */
export function everActive(link: FoldedLink): FoldedLink {
  return link.accepted ? { ...link, revocations: {}, active: true } : link
}

/** Rosters plus links this node knows, folded; views of tribes known only by a link. */
export async function consentContext(
  c: LinkContext,
  rosters: ReadonlyMap<string, RosterView>,
): Promise<ConsentContext> {
  const links: FoldedLink[] = []
  for (const { id, kind } of await c.d.listDocuments()) {
    if (kind !== 'link') continue
    const a = await c.fold(id, rosters)
    if (a?.link) links.push(a.link)
  }
  if (links.length === 0) return { rosters }
  const merged = new Map(rosters)
  for (const l of links) {
    for (const t of [l.tribeA, l.tribeB]) {
      const acceptance = l.acceptances[t.id]
      if (!merged.has(t.id) && acceptance) merged.set(t.id, provisional(t, acceptance))
    }
  }
  const verified = (l: FoldedLink) => rosters.has(l.tribeA.id) && rosters.has(l.tribeB.id)
  return {
    rosters: merged,
    links: links.map((l) => (verified(l) ? l : { ...l, terms: [] })),
  }
}

/** A link document's snapshot, once both tribes are named (a bare proposal has none). */
export async function linkSnapshot(
  c: LinkContext,
  docId: DocId,
): Promise<LinkSnapshot | undefined> {
  return (await c.fold(docId, await c.d.authority.rosters()))?.link
}

/** Every link this node knows with both tribes named (from the consent context). */
export async function foldedLinks(c: LinkContext): Promise<FoldedLink[]> {
  return ((await c.d.authority.context()).links ?? []).filter(isFoldedLink)
}

/** May `peer` use link network `linkId`? Current members of either tribe, once named. */
export async function isLinkMember(c: LinkContext, linkId: string, peer: string): Promise<boolean> {
  const ctx = await c.d.authority.context()
  const link = (ctx.links ?? []).filter(isFoldedLink).find((l) => l.linkId === linkId)
  if (!link) return false
  const rosters = ctx.rosters as ReadonlyMap<string, RosterView>
  return [link.tribeA.id, link.tribeB.id].some((t) => rosters.get(t)?.isMember(peer))
}

/**
 * A link was accepted, countersigned or ended: erase the other tribes' narratives this
 * member may no longer receive (each with a receipt that travels back to the authors).
 */
export async function linksChanged(c: LinkContext): Promise<void> {
  const rosters = await c.d.authority.rosters()
  for (const { id, kind } of await c.d.listDocuments()) {
    if (kind !== 'narrative') continue
    const tribeId = await c.d.authority.tribeOf(id)
    if (tribeId === undefined || rosters.get(tribeId)?.isMember(c.me)) continue
    await c.d.enforceConsent(id)
  }
}

/** What this node knows of a tribe only through a link: the steward who accepted it. */
function provisional(tribe: { id: string; name: string }, acceptance: LinkAcceptance): RosterView {
  return foldRoster({
    tribeId: tribe.id,
    name: tribe.name,
    createdAt: acceptance.at,
    createdBy: acceptance.steward,
    members: {
      [acceptance.steward]: {
        name: '',
        role: 'steward',
        joinedAt: acceptance.at,
        admittedBy: acceptance.steward,
        invitationId: null,
      },
    },
    removals: [],
    epochs: [],
    revokedInvitations: {},
    schemaVersion: 1,
  })
}
