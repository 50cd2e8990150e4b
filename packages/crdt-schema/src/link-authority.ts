/**
 * The fold of a federation link's records (`link.genesis`, `link.accept`, `link.end`)
 * into what consent decisions need: a {@link LinkSnapshot}. Pure and order-independent
 * (records are sorted with `sortRecords` first), like the other folds.
 *
 * - The genesis counts when its signer is its `proposer` and the link id is bound to
 *   them (`boundDocId('link', proposer, nonce)`): nobody else can propose under that id.
 *   Its tribe is tribe A; its terms are the link's terms.
 * - An acceptance counts when its signer is its `steward`, it names the genesis's
 *   tribe as `tribeA` and the same terms. Tribe B is the one named by the first
 *   acceptance from tribe A (in record order) that a steward of that tribe B accepted
 *   too; until tribe A countersigns, the first acceptance from another tribe names it.
 * - An end counts when its signer is its `steward`, it speaks for tribe A or B, and
 *   `wasSteward` (when given) says the signer is or was a steward of that tribe.
 *
 * Stewardship of the accepting stewards is not checked here: `isLinkActive` checks it
 * against the rosters a node knows, at decision time.
 */
import {
  type LinkAccept,
  type LinkEnd,
  type LinkGenesis,
  RECORD_VERSION,
  type SignedRecord,
  sortRecords,
} from './authority.js'
import { MissingGenesisError } from './errors.js'
import { boundDocId } from './ids.js'
import type { LinkAcceptance, LinkRevocation, LinkSnapshot, TribeRef } from './link.js'
import type { Category } from './profile.js'
import { err, ok, type Result } from './result.js'

/** A link as its proposer's genesis states it (before any other tribe accepted). */
export interface LinkProposal {
  readonly linkId: string
  readonly tribe: TribeRef
  readonly terms: readonly Category[]
  readonly proposer: string
  readonly proposedAt: number
  readonly expiresAt: number
  /** Hex SHA-256 of the link's swarm key. */
  readonly keyHash: string
}

/** A link with both tribes named: what `mayReceive` takes, plus its id. */
export interface FoldedLink extends LinkSnapshot {
  readonly linkId: string
  /** A steward of each tribe accepted (the link may have ended since: see `active`). */
  readonly accepted: boolean
}

export interface LinkAuthority {
  readonly proposal: LinkProposal
  /** Undefined until a steward of another tribe accepted the proposal. */
  readonly link: FoldedLink | undefined
  /** A steward of tribe A (or of tribe B, once named) ended it: final. */
  readonly ended: LinkRevocation | undefined
}

export interface LinkAuthorityOptions {
  linkId?: string
  /** Whether `member` is or was a steward of `tribeId` (unknown tribe: answer true). */
  wasSteward?: (tribeId: string, member: string) => boolean
}

const sameTerms = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().every((t, i) => t === [...b].sort()[i])

export function linkAuthority(
  records: readonly SignedRecord[],
  opts: LinkAuthorityOptions = {},
): Result<LinkAuthority, MissingGenesisError> {
  const sorted = sortRecords(records)
  let genesis: LinkGenesis | undefined
  for (const s of sorted) {
    const r = s.record
    if (r.type !== 'link.genesis' || s.signer !== r.proposer) continue
    if (opts.linkId !== undefined && r.linkId !== opts.linkId) continue
    if (boundDocId('link', r.proposer, r.nonce) !== r.linkId) continue
    genesis = r
    break
  }
  if (genesis === undefined) return err(new MissingGenesisError(opts.linkId))
  const g = genesis
  const proposal: LinkProposal = Object.freeze({
    linkId: g.linkId,
    tribe: Object.freeze({ ...g.tribe }),
    terms: Object.freeze([...g.terms].sort()),
    proposer: g.proposer,
    proposedAt: g.createdAt,
    expiresAt: g.expiresAt,
    keyHash: g.keyHash,
  })

  const accepts: LinkAccept[] = []
  const ends: LinkEnd[] = []
  for (const s of sorted) {
    const r = s.record
    if (r.type === 'link.accept') {
      if (r.linkId !== g.linkId || s.signer !== r.steward) continue
      if (r.tribeA.id !== g.tribe.id || !sameTerms(r.terms, g.terms)) continue
      accepts.push(r)
    } else if (r.type === 'link.end') {
      if (r.linkId === g.linkId && s.signer === r.steward) ends.push(r)
    }
  }
  const fromB = accepts.filter((a) => a.tribeId === a.tribeB.id)
  const fromA = accepts.filter((a) => a.tribeId === g.tribe.id)
  const countersigned = fromA.find((a) => fromB.some((b) => b.tribeB.id === a.tribeB.id))
  const tribeB = countersigned?.tribeB ?? fromB[0]?.tribeB

  const revocations: Record<string, LinkRevocation> = {}
  for (const e of ends) {
    if (e.tribeId !== g.tribe.id && e.tribeId !== tribeB?.id) continue
    if (revocations[e.tribeId] !== undefined) continue
    if (opts.wasSteward && !opts.wasSteward(e.tribeId, e.steward)) continue
    revocations[e.tribeId] = Object.freeze({ steward: e.steward, at: e.at })
  }
  const ended = Object.values(revocations).sort((x, y) => x.at - y.at)[0]
  if (tribeB === undefined) return ok(Object.freeze({ proposal, link: undefined, ended }))

  const acceptances: Record<string, LinkAcceptance> = {}
  const asAcceptance = (a: LinkAccept): LinkAcceptance =>
    Object.freeze({ steward: a.steward, at: a.at, terms: Object.freeze([...a.terms].sort()) })
  if (countersigned) acceptances[g.tribe.id] = asAcceptance(countersigned)
  const b = fromB.find((a) => a.tribeB.id === tribeB.id)
  if (b) acceptances[tribeB.id] = asAcceptance(b)
  const accepted = acceptances[g.tribe.id] !== undefined && acceptances[tribeB.id] !== undefined
  const link: FoldedLink = Object.freeze({
    linkId: g.linkId,
    tribeA: proposal.tribe,
    tribeB: Object.freeze({ ...tribeB }),
    terms: proposal.terms,
    proposedBy: g.proposer,
    proposedAt: g.createdAt,
    acceptances: Object.freeze(acceptances),
    revocations: Object.freeze(revocations),
    accepted,
    active: accepted && Object.keys(revocations).length === 0,
    schemaVersion: RECORD_VERSION,
  })
  return ok(Object.freeze({ proposal, link, ended }))
}
