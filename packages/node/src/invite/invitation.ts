/**
 * Invitations: a steward's signed offer to join a tribe, carried as one copy-pasteable
 * code. The code is a SECRET: it holds the tribe's swarm key.
 *
 * Code format (version 1):
 *
 *   tapestry-invite-1:<base64url, no padding, of CBOR array(2)>
 *   ├─ map        invitation   {v, id, tribeId, tribeName, swarmKey, addrs, role, expiresAt, uses, issuer}
 *   └─ bytes(64)  signature    Ed25519 by `issuer` over the signing input below
 *
 *   terms         = the invitation with `swarmKey` replaced by `swarmKeyHash` = SHA-256(swarmKey)
 *   signing input = "tapestry/invitation/v1\0" ‖ canonical CBOR(terms)
 *
 * The issuer signs the terms, not the raw key, so an admission record can carry the
 * terms and the signature into the replicated roster (every member verifies them)
 * without ever writing the swarm key there. The issuer's public key is inside its
 * member id (an Ed25519 PeerId), so a code verifies offline. Base64url and CBOR are
 * both checked to be canonical, so a flipped character never decodes to the same code.
 *
 * ```ts
 * const { code } = await createInvitation(steward, {
 *   tribeId, tribeName: 'River', swarmKey, addrs: host.addrs(), expiresAt: Date.now() + 7 * DAY,
 * })
 * const { invitation } = parseInviteCode(code) // throws BadInviteError / InviteExpiredError
 * ```
 */
import { randomBytes } from 'node:crypto'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { sha256 } from '@noble/hashes/sha2.js'
import { isDocIdShape } from '@tapestry/crdt-schema'
import { base32 } from 'multiformats/bases/base32'
import { MAX_DOC_ID_BYTES } from '../envelope/codec.js'
import { UsageError } from '../errors.js'
import type { Identity } from '../identity/identity.js'
import { publicKeyFromMemberId } from '../identity/identity.js'
import { decodeCanonical, encodeCanonical, hasExactKeys, isPlainObject } from './cbor.js'
import { BadInviteError, InviteExpiredError } from './errors.js'

export const INVITE_CODE_PREFIX = 'tapestry-invite-1:'
export const INVITATION_VERSION = 1
export const INVITATION_DOMAIN = 'tapestry/invitation/v1\0'
export const MAX_INVITE_CODE_CHARS = 8192
export const MAX_INVITE_ADDRS = 16
export const MAX_ADDR_CHARS = 512
export const MAX_TRIBE_NAME_CHARS = 200
export const MAX_INVITE_USES = 1000
export const INVITATION_ID_RE = /^[a-z2-7]{26}$/

export type InviteRole = 'member' | 'steward'

/** An invitation as the code carries it (with the swarm key). */
export interface Invitation {
  readonly v: 1
  /** 128 random bits, lowercase base32 (26 characters). */
  readonly id: string
  readonly tribeId: string
  readonly tribeName: string
  /** The tribe's 32-byte swarm key: the secret that opens its private network. */
  readonly swarmKey: Uint8Array
  /** Multiaddrs of members to contact first. */
  readonly addrs: readonly string[]
  readonly role: InviteRole
  /** Milliseconds since the epoch; an admission at a later time is invalid. */
  readonly expiresAt: number
  /** How many members may join with it (≥ 1). */
  readonly uses: number
  /** Member id of the steward who signed it. */
  readonly issuer: string
}

/** What the issuer signs and what admissions carry: no swarm key, only its SHA-256. */
export interface InvitationTerms extends Omit<Invitation, 'swarmKey'> {
  readonly swarmKeyHash: Uint8Array
}

export interface SignedInvitation {
  invitation: Invitation
  /** Ed25519 signature of the issuer over `invitationSigningInput(termsOf(invitation))`. */
  signature: Uint8Array
  /** The code to hand to the joiner (a secret). */
  code: string
}

const INVITATION_KEYS = [
  'v',
  'id',
  'tribeId',
  'tribeName',
  'swarmKey',
  'addrs',
  'role',
  'expiresAt',
  'uses',
  'issuer',
] as const
const TERMS_KEYS = INVITATION_KEYS.map((k) => (k === 'swarmKey' ? 'swarmKeyHash' : k))
const DOMAIN_PREFIX = new TextEncoder().encode(INVITATION_DOMAIN)

/** A fresh invitation id: 128 random bits in lowercase base32. */
export function newInvitationId(): string {
  return base32.baseEncode(new Uint8Array(randomBytes(16)))
}

