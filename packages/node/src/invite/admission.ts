/**
 * Admissions and invitation revocations: signed records kept beside a tribe's roster
 * document (docId = tribeId), replicated with the roster's other records, and folded by
 * every node into the same set of admitted members.
 *
 * The record formats, their creation and decoding are in admission-records.ts; the
 * rejection codes in admission-rejections.ts.
 *
 * The fold (foldAdmissions) is deterministic and order-independent. An admission counts
 * when the joiner's record signature verifies, the issuer's signature over the terms
 * verifies, the issuer is a steward (the caller's `isSteward`: a removed steward's
 * invitations stop working), the terms name this tribe, `at ≤ expiresAt`, and no valid
 * revocation of the invitation has `at` earlier than the admission's. Then the uses:
 *
 * CONCURRENCY RULE. Among the admissions of one invitation that are otherwise valid, a
 * joiner counts once (their earliest record by (at, recordId); later ones are
 * DUPLICATE), and the joiners are ordered by (at, recordId): the first `uses` are
 * admitted, every later one is rejected with INVITE_USED_UP. When two members admit
 * different joiners with a one-use invitation on both sides of a partition, both records
 * are stored and replicate; once the sides merge every node computes the same winner
 * (the earlier `at`, ties broken by the smaller record id), and the loser is not a
 * member: its node sees INVITE_USED_UP for its own record (admissionStatusOf) and
 * should tell its person to ask a steward for a new invitation. Until the merge each
 * side sees its own joiner as a member, like any other partitioned state.
 *
 * `at` is the joiner's clock: the member node that accepts an admission over the join
 * protocol checks it against its own clock (join-protocol.ts), so a record cannot be
 * backdated past a revocation or ahead in the queue by more than that skew.
 */
import type { SignedRecord } from '../envelope/types.js'
import { type AdmissionPayload, decodeAdmission, decodeRevocation } from './admission-records.js'
import { ADMISSION_REASONS, type AdmissionRejection } from './admission-rejections.js'
import { type InviteRole, verifyInvitationTerms } from './invitation.js'

export {
  ADMISSION_KIND,
  ADMISSION_VERSION,
  type AdmissionPayload,
  admissionRecordId,
  createAdmission,
  createRevocation,
  decodeAdmission,
  decodeRevocation,
  MAX_MEMBER_NAME_CHARS,
  REVOCATION_KIND,
  type RevocationPayload,
} from './admission-records.js'
export { ADMISSION_REASONS, type AdmissionRejection } from './admission-rejections.js'

export interface AdmissionRecordRef {
  record: SignedRecord
  /** Must be `recordId(record)`: the fold orders by it. */
  id: string
}

/** Context of a stewardship question, for a roster that can answer "was a steward then". */
export interface StewardQuery {
  kind: 'admission' | 'revocation'
  /** The claimed time of the record. */
  at: number
  recordId: string
}

export interface FoldAdmissionsInput {
  tribeId: string
  /**
   * Is `memberId` a steward whose signature counts? Answering from the roster's current
   * fold (ignoring `query`) makes a removed steward's invitations, admissions made with
   * them and revocations by them all stop counting; a roster that records when a
   * steward was removed may use `query` to keep what was accepted before.
   */
  isSteward(memberId: string, query: StewardQuery): boolean
  admissions: readonly AdmissionRecordRef[]
  revocations: readonly AdmissionRecordRef[]
}

export interface AdmittedMember {
  name: string
  /** `steward` if any counted admission of this member grants it. */
  role: InviteRole
  /** `at` of the member's earliest counted admission. */
  joinedAt: number
  invitationId: string
  /** The issuer of that invitation. */
  admittedBy: string
  recordId: string
}

export interface InvitationUsage {
  uses: number
  used: number
  /** `at` of the earliest valid revocation. */
  revokedAt: number | undefined
  issuer: string
  role: InviteRole
  expiresAt: number
}

export interface FoldAdmissionsResult {
  admitted: Map<string, AdmittedMember>
  /** Sorted by id; one entry per record set aside. */
  rejected: { id: string; reason: AdmissionRejection }[]
  /** Per invitation id named by any admission or revocation that parsed. */
  invitations: Map<string, InvitationUsage>
  /** Invitation id → `at` of its earliest valid revocation. */
  revoked: Map<string, number>
}

/** Orders by (at, record id). */
const byTime = (a: { at: number; id: string }, b: { at: number; id: string }) =>
  a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/**
 * Folds a tribe's admission and revocation records into its admitted members.
 * Deterministic and independent of input order; never throws on bad records (each is
 * set aside with a reason). See the module comment for the rules.
 */
