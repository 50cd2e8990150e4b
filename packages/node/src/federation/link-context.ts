/**
 * What the parts of a node's federation share: the node's dependencies, the link files
 * it carries, and the fold and signing of link records; and the interfaces the mesh
 * side (federation/attach.ts) calls.
 */
import { encodeRecordPayload, type LinkAuthority, type RosterView } from '@tapestry/crdt-schema'
import type { AuthorityIndex } from '../core/authority.js'
import { signRecord } from '../envelope/index.js'
import type { DocId, SignedRecord } from '../envelope/types.js'
import type { Identity } from '../identity/index.js'
import { foldLink } from './fold.js'
import { LinkFiles } from './link-files.js'
import type { LinkReply } from './protocol.js'

export const DAY = 24 * 60 * 60 * 1000

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

export class LinkContext {
  readonly files: LinkFiles

  constructor(readonly d: FederationDeps) {
    this.files = new LinkFiles(d.dataDir)
  }

  get me(): string {
    return this.d.identity.memberId
  }

  async fold(
    linkId: DocId,
    rosters: ReadonlyMap<string, RosterView>,
  ): Promise<LinkAuthority | undefined> {
    return foldLink(linkId, await this.d.authority.inputs(linkId), rosters)
  }

  sign(docId: string, record: Parameters<typeof encodeRecordPayload>[0]): Promise<SignedRecord> {
    return signRecord(this.d.identity, {
      docId,
      kind: record.type,
      payload: encodeRecordPayload(record),
    })
  }
}
