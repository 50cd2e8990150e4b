/**
 * The node's Replication with federation links: the tribe replication (core/
 * node-replication.ts) plus one network per link this node carries. Consent is the
 * same single function everywhere (`mayReceive`, with the links in its context); what
 * this adds is *where* documents are offered:
 *
 * - on a link network (id `link_…`, tribes A and B): the link document, the rosters of
 *   A and B, and the documents of A or B that a member of the other tribe may receive
 *   through this link (a `federated` narrative, its echoes if the terms say so) — each
 *   only if the peer may receive it. Nothing else of either tribe is ever offered there.
 * - on a tribe network T: besides T's own documents, the documents of tribes linked to
 *   T that the peer may receive (so a federated narrative one member of T received
 *   reaches all of T), and the links of T.
 * - after a link ended, the records (never the content) of what crossed it still go to
 *   the members who could have received them, so erasure and its receipts travel.
 */
import type { ConsentContext, FoldedLink, RosterView } from '@tapestry/crdt-schema'
import type { AuthorityIndex } from '../core/authority.js'
import type {
  IngestResult,
  PendingJoin,
  Replication,
  StoredItem,
  TribeNetwork,
  VisibleDocument,
} from '../core/replication.js'
import type { DocId, Envelope, SignedRecord, VersionVector } from '../envelope/types.js'
import type { EnvelopeStore } from '../store/index.js'
import { otherTribeOf } from './fold.js'
import { everActive, type Federation, isFoldedLink } from './links.js'

export interface FederatedReplicationDeps {
  authority: AuthorityIndex
  store: Pick<EnvelopeStore, 'listDocuments' | 'versionVector'>
}

const isLink = (networkId: string) => networkId.startsWith('link_')

export class FederatedReplication implements Replication {
  constructor(
    private readonly inner: Replication,
    private readonly federation: Federation,
    private readonly d: FederatedReplicationDeps,
  ) {}

  get memberId(): string {
    return this.inner.memberId
  }

  async networks(): Promise<TribeNetwork[]> {
    return [...(await this.inner.networks()), ...(await this.federation.networks())]
  }

  isMember(networkId: string, memberId: string): Promise<boolean> {
    return isLink(networkId)
      ? this.federation.isLinkMember(networkId, memberId)
      : this.inner.isMember(networkId, memberId)
  }

  async visibleDocuments(networkId: string, peer: string): Promise<VisibleDocument[]> {
    const docs = isLink(networkId)
      ? await this.#onLink(networkId, peer)
      : [
          ...(await this.inner.visibleDocuments(networkId, peer)),
          ...(await this.#linked(networkId, peer)),
        ]
    return docs.sort((a, b) => rank(a.docId) - rank(b.docId) || (a.docId < b.docId ? -1 : 1))
  }

  mayReceive(docId: DocId, peer: string): Promise<boolean> {
    return this.inner.mayReceive(docId, peer)
  }

  envelopesFor(docId: DocId, vv: VersionVector, peer: string): Promise<Envelope[]> {
    return this.inner.envelopesFor(docId, vv, peer)
  }

  async recordsFor(docId: DocId, peer: string): Promise<SignedRecord[]> {
    const records = await this.inner.recordsFor(docId, peer)
    if (records.length > 0) return records
    const ever = await this.#everContext()
    if (!ever || !(await this.d.authority.mayReceiveRecords(docId, peer, ever))) return []
    return (await this.d.authority.rawRecords(docId)).map((r) => r.record)
  }

  /** Link records first (a narrative's right to be here may depend on them), then the rest. */
  async ingestRecords(records: readonly SignedRecord[], from: string): Promise<IngestResult> {
    const links = records.filter((r) => r.docId.startsWith('link_'))
    if (links.length === 0) return this.inner.ingestRecords(records, from)
    const first = await this.inner.ingestRecords(links, from)
    if (first.applied > 0) await this.federation.linksChanged()
    const rest = records.filter((r) => !r.docId.startsWith('link_'))
    if (rest.length === 0) return first
    const second = await this.inner.ingestRecords(rest, from)
    return {
      applied: first.applied + second.applied,
      duplicates: first.duplicates + second.duplicates,
      held: first.held + second.held,
      equivocations: first.equivocations + second.equivocations,
      rejected: [...first.rejected, ...second.rejected],
    }
  }

  ingestEnvelopes(envelopes: readonly Envelope[], from: string): Promise<IngestResult> {
    return this.inner.ingestEnvelopes(envelopes, from)
  }

  pendingJoins(): Promise<PendingJoin[]> {
    return this.inner.pendingJoins()
  }

  admit(record: SignedRecord, from: string) {
    return this.inner.admit(record, from)
  }

  bootstrapAddrs(networkId: string): Promise<string[]> {
    return isLink(networkId) ? Promise.resolve([]) : this.inner.bootstrapAddrs(networkId)
  }

  onStored(listener: (item: StoredItem) => void): () => void {
    return this.inner.onStored(listener)
  }

  // ---- where documents are offered ---------------------------------------------------

  /** A context in which every link that was once accepted still stands (records only). */
  async #everContext(): Promise<ConsentContext | undefined> {
    const ctx = await this.d.authority.context()
    const links = (ctx.links ?? []).filter(isFoldedLink)
    if (!links.some((l) => l.accepted && !l.active)) return undefined
    return { rosters: ctx.rosters, links: links.map(everActive) }
  }

