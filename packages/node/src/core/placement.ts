/**
 * Which documents belong on which network, for a given peer. Consent is the single
 * function `mayReceive` everywhere (with the links in its context); this module says
 * *where* documents are offered:
 *
 * - on a tribe network T: T's own documents that both the peer and this member may hold,
 *   the documents of tribes linked to T that the peer may receive (so a federated
 *   narrative one member of T received reaches all of T), and the links of T;
 * - on a link network (tribes A and B): the link document, the rosters of A and B, and
 *   the documents of A or B that a member of the other tribe may receive through this
 *   link (a `federated` narrative, its echoes if the terms say so), each only if the
 *   peer may receive it. Nothing else of either tribe is ever offered there;
 * - after a link ended, the records (never the content) of what crossed it still go to
 *   the members who could have received them, so erasure and its receipts travel.
 */
import {
  type ConsentContext,
  compareSyncOrder,
  type FoldedLink,
  type RosterView,
} from '@tapestry/crdt-schema'
import type { DocId, SignedRecord } from '../envelope/types.js'
import { otherTribeOf } from '../federation/fold.js'
import { everActive, isFoldedLink } from '../federation/link-consent.js'
import type { EnvelopeStore } from '../store/index.js'
import type { AuthorityIndex } from './authority.js'
import type { VisibleDocument } from './replication.js'

export interface PlacementDeps {
  memberId: string
  authority: AuthorityIndex
  store: Pick<EnvelopeStore, 'listDocuments' | 'versionVector'>
  /** The federation links this node knows, folded. */
  links: () => Promise<FoldedLink[]>
}

export class Placement {
  constructor(private readonly d: PlacementDeps) {}

  /** What goes to `peer` on tribe `tribeId`'s network. */
  async onTribe(tribeId: string, peer: string): Promise<VisibleDocument[]> {
    return inSyncOrder([
      ...(await this.#own(tribeId, peer)),
      ...(await this.#linked(tribeId, peer)),
    ])
  }

  /** What may cross link `linkId` to `peer`. */
  async onLink(linkId: string, peer: string): Promise<VisibleDocument[]> {
    const a = this.d.authority
    const ctx = await a.context()
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
        const tribeId = await a.tribeOf(id)
        if (tribeId === undefined || !tribes.has(tribeId)) continue
        if (kind !== 'roster' && !(await this.#crosses(id, tribeId, link, peer, across))) continue
      }
      const entry = await this.#entry(id, peer, ever)
      if (entry) out.push(entry)
    }
    return inSyncOrder(out)
  }

  /** The authority records of `docId` that `peer` may receive, on any network. */
  async recordsFor(docId: DocId, peer: string): Promise<SignedRecord[]> {
    const a = this.d.authority
    if (!(await a.mayReceiveRecords(docId, peer))) {
      const ever = await this.#everContext()
      if (!ever || !(await a.mayReceiveRecords(docId, peer, ever))) return []
    }
    return (await a.rawRecords(docId)).map((r) => r.record)
  }

  /**
   * The tribe's own documents that both `peer` and this member may hold. A node that may
   * not hold a document itself (it erased it, and keeps records it may no longer
   * receive) offers nothing of it: two nodes that agree on authority then describe the
   * same set to each other, and in-sync checks stay in sync.
   */
  async #own(tribeId: string, peer: string): Promise<VisibleDocument[]> {
    const a = this.d.authority
    const me = this.d.memberId
    const out: VisibleDocument[] = []
    for (const { id } of await this.d.store.listDocuments()) {
      if ((await a.tribeOf(id)) !== tribeId) continue
      const content = (await a.mayReceive(id, peer)).allowed && (await a.mayReceive(id, me)).allowed
      if (
        !content &&
        !((await a.mayReceiveRecords(id, peer)) && (await a.mayReceiveRecords(id, me)))
      ) {
        continue
      }
      out.push(await this.#describe(id, content))
    }
    return out
  }

  /** Documents of the tribes linked to `tribeId`, and its links, for a member of it. */
  async #linked(tribeId: string, peer: string): Promise<VisibleDocument[]> {
    const links = (await this.d.links()).filter(
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
    return this.#describe(docId, content)
  }

  async #describe(docId: DocId, content: boolean): Promise<VisibleDocument> {
    return {
      docId,
      vv: content ? await this.d.store.versionVector(docId) : new Map(),
      recordIds: (await this.d.authority.rawRecords(docId)).map((r) => r.id).sort(),
      content,
    }
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

function inSyncOrder(docs: VisibleDocument[]): VisibleDocument[] {
  return docs.sort((a, b) => compareSyncOrder(a.docId, b.docId))
}