/** The signed part of an invitation: the swarm key replaced by its SHA-256. */
export function termsOf(invitation: Invitation): InvitationTerms {
  const { swarmKey, ...rest } = invitation
  return { ...rest, swarmKeyHash: sha256(swarmKey) }
}

/** The exact bytes the issuer signs. */
export function invitationSigningInput(terms: InvitationTerms): Uint8Array {
  const body = encodeCanonical(termsMap(terms))
  const out = new Uint8Array(DOMAIN_PREFIX.byteLength + body.byteLength)
  out.set(DOMAIN_PREFIX, 0)
  out.set(body, DOMAIN_PREFIX.byteLength)
  return out
}

/** True when `signature` is the issuer's over `terms`. Never throws. */
export function verifyInvitationTerms(terms: InvitationTerms, signature: Uint8Array): boolean {
  try {
    if (!(signature instanceof Uint8Array) || signature.byteLength !== 64) return false
    const key = publicKeyFromRaw(publicKeyFromMemberId(terms.issuer))
    return key.verify(invitationSigningInput(terms), signature) === true
  } catch {
    return false
  }
}

/**
 * Signs an invitation as `issuer` (who must be a steward: members will not admit
 * anyone with it otherwise). Throws UsageError on out-of-range fields.
 */
export async function createInvitation(
  issuer: Pick<Identity, 'memberId' | 'sign'>,
  fields: {
    tribeId: string
    tribeName: string
    swarmKey: Uint8Array
    expiresAt: number
    addrs?: readonly string[]
    role?: InviteRole
    uses?: number
    id?: string
  },
): Promise<SignedInvitation> {
  const invitation: Invitation = Object.freeze({
    v: INVITATION_VERSION,
    id: fields.id ?? newInvitationId(),
    tribeId: fields.tribeId,
    tribeName: fields.tribeName,
    swarmKey: fields.swarmKey,
    addrs: Object.freeze([...new Set(fields.addrs ?? [])]),
    role: fields.role ?? 'member',
    expiresAt: fields.expiresAt,
    uses: fields.uses ?? 1,
    issuer: issuer.memberId,
  })
  const problem = invitationProblem(invitation, 'swarmKey')
  if (problem !== undefined) throw new UsageError(`cannot create this invitation: ${problem}`)
  const signature = plain(await issuer.sign(invitationSigningInput(termsOf(invitation))))
  return { invitation, signature, code: encodeInviteCode(invitation, signature) }
}

/** The code for a signed invitation. */
export function encodeInviteCode(invitation: Invitation, signature: Uint8Array): string {
  const bytes = encodeCanonical([invitationMap(invitation), signature])
  return INVITE_CODE_PREFIX + Buffer.from(bytes).toString('base64url')
}

/**
 * Validates a code offline: format, version, sizes, the issuer's signature and expiry
 * (against `now`). Whitespace anywhere in the code (line breaks from e-mail or chat) is
 * ignored. Throws BadInviteError (code BAD_INVITE) or InviteExpiredError
 * (INVITE_EXPIRED); it never touches the disk or the network.
 */
export function parseInviteCode(code: string, options: { now?: number } = {}): SignedInvitation {
  if (typeof code !== 'string') throw new BadInviteError('not a string')
  const compact = code.replace(/\s+/g, '')
  if (compact.length > MAX_INVITE_CODE_CHARS) {
    throw new BadInviteError(
      `longer than ${MAX_INVITE_CODE_CHARS} characters`,
      'this is not a Tapestry invitation code (it is far too long): copy only the code',
    )
  }
  const version = /^tapestry-invite-(\d+):/.exec(compact)
  if (version === null) {
    throw new BadInviteError(
      'no tapestry-invite- prefix',
      compact.length === 0
        ? 'the invitation code is empty: paste the whole code'
        : 'this is not a Tapestry invitation code: it should start with tapestry-invite-1:',
    )
  }
  if (version[1] !== '1') {
    throw new BadInviteError(
      `version ${version[1]}`,
      'this invitation code was made by a newer version of Tapestry: update Tapestry, then join again',
    )
  }
  const body = compact.slice(INVITE_CODE_PREFIX.length)
  if (!/^[A-Za-z0-9_-]+$/.test(body)) throw new BadInviteError('not base64url')
  const bytes = new Uint8Array(Buffer.from(body, 'base64url'))
  if (Buffer.from(bytes).toString('base64url') !== body) {
    throw new BadInviteError('non-canonical base64url (truncated or altered)')
  }
  let value: unknown
  try {
    value = decodeCanonical(bytes)
  } catch (err) {
    throw new BadInviteError(`not canonical CBOR: ${(err as Error).message}`, undefined, {
      cause: err,
    })
  }
  if (!Array.isArray(value) || value.length !== 2) throw new BadInviteError('not a 2-array')
  const [map, signature] = value as [unknown, unknown]
  const read = readInvitation(map, 'swarmKey')
  if (typeof read === 'string') throw new BadInviteError(read)
  const invitation = read as Invitation
  if (
    !(signature instanceof Uint8Array) ||
    !verifyInvitationTerms(termsOf(invitation), signature)
  ) {
    throw new BadInviteError(
      'issuer signature does not verify',
      'this invitation code was altered or damaged (its signature does not match): copy it again, whole, from the person who sent it',
    )
  }
  if ((options.now ?? Date.now()) > invitation.expiresAt) {
    throw new InviteExpiredError(invitation.expiresAt)
  }
  return { invitation, signature: plain(signature), code: compact }
}

