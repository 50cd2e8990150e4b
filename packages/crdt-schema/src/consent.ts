/**
 * The single consent decision: may member M receive document D now?
 *
 * The node calls {@link mayReceive} wherever data leaves it (push, catch-up,
 * snapshot, digest entries). Pure: everything it needs is in its arguments.
 *
 * Rules:
 * - a member removed from the document's tribe receives nothing of it
 * - roster → current members of the tribe, and members of tribes with an active
 *   federation link to it (they need it to check who federated data comes from)
 * - profile → the member's own `profile` consent (default `tribe`), evaluated like a narrative
 *   with the member as its only author (federated needs a link whose terms include `profile`)
 * - narrative → where EVERY author consented (per-author audience, intersected):
 *   private: the authors; circle: the authors and named current members; tribe: current
 *   members; federated: current members and current members of tribes with an active link
 *   whose terms include `narratives`. Withdrawn: nobody (`tombstone` says whether the
 *   withdrawal records themselves may be sent)
 * - echo → allowed by its narrative's decision AND by the responder's own echo audience
 *   (federated needs `echoes` in the link terms); never wider than its narrative
 * - link → current members of either of its two tribes
 *
 * Beside it, the rules built on it and on the same folded state:
 * - {@link mayReceiveRecords}: a document's signed records (no content) go where its
 *   content may go, where a withdrawal's tombstone is owed, and, for a narrative, to
 *   whoever an earlier audience of an author allowed (so a narrowing reaches them)
 * - {@link mayHold}: a node keeps narratives and echoes only while it may receive them;
 *   rosters, profiles and links (the rules everything else is judged by) it always keeps
 * - {@link mayWrite}: who may write a document's content: a roster's stewards, a
 *   profile's member, a published narrative's authors, an echo's responder while its
 *   narrative is published; nobody writes a link's content
 */
import type { Audience } from './audience.js'
import type { EchoAuthority, NarrativeAuthority } from './fold.js'
import type { DocKind } from './ids.js'
import { isLinkActive, type LinkSnapshot, otherTribe } from './link.js'
import type { Category } from './profile.js'
import type { RosterView } from './roster.js'

export type DenyReason =
  | 'unknown-tribe'
  | 'not-a-member'
  | 'removed'
  | 'private'
  | 'not-in-circle'
  | 'not-federated'
  | 'withdrawn'
  | 'narrative-denied'
  | 'echo-narrative-mismatch'

export type Decision =
  | { readonly allowed: true }
  | {
      readonly allowed: false
      readonly reason: DenyReason
      /** For a withdrawn narrative: whether the (content-free) withdrawal records may be sent. */
      readonly tombstone?: boolean
    }

export type DocDescriptor =
  | { readonly kind: 'roster'; readonly tribeId: string }
  | {
      readonly kind: 'profile'
      readonly tribeId: string
      readonly memberId: string
      /** The member's current `profile` category default (from their profile); default tribe. */
      readonly audience?: Audience
    }
  | { readonly kind: 'narrative'; readonly authority: NarrativeAuthority }
  | {
      readonly kind: 'echo'
      readonly echo: EchoAuthority
      /** The authority of the narrative the echo answers. */
      readonly narrative: NarrativeAuthority
    }
  | { readonly kind: 'link'; readonly link: LinkSnapshot }

export interface ConsentContext {
  /** Rosters this node knows, folded (by tribe id or as a list). */
  readonly rosters: ReadonlyMap<string, RosterView> | readonly RosterView[]
  /** Federation links this node knows. */
  readonly links?: readonly LinkSnapshot[]
}

const ALLOW: Decision = Object.freeze({ allowed: true })
const deny = (reason: DenyReason, tombstone?: boolean): Decision =>
  Object.freeze(
    tombstone === undefined ? { allowed: false, reason } : { allowed: false, reason, tombstone },
  )

function rosterLookup(ctx: ConsentContext): (tribeId: string) => RosterView | undefined {
  const { rosters } = ctx
  if (rosters instanceof Map) return (t) => rosters.get(t)
  const list = rosters as readonly RosterView[]
  return (t) => list.find((r) => r.tribeId === t)
}

/** Members of tribes with an active link to `tribeId` covering `category` (undefined: any terms). */
function federatedMember(
  member: string,
  tribeId: string,
  category: Category | undefined,
  ctx: ConsentContext,
): boolean {
  const roster = rosterLookup(ctx)
  for (const link of ctx.links ?? []) {
    const other = otherTribe(link, tribeId)
    if (other === undefined) continue
    if (category !== undefined && !link.terms.includes(category)) continue
    if (!isLinkActive(link, roster)) continue
    if (roster(other)?.isMember(member)) return true
  }
  return false
}

function evaluate(
  member: string,
  audience: Audience,
  authors: readonly string[],
  tribe: RosterView,
  category: Category,
  ctx: ConsentContext,
): Decision {
  if (authors.includes(member)) return ALLOW
  switch (audience.kind) {
    case 'private':
      return deny('private')
    case 'circle':
      if (!audience.members.includes(member)) return deny('not-in-circle')
      return tribe.isMember(member) ? ALLOW : deny('not-a-member')
    case 'tribe':
      return tribe.isMember(member) ? ALLOW : deny('not-a-member')
    case 'federated':
      if (tribe.isMember(member)) return ALLOW
      return federatedMember(member, tribe.tribeId, category, ctx) ? ALLOW : deny('not-federated')
  }
}

