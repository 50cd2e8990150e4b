/**
 * Folds of authority records into the current authority over a document.
 * Pure and order-independent: records are sorted deterministically first, and
 * the set of authors is a fixpoint, so every node computes the same result from
 * the same set of records whatever order they arrived in.
 *
 * A genesis counts only when its document id is bound to its signer
 * (`boundDocId(kind, creator, nonce)`, or `profileDocId` for profiles), so no
 * one can sign a genesis for a document somebody else created.
 */
import { type Audience, intersectAudience, normalizeAudience, PRIVATE } from './audience.js'
import {
  type AuthorityRecord,
  type EchoGenesis,
  type NarrativeGenesis,
  type ProfileGenesis,
  type RosterGenesis,
  type SignedRecord,
  sortRecords,
} from './authority.js'
import { MissingGenesisError } from './errors.js'
import { boundDocId, profileDocId } from './ids.js'
import { MAX_AUTHORS } from './limits.js'
import { err, ok, type Result } from './result.js'

export interface IgnoredRecord {
  readonly record: AuthorityRecord
  readonly signer: string
  readonly reason:
    | 'other-document'
    | 'wrong-signer'
    | 'not-an-author'
    | 'duplicate-genesis'
    | 'unbound-id'
    | 'too-many-authors'
    | 'not-for-this-fold'
}

export interface AudienceStatement {
  readonly member: string
  readonly audience: Audience
  readonly at: number
}

export interface NarrativeAuthority {
  readonly narrativeId: string
  readonly tribeId: string
  readonly creator: string
  readonly createdAt: number
  /** Current authors, sorted (the members who may write the narrative document). */
  readonly authors: readonly string[]
  /** Each author's current consent for this narrative. */
  readonly audienceByAuthor: Readonly<Record<string, Audience>>
  /** Every accepted audience statement, oldest first (the consent history). */
  readonly audienceHistory: readonly AudienceStatement[]
  /** Where every author consented the narrative may go (the intersection). */
  readonly effectiveAudience: Audience
  readonly status: 'published' | 'withdrawn'
  readonly withdrawnAt?: number
  readonly withdrawnBy?: string
  /** Records that did not count, with why. */
  readonly ignored: readonly IgnoredRecord[]
}

export interface NarrativeAuthorityOptions {
  /** Only consider records about this narrative (default: the earliest valid genesis's). */
  narrativeId?: string
  /**
   * Consent of an author who has not signed an audience statement for this
   * narrative yet (e.g. their profile's `narratives` default). Default: private.
   */
  defaultAudience?: (member: string) => Audience | undefined
}

const isBoundNarrative = (g: NarrativeGenesis): boolean =>
  boundDocId('narrative', g.creator, g.nonce) === g.narrativeId
const isBoundEcho = (g: EchoGenesis): boolean =>
  boundDocId('echo', g.responder, g.nonce) === g.echoId

/**
 * The authority over one narrative: input is every record about it with the
 * member whose signature the node verified. Rules: a genesis counts only when
 * signed by its creator and its id is bound to them
 * (`boundDocId('narrative', creator, nonce)`; several: the first in record order wins); a co-author is
 * added by a record signed by a current author; an audience statement counts only
 * when signed by the author it is about; a withdrawal counts when signed by any author.
 */
