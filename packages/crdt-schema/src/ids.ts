/**
 * Document ids, tribe ids and member ids.
 *
 * Document id format: `<kind>_<multibase base32 of 16 bytes>`, e.g.
 * `narrative_bx3vq…` — the kind, an underscore, then multibase base32 (prefix
 * `b`, lower case RFC 4648 alphabet, no padding) of 128 bits: 26 characters after
 * the `b`. For profiles the 16 bytes are the first half of
 * SHA-256(`tapestry/profile-id/v1` ‖ 0 ‖ tribeId ‖ 0 ‖ memberId), so every node
 * derives the same id for a member's profile in a tribe. Documents with a creator
 * (rosters: the founder, narratives: the creator, echoes: the responder) have
 * bound ids: the first half of SHA-256(`tapestry/doc-id/v1` ‖ 0 ‖ kind ‖ 0 ‖
 * creator ‖ 0 ‖ nonce), with a random nonce carried in the signed genesis record,
 * so only the creator can sign a genesis that matches the id. Random ids
 * ({@link newDocId}) are for documents without a creator.
 *
 * A tribe's id IS the id of its roster document (`roster_b…`).
 *
 * Member ids are libp2p PeerId strings of Ed25519 keys (base58btc, 52 characters,
 * starting `12D3KooW`); only their shape is checked here.
 */
import { digest as sha256 } from 'lib0/hash/sha256'
import { base32 } from 'multiformats/bases/base32'
import { base58btc } from 'multiformats/bases/base58'
import { InvalidIdError, UnknownKindError } from './errors.js'
import { MAX_DOC_ID_CHARS } from './limits.js'
import { err, ok, type Result } from './result.js'

export const DOC_KINDS = ['roster', 'profile', 'narrative', 'echo', 'link'] as const
export type DocKind = (typeof DOC_KINDS)[number]

export type DocId = string
export type TribeId = string
export type MemberId = string

export interface ParsedDocId {
  readonly kind: DocKind
  readonly id: DocId
}

const ID_BYTES = 16
const KIND_PART = '[a-z][a-z0-9-]{0,31}'
const DOC_ID_RE = new RegExp(`^(${KIND_PART})_(b[a-z2-7]{26})$`)
const DOC_ID_SHAPE_RE = new RegExp(`^(${KIND_PART})_[a-z0-9]+$`)
const KIND_PREFIX_RE = new RegExp(`^(${KIND_PART})_`)
const PEER_ID_RE = /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/
const ED25519_PEER_ID_PREFIX = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20]

export function isDocKind(kind: unknown): kind is DocKind {
  return typeof kind === 'string' && (DOC_KINDS as readonly string[]).includes(kind)
}

/**
 * The kind a document id names (the part before its `_`), or undefined when that is
 * no known kind. The one place a kind is read from an id; it does not check the rest of
 * the id ({@link parseDocId} does).
 */
export function kindOf(docId: string): DocKind | undefined {
  const kind = KIND_PREFIX_RE.exec(docId)?.[1]
  return isDocKind(kind) ? kind : undefined
}

/**
 * The shape of a document id (`<kind>_<lower-case letters and digits>`) without the
 * checks of its kind and body: what a decoder of peer bytes accepts as a document id
 * (every id {@link newDocId}, {@link boundDocId} and {@link profileDocId} make has it).
 * Lengths are the decoder's to check.
 */
export function isDocIdShape(s: string): boolean {
  return DOC_ID_SHAPE_RE.test(s)
}

/**
 * The order documents are synced and judged in: authority before content. Rosters
 * first (they decide who writes everything else), then links (who may receive across
 * tribes), profiles (consent defaults), narratives, echoes (they need their narrative);
 * ids of no known kind last.
 */
export const SYNC_ORDER: readonly DocKind[] = ['roster', 'link', 'profile', 'narrative', 'echo']

/** A document's place in {@link SYNC_ORDER} (`SYNC_ORDER.length` for no known kind). */
export function syncRank(docId: string): number {
  const kind = kindOf(docId)
  return kind === undefined ? SYNC_ORDER.length : SYNC_ORDER.indexOf(kind)
}

