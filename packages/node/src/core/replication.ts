import type { DocId, Envelope, SignedRecord, VersionVector } from '../envelope/types.js'
import type { Network } from './network.js'

/**
 * What the mesh needs from a node to replicate: the boundary between the network
 * (hosts, sync protocol, forwarding) and the node's documents, authority and consent.
 * `TapestryNode.replication` implements it; the sync layer never touches the store or
 * Yjs directly, so every envelope that enters or leaves passes the same checks.
 *
 * Consent is enforced here, where data leaves: every method that returns documents,
 * envelopes or records for a peer takes that peer's member id and returns only what
 * `mayReceive` allows (a withdrawn narrative: its records, never its content).
 */
export interface Replication {
  readonly memberId: string

  /** Every network this member takes part in (its tribes, the links it carries). */
  networks(): Promise<Network[]>

  /** Is `memberId` a current member of network `networkId` (so its connections may sync)? */
  isMember(networkId: string, memberId: string): Promise<boolean>

  /**
   * The documents that belong on network `networkId` and that both `peer` and this
   * member may hold, each with its version vector and record ids, rosters first (roster
   * and consent sync before content). `content` is false when only the records may go
   * (a withdrawn narrative's tombstone, a narrowing for a member who left the audience).
   */
  visibleDocuments(networkId: string, peer: string): Promise<VisibleDocument[]>

  /** May `peer` receive this document's content now? (live pushes and forwards ask this) */
  mayReceive(docId: DocId, peer: string): Promise<boolean>

  /** Envelopes of `docId` above `vv`, for a peer that may receive it (else none). */
  envelopesFor(docId: DocId, vv: VersionVector, peer: string): Promise<Envelope[]>

  /** Authority records of `docId` for a peer (records of withdrawn narratives too). */
  recordsFor(docId: DocId, peer: string): Promise<SignedRecord[]>

  /**
   * Verifies and stores records from `from` (authority before content: call this
   * before ingestEnvelopes for the same documents). Invalid ones are rejected.
   */
  ingestRecords(records: readonly SignedRecord[], from: string): Promise<IngestResult>

  /**
   * Runs every envelope through acceptance (signature, authority, client ids,
   * sequence, cut-off), then applies and stores the accepted ones. Envelopes that
   * arrive ahead of a gap are held (bounded) until the gap fills.
   */
  ingestEnvelopes(envelopes: readonly Envelope[], from: string): Promise<IngestResult>

  /**
   * Tribes joined by invitation whose roster has not admitted this member yet: the
   * mesh presents `admission` to peers (join protocol, starting with `addrs`).
   */
  pendingJoins(): Promise<PendingJoin[]>

  /** The join protocol's decision on a joiner's admission record sent by `from`. */
  admit(
    record: SignedRecord,
    from: string,
  ): Promise<{ ok: true } | { ok: false; code: string; message: string }>

  /** Extra addresses to dial for a network (a tribe's: from the invitation it was joined with). */
  bootstrapAddrs(networkId: string): Promise<string[]>
}

export interface PendingJoin {
  tribeId: string
  name: string
  addrs: string[]
  admission: SignedRecord
}

/** A federation link's network as federation/links.ts describes it (the engine makes it a Network). */
export interface TribeNetwork {
  /** The link's id. */
  tribeId: string
  name: string
  /** The key of the current swarm-key epoch and, for a while, previous ones. */
  keys: { current: Uint8Array; previous: Uint8Array[] }
}

export interface VisibleDocument {
  docId: DocId
  vv: VersionVector
  /** Sorted ids of the document's authority records. */
  recordIds: string[]
  content: boolean
}

export interface IngestResult {
  applied: number
  duplicates: number
  held: number
  equivocations: number
  /** Why each rejected item was refused (codes of typed errors). */
  rejected: { code: string; message: string; docId?: string }[]
}

export type StoredItem =
  | { type: 'envelope'; envelope: Envelope }
  | { type: 'record'; record: SignedRecord }
  | { type: 'erased'; docId: DocId }