export function narrativeAuthority(
  records: readonly SignedRecord[],
  opts: NarrativeAuthorityOptions = {},
): Result<NarrativeAuthority, MissingGenesisError> {
  const sorted = sortRecords(records)
  const ignored: IgnoredRecord[] = []
  let genesis: NarrativeGenesis | undefined
  for (const s of sorted) {
    const r = s.record
    if (r.type !== 'narrative.genesis') continue
    if (opts.narrativeId !== undefined && r.narrativeId !== opts.narrativeId) continue
    if (s.signer !== r.creator || !isBoundNarrative(r)) continue
    if (genesis === undefined) genesis = r
  }
  if (genesis === undefined) return err(new MissingGenesisError(opts.narrativeId))
  const g = genesis
  const narrativeId = g.narrativeId

  const relevant: SignedRecord[] = []
  for (const s of sorted) {
    const r = s.record
    if (
      !('narrativeId' in r) ||
      r.narrativeId !== narrativeId ||
      !r.type.startsWith('narrative.')
    ) {
      ignored.push({ ...s, reason: 'other-document' })
    } else if (r === g) {
      // the genesis in use
    } else if (r.type === 'narrative.genesis') {
      const reason =
        s.signer !== r.creator
          ? 'wrong-signer'
          : !isBoundNarrative(r)
            ? 'unbound-id'
            : 'duplicate-genesis'
      ignored.push({ ...s, reason })
    } else {
      relevant.push(s)
    }
  }

  // Authors: a fixpoint over co-author records, so arrival order does not matter.
  const authors = new Set(g.authors)
  const pending = relevant.filter((s) => s.record.type === 'narrative.coauthor')
  let changed = true
  while (changed) {
    changed = false
    for (const s of pending) {
      const r = s.record
      if (r.type !== 'narrative.coauthor' || authors.has(r.member)) continue
      if (authors.has(s.signer) && authors.size < MAX_AUTHORS) {
        authors.add(r.member)
        changed = true
      }
    }
  }
  for (const s of pending) {
    const r = s.record
    if (r.type === 'narrative.coauthor' && !authors.has(s.signer)) {
      ignored.push({ ...s, reason: 'not-an-author' })
    } else if (r.type === 'narrative.coauthor' && !authors.has(r.member)) {
      ignored.push({ ...s, reason: 'too-many-authors' })
    }
  }

  // Consent: the creator's genesis audience, then signed statements in record order.
  const statements: AudienceStatement[] = [
    { member: g.creator, audience: normalizeAudience(g.audience), at: g.createdAt },
  ]
  const byAuthor = new Map<string, Audience>([[g.creator, normalizeAudience(g.audience)]])
  let withdrawnAt: number | undefined
  let withdrawnBy: string | undefined
  for (const s of relevant) {
    const r = s.record
    if (r.type === 'narrative.audience') {
      if (s.signer !== r.member) ignored.push({ ...s, reason: 'wrong-signer' })
      else if (!authors.has(r.member)) ignored.push({ ...s, reason: 'not-an-author' })
      else {
        const audience = normalizeAudience(r.audience)
        statements.push({ member: r.member, audience, at: r.at })
        byAuthor.set(r.member, audience)
      }
    } else if (r.type === 'narrative.withdraw') {
      if (s.signer !== r.by) ignored.push({ ...s, reason: 'wrong-signer' })
      else if (!authors.has(r.by)) ignored.push({ ...s, reason: 'not-an-author' })
      else if (withdrawnAt === undefined) {
        withdrawnAt = r.at
        withdrawnBy = r.by
      }
    }
  }
  const sortedAuthors = [...authors].sort()
  const audienceByAuthor: Record<string, Audience> = {}
  for (const a of sortedAuthors) {
    audienceByAuthor[a] = byAuthor.get(a) ?? normalizeAudience(opts.defaultAudience?.(a) ?? PRIVATE)
  }
  const effectiveAudience = sortedAuthors
    .map((a) => audienceByAuthor[a]!)
    .reduce((acc, a) => intersectAudience(acc, a))
  return ok(
    Object.freeze({
      narrativeId,
      tribeId: g.tribeId,
      creator: g.creator,
      createdAt: g.createdAt,
      authors: Object.freeze(sortedAuthors),
      audienceByAuthor: Object.freeze(audienceByAuthor),
      audienceHistory: Object.freeze(statements),
      effectiveAudience,
      status: withdrawnAt === undefined ? 'published' : 'withdrawn',
      ...(withdrawnAt === undefined ? {} : { withdrawnAt, withdrawnBy }),
      ignored: Object.freeze(ignored),
    }),
  )
}