/** Compares two document ids by {@link syncRank}, then by id: a sort's comparator. */
export function compareSyncOrder(a: string, b: string): number {
  return syncRank(a) - syncRank(b) || (a < b ? -1 : a > b ? 1 : 0)
}

function encodeId(kind: DocKind, bytes: Uint8Array): DocId {
  return `${kind}_${base32.encode(bytes.subarray(0, ID_BYTES))}`
}

/** A new, globally unique id for a document of `kind` (128 random bits). */
export function newDocId(kind: DocKind): DocId {
  const bytes = new Uint8Array(ID_BYTES)
  globalThis.crypto.getRandomValues(bytes)
  return encodeId(kind, bytes)
}

/** A random nonce for {@link boundDocId}: multibase base32 of 16 random bytes (27 characters). */
export function newNonce(): string {
  const bytes = new Uint8Array(ID_BYTES)
  globalThis.crypto.getRandomValues(bytes)
  return base32.encode(bytes)
}

/**
 * The id of a document of `kind` created by `creator`, bound to them: the first
 * half of SHA-256(`tapestry/doc-id/v1` ‖ 0 ‖ kind ‖ 0 ‖ creator ‖ 0 ‖ nonce).
 * The folds accept a genesis only when its signer and nonce give back the id.
 */
export function boundDocId(kind: DocKind, creator: MemberId, nonce: string): DocId {
  const input = new TextEncoder().encode(
    `tapestry/doc-id/v1\u0000${kind}\u0000${creator}\u0000${nonce}`,
  )
  return encodeId(kind, sha256(input))
}

/** A new bound id for a document of `kind` created by `creator`, with the nonce for its genesis. */
export function newBoundDocId(
  kind: DocKind,
  creator: MemberId,
): { readonly id: DocId; readonly nonce: string } {
  const nonce = newNonce()
  return { id: boundDocId(kind, creator, nonce), nonce }
}

/** Validates an untrusted document id string. Unknown kinds give `UnknownKindError`. */
export function parseDocId(s: unknown): Result<ParsedDocId, InvalidIdError | UnknownKindError> {
  if (typeof s !== 'string') return err(new InvalidIdError('document id is not a string'))
  if (s.length > MAX_DOC_ID_CHARS) return err(new InvalidIdError('document id is too long'))
  const m = DOC_ID_RE.exec(s)
  if (m === null) return err(new InvalidIdError(`malformed document id "${s}"`, s))
  const kind = m[1]!
  if (!isDocKind(kind)) return err(new UnknownKindError(kind, s))
  try {
    if (base32.decode(m[2]!).length !== ID_BYTES) throw new Error('length')
  } catch {
    return err(new InvalidIdError(`malformed document id "${s}"`, s))
  }
  return ok(Object.freeze({ kind, id: s }))
}

/** True when `s` is a valid document id, of `kind` if given. */
export function isDocId(s: unknown, kind?: DocKind): s is DocId {
  const r = parseDocId(s)
  return r.ok && (kind === undefined || r.value.kind === kind)
}

/** The deterministic id of `memberId`'s profile document in tribe `tribeId`. */
export function profileDocId(tribeId: TribeId, memberId: MemberId): DocId {
  const input = new TextEncoder().encode(`tapestry/profile-id/v1\u0000${tribeId}\u0000${memberId}`)
  return encodeId('profile', sha256(input))
}

/** Shape check of a libp2p Ed25519 PeerId string (base58btc identity multihash). */
export function isMemberId(s: unknown): s is MemberId {
  if (typeof s !== 'string' || !PEER_ID_RE.test(s)) return false
  try {
    const bytes = base58btc.baseDecode(s)
    return bytes.length === 38 && ED25519_PEER_ID_PREFIX.every((b, i) => bytes[i] === b)
  } catch {
    return false
  }
}

export function parseMemberId(s: unknown): Result<MemberId, InvalidIdError> {
  return isMemberId(s)
    ? ok(s)
    : err(new InvalidIdError('not an Ed25519 libp2p PeerId', typeof s === 'string' ? s : undefined))
}

/** A tribe id is a roster document id. */
export function isTribeId(s: unknown): s is TribeId {
  return isDocId(s, 'roster')
}
