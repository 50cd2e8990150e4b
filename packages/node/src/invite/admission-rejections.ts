/**
 * Why the admissions fold set a record aside: stable codes, and a sentence for a person
 * per code.
 */

/** Why the fold set a record aside. Stable codes; `ADMISSION_REASONS` has the messages. */
export type AdmissionRejection =
  | 'BAD_RECORD'
  | 'BAD_PAYLOAD'
  | 'NOT_JOINER'
  | 'WRONG_TRIBE'
  | 'BAD_INVITATION_SIGNATURE'
  | 'ISSUER_NOT_STEWARD'
  | 'INVITE_EXPIRED'
  | 'INVITE_REVOKED'
  | 'INVITE_USED_UP'
  | 'DUPLICATE'
  | 'REVOKER_NOT_STEWARD'

/** A sentence for a person per rejection reason (said about the joiner's own admission). */
export const ADMISSION_REASONS: Readonly<Record<AdmissionRejection, string>> = {
  BAD_RECORD: 'the record is malformed or its signature does not verify',
  BAD_PAYLOAD: 'the record’s content is malformed',
  NOT_JOINER: 'the record is not signed by the member it admits',
  WRONG_TRIBE: 'the invitation belongs to another tribe',
  BAD_INVITATION_SIGNATURE: 'the invitation’s signature does not verify',
  ISSUER_NOT_STEWARD:
    'the steward who signed the invitation is no longer a steward of the tribe: ask a current steward for a new invitation',
  INVITE_EXPIRED: 'the invitation had expired: ask a steward for a new one',
  INVITE_REVOKED: 'the invitation was revoked: ask a steward for a new one',
  INVITE_USED_UP:
    'another member used this invitation first (it allows no more joins): ask a steward for a new invitation',
  DUPLICATE: 'this member was already admitted with this invitation',
  REVOKER_NOT_STEWARD: 'the revocation is not signed by a steward',
}
