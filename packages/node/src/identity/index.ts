/**
 * A member's identity: one Ed25519 key (the libp2p PeerId of their node) kept in
 * `identity.key` (mode 0600) plus a writer id per data directory.
 *
 * @example
 * ```ts
 * const me = await loadOrCreateIdentity('/tmp/alice', 'Alice')
 * console.log(me.memberId, me.name) // the private key never appears in logs
 * ```
 */
export {
  CorruptIdentityError,
  IdentityError,
  IdentityExistsError,
  InsecureKeyFileError,
  InvalidMemberIdError,
  NoIdentityError,
} from './errors.js'
export {
  createIdentity,
  Identity,
  identityFiles,
  loadIdentity,
  loadOrCreateIdentity,
  loadOrCreateWriterId,
  memberIdFromPublicKey,
  publicKeyFromMemberId,
  WRITER_ID_BYTES,
} from './identity.js'
