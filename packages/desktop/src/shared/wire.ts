/**
 * The data `tapestry ui` serves to the renderer (a copy of packages/node/src/ui/wire.ts:
 * the renderer must not import the node's sources; the desktop tests exercise both ends,
 * so a drift between the copies fails there).
 */

export interface TribeSummary {
  tribeId: string
  name: string
  role: 'steward' | 'member'
  members: number
}

export interface WeaveEcho {
  id: string
  author: string
  at: number
}

export interface WeaveItem {
  id: string
  tribeId: string
  title: string
  authors: string[]
  audience: string
  tags: string[]
  mood: string | null
  createdAt: number
  excerpt: string
  echoes: WeaveEcho[]
}

export interface UiSnapshot {
  memberId: string
  name: string
  mode: 'attached' | 'own'
  tribes: TribeSummary[]
  names: Record<string, string>
  items: WeaveItem[]
  peers: number | null
  methods: string[]
  at: number
}

export type UiEvent =
  | { type: 'hello'; online: boolean }
  | { type: 'upsert'; item: WeaveItem }
  | { type: 'remove'; id: string }
  | { type: 'reset' }
  | { type: 'status'; online: boolean; peers: number | null }
  | { type: 'changed'; kind: string; docId: string }
  /** A Yjs update applied to a narrative's or echo's document (base64), for open editors. */
  | { type: 'update'; docId: string; origin: 'local' | 'remote'; update: string }

/** A narrative as the node's `show` returns it. */
export interface ShownNarrative {
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
  echoes: { id: string; author: string; body: string; createdAt: number }[]
}

export interface ConsentView {
  memberId: string
  defaults: { tribeId: string; narratives: string; echoes: string; profile: string }[]
  narratives: { narrativeId: string; title: string; audience: string; status: string }[]
  history: {
    tribeId: string
    category?: string
    narrativeId?: string
    audience: string
    at: number
  }[]
}

export interface ReceiptsView {
  narrativeId: string
  confirmed: { memberId: string; erasedAt: number }[]
  pending: string[]
}

export interface MemberView {
  memberId: string
  name: string
  role: 'steward' | 'member'
  joinedAt: number
}

export interface PeerView {
  peerId: string
  memberId: string
  name: string
  addrs: string[]
  since: number
  tribeId: string
}

export interface InviteResult {
  invite: string
  invitationId: string
  expiresAt: number
}
