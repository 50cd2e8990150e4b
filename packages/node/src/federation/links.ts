/**
 * Federation links on one node: proposing, accepting, listing and ending them (the
 * FederationApi), the handshake's decisions (the proposer countersigns one acceptance),
 * the link networks this node carries, and what consent decisions need to know of
 * links (the schema's `mayReceive` takes them in `ConsentContext.links`).
 *
 * A link is a document made of signed records only (crdt-schema `link-authority.ts`):
 *
 *   proposer (steward of A)            accepter (steward of B)
 *   link.genesis {A, terms, keyHash}   ── offer code (key, addrs, genesis) ──▶
 *                                      link.accept {A, B, terms, tribeId: B}
 *   ◀── /tapestry/federate/1.0.0: the acceptance, from the accepter itself ──
 *   link.accept {A, B, terms, tribeId: A}  ── reply: the countersignature ──▶
 *
 * Both acceptances name the same pair and terms; only then is the link active (and
 * only while neither side's `link.end` exists). The offer's swarm key stays in the data
 * directory of the two carriers (`links/<linkId>/swarm.key`, mode 0600): it is never
 * in a record, only its SHA-256. Removing a member from either tribe rotates the key
 * through the tribe's roster (link-keys.ts).
 *
 * A node that knows a linked tribe only through the link (its roster has not arrived
 * yet) counts the steward who signed that tribe's acceptance as its one member, so the
 * rosters can cross in the first place; the real roster replaces that view on arrival.
 * Until both rosters are known, the link's terms are empty for consent decisions: only
 * rosters cross (a steward's claim to speak for a tribe is checked against its roster,
 * which only that tribe's stewards can write, before any narrative follows).
 */
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import {
  CATEGORIES,
  type Category,
  type ConsentContext,
  decodeRecordPayload,
  encodeRecordPayload,
  type FoldedLink,
  foldRoster,
  type LinkAccept,
  type LinkAcceptance,
  type LinkAuthority,
  type LinkSnapshot,
  newBoundDocId,
  type RosterView,
} from '@tapestry/crdt-schema'
import type { AuthorityIndex } from '../core/authority.js'
import type { TribeNetwork } from '../core/replication.js'
import { DEFAULT_KEY_GRACE_MS } from '../core/tribe-keys.js'
import { recordId, signRecord, verifyRecord } from '../envelope/index.js'
import type { DocId, SignedRecord } from '../envelope/types.js'
import { ForbiddenError, NotFoundError, UsageError } from '../errors.js'
import type { Identity } from '../identity/index.js'
import { memberIdFromPublicKey } from '../identity/index.js'
import { decodeSwarmKey, encodeSwarmKey, generateSwarmKey } from '../net/swarm-key.js'
import { writeFileAtomic } from '../secret-file.js'
import type {
  AcceptInput,
  AcceptResult,
  EndResult,
  FederationApi,
  LinkView,
  ProposeInput,
  ProposeResult,
} from './api-types.js'
import { foldLink } from './fold.js'
import { linkKeySet } from './link-keys.js'
import { encodeOffer, keyHashOf, parseOffer } from './offer.js'
import type { LinkReply } from './protocol.js'

const DAY = 24 * 60 * 60 * 1000
/** An ended link's host keeps running this long, so erasure receipts can travel back. */
export const ENDED_LINK_GRACE_MS = 7 * DAY
const DEFAULT_TERMS: Category[] = ['echoes', 'narratives']

export interface FederationDeps {
  dataDir: string
  identity: Identity
  authority: AuthorityIndex
  listDocuments(): Promise<{ id: DocId; kind: string }[]>
  now(): number
  tribeFor(tribeId: string | undefined): Promise<string>
  putRecord(rec: SignedRecord): Promise<void>
  /** Erases a narrative this member may no longer receive (with a receipt). */
  enforceConsent(narrativeId: DocId): Promise<boolean>
  /** This node's addresses on a network, when a mesh runs. */
  listenAddrs(networkId: string): string[]
  /** Asks a running mesh to start hosts for new networks now (resolves at once offline). */
  refreshNetwork(): Promise<void>
}

/** `links/<linkId>/link.json`: this node's part in a link it carries. */
interface LinkFile {
  v: 1
  role: 'proposer' | 'accepter'
  /** This member's tribe in the link. */
  tribeId: string
  /** The proposer's link-host addresses (accepter only). */
  addrs: string[]
  createdAt: number
  /** The proposer's final refusal of this node's acceptance (accepter only). */
  refused?: { code: string; message: string }
}