  async #entry(
    docId: DocId,
    peer: string,
    ever: ConsentContext | undefined,
  ): Promise<VisibleDocument | undefined> {
    const a = this.d.authority
    const content = (await a.mayReceive(docId, peer)).allowed
    const records =
      content ||
      (await a.mayReceiveRecords(docId, peer)) ||
      (ever !== undefined && (await a.mayReceiveRecords(docId, peer, ever)))
    if (!records) return undefined
    return {
      docId,
      vv: content ? await this.d.store.versionVector(docId) : new Map(),
      recordIds: (await a.rawRecords(docId)).map((r) => r.id).sort(),
      content,
    }
  }

  /** Documents of the tribes linked to `tribeId`, and its links, for a member of it. */
  async #linked(tribeId: string, peer: string): Promise<VisibleDocument[]> {
    const links = (await this.federation.folded()).filter(
      (l) => l.accepted && otherTribeOf(l, tribeId) !== undefined,
    )
    if (links.length === 0) return []
    const linked = new Set(links.map((l) => otherTribeOf(l, tribeId) ?? tribeId))
    linked.delete(tribeId)
    const linkIds = new Set(links.map((l) => l.linkId))
    const ever = await this.#everContext()
    const out: VisibleDocument[] = []
    for (const { id, kind } of await this.d.store.listDocuments()) {
      const wanted =
        kind === 'link' ? linkIds.has(id) : linked.has((await this.d.authority.tribeOf(id)) ?? '')
      if (!wanted) continue
      const entry = await this.#entry(id, peer, ever)
      if (entry) out.push(entry)
    }
    return out
  }

  /** What may cross link `linkId` to `peer`. */
  async #onLink(linkId: string, peer: string): Promise<VisibleDocument[]> {
    const ctx = await this.d.authority.context()
    const link = (ctx.links ?? []).filter(isFoldedLink).find((l) => l.linkId === linkId)
    if (!link?.accepted) return []
    const rosters = ctx.rosters as ReadonlyMap<string, RosterView>
    const tribes = new Set([link.tribeA.id, link.tribeB.id])
    const across: ConsentContext = { rosters, links: [everActive(link)] }
    const ever = await this.#everContext()
    const out: VisibleDocument[] = []
    for (const { id, kind } of await this.d.store.listDocuments()) {
      if (kind === 'link') {
        if (id !== linkId) continue
      } else {
        const tribeId = await this.d.authority.tribeOf(id)
        if (tribeId === undefined || !tribes.has(tribeId)) continue
        if (kind !== 'roster' && !(await this.#crosses(id, tribeId, link, peer, across))) continue
      }
      const entry = await this.#entry(id, peer, ever)
      if (entry) out.push(entry)
    }
    return out
  }

  /**
   * Would a member of the other tribe have been allowed (at least the records of)
   * document `docId` of `tribeId` through `link`? The single audience function decides,
   * for the peer itself when it is of the other tribe, else for one member of it.
   */
  async #crosses(
    docId: DocId,
    tribeId: string,
    link: FoldedLink,
    peer: string,
    across: ConsentContext,
  ): Promise<boolean> {
    const other = otherTribeOf(link, tribeId)
    const roster =
      other === undefined
        ? undefined
        : (across.rosters as ReadonlyMap<string, RosterView>).get(other)
    if (!roster) return false
    const rep = roster.isMember(peer) ? peer : roster.members[0]
    if (rep === undefined) return false
    return this.d.authority.mayReceiveRecords(docId, rep, across)
  }
}

function rank(docId: string): number {
  if (docId.startsWith('roster_')) return 0
  if (docId.startsWith('link_')) return 1
  if (docId.startsWith('profile_')) return 2
  if (docId.startsWith('narrative_')) return 3
  return 4
}
