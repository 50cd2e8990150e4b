import type { DocId, Envelope, SignedRecord, VersionVector } from '../envelope/types.js'

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

  /** Tribes this member belongs to, with the swarm keys its tribe host accepts. */
  networks(): Promise<TribeNetwork[]>

  /** Is `memberId` a current member of `tribeId` (so its connections may sync)? */
  isMember(tribeId: string, memberId: string): Promise<boolean>

  /**
   * The documents of `tribeId` that both `peer` and this member may hold, each with its
   * version vector and record ids, rosters first (roster and consent sync before
   * content). `content` is false when only the records may go (a withdrawn narrative's
   * tombstone, a narrowing for a member who left the audience).
   */
  visibleDocuments(tribeId: string, peer: string): Promise<VisibleDocument[]>

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

  /** Extra addresses to dial for a tribe (from the invitation it was joined with). */
  bootstrapAddrs(tribeId: string): Promise<string[]>

  /**
   * Everything this node newly stores, whatever its source (its user, a push, a
   * catch-up): the sync layer offers it onward to connected peers that may receive it.
   */
  onStored(listener: (item: StoredItem) => void): () => void
}

export interface PendingJoin {
  tribeId: string
  name: string
  addrs: string[]
  admission: SignedRecord
}

export interface TribeNetwork {
  /** The network's id: a tribe id, or a federation link id (`link_…`). */
  tribeId: string
  name: string
  /** A tribe's private mesh, or a federation link's network (federation/). @default 'tribe' */
  kind?: 'tribe' | 'link'
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