export function foldAdmissions(input: FoldAdmissionsInput): FoldAdmissionsResult {
  const rejected = new Map<string, AdmissionRejection>()
  const reject = (id: string, reason: AdmissionRejection) => {
    if (!rejected.has(id)) rejected.set(id, reason)
  }
  const steward = (memberId: string, query: StewardQuery): boolean => {
    try {
      return input.isSteward(memberId, query) === true
    } catch {
      return false
    }
  }

  // Revocations: parse, then group by invitation id (stewardship is checked per use).
  const revocations = new Map<string, { at: number; id: string; by: string }[]>()
  for (const { record, id } of unique(input.revocations)) {
    const d = decodeRevocation(record)
    if (!d.ok) reject(id, d.reason)
    else if (record.docId !== input.tribeId) reject(id, 'WRONG_TRIBE')
    else {
      const list = revocations.get(d.value.invitationId) ?? []
      list.push({ at: d.value.at, id, by: d.value.by })
      revocations.set(d.value.invitationId, list)
    }
  }
  const validRevocations = new Set<string>()
  /** Earliest valid revocation of `invitationId`: by a steward or by its own issuer. */
  const revokedAt = (invitationId: string, issuer: string): number | undefined => {
    let earliest: number | undefined
    for (const r of revocations.get(invitationId) ?? []) {
      if (r.by === issuer || steward(r.by, { kind: 'revocation', at: r.at, recordId: r.id })) {
        validRevocations.add(r.id)
        if (earliest === undefined || r.at < earliest) earliest = r.at
      }
    }
    return earliest
  }

  // Admissions: everything but the use count, then candidates per invitation.
  const candidates = new Map<string, { at: number; id: string; a: AdmissionPayload }[]>()
  const invitations = new Map<string, InvitationUsage>()
  for (const { record, id } of unique(input.admissions)) {
    const d = decodeAdmission(record)
    if (!d.ok) {
      reject(id, d.reason)
      continue
    }
    const a = d.value
    const t = a.invitation
    const revokedBefore = revokedAt(t.id, t.issuer)
    const reason: AdmissionRejection | undefined =
      record.docId !== input.tribeId || t.tribeId !== input.tribeId
        ? 'WRONG_TRIBE'
        : !verifyInvitationTerms(t, a.issuerSignature)
          ? 'BAD_INVITATION_SIGNATURE'
          : !steward(t.issuer, { kind: 'admission', at: a.at, recordId: id })
            ? 'ISSUER_NOT_STEWARD'
            : a.at > t.expiresAt
              ? 'INVITE_EXPIRED'
              : revokedBefore !== undefined && a.at > revokedBefore
                ? 'INVITE_REVOKED'
                : undefined
    if (reason !== undefined) {
      reject(id, reason)
      continue
    }
    // Signed terms are identical for every admission of one id from one honest issuer;
    // an issuer who signs two different terms under one id gets the stricter of both.
    const usage = invitations.get(t.id)
    if (usage === undefined) {
      invitations.set(t.id, {
        uses: t.uses,
        used: 0,
        revokedAt: undefined,
        issuer: t.issuer,
        role: t.role,
        expiresAt: t.expiresAt,
      })
    } else {
      usage.uses = Math.min(usage.uses, t.uses)
      usage.expiresAt = Math.min(usage.expiresAt, t.expiresAt)
      if (t.role === 'member') usage.role = 'member'
      if (t.issuer !== usage.issuer && t.issuer < usage.issuer) usage.issuer = t.issuer
    }
    const list = candidates.get(t.id) ?? []
    list.push({ at: a.at, id, a })
    candidates.set(t.id, list)
  }

  const winners: { at: number; id: string; a: AdmissionPayload; role: InviteRole }[] = []
  for (const [invitationId, list] of candidates) {
    const usage = invitations.get(invitationId)!
    list.sort(byTime)
    const seen = new Set<string>()
    for (const c of list) {
      if (seen.has(c.a.memberId)) reject(c.id, 'DUPLICATE')
      else if (seen.size >= usage.uses) reject(c.id, 'INVITE_USED_UP')
      else {
        seen.add(c.a.memberId)
        winners.push({ ...c, role: usage.role })
      }
    }
    usage.used = seen.size
  }

  winners.sort(byTime)
  const admitted = new Map<string, AdmittedMember>()
  for (const w of winners) {
    const prev = admitted.get(w.a.memberId)
    if (prev === undefined) {
      admitted.set(w.a.memberId, {
        name: w.a.name,
        role: w.role,
        joinedAt: w.at,
        invitationId: w.a.invitation.id,
        admittedBy: w.a.invitation.issuer,
        recordId: w.id,
      })
    } else if (w.role === 'steward') {
      prev.role = 'steward'
    }
  }

  // Revocations that no steward (nor the invitation's issuer) signed; the earliest valid
  // one per invitation.
  const revoked = new Map<string, number>()
  for (const [invitationId, list] of revocations) {
    const issuer = invitations.get(invitationId)?.issuer
    for (const r of list) {
      const valid =
        validRevocations.has(r.id) ||
        r.by === issuer ||
        steward(r.by, { kind: 'revocation', at: r.at, recordId: r.id })
      if (!valid) {
        reject(r.id, 'REVOKER_NOT_STEWARD')
        continue
      }
      const prev = revoked.get(invitationId)
      if (prev === undefined || r.at < prev) revoked.set(invitationId, r.at)
    }
  }
  for (const [invitationId, usage] of invitations) usage.revokedAt = revoked.get(invitationId)

  return {
    admitted,
    rejected: [...rejected]
      .map(([id, reason]) => ({ id, reason }))
      .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
    invitations,
    revoked,
  }
}

/**
 * What became of one admission record (the joiner's node asks this about its own after
 * each roster sync, and tells its person when it lost).
 */
export function admissionStatusOf(
  result: FoldAdmissionsResult,
  recordId: string,
): { status: 'admitted' } | { status: 'rejected'; reason: AdmissionRejection; message: string } {
  const r = result.rejected.find((x) => x.id === recordId)
  if (r === undefined) return { status: 'admitted' }
  return { status: 'rejected', reason: r.reason, message: ADMISSION_REASONS[r.reason] }
}
/** Drops repeated ids (the same record listed twice counts once). */
function unique(refs: readonly AdmissionRecordRef[]): AdmissionRecordRef[] {
  const seen = new Set<string>()
  const out: AdmissionRecordRef[] = []
  for (const r of refs ?? []) {
    if (r === null || typeof r !== 'object' || typeof r.id !== 'string' || seen.has(r.id)) continue
    seen.add(r.id)
    out.push(r)
  }
  return out
}
