/**
 * What a running node offers to its user, whether called in-process (the CLI with no
 * node running, tests, the desktop main process) or through the control API (the CLI
 * while `tapestry start` runs, the desktop renderer). One interface, two transports:
 * `TapestryNode` implements it directly and `ControlClient` over HTTP.
 */

export interface TribeSummary {
  tribeId: string
  name: string
  role: 'steward' | 'member'
  members: number
}

export interface NarrativeView {
  id: string
  tribeId: string
  title: string
  body: string
  authors: string[]
  audience: string
  tags: string[]
  mood: string | null
  createdAt: number
  status: 'published' | 'withdrawn'
}

export interface EchoView {
  id: string
  author: string
  body: string
  createdAt: number
}

export interface StatusView {
  memberId: string
  name: string
  running: boolean
  tribes: TribeSummary[]
  documents: number
}

export interface NarrateInput {
  title: string
  body: string
  tribeId?: string | undefined
  /** `tribe`, `private`, `federated` or `circle:M1,M2`; default: the member's default for narratives. */
  audience?: string | undefined
  tags?: string[] | undefined
  mood?: string | undefined
}

/** A change to a document, as the live subscription delivers it. */
export interface DocumentEvent {
  docId: string
  kind: string
  /** `local` for this member's own writes, `remote` for what peers sent. */
  origin: 'local' | 'remote'
  /** The Yjs update that was applied (base64 over the control API). */
  update?: Uint8Array
  /** Set when the document's content was erased (withdrawn or no longer visible). */
  erased?: boolean
  /** Set when an authority record was stored (withdrawal, audience, co-author, receipt...). */
  record?: string
}

/** One consent statement: a category default (in the profile) or a narrative's audience. */
export interface ConsentStatementView {
  tribeId: string
  category?: string
  narrativeId?: string
  audience: string
  at: number
}

export interface ConsentView {
  memberId: string
  /** Current default audience per category, per tribe. */
  defaults: { tribeId: string; narratives: string; echoes: string; profile: string }[]
  /** This member's current consent for each narrative they author. */
  narratives: { narrativeId: string; title: string; audience: string; status: string }[]
  /** Every statement, oldest first. */
  history: ConsentStatementView[]
}

export interface ConsentSetInput {
  audience: string
  category?: 'narratives' | 'echoes' | 'profile' | undefined
  narrativeId?: string | undefined
  tribeId?: string | undefined
}

export interface ReceiptsView {
  narrativeId: string
  confirmed: { memberId: string; erasedAt: number }[]
  pending: string[]
}

import { FEDERATION_API_METHODS, type FederationApi } from '../federation/api-types.js'
import { INVITE_API_METHODS, type InviteApi } from '../invite/api-types.js'

/** A connected peer on one of the node's networks (empty when no node runs). */
export interface PeerView {
  peerId: string
  memberId: string
  name: string
  addrs: string[]
  since: number
  tribeId: string
}

/** A renderer's editing session: it writes as its own writer of this member. */
export interface EditSessionView {
  docId: string
  /** The session's writer id (16 hex characters). */
  writerId: string
  /** The Yjs client id the session's replica must use (derived from member + writer id). */
  clientId: number
  /** Base64 of Y.encodeStateAsUpdate of the node's replica. */
  state: string
}

export interface NodeApi extends InviteApi, FederationApi {
  status(): Promise<StatusView>
  createTribe(name: string): Promise<{ tribeId: string; name: string }>
  tribes(): Promise<TribeSummary[]>
  narrate(input: NarrateInput): Promise<{ narrativeId: string }>
  narratives(query: { tribeId?: string | undefined }): Promise<NarrativeView[]>
  show(narrativeId: string): Promise<NarrativeView & { echoes: EchoView[] }>
  echo(narrativeId: string, body: string): Promise<{ echoId: string }>
  withdraw(narrativeId: string): Promise<{ narrativeId: string; status: 'withdrawn' }>
  coauthor(
    narrativeId: string,
    memberId: string,
  ): Promise<{ narrativeId: string; authors: string[] }>
  consentShow(): Promise<ConsentView>
  consentSet(input: ConsentSetInput): Promise<ConsentStatementView>
  receipts(narrativeId: string): Promise<ReceiptsView>
  peers(): Promise<PeerView[]>
  /** A steward removes a member: cut-off, a new swarm-key epoch sealed to the rest. */
  remove(
    memberId: string,
    query: { tribeId?: string | undefined },
  ): Promise<{ tribeId: string; memberId: string; epoch: number }>
  /** The tribe's swarm key in swarm.key format: a secret. */
  tribeKey(query: { tribeId?: string | undefined }): Promise<{ tribeId: string; swarmKey: string }>
  /**
   * Opens an editing session on a narrative (author) or echo (responder): a new writer
   * id, or the given one again (a reloaded page).
   */
  editSession(docId: string, writerId?: string | undefined): Promise<EditSessionView>
  /** Signs and stores one Yjs update of an editing session's writer (base64). */
  editUpdate(docId: string, writerId: string, update: string): Promise<{ seq: number }>
}

/** Method names the control API serves: every NodeApi method, nothing else. */
export const NODE_API_METHODS = [
  'status',
  'createTribe',
  'tribes',
  'narrate',
  'narratives',
  'show',
  'echo',
  'withdraw',
  'coauthor',
  'consentShow',
  'consentSet',
  'receipts',
  'peers',
  'remove',
  'tribeKey',
  'editSession',
  'editUpdate',
  ...INVITE_API_METHODS,
  ...FEDERATION_API_METHODS,
] as const satisfies readonly (keyof NodeApi)[]

export type NodeApiMethod = (typeof NODE_API_METHODS)[number]
