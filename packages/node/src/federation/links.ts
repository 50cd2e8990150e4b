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
 * The parts live beside this file: proposing (propose.ts), accepting (accept.ts), the
 * handshake (handshake.ts), listing and ending (link-views.ts, link-end.ts), the link
 * networks and their keys (link-networks.ts), what consent needs of links
 * (link-consent.ts), and the files a carrier keeps (link-files.ts).
 */
import type { ConsentContext, FoldedLink, LinkSnapshot, RosterView } from '@tapestry/crdt-schema'
import type { TribeNetwork } from '../core/replication.js'
import type { DocId, SignedRecord } from '../envelope/types.js'
import { acceptOffer } from './accept.js'
import type {
  AcceptInput,
  AcceptResult,
  EndResult,
  FederationApi,
  LinkView,
  ProposeInput,
  ProposeResult,
} from './api-types.js'
import {
  confirmAcceptance,
  keepCountersignature,
  markRefused,
  pendingAccepts,
} from './handshake.js'
import {
  consentContext,
  foldedLinks,
  isLinkMember,
  linkSnapshot,
  linksChanged,
} from './link-consent.js'
import {
  type FederationDeps,
  type FederationPeer,
  LinkContext,
  type PendingAccept,
} from './link-context.js'
import { endLink } from './link-end.js'
import { linkNetworks } from './link-networks.js'
import { listLinks } from './link-views.js'
import { proposeLink } from './propose.js'
import type { LinkReply } from './protocol.js'

export type { FederationDeps, FederationPeer, PendingAccept } from './link-context.js'

export class Federation implements FederationApi, FederationPeer {
  readonly #c: LinkContext

  constructor(d: FederationDeps) {
    this.#c = new LinkContext(d)
  }

  // ---- what consent decisions need (AuthorityIndex sources) -------------------------

  /** Rosters plus links this node knows, folded; views of tribes known only by a link. */
  context(rosters: ReadonlyMap<string, RosterView>): Promise<ConsentContext> {
    return consentContext(this.#c, rosters)
  }

  /** A link document's snapshot, once both tribes are named (a bare proposal has none). */
  link(docId: DocId): Promise<LinkSnapshot | undefined> {
    return linkSnapshot(this.#c, docId)
  }

  /** Every link this node knows with both tribes named (from the consent context). */
  folded(): Promise<FoldedLink[]> {
    return foldedLinks(this.#c)
  }

  // ---- FederationApi ---------------------------------------------------------------

  federatePropose(given?: ProposeInput | null): Promise<ProposeResult> {
    return proposeLink(this.#c, given)
  }

  federateAccept(code: string, input?: AcceptInput | null): Promise<AcceptResult> {
    return acceptOffer(this.#c, code, input)
  }

  federation(): Promise<LinkView[]> {
    return listLinks(this.#c)
  }

  federateEnd(linkId: string): Promise<EndResult> {
    return endLink(this.#c, linkId)
  }

  // ---- the handshake (FederationPeer) ----------------------------------------------

  confirm(record: SignedRecord, from: string): Promise<LinkReply> {
    return confirmAcceptance(this.#c, record, from)
  }

  countersigned(record: SignedRecord, from: string): Promise<boolean> {
    return keepCountersignature(this.#c, record, from)
  }

  pendingAccepts(): Promise<PendingAccept[]> {
    return pendingAccepts(this.#c)
  }

  refused(linkId: string, code: string, message: string): Promise<void> {
    return markRefused(this.#c, linkId, code, message)
  }

  // ---- networks and enforcement ----------------------------------------------------

  /**
   * The link networks this node carries (it holds their offer's key), for the mesh, each
   * with its keys as the rosters' epochs have rotated them (link-keys.ts).
   */
  networks(): Promise<TribeNetwork[]> {
    return linkNetworks(this.#c)
  }

  /** May `peer` use link network `linkId`? Current members of either tribe, once named. */
  isLinkMember(linkId: string, peer: string): Promise<boolean> {
    return isLinkMember(this.#c, linkId, peer)
  }

  /**
   * A link was accepted, countersigned or ended: erase the other tribes' narratives this
   * member may no longer receive (each with a receipt that travels back to the authors).
   */
  linksChanged(): Promise<void> {
    return linksChanged(this.#c)
  }
}