/** An acceptance this node signed that the proposer has not countersigned yet. */
export interface PendingAccept {
  linkId: string
  proposer: string
  addrs: string[]
  accept: SignedRecord
}

/** What the mesh side of federation (federation/attach.ts) needs from the node. */
export interface FederationPeer {
  /** Proposer: decide on an acceptance presented by `from` over the link network. */
  confirm(record: SignedRecord, from: string): Promise<LinkReply>
  /** Accepter: keep the proposer's countersignature received from `from`. */
  countersigned(record: SignedRecord, from: string): Promise<boolean>
  pendingAccepts(): Promise<PendingAccept[]>
  /** Accepter: the proposer refused for good; stop asking. */
  refused(linkId: string, code: string, message: string): Promise<void>
}

export function isFoldedLink(l: LinkSnapshot): l is FoldedLink {
  return typeof (l as Partial<FoldedLink>).linkId === 'string'
}

/** A link as if it had not ended: what was once allowed across it (for erasure records). */
export function everActive(link: FoldedLink): FoldedLink {
  return link.accepted ? { ...link, revocations: {}, active: true } : link
}

export class Federation implements FederationApi, FederationPeer {
  constructor(private readonly d: FederationDeps) {}

  get #me(): string {
    return this.d.identity.memberId
  }

  // ---- what consent decisions need (AuthorityIndex sources) -------------------------

  /** Rosters plus links this node knows, folded; views of tribes known only by a link. */
  async context(rosters: ReadonlyMap<string, RosterView>): Promise<ConsentContext> {
    const links: FoldedLink[] = []
    for (const { id, kind } of await this.d.listDocuments()) {
      if (kind !== 'link') continue
      const a = await this.#fold(id, rosters)
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
  async link(docId: DocId): Promise<LinkSnapshot | undefined> {
    return (await this.#fold(docId, await this.d.authority.rosters()))?.link
  }

  async #fold(
    linkId: DocId,
    rosters: ReadonlyMap<string, RosterView>,
  ): Promise<LinkAuthority | undefined> {
    return foldLink(linkId, await this.d.authority.inputs(linkId), rosters)
  }

  /** Every link this node knows with both tribes named (from the consent context). */
  async folded(): Promise<FoldedLink[]> {
    return ((await this.d.authority.context()).links ?? []).filter(isFoldedLink)
  }

  // ---- FederationApi ---------------------------------------------------------------

  async federatePropose(given?: ProposeInput | null): Promise<ProposeResult> {
    const input = given ?? {}
    const tribeId = await this.d.tribeFor(input.tribeId)
    const roster = (await this.d.authority.rosters()).get(tribeId)
    if (!roster?.isSteward(this.#me)) {
      throw new ForbiddenError(
        'only a steward may propose a federation link',
        'ask one of the tribe’s stewards',
      )
    }
    const terms = checkTerms(input.terms ?? DEFAULT_TERMS)
    if (input.addresses !== undefined && !Array.isArray(input.addresses)) {
      throw new UsageError('addresses must be a list of multiaddrs')
    }
    const expiresInMs = input.expiresInMs ?? 7 * DAY
    if (!Number.isSafeInteger(expiresInMs) || expiresInMs <= 0) {
      throw new UsageError('the offer’s lifetime must be a positive number of milliseconds')
    }
    const key = generateSwarmKey()
    const { id: linkId, nonce } = newBoundDocId('link', this.#me)
    const createdAt = this.d.now()
    const expiresAt = createdAt + expiresInMs
    const genesis = await this.#sign(linkId, {
      v: 1,
      type: 'link.genesis',
      linkId,
      tribe: { id: tribeId, name: roster.name },
      terms,
      proposer: this.#me,
      keyHash: keyHashOf(key),
      expiresAt,
      nonce,
      createdAt,
    })
    await this.#saveLink(linkId, key, { v: 1, role: 'proposer', tribeId, addrs: [], createdAt })
    await this.d.putRecord(genesis)
    // A running node starts the link host now, so the offer can carry its addresses.
    await this.d.refreshNetwork()
    const addrs = [...this.d.listenAddrs(linkId), ...(input.addresses ?? [])]
    return { offer: encodeOffer({ key, addrs, genesis }), linkId, expiresAt }
  }

  async federateAccept(code: string, input?: AcceptInput | null): Promise<AcceptResult> {
    const offer = parseOffer(code, { now: this.d.now() })
    const g = offer.proposal
    const mine = await this.#myTribes()
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
      tribeId = await this.d.tribeFor(tribeId)
    }
    if (tribeId === g.tribe.id) {
      throw new UsageError(
        'this offer comes from your own tribe',
        'a steward of another tribe accepts it',
      )
    }
    const roster = (await this.d.authority.rosters()).get(tribeId)
    if (!roster?.isSteward(this.#me)) {
      throw new ForbiddenError(
        'only a steward may accept a federation link',
        'forward the offer to one of your tribe’s stewards',
      )
    }
    const known = await this.#fold(offer.linkId, await this.d.authority.rosters())
    if (known?.ended) throw new ForbiddenError('this link was ended; ask for a new offer')
    if (known?.link && known.link.tribeB.id !== tribeId && known.link.accepted) {
      throw new ForbiddenError('this offer was already accepted by another tribe')
    }
    const accept = await this.#sign(offer.linkId, {
      v: 1,
      type: 'link.accept',
      linkId: offer.linkId,
      tribeA: { ...g.tribe },
      tribeB: { id: tribeId, name: roster.name },
      terms: [...g.terms],
      tribeId,
      steward: this.#me,
      at: this.d.now(),
    })
    await this.#saveLink(offer.linkId, offer.key, {
      v: 1,
      role: 'accepter',
      tribeId,
      addrs: [...offer.addrs],
      createdAt: this.d.now(),
    })
    await this.d.putRecord(offer.genesis)
    if (!known?.link?.acceptances[tribeId]) await this.d.putRecord(accept)
    // The mesh starts the link host, dials the proposer and presents the acceptance.
    await this.d.refreshNetwork()
    return { linkId: offer.linkId, tribeId, partner: { id: g.tribe.id, name: g.tribe.name } }
  }

  async federation(): Promise<LinkView[]> {
    const rosters = await this.d.authority.rosters()
    const carried = new Set(await this.#carried())
    const out: LinkView[] = []
    for (const { id, kind } of await this.d.listDocuments()) {
      if (kind !== 'link') continue
      const a = await this.#fold(id, rosters)
      if (!a) continue
      const l = a.link
      const refused = (await this.#linkFile(id))?.refused !== undefined
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

  async federateEnd(linkId: string): Promise<EndResult> {
    const rosters = await this.d.authority.rosters()
    const a = typeof linkId === 'string' ? await this.#fold(linkId, rosters) : undefined
    if (!a) throw new NotFoundError('federation link', String(linkId), 'see `tapestry federation`')
    const tribes = [a.proposal.tribe.id, ...(a.link ? [a.link.tribeB.id] : [])]
    const tribeId = tribes.find((t) => rosters.get(t)?.isSteward(this.#me))
    if (tribeId === undefined) {
      throw new ForbiddenError('only a steward of one of the two tribes may end a link')
    }
    if (!a.ended) {
      await this.d.putRecord(
        await this.#sign(linkId, {
          v: 1,
          type: 'link.end',
          linkId,
          tribeId,
          steward: this.#me,
          at: this.d.now(),
        }),
      )
    }
    await this.linksChanged()
    return { linkId, status: 'ended' }
  }

  // ---- the handshake (FederationPeer) ----------------------------------------------

  async confirm(record: SignedRecord, from: string): Promise<LinkReply> {
    const refuse = (code: string, message: string): LinkReply => ({ ok: false, code, message })
    const accept = decodeAccept(record)
    if (typeof accept === 'string') return refuse('BAD_REQUEST', accept)
    if (accept.signer !== from || accept.r.steward !== from) {
      return refuse('WRONG_PEER', 'an acceptance must be presented by the steward who signed it')
    }
    const linkId = record.docId
    const file = await this.#linkFile(linkId)
    const rosters = await this.d.authority.rosters()
    const a = await this.#fold(linkId, rosters)
    if (file?.role !== 'proposer' || !a || a.proposal.proposer !== this.#me) {
      return refuse('UNKNOWN_LINK', 'this node did not propose that link')
    }
    const r = accept.r
    if (a.ended) return refuse('LINK_ENDED', 'the proposer ended this link')
    if (r.tribeId !== r.tribeB.id || r.tribeA.id !== a.proposal.tribe.id) {
      return refuse('BAD_REQUEST', 'the acceptance does not name the proposer’s tribe as tribe A')
    }
    if (!sameTerms(r.terms, a.proposal.terms)) {
      return refuse('TERMS_DIFFER', 'the acceptance names other terms')
    }
    const done = a.link?.accepted ? a.link : undefined
    if (done && done.tribeB.id !== r.tribeB.id) {
      return refuse('ALREADY_LINKED', 'this offer was accepted by another tribe')
    }
    if (!done && this.d.now() > a.proposal.expiresAt) {
      return refuse('OFFER_EXPIRED', 'this offer expired; ask for a new one')
    }
    if (!rosters.get(a.proposal.tribe.id)?.isSteward(this.#me)) {
      return refuse('NOT_STEWARD', 'the proposer is no longer a steward of its tribe')
    }
    await this.d.putRecord(record)
    const mine = (await this.d.authority.rawRecords(linkId)).find((s) => {
      if (s.record.kind !== 'link.accept' || !sameKey(s.record.author, this.d.identity))
        return false
      const p = decodeRecordPayload(s.record.payload)
      return p.ok && p.value.type === 'link.accept' && p.value.tribeId === r.tribeA.id
    })
    const countersign =
      mine?.record ??
      (await this.#sign(linkId, {
        v: 1,
        type: 'link.accept',
        linkId,
        tribeA: { ...a.proposal.tribe },
        tribeB: { ...r.tribeB },
        terms: [...a.proposal.terms],
        tribeId: a.proposal.tribe.id,
        steward: this.#me,
        at: this.d.now(),
      }))
    if (!mine) await this.d.putRecord(countersign)
    return { ok: true, accept: countersign }
  }

  async countersigned(record: SignedRecord, from: string): Promise<boolean> {
    const accept = decodeAccept(record)
    if (typeof accept === 'string') return false
    const linkId = record.docId
    const file = await this.#linkFile(linkId)
    const a = await this.#fold(linkId, await this.d.authority.rosters())
    if (file?.role !== 'accepter' || !a) return false
    const r = accept.r
    if (accept.signer !== from || accept.signer !== a.proposal.proposer) return false
    if (r.tribeId !== a.proposal.tribe.id || r.tribeB.id !== file.tribeId) return false
    if (!sameTerms(r.terms, a.proposal.terms)) return false
    const known = await this.d.authority.rawRecords(linkId)
    if (!known.some((s) => s.id === recordId(record))) await this.d.putRecord(record)
    return true
  }

  async pendingAccepts(): Promise<PendingAccept[]> {
    const out: PendingAccept[] = []
    const rosters = await this.d.authority.rosters()
    for (const linkId of await this.#carried()) {
      const file = await this.#linkFile(linkId)
      if (file?.role !== 'accepter' || file.refused) continue
      const a = await this.#fold(linkId, rosters)
      if (!a || a.ended || a.link?.accepted) continue
      const accept = (await this.d.authority.rawRecords(linkId)).find(
        (s) => s.record.kind === 'link.accept' && sameKey(s.record.author, this.d.identity),
      )
      if (accept) {
        out.push({
          linkId,
          proposer: a.proposal.proposer,
          addrs: file.addrs,
          accept: accept.record,
        })
      }
    }
    return out
  }

  async refused(linkId: string, code: string, message: string): Promise<void> {
    const file = await this.#linkFile(linkId)
    if (file?.role !== 'accepter') return
    await writeFileAtomic(
      join(this.#dir(linkId), 'link.json'),
      JSON.stringify({ ...file, refused: { code, message } } satisfies LinkFile),
      { overwrite: true },
    )
  }

  // ---- networks and enforcement ----------------------------------------------------

  /**
   * The link networks this node carries (it holds their offer's key), for the mesh, each
   * with its keys as the rosters' epochs have rotated them (link-keys.ts).
   */
  async networks(): Promise<TribeNetwork[]> {
    const rosters = await this.d.authority.rosters()
    const out: TribeNetwork[] = []
    for (const linkId of await this.#carried()) {
      const file = await this.#linkFile(linkId)
      const a = await this.#fold(linkId, rosters)
      if (!file || !a) continue
      if (rosters.get(file.tribeId)?.removed(this.#me)) continue
      if (a.ended && this.d.now() > a.ended.at + ENDED_LINK_GRACE_MS) continue
      let offerKey: Uint8Array
      try {
        offerKey = decodeSwarmKey(await readFile(this.#keyFile(linkId), 'utf8'))
      } catch {
        continue
      }
      out.push({
        tribeId: linkId,
        name: `${a.proposal.tribe.name} ↔ ${a.link?.tribeB.name ?? '…'}`,
        keys: a.link
          ? linkKeySet({
              link: a.link,
              tribeId: file.tribeId,
              rosters,
              identity: this.d.identity,
              offerKey,
              now: this.d.now(),
              graceMs: DEFAULT_KEY_GRACE_MS,
            })
          : { current: offerKey, previous: [] },
      })
    }
    return out
  }

  /** May `peer` use link network `linkId`? Current members of either tribe, once named. */
  async isLinkMember(linkId: string, peer: string): Promise<boolean> {
    const ctx = await this.d.authority.context()
    const link = (ctx.links ?? []).filter(isFoldedLink).find((l) => l.linkId === linkId)
    if (!link) return false
    const rosters = ctx.rosters as ReadonlyMap<string, RosterView>
    return [link.tribeA.id, link.tribeB.id].some((t) => rosters.get(t)?.isMember(peer))
  }

  /**
   * A link was accepted, countersigned or ended: erase the other tribes' narratives this
   * member may no longer receive (each with a receipt that travels back to the authors).
   */
  async linksChanged(): Promise<void> {
    const rosters = await this.d.authority.rosters()
    for (const { id, kind } of await this.d.listDocuments()) {
      if (kind !== 'narrative') continue
      const tribeId = await this.d.authority.tribeOf(id)
      if (tribeId === undefined || rosters.get(tribeId)?.isMember(this.#me)) continue
      await this.d.enforceConsent(id)
    }
  }

  // ---- internals -------------------------------------------------------------------

  async #myTribes(): Promise<string[]> {
    return [...(await this.d.authority.rosters()).values()]
      .filter((r) => r.isMember(this.#me))
      .map((r) => r.tribeId)
  }

  #sign(docId: string, record: Parameters<typeof encodeRecordPayload>[0]): Promise<SignedRecord> {
    return signRecord(this.d.identity, {
      docId,
      kind: record.type,
      payload: encodeRecordPayload(record),
    })
  }

  #dir(linkId: string): string {
    return join(this.d.dataDir, 'links', linkId)
  }

  #keyFile(linkId: string): string {
    return join(this.#dir(linkId), 'swarm.key')
  }

  async #saveLink(linkId: string, key: Uint8Array, file: LinkFile): Promise<void> {
    await mkdir(this.#dir(linkId), { recursive: true, mode: 0o700 })
    await writeFileAtomic(this.#keyFile(linkId), encodeSwarmKey(key), { overwrite: true })
    await writeFileAtomic(join(this.#dir(linkId), 'link.json'), JSON.stringify(file), {
      overwrite: true,
    })
  }

  async #linkFile(linkId: string): Promise<LinkFile | undefined> {
    if (!/^link_b[a-z2-7]{26}$/.test(linkId)) return undefined
    try {
      const v = JSON.parse(await readFile(join(this.#dir(linkId), 'link.json'), 'utf8')) as LinkFile
      return v?.v === 1 && (v.role === 'proposer' || v.role === 'accepter') ? v : undefined
    } catch {
      return undefined
    }
  }

  /** Ids of the links whose key this data directory holds. */
  async #carried(): Promise<string[]> {
    try {
      const entries = await readdir(join(this.d.dataDir, 'links'), { withFileTypes: true })
      return entries
        .filter((e) => e.isDirectory() && /^link_b[a-z2-7]{26}$/.test(e.name))
        .map((e) => e.name)
    } catch {
      return []
    }
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

function checkTerms(terms: readonly string[]): Category[] {
  if (!Array.isArray(terms) || terms.length === 0) {
    throw new UsageError('a link needs at least one category in its terms')
  }
  for (const t of terms) {
    if (!(CATEGORIES as readonly string[]).includes(t)) {
      throw new UsageError(`unknown category "${t}"`, `use some of ${CATEGORIES.join(', ')}`)
    }
  }
  return [...new Set(terms as Category[])].sort()
}

const sameTerms = (a: readonly string[], b: readonly string[]): boolean =>
  a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',')

function sameKey(author: Uint8Array, identity: Pick<Identity, 'publicKey'>): boolean {
  const k = identity.publicKey
  return author.length === k.length && author.every((b, i) => b === k[i])
}

function decodeAccept(record: SignedRecord): { signer: string; r: LinkAccept } | string {
  if (!verifyRecord(record) || record.kind !== 'link.accept') return 'not a signed link acceptance'
  const r = acceptPayload(record)
  if (r === undefined) return 'not a link acceptance'
  let signer: string
  try {
    signer = memberIdFromPublicKey(record.author)
  } catch {
    return 'the signer is not a member'
  }
  if (signer !== r.steward) return 'the acceptance is not signed by its steward'
  return { signer, r }
}

function acceptPayload(record: SignedRecord): LinkAccept | undefined {
  const p = decodeRecordPayload(record.payload)
  if (!p.ok || p.value.type !== 'link.accept' || p.value.linkId !== record.docId) return undefined
  return p.value
}
