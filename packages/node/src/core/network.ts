/**
 * A private network this member takes part in, as a value: a tribe's own mesh, or a
 * federation link between two tribes. Both are served by the one replication engine
 * (node-replication.ts) and the mesh runs one libp2p host per network; what differs is
 * carried here: the keys its host accepts, who may connect, and which documents belong
 * on it (placement.ts decides that, with the consent rules).
 */
import { parseDocId } from '@tapestry/crdt-schema'
import type { VisibleDocument } from './replication.js'

export type NetworkKind = 'tribe' | 'link'

/** A network's id is its link document's id, or its tribe's roster id. */
export function networkKindOf(id: string): NetworkKind {
  const parsed = parseDocId(id)
  return parsed.ok && parsed.value.kind === 'link' ? 'link' : 'tribe'
}

/** The swarm keys a network's host accepts: the current epoch's and, for a while, previous ones. */
export interface NetworkKeys {
  current: Uint8Array
  previous: Uint8Array[]
}

/** What a network is made of before the engine gives it behaviour (links.ts describes links so). */
export interface NetworkDescription {
  /** The network's id: its tribe's roster id, or its link's id. */
  id: string
  name: string
  keys: NetworkKeys
}

export interface Network extends NetworkDescription {
  kind: NetworkKind
  /** May `memberId` connect and sync here now? (Decided afresh on every call.) */
  isMember(memberId: string): Promise<boolean>
  /**
   * The documents that belong on this network and that both `peer` and this member may
   * hold, each with its version vector and record ids, in sync order (authority first).
   */
  documents(peer: string): Promise<VisibleDocument[]>
  /** Addresses to dial besides known peers (a tribe joined by invitation: its addresses). */
  bootstrapAddrs(): Promise<string[]>
}