export interface EchoAuthority {
  readonly echoId: string
  readonly narrativeId: string
  /** The only member who may write the echo document. */
  readonly responder: string
  readonly createdAt: number
  /** The responder's own consent; the echo never goes wider than its narrative either way. */
  readonly audience: Audience | undefined
}

/**
 * The authority over one echo: its first genesis signed by its responder whose
 * id is bound to them (`boundDocId('echo', responder, nonce)`).
 */
export function echoAuthority(
  records: readonly SignedRecord[],
  opts: { echoId?: string } = {},
): Result<EchoAuthority, MissingGenesisError> {
  let genesis: EchoGenesis | undefined
  for (const s of sortRecords(records)) {
    const r = s.record
    if (r.type !== 'echo.genesis' || s.signer !== r.responder || !isBoundEcho(r)) continue
    if (opts.echoId !== undefined && r.echoId !== opts.echoId) continue
    genesis = r
    break
  }
  if (genesis === undefined) return err(new MissingGenesisError(opts.echoId))
  return ok(
    Object.freeze({
      echoId: genesis.echoId,
      narrativeId: genesis.narrativeId,
      responder: genesis.responder,
      createdAt: genesis.createdAt,
      audience: genesis.audience === undefined ? undefined : normalizeAudience(genesis.audience),
    }),
  )
}

export interface RosterAuthority {
  /** The tribe id (= the roster document id), bound to the founder. */
  readonly tribeId: string
  readonly founder: string
  readonly name: string
  readonly createdAt: number
}

/**
 * Who founded a tribe: the `roster.genesis` signed by its founder with
 * `boundDocId('roster', founder, nonce) === tribeId` (several: the first in
 * record order wins; only the founder can make them anyway).
 */
export function rosterGenesis(
  records: readonly SignedRecord[],
  opts: { tribeId?: string } = {},
): Result<RosterAuthority, MissingGenesisError> {
  let genesis: RosterGenesis | undefined
  for (const s of sortRecords(records)) {
    const r = s.record
    if (r.type !== 'roster.genesis' || s.signer !== r.founder) continue
    if (opts.tribeId !== undefined && r.tribeId !== opts.tribeId) continue
    if (boundDocId('roster', r.founder, r.nonce) !== r.tribeId) continue
    genesis = r
    break
  }
  if (genesis === undefined) return err(new MissingGenesisError(opts.tribeId))
  return ok(
    Object.freeze({
      tribeId: genesis.tribeId,
      founder: genesis.founder,
      name: genesis.name,
      createdAt: genesis.createdAt,
    }),
  )
}

export interface ProfileAuthority {
  /** `profileDocId(tribeId, member)`. */
  readonly profileId: string
  readonly tribeId: string
  /** The only member who may write the profile document. */
  readonly member: string
  readonly createdAt: number
}

/**
 * The owner of a profile document: the `profile.genesis` signed by its member
 * with `profileDocId(tribeId, member) === profileId` (several: the first in
 * record order wins).
 */
export function profileGenesis(
  records: readonly SignedRecord[],
  opts: { profileId?: string } = {},
): Result<ProfileAuthority, MissingGenesisError> {
  let genesis: ProfileGenesis | undefined
  for (const s of sortRecords(records)) {
    const r = s.record
    if (r.type !== 'profile.genesis' || s.signer !== r.member) continue
    if (opts.profileId !== undefined && r.profileId !== opts.profileId) continue
    if (profileDocId(r.tribeId, r.member) !== r.profileId) continue
    genesis = r
    break
  }
  if (genesis === undefined) return err(new MissingGenesisError(opts.profileId))
  return ok(
    Object.freeze({
      profileId: genesis.profileId,
      tribeId: genesis.tribeId,
      member: genesis.member,
      createdAt: genesis.createdAt,
    }),
  )
}