/** Every author's consent must allow (the intersection of their audiences). */
function narrativeDecision(
  member: string,
  authority: NarrativeAuthority,
  ctx: ConsentContext,
): Decision {
  const tribe = rosterLookup(ctx)(authority.tribeId)
  if (tribe === undefined) return deny('unknown-tribe')
  if (tribe.removed(member)) return deny('removed')
  for (const author of authority.authors) {
    const audience = authority.audienceByAuthor[author] ?? { kind: 'private' }
    const d = evaluate(member, audience, authority.authors, tribe, 'narratives', ctx)
    if (!d.allowed) return authority.status === 'withdrawn' ? deny('withdrawn', false) : d
  }
  return authority.status === 'withdrawn' ? deny('withdrawn', true) : ALLOW
}

/** May `member` receive document `doc` now? The only place this is decided. */
export function mayReceive(member: string, doc: DocDescriptor, ctx: ConsentContext): Decision {
  const roster = rosterLookup(ctx)
  switch (doc.kind) {
    case 'roster': {
      const tribe = roster(doc.tribeId)
      if (tribe === undefined) return deny('unknown-tribe')
      if (tribe.removed(member)) return deny('removed')
      if (tribe.isMember(member)) return ALLOW
      return federatedMember(member, doc.tribeId, undefined, ctx) ? ALLOW : deny('not-a-member')
    }
    case 'profile': {
      const tribe = roster(doc.tribeId)
      if (tribe === undefined) return deny('unknown-tribe')
      if (tribe.removed(member)) return deny('removed')
      const audience = doc.audience ?? { kind: 'tribe' }
      return evaluate(member, audience, [doc.memberId], tribe, 'profile', ctx)
    }
    case 'narrative':
      return narrativeDecision(member, doc.authority, ctx)
    case 'echo': {
      if (doc.echo.narrativeId !== doc.narrative.narrativeId) return deny('echo-narrative-mismatch')
      const n = narrativeDecision(member, doc.narrative, ctx)
      if (!n.allowed) {
        return n.reason === 'withdrawn'
          ? n
          : deny(n.reason === 'removed' ? 'removed' : 'narrative-denied')
      }
      const tribe = roster(doc.narrative.tribeId)!
      // no own audience: as wide as the narrative, but across a link only if its terms include echoes
      const audience = doc.echo.audience ?? { kind: 'federated' }
      return evaluate(member, audience, [doc.echo.responder], tribe, 'echoes', ctx)
    }
    case 'link': {
      let removed = false
      for (const t of [doc.link.tribeA.id, doc.link.tribeB.id]) {
        const tribe = roster(t)
        if (tribe?.isMember(member)) return ALLOW
        if (tribe?.removed(member)) removed = true
      }
      return deny(removed ? 'removed' : 'not-a-member')
    }
  }
}

/**
 * May `member` receive the document's signed records (no content)? Yes when it may
 * receive the content, when it is owed a withdrawal's tombstone, or when it could have
 * received a narrative's content under an earlier audience of one of its authors
 * (`audienceHistory`): a narrowing must reach the members who left the audience so they
 * erase what they hold. Nobody else learns of it.
 */
export function mayReceiveRecords(
  member: string,
  doc: DocDescriptor,
  ctx: ConsentContext,
): boolean {
  const now = mayReceive(member, doc, ctx)
  if (now.allowed || now.tombstone) return true
  if (doc.kind !== 'narrative') return false
  const a = doc.authority
  const published = { ...a, status: 'published' as const }
  return a.audienceHistory.some(
    (st) =>
      mayReceive(
        member,
        {
          kind: 'narrative',
          authority: {
            ...published,
            audienceByAuthor: { ...a.audienceByAuthor, [st.member]: st.audience },
          },
        },
        ctx,
      ).allowed,
  )
}

/**
 * Whether content of `kind` is bound to consent: narratives and echoes, which a node
 * keeps only while its member may receive them. Rosters, profiles and links are what
 * membership and consent are decided from; ids of no known kind name nothing to judge.
 */
export function isConsentBound(kind: DocKind | undefined): kind is 'narrative' | 'echo' {
  return kind === 'narrative' || kind === 'echo'
}

/**
 * May `member`'s node keep the document's content? Content bound to consent
 * ({@link isConsentBound}) only while `member` may receive it; anything else always.
 */
export function mayHold(member: string, doc: DocDescriptor, ctx: ConsentContext): boolean {
  return !isConsentBound(doc.kind) || mayReceive(member, doc, ctx).allowed
}

/**
 * May `author` write content (envelopes) of the document now? A roster: its stewards
 * (as `ctx.rosters` fold it); a profile: its member; a narrative: its authors while it
 * is published; an echo: its responder while its narrative is published; a link: nobody
 * (its state is its signed records).
 */
export function mayWrite(author: string, doc: DocDescriptor, ctx: ConsentContext): boolean {
  switch (doc.kind) {
    case 'roster':
      return rosterLookup(ctx)(doc.tribeId)?.isSteward(author) ?? false
    case 'profile':
      return doc.memberId === author
    case 'narrative':
      return doc.authority.status === 'published' && doc.authority.authors.includes(author)
    case 'echo':
      return doc.narrative.status === 'published' && doc.echo.responder === author
    case 'link':
      return false
  }
}
