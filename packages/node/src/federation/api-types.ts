/**
 * The NodeApi methods for federation links, with their exact input and output shapes.
 * `NodeApi` (core/node-api.ts) extends `FederationApi`; `TapestryNode` implements it
 * (through federation/links.ts) and `ControlClient` serves it over the control API, so
 * the CLI (cli/federation-commands.ts) works against either.
 */

export type LinkCategory = 'narratives' | 'echoes' | 'profile'

export interface ProposeInput {
  /** The proposer's tribe; may be left out when the member belongs to one. */
  tribeId?: string | undefined
  /** Extra multiaddrs of this node's link host, added to the running node's own. */
  addresses?: string[] | undefined
  /** What flows. @default ['echoes', 'narratives'] */
  terms?: LinkCategory[] | undefined
  /** How long the offer may be accepted. @default 7 days */
  expiresInMs?: number | undefined
}

export interface ProposeResult {
  /** The offer code: a SECRET (it holds the link's swarm key). */
  offer: string
  linkId: string
  expiresAt: number
}

export interface AcceptInput {
  /** The accepter's tribe; may be left out when the member belongs to one (other than the proposer's). */
  tribeId?: string | undefined
}

export interface AcceptResult {
  linkId: string
  /** The accepter's tribe. */
  tribeId: string
  /** The proposer's tribe. */
  partner: { id: string; name: string }
}

export type LinkStatus =
  /** Proposed by this node; no other tribe accepted yet. */
  | 'proposed'
  /** Accepted by one tribe, waiting for the proposer's countersignature. */
  | 'accepting'
  /** Signed by a steward of each tribe: federated documents flow. */
  | 'active'
  /** Ended by a steward of either tribe: nothing more flows. */
  | 'ended'
  /** The proposer refused this node's acceptance (another tribe was first, expired, …). */
  | 'refused'

export interface LinkView {
  linkId: string
  status: LinkStatus
  tribeA: { id: string; name: string }
  /** Absent while only proposed. */
  tribeB?: { id: string; name: string } | undefined
  terms: string[]
  proposedBy: string
  proposedAt: number
  expiresAt: number
  endedAt?: number | undefined
  endedBy?: string | undefined
  /** This node holds the link's key and runs its host. */
  carrier: boolean
}

export interface EndResult {
  linkId: string
  status: 'ended'
}

export interface FederationApi {
  federatePropose(input: ProposeInput): Promise<ProposeResult>
  federateAccept(code: string, input?: AcceptInput): Promise<AcceptResult>
  federation(): Promise<LinkView[]>
  federateEnd(linkId: string): Promise<EndResult>
}

/** Method names to add to NODE_API_METHODS. */
export const FEDERATION_API_METHODS = [
  'federatePropose',
  'federateAccept',
  'federation',
  'federateEnd',
] as const satisfies readonly (keyof FederationApi)[]
