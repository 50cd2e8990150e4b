import {
  type Audience,
  type SignedRecord as AuthorityInput,
  type ConsentContext,
  type Decision,
  type DocDescriptor,
  echoAuthority,
  foldRoster,
  isConsentBound,
  kindOf,
  type LinkSnapshot,
  type MemberEntry,
  mayHold,
  mayReceive,
  mayReceiveRecords,
  mayWrite,
  type NarrativeAuthority,
  narrativeAuthority,
  parseDocId,
  profileDocId,
  profileGenesis,
  type RosterView,
  readProfile,
  readRoster,
  rosterGenesis,
} from '@tapestry/crdt-schema'
import type * as Y from 'yjs'
import type { DocId } from '../envelope/types.js'
import type { StoredRecord } from '../store/index.js'
import { foldInputs } from './fold-inputs.js'

/**
 * Members admitted by signed admission records beside a roster (invitations), as the
 * invite module folds them. Injected so the authority index stays independent of how
 * invitations are encoded.
 */
export type AdmissionFold = (input: {
  tribeId: string
  /** Was `memberId` a steward at `query.at` (the claimed time of an admission or revocation)? */
  isSteward: (memberId: string, query: { at: number }) => boolean
  records: readonly StoredRecord[]
}) => ReadonlyMap<string, MemberEntry>

export interface AuthoritySources {
  records(docId: DocId): Promise<StoredRecord[]>
  doc(docId: DocId): Promise<Y.Doc>
  listDocuments(): Promise<{ id: DocId; kind: string }[]>
  /** Whether the store holds content (envelopes) of the document. */
  hasContent(docId: DocId): Promise<boolean>
  admissions: AdmissionFold
  /**
   * Federation links (federation/links.ts): the consent context with the links this
   * node knows (and what it knows of their tribes), and a link document's snapshot.
   */
  federation?: {
    context(rosters: ReadonlyMap<string, RosterView>): Promise<ConsentContext>
    link(docId: DocId): Promise<LinkSnapshot | undefined>
  }
}

/**
 * Who may write and who may receive each document, decided from signed records and
 * rosters only (never from content a peer could shape). Cached per document and
 * invalidated when the node stores a record or a roster changes. The sync layer and the
 * NodeApi both ask here, so one decision serves every place data enters or leaves.
 */
export class AuthorityIndex {
  readonly #inputs = new Map<DocId, Promise<{ inputs: AuthorityInput[]; raw: StoredRecord[] }>>()
  #rosters: Promise<Map<string, RosterView>> | undefined
  #context: Promise<ConsentContext> | undefined

  constructor(private readonly src: AuthoritySources) {}

  /** Forget what was derived from `docId` (its records or, for rosters, its content changed). */
  invalidate(docId: DocId): void {
    this.#inputs.delete(docId)
    const kind = kindOf(docId)
    if (kind === 'roster') this.#rosters = undefined
    if (kind === 'roster' || kind === 'link') this.#context = undefined
  }