/** Reads signed terms from a decoded CBOR value (an admission payload). */
export function readInvitationTerms(value: unknown): InvitationTerms | string {
  return readInvitation(value, 'swarmKeyHash') as InvitationTerms | string
}

/** The CBOR map of terms, as admissions carry them. */
export function termsMap(terms: InvitationTerms): Record<string, unknown> {
  return Object.fromEntries(TERMS_KEYS.map((k) => [k, terms[k as keyof InvitationTerms]]))
}

function invitationMap(invitation: Invitation): Record<string, unknown> {
  return Object.fromEntries(INVITATION_KEYS.map((k) => [k, invitation[k]]))
}

/** The invitation (or terms) in `value`, or a description of what is wrong. */
function readInvitation(
  value: unknown,
  keyField: 'swarmKey' | 'swarmKeyHash',
): Invitation | InvitationTerms | string {
  if (!isPlainObject(value)) return 'invitation is not a map'
  const keys = keyField === 'swarmKey' ? INVITATION_KEYS : TERMS_KEYS
  if (!hasExactKeys(value, keys)) return 'invitation fields differ'
  const problem = invitationProblem(value, keyField)
  if (problem !== undefined) return problem
  return Object.freeze({
    ...(value as unknown as Invitation),
    addrs: Object.freeze([...(value.addrs as string[])]),
  })
}

function invitationProblem(
  inv: Record<string, unknown> | Invitation,
  keyField: 'swarmKey' | 'swarmKeyHash',
): string | undefined {
  const v = inv as Record<string, unknown>
  if (v.v !== INVITATION_VERSION) return `unsupported invitation version ${String(v.v)}`
  if (typeof v.id !== 'string' || !INVITATION_ID_RE.test(v.id)) return 'bad id'
  if (
    typeof v.tribeId !== 'string' ||
    v.tribeId.length > MAX_DOC_ID_BYTES ||
    !isDocIdShape(v.tribeId)
  ) {
    return 'bad tribe id'
  }
  if (
    typeof v.tribeName !== 'string' ||
    v.tribeName.length === 0 ||
    v.tribeName.length > MAX_TRIBE_NAME_CHARS
  ) {
    return `the tribe name must be 1..${MAX_TRIBE_NAME_CHARS} characters`
  }
  const key = v[keyField]
  if (!(key instanceof Uint8Array) || key.byteLength !== 32) return `${keyField} must be 32 bytes`
  if (!Array.isArray(v.addrs) || v.addrs.length > MAX_INVITE_ADDRS) {
    return `at most ${MAX_INVITE_ADDRS} addresses`
  }
  for (const a of v.addrs) {
    if (typeof a !== 'string' || a.length === 0 || a.length > MAX_ADDR_CHARS || !isMultiaddr(a)) {
      return `not a multiaddr: ${String(a).slice(0, 80)}`
    }
  }
  if (v.role !== 'member' && v.role !== 'steward') return 'the role must be member or steward'
  if (typeof v.expiresAt !== 'number' || !Number.isSafeInteger(v.expiresAt) || v.expiresAt < 0) {
    return 'bad expiry'
  }
  if (
    typeof v.uses !== 'number' ||
    !Number.isSafeInteger(v.uses) ||
    v.uses < 1 ||
    v.uses > MAX_INVITE_USES
  ) {
    return `uses must be 1..${MAX_INVITE_USES}`
  }
  if (typeof v.issuer !== 'string') return 'bad issuer'
  try {
    publicKeyFromMemberId(v.issuer)
  } catch {
    return 'the issuer is not a member id'
  }
  return undefined
}

function isMultiaddr(a: string): boolean {
  try {
    multiaddr(a)
    return true
  } catch {
    return false
  }
}

const plain = (b: Uint8Array) =>
  b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)
