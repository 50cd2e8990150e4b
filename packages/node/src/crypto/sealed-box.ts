/**
 * Sealed boxes for swarm keys: a 32-byte secret sealed to one member's Ed25519 public
 * key, so it can travel inside the (replicated, signed) roster and only that member
 * can open it. Anonymous sender: the roster entry's signature says who wrote it.
 *
 * Construction (version 1):
 *
 * ```
 *   R      = X25519 public key of the recipient (birational map of their Ed25519 key)
 *   e, E   = fresh ephemeral X25519 secret and public key
 *   ss     = X25519(e, R)
 *   k      = HKDF-SHA256(ikm = ss, salt = E ‖ R, info = "tapestry/sealed-key/v1", 32)
 *   ct     = XChaCha20-Poly1305(k, nonce, aad = context).seal(secret)
 *
 *   sealed = base64( 0x01 ‖ E (32) ‖ nonce (24) ‖ ct (32 + 16) )   → 140 characters
 * ```
 *
 * `context` (e.g. `${tribeId}/${epoch}`) is authenticated, not sent: a box copied to
 * another tribe or epoch does not open. The recipient derives the X25519 secret from
 * their Ed25519 seed (RFC 8032 scalar), so a member keeps a single identity key.
 */

import type { PrivateKey } from '@libp2p/interface'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { ed25519, x25519 } from '@noble/curves/ed25519.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { randomBytes } from '@noble/hashes/utils.js'

export const SEALED_VERSION = 1
const DOMAIN = new TextEncoder().encode('tapestry/sealed-key/v1')
const PUB = 32
const NONCE = 24
const TAG = 16
/** Largest secret sealed here (swarm keys are 32 bytes). */
export const MAX_SEALED_SECRET = 64

/** The sealing context of a tribe epoch's boxes: a box moved to another tribe or epoch fails. */
export const epochContext = (tribeId: string, epoch: number) => `${tribeId}/${epoch}`

/**
 * The sealing context of a link key sealed in epoch `epoch` of tribe `tribeId`: it never
 * opens as a tribe key, nor for another link, tribe or epoch.
 */
export const linkEpochContext = (linkId: string, tribeId: string, epoch: number) =>
  `${linkId}/${tribeId}/${epoch}`

/** A sealed key that cannot be opened; `code` tells why (never match the message). */
export class SealedKeyError extends Error {
  override readonly name = 'SealedKeyError'
  constructor(
    readonly code: 'SEALED_KEY_MALFORMED' | 'SEALED_KEY_NOT_FOR_ME' | 'SEALED_KEY_BAD_RECIPIENT',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options)
  }
}

const enc = (s: string) => new TextEncoder().encode(s)

function deriveKey(shared: Uint8Array, ephPub: Uint8Array, recipientX: Uint8Array): Uint8Array {
  const salt = new Uint8Array(PUB * 2)
  salt.set(ephPub, 0)
  salt.set(recipientX, PUB)
  return hkdf(sha256, shared, salt, DOMAIN, 32)
}

/**
 * Seals `secret` to the member whose raw 32-byte Ed25519 public key is `recipient`.
 * Returns base64 (140 characters for a 32-byte secret).
 */
export function sealKey(secret: Uint8Array, recipient: Uint8Array, context = ''): string {
  if (secret.byteLength === 0 || secret.byteLength > MAX_SEALED_SECRET) {
    throw new RangeError(`a sealed secret is 1..${MAX_SEALED_SECRET} bytes`)
  }
  let recipientX: Uint8Array
  try {
    if (recipient.byteLength !== PUB) throw new RangeError('an Ed25519 public key is 32 bytes')
    recipientX = ed25519.utils.toMontgomery(recipient)
  } catch (cause) {
    throw new SealedKeyError('SEALED_KEY_BAD_RECIPIENT', 'not a valid Ed25519 public key', {
      cause,
    })
  }
  const eph = x25519.utils.randomSecretKey()
  const ephPub = x25519.getPublicKey(eph)
  const key = deriveKey(x25519.getSharedSecret(eph, recipientX), ephPub, recipientX)
  const nonce = randomBytes(NONCE)
  const ct = xchacha20poly1305(key, nonce, enc(context)).encrypt(secret)
  const out = new Uint8Array(1 + PUB + NONCE + ct.byteLength)
  out[0] = SEALED_VERSION
  out.set(ephPub, 1)
  out.set(nonce, 1 + PUB)
  out.set(ct, 1 + PUB + NONCE)
  return Buffer.from(out).toString('base64')
}

/** The 32-byte Ed25519 seed of a libp2p key (`raw` is seed ‖ public key), or a seed itself. */
function seedOf(key: PrivateKey | Uint8Array): Uint8Array {
  const raw = key instanceof Uint8Array ? key : key.raw
  if (!(key instanceof Uint8Array) && key.type !== 'Ed25519') {
    throw new SealedKeyError('SEALED_KEY_NOT_FOR_ME', 'a member key must be Ed25519')
  }
  if (raw.byteLength !== 32 && raw.byteLength !== 64) {
    throw new SealedKeyError('SEALED_KEY_NOT_FOR_ME', 'an Ed25519 private key is 32 or 64 bytes')
  }
  return raw.subarray(0, 32)
}

/**
 * Opens a box sealed to this member. Throws SealedKeyError: `SEALED_KEY_MALFORMED` for
 * bytes that are not a version-1 box, `SEALED_KEY_NOT_FOR_ME` when authentication fails
 * (another recipient, another context, or tampered bytes).
 */
export function openSealed(
  privateKey: PrivateKey | Uint8Array,
  sealed: string,
  context = '',
): Uint8Array {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(sealed)) {
    throw new SealedKeyError('SEALED_KEY_MALFORMED', 'a sealed key is base64')
  }
  const bytes = new Uint8Array(Buffer.from(sealed, 'base64'))
  if (bytes.byteLength < 1 + PUB + NONCE + TAG + 1 || bytes[0] !== SEALED_VERSION) {
    throw new SealedKeyError('SEALED_KEY_MALFORMED', 'not a version-1 sealed key')
  }
  const ephPub = bytes.subarray(1, 1 + PUB)
  const nonce = bytes.subarray(1 + PUB, 1 + PUB + NONCE)
  const ct = bytes.subarray(1 + PUB + NONCE)
  const seed = seedOf(privateKey)
  try {
    const mySecret = ed25519.utils.toMontgomerySecret(seed)
    const myPub = x25519.getPublicKey(mySecret)
    const key = deriveKey(x25519.getSharedSecret(mySecret, ephPub), ephPub, myPub)
    return xchacha20poly1305(key, nonce, enc(context)).decrypt(ct)
  } catch (cause) {
    throw new SealedKeyError(
      'SEALED_KEY_NOT_FOR_ME',
      'this sealed key does not open with this member key (another recipient, or altered)',
      { cause },
    )
  }
}