  async inputs(docId: DocId): Promise<AuthorityInput[]> {
    return (await this.#load(docId)).inputs
  }

  async rawRecords(docId: DocId): Promise<StoredRecord[]> {
    return (await this.#load(docId)).raw
  }

  #load(docId: DocId) {
    let p = this.#inputs.get(docId)
    if (!p) {
      p = this.src.records(docId).then((raw) => ({ raw, inputs: foldInputs(raw) }))
      this.#inputs.set(docId, p)
      p.catch(() => this.#inputs.delete(docId))
    }
    return p
  }

  /** Every tribe this node knows, folded: roster content plus admission records. */
  rosters(): Promise<Map<string, RosterView>> {
    this.#rosters ??= this.#foldRosters()
    const p = this.#rosters
    p.catch(() => {
      if (this.#rosters === p) this.#rosters = undefined
    })
    return p
  }

  /** What every consent decision is made with: rosters and federation links. */
  context(): Promise<ConsentContext> {
    this.#context ??= this.rosters().then(
      async (rosters) => (await this.src.federation?.context(rosters)) ?? { rosters },
    )
    const p = this.#context
    p.catch(() => {
      if (this.#context === p) this.#context = undefined
    })
    return p
  }

  async #foldRosters(): Promise<Map<string, RosterView>> {
    const out = new Map<string, RosterView>()
    for (const { id, kind } of await this.src.listDocuments()) {
      if (kind !== 'roster') continue
      const view = await this.foldRoster(id, await this.src.doc(id))
      if (view) out.set(id, view)
    }
    return out
  }

  /**
   * A tribe folded from `doc` (its roster content, or a candidate state of it) and the
   * signed records this node holds.
   */
  async foldRoster(tribeId: string, doc: Y.Doc): Promise<RosterView | undefined> {
    const genesis = rosterGenesis(await this.inputs(tribeId), { tribeId })
    if (!genesis.ok) return undefined
    const snap = readRoster(doc, tribeId)
    // Before the roster's content arrives, its signed genesis alone names the founder.
    const base = snap.ok
      ? snap.value
      : {
          tribeId,
          name: genesis.value.name,
          createdAt: genesis.value.createdAt,
          createdBy: genesis.value.founder,
          members: {
            [genesis.value.founder]: {
              name: '',
              role: 'steward' as const,
              joinedAt: genesis.value.createdAt,
              admittedBy: genesis.value.founder,
              invitationId: null,
            },
          },
          removals: [],
          epochs: [],
          revokedInvitations: {},
          schemaVersion: 1,
        }
    if (base.createdBy !== genesis.value.founder) return undefined
    const records = await this.rawRecords(tribeId)
    // A steward admitted by invitation is a steward through these records only, and the
    // invitations it issued count as well, to any depth of the chain: fold again with the
    // stewards the previous round found until the admitted members stop changing. Rounds
    // start from the roster's content, so nobody vouches for themselves, and every node
    // runs the same rounds on the same records (the outcome does not depend on arrival).
    let view = foldRoster(base)
    let admitted: ReadonlyMap<string, MemberEntry> = new Map()
    for (let round = 0; round <= records.length; round++) {
      const current = view
      const next = this.src.admissions({
        tribeId,
        isSteward: (m, q) => current.wasStewardAt(m, q.at),
        records,
      })
      if (sameAdmissions(next, admitted)) break
      admitted = next
      const members: Record<string, MemberEntry> = { ...base.members }
      for (const [m, entry] of admitted) members[m] ??= entry
      view = foldRoster({ ...base, members })
    }
    return view
  }

  /** The tribe a document belongs to, from its signed genesis. */
  async tribeOf(docId: DocId): Promise<string | undefined> {
    const d = await this.descriptor(docId)
    if (!d) return undefined
    switch (d.kind) {
      case 'roster':
      case 'profile':
        return d.tribeId
      case 'narrative':
        return d.authority.tribeId
      case 'echo':
        return d.narrative.tribeId
      case 'link':
        return undefined
    }
  }

  /**
   * A narrative's authority. A co-author who signed no audience for it consents by
   * their profile's default for narratives (`tribe` for a new member), so their
   * profile is read for the fold.
   */
  async narrative(narrativeId: DocId): Promise<NarrativeAuthority | undefined> {
    const inputs = await this.inputs(narrativeId)
    const first = narrativeAuthority(inputs, { narrativeId })
    if (!first.ok) return undefined
    const stated = new Set(first.value.audienceHistory.map((s) => s.member))
    const defaults = new Map<string, Audience>()
    for (const author of first.value.authors) {
      if (stated.has(author)) continue
      const profileId = profileDocId(first.value.tribeId, author)
      if (!(await this.src.hasContent(profileId))) continue
      const profile = readProfile(await this.src.doc(profileId), profileId)
      if (profile.ok) defaults.set(author, profile.value.defaults.narratives)
    }
    if (defaults.size === 0) return first.value
    const a = narrativeAuthority(inputs, { narrativeId, defaultAudience: (m) => defaults.get(m) })
    return a.ok ? a.value : undefined
  }

  /** What mayReceive needs to know about a document, or undefined without a valid genesis. */
  async descriptor(docId: DocId): Promise<DocDescriptor | undefined> {
    const parsed = parseDocId(docId)
    if (!parsed.ok) return undefined
    switch (parsed.value.kind) {
      case 'roster': {
        const g = rosterGenesis(await this.inputs(docId), { tribeId: docId })
        return g.ok ? { kind: 'roster', tribeId: docId } : undefined
      }
      case 'profile': {
        const g = profileGenesis(await this.inputs(docId), { profileId: docId })
        if (!g.ok) return undefined
        const content = readProfile(await this.src.doc(docId), docId)
        return {
          kind: 'profile',
          tribeId: g.value.tribeId,
          memberId: g.value.member,
          ...(content.ok ? { audience: content.value.defaults.profile } : {}),
        }
      }
      case 'narrative': {
        const authority = await this.narrative(docId)
        return authority ? { kind: 'narrative', authority } : undefined
      }
      case 'echo': {
        const echo = echoAuthority(await this.inputs(docId), { echoId: docId })
        if (!echo.ok) return undefined
        const narrative = await this.narrative(echo.value.narrativeId)
        return narrative ? { kind: 'echo', echo: echo.value, narrative } : undefined
      }
      case 'link': {
        const link = await this.src.federation?.link(docId)
        return link ? { kind: 'link', link } : undefined
      }
    }
  }

  /** May `member` receive `docId` now? (the schema's single decision, with current state) */
  async mayReceive(docId: DocId, member: string): Promise<Decision> {
    const d = await this.descriptor(docId)
    if (!d) return { allowed: false, reason: 'unknown-tribe' }
    return mayReceive(member, d, await this.context())
  }

  /**
   * May `peer` receive the document's records (no content)? The schema's
   * {@link mayReceiveRecords} with current state (`ctx`: decide in another context, e.g.
   * with an ended federation link).
   */
  async mayReceiveRecords(docId: DocId, peer: string, ctx?: ConsentContext): Promise<boolean> {
    const d = await this.descriptor(docId)
    if (!d) return false
    return mayReceiveRecords(peer, d, ctx ?? (await this.context()))
  }

  /**
   * May `member` (this node's own member) keep the content of `docId`? The schema's
   * {@link mayHold} with current state: content bound to consent without a valid genesis
   * may not be kept (as {@link mayReceive} denies it).
   */
  async mayHold(docId: DocId, member: string): Promise<boolean> {
    if (!isConsentBound(kindOf(docId))) return true
    const d = await this.descriptor(docId)
    return d !== undefined && mayHold(member, d, await this.context())
  }

  /** May `author` write content (envelopes) of `docId` now? (the schema's {@link mayWrite}) */
  async mayWrite(docId: DocId, author: string): Promise<boolean> {
    const d = await this.descriptor(docId)
    if (!d) return false
    return mayWrite(author, d, { rosters: await this.rosters() })
  }
}

/** The same members with the same roles (a round of the admission fold changed nothing). */
function sameAdmissions(
  a: ReadonlyMap<string, MemberEntry>,
  b: ReadonlyMap<string, MemberEntry>,
): boolean {
  if (a.size !== b.size) return false
  for (const [m, entry] of a) if (b.get(m)?.role !== entry.role) return false
  return true
}
