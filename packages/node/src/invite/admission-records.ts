/**
 * The admission and revocation records kept beside a tribe's roster document
 * (docId = tribeId): their formats, how a joiner and a steward create them, and their
 * decoding (record, signature and payload shape; never stewardship, which the fold in
 * admission.ts decides).
 *
 * Admission record (node SignedRecord, kind `roster.admission`, author = the joiner):
 *
 *   payload = canonical CBOR map {v: 1, invitation: terms, issuerSignature: bytes(64),
 *             memberId: joiner, name, at}        (record.createdAt = at)
 *
 * `terms` is the invitation with its swarm key replaced by the key's SHA-256 (what the
 * issuer signed, see invitation.ts): the roster never holds a swarm key.
 *
 * Revocation record (kind `roster.invite-revoke`, author = a steward):
 *
 *   payload = canonical CBOR map {v: 1, invitationId, by, at}   (record.createdAt = at)
 */
import { recordId as computeRecordId } from '../envelope/codec.js'
import { signRecord, verifyRecord } from '../envelope/sign.js'
import type { SignedRecord } from '../envelope/types.js'
import { UsageError } from '../errors.js'
import type { Identity } from '../identity/identity.js'
import { memberIdFromPublicKey } from '../identity/identity.js'
import type { AdmissionRejection } from './admission-rejections.js'
import { decodeCanonical, encodeCanonical, hasExactKeys, isPlainObject } from './cbor.js'
import {
  INVITATION_ID_RE,
  type Invitation,
  type InvitationTerms,
  readInvitationTerms,
  termsMap,
  termsOf,
} from './invitation.js'

export const ADMISSION_KIND = 'roster.admission'
export const REVOCATION_KIND = 'roster.invite-revoke'
export const ADMISSION_VERSION = 1
export const MAX_MEMBER_NAME_CHARS = 100

export interface AdmissionPayload {
  v: 1
  invitation: InvitationTerms
  issuerSignature: Uint8Array
  memberId: string
  name: string
  at: number
}

export interface RevocationPayload {
  v: 1
  invitationId: string
  by: string
  at: number
}

/** The joiner's admission record for a parsed invitation (see parseInviteCode). */
export async function createAdmission(
  joiner: Pick<Identity, 'memberId' | 'publicKey' | 'sign'>,
  invitation: { invitation: Invitation; signature: Uint8Array },
  name: string,
  options: { at?: number } = {},
): Promise<SignedRecord> {
  const trimmed = name.trim()
  if (trimmed.length === 0 || trimmed.length > MAX_MEMBER_NAME_CHARS) {
    throw new UsageError(`a name must be 1..${MAX_MEMBER_NAME_CHARS} characters`)
  }
  const at = options.at ?? Date.now()
  const terms = termsOf(invitation.invitation)
  const payload = encodeCanonical({
    v: ADMISSION_VERSION,
    invitation: termsMap(terms),
    issuerSignature: invitation.signature,
    memberId: joiner.memberId,
    name: trimmed,
    at,
  })
  return signRecord(joiner, { docId: terms.tribeId, kind: ADMISSION_KIND, payload, createdAt: at })
}

/** A steward's revocation of an invitation. */
export async function createRevocation(
  steward: Pick<Identity, 'memberId' | 'publicKey' | 'sign'>,
  tribeId: string,
  invitationId: string,
  options: { at?: number } = {},
): Promise<SignedRecord> {
  if (!INVITATION_ID_RE.test(invitationId)) {
    throw new UsageError(`not an invitation id: ${invitationId.slice(0, 40)}`)
  }
  const at = options.at ?? Date.now()
  const payload = encodeCanonical({
    v: ADMISSION_VERSION,
    invitationId,
    by: steward.memberId,
    at,
  })
  return signRecord(steward, { docId: tribeId, kind: REVOCATION_KIND, payload, createdAt: at })
}

type Decoded<T> = { ok: true; value: T } | { ok: false; reason: AdmissionRejection }

/** Checks the record, its signature and payload shape. Never throws. */
export function decodeAdmission(record: SignedRecord): Decoded<AdmissionPayload> {
  const author = authorOf(record, ADMISSION_KIND)
  if (author === undefined) return { ok: false, reason: 'BAD_RECORD' }
  const p = payloadOf(record, ['v', 'invitation', 'issuerSignature', 'memberId', 'name', 'at'])
  if (p === undefined) return { ok: false, reason: 'BAD_PAYLOAD' }
  const terms = readInvitationTerms(p.invitation)
  if (
    p.v !== ADMISSION_VERSION ||
    typeof terms === 'string' ||
    !(p.issuerSignature instanceof Uint8Array) ||
    p.issuerSignature.byteLength !== 64 ||
    typeof p.memberId !== 'string' ||
    typeof p.name !== 'string' ||
    p.name.length === 0 ||
    p.name.length > MAX_MEMBER_NAME_CHARS ||
    p.at !== record.createdAt
  ) {
    return { ok: false, reason: 'BAD_PAYLOAD' }
  }
  if (p.memberId !== author) return { ok: false, reason: 'NOT_JOINER' }
  return {
    ok: true,
    value: {
      v: ADMISSION_VERSION,
      invitation: terms,
      issuerSignature: p.issuerSignature,
      memberId: p.memberId,
      name: p.name,
      at: p.at as number,
    },
  }
}

/** Checks the record, its signature and payload shape (not stewardship). Never throws. */
export function decodeRevocation(record: SignedRecord): Decoded<RevocationPayload> {
  const author = authorOf(record, REVOCATION_KIND)
  if (author === undefined) return { ok: false, reason: 'BAD_RECORD' }
  const p = payloadOf(record, ['v', 'invitationId', 'by', 'at'])
  if (
    p === undefined ||
    p.v !== ADMISSION_VERSION ||
    typeof p.invitationId !== 'string' ||
    !INVITATION_ID_RE.test(p.invitationId) ||
    p.at !== record.createdAt
  ) {
    return { ok: false, reason: 'BAD_PAYLOAD' }
  }
  if (p.by !== author) return { ok: false, reason: 'BAD_PAYLOAD' }
  return {
    ok: true,
    value: { v: ADMISSION_VERSION, invitationId: p.invitationId, by: author, at: p.at as number },
  }
}

/** The record's author as a member id when kind, fields and signature check; else undefined. */
function authorOf(record: SignedRecord, kind: string): string | undefined {
  try {
    if (record?.kind !== kind || !verifyRecord(record)) return undefined
    return memberIdFromPublicKey(record.author)
  } catch {
    return undefined
  }
}

function payloadOf(
  record: SignedRecord,
  keys: readonly string[],
): Record<string, unknown> | undefined {
  try {
    const p = decodeCanonical(record.payload)
    return isPlainObject(p) && hasExactKeys(p, keys) ? p : undefined
  } catch {
    return undefined
  }
}

/** `recordId` re-exported for callers building fold input. */
export const admissionRecordId = (record: SignedRecord): string => computeRecordId(record)
