/**
 * What `tapestry ui` serves to the renderer: a compact projection of the tapestry (one
 * small item per visible narrative, never its Yjs document) and the events that keep it
 * current. The renderer imports these types (`@tapestry/node/ui-wire`, types only: no
 * node code reaches its bundle), with the views the node's methods return over /api/rpc.
 *
 *   GET  /api/snapshot?token=T   -> UiSnapshot            | 503 {error} when the node is unreachable
 *   GET  /api/events?token=T     -> text/event-stream, one `data: <UiEvent JSON>` per change
 *   POST /api/rpc/<method>       -> JSON result            (Authorization: Bearer T; body: JSON array)
 */
import type { EchoView, NarrativeView, TribeSummary } from '../core/node-api.js'

export type {
  ConsentView,
  EchoView,
  NarrativeView,
  PeerView,
  ReceiptsView,
  TribeSummary,
} from '../core/node-api.js'
export type {
  AcceptResult,
  LinkCategory,
  LinkStatus,
  LinkView,
  ProposeResult,
} from '../federation/api-types.js'
export type { InviteResult, MemberView } from '../invite/api-types.js'

/** A narrative as the node's `show` returns it. */
export type ShownNarrative = NarrativeView & { echoes: EchoView[] }

/** One echo under a narrative: enough to draw its knot. */
export interface WeaveEcho {
  id: string
  author: string
  at: number
}

/** One published narrative as the weave draws it (no body: the reader asks for it). */
export interface WeaveItem {
  id: string
  tribeId: string
  title: string
  authors: string[]
  audience: string
  tags: string[]
  mood: string | null
  createdAt: number
  /** The body's first characters, for the reader's preview and the list view. */
  excerpt: string
  echoes: WeaveEcho[]
}

export interface UiSnapshot {
  memberId: string
  name: string
  /** `attached` to a running `tapestry start`, or `own`: this process runs the node. */
  mode: 'attached' | 'own'
  tribes: TribeSummary[]
  /** Member id -> name, from the rosters this member can read. */
  names: Record<string, string>
  items: WeaveItem[]
  /** Connected peers, or null when the node cannot tell. */
  peers: number | null
  /** NodeApi methods this node offers through /api/rpc (views for others degrade). */
  methods: string[]
  at: number
}

export type UiEvent =
  | { type: 'hello'; online: boolean }
  | { type: 'upsert'; item: WeaveItem }
  | { type: 'remove'; id: string }
  /** Fetch the snapshot again (the node reconnected, or too much changed at once). */
  | { type: 'reset' }
  | { type: 'status'; online: boolean; peers: number | null }
  /** A roster, profile or other document changed: views reading it refresh. */
  | { type: 'changed'; kind: string; docId: string }
  /** A Yjs update applied to a narrative's or echo's document (base64), for open editors. */
  | { type: 'update'; docId: string; origin: 'local' | 'remote'; update: string }
