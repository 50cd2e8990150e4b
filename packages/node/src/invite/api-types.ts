/**
 * The NodeApi methods for invitations and membership, with their exact input and
 * output shapes. `NodeApi` (core/node-api.ts) extends `InviteApi`; `TapestryNode`
 * implements it and `ControlClient` serves it over the control API, so the CLI
 * (cli/invite-commands.ts) works against either.
 */
import type { InviteRole } from './invitation.js'

export interface InviteInput {
  /** May be left out when the member belongs to one tribe. */
  tribeId?: string | undefined
  /** @default 'member' */
  role?: InviteRole | undefined
  /** @default 7 days */
  expiresInMs?: number | undefined
  /** @default 1 */
  uses?: number | undefined
  /** Extra bootstrap multiaddrs, added to the running node's own listen addresses. */
  addresses?: string[] | undefined
}

export interface InviteResult {
  /** The invitation code: a secret (it holds the tribe's swarm key). */
  invite: string
  invitationId: string
  expiresAt: number
}

export interface JoinResult {
  tribeId: string
  name: string
}

/** An invitation this node issued, with what the roster says of it. */
export interface InviteSummary {
  id: string
  tribeId: string
  role: InviteRole
  expiresAt: number
  uses: number
  usesLeft: number
  revoked: boolean
}

export interface RevokeInviteResult {
  id: string
  revoked: true
}

export interface MemberView {
  memberId: string
  name: string
  role: 'steward' | 'member'
  /** Milliseconds since the epoch. */
  joinedAt: number
}

export interface InviteApi {
  invite(input: InviteInput): Promise<InviteResult>
  join(code: string): Promise<JoinResult>
  invites(query: { tribeId?: string | undefined }): Promise<InviteSummary[]>
  revokeInvite(id: string): Promise<RevokeInviteResult>
  members(query: { tribeId?: string | undefined }): Promise<MemberView[]>
}

/** Method names to add to NODE_API_METHODS. */
export const INVITE_API_METHODS = [
  'invite',
  'join',
  'invites',
  'revokeInvite',
  'members',
] as const satisfies readonly (keyof InviteApi)[]
