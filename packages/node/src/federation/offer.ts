/**
 * Federation offers: a steward's proposal of a link, carried as one copy-pasteable code
 * to a steward of another tribe. The code is a SECRET: it holds the link's swarm key.
 *
 * Code format (version 1):
 *
 *   tapestry-federate-1:<base64url, no padding, of canonical CBOR map>
 *     {v: 1, key: bytes(32), addrs: [multiaddr…], genesis: bytes}
 *
 *   key      the link's swarm key (its private network)
 *   addrs    the proposer's link-host addresses (≤ 16), to dial first
 *   genesis  encodeRecord(the proposer's signed `link.genesis` record)
 *
 * The genesis is signed by the proposer and names the link id (bound to the proposer),
 * tribe A, the terms, the expiry and the SHA-256 of the key, so a code whose key or
 * terms were altered does not verify. Only the addresses are unsigned (a wrong one
 * fails to connect: the link key guards the network).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { sha256 } from '@noble/hashes/sha2.js'
import {
  boundDocId,
  decodeRecordPayload,
  type LinkGenesis,
  parseDocId,
} from '@tapestry/crdt-schema'
import { encodeRecord, tryDecodeRecord } from '../envelope/codec.js'
import { verifyRecord } from '../envelope/index.js'
import type { SignedRecord } from '../envelope/types.js'
import { memberIdFromPublicKey } from '../identity/index.js'
import { decodeCanonical, encodeCanonical, hasExactKeys, isPlainObject } from '../invite/cbor.js'
import { BadOfferError, OfferExpiredError } from './errors.js'

export const OFFER_PREFIX = 'tapestry-federate-1:'
export const MAX_OFFER_CHARS = 16_384
export const MAX_OFFER_ADDRS = 16
const MAX_ADDR_CHARS = 512

export interface Offer {
  readonly linkId: string
  readonly key: Uint8Array
  readonly addrs: readonly string[]
  /** The proposer's signed genesis record, verified. */
  readonly genesis: SignedRecord
  readonly proposal: LinkGenesis
}

export const keyHashOf = (key: Uint8Array): string => Buffer.from(sha256(key)).toString('hex')

export function encodeOffer(o: {
  key: Uint8Array
  addrs: readonly string[]
  genesis: SignedRecord
}) {
  const addrs = [...new Set(o.addrs)].slice(0, MAX_OFFER_ADDRS)
  const bytes = encodeCanonical({ v: 1, key: o.key, addrs, genesis: encodeRecord(o.genesis) })
  return OFFER_PREFIX + Buffer.from(bytes).toString('base64url')
}

/**
 * Checks a signed `link.genesis` record (from an offer or a store) and returns its
 * payload, or a description of what is wrong. Never throws.
 */
export function checkGenesis(rec: SignedRecord): LinkGenesis | string {
  if (!verifyRecord(rec)) return 'the genesis signature does not verify'
  if (rec.kind !== 'link.genesis') return 'not a link genesis'
  const decoded = decodeRecordPayload(rec.payload)
  if (!decoded.ok || decoded.value.type !== 'link.genesis') return 'not a link genesis'
  const g = decoded.value
  if (rec.docId !== g.linkId || !parseDocId(g.linkId).ok) return 'the link id does not match'
  let signer: string
  try {
    signer = memberIdFromPublicKey(rec.author)
  } catch {
    return 'the signer is not a member'
  }
  if (signer !== g.proposer) return 'the genesis is not signed by its proposer'
  if (boundDocId('link', g.proposer, g.nonce) !== g.linkId) return 'the link id is not bound'
  return g
}

/**
 * Validates an offer code offline: format, sizes, the proposer's signature, the key's
 * hash and the expiry (against `now`). Whitespace (line breaks from chat) is ignored.
 * Throws BadOfferError (BAD_OFFER) or OfferExpiredError (OFFER_EXPIRED).
 */
export function parseOffer(code: string, options: { now?: number } = {}): Offer {
  if (typeof code !== 'string') throw new BadOfferError('not a string')
  const compact = code.replace(/\s+/g, '')
  if (compact.length > MAX_OFFER_CHARS) throw new BadOfferError('far too long')
  if (!compact.startsWith(OFFER_PREFIX)) {
    throw new BadOfferError(
      /^tapestry-federate-\d+:/.test(compact)
        ? 'made by another version of Tapestry'
        : 'no tapestry-federate-1: prefix',
    )
  }
  const body = compact.slice(OFFER_PREFIX.length)
  if (!/^[A-Za-z0-9_-]+$/.test(body)) throw new BadOfferError('not base64url')
  const bytes = new Uint8Array(Buffer.from(body, 'base64url'))
  if (Buffer.from(bytes).toString('base64url') !== body) {
    throw new BadOfferError('truncated or altered')
  }
  let value: unknown
  try {
    value = decodeCanonical(bytes)
  } catch {
    throw new BadOfferError('not canonical CBOR')
  }
  if (!isPlainObject(value) || !hasExactKeys(value, ['v', 'key', 'addrs', 'genesis'])) {
    throw new BadOfferError('fields differ')
  }
  if (value.v !== 1) throw new BadOfferError(`version ${String(value.v)}`)
  const key = value.key
  if (!(key instanceof Uint8Array) || key.byteLength !== 32) {
    throw new BadOfferError('the key must be 32 bytes')
  }
  const addrs = value.addrs
  if (!Array.isArray(addrs) || addrs.length > MAX_OFFER_ADDRS) {
    throw new BadOfferError(`at most ${MAX_OFFER_ADDRS} addresses`)
  }
  for (const a of addrs) {
    if (typeof a !== 'string' || a.length === 0 || a.length > MAX_ADDR_CHARS || !isMultiaddr(a)) {
      throw new BadOfferError('an address is not a multiaddr')
    }
  }
  if (!(value.genesis instanceof Uint8Array)) throw new BadOfferError('no genesis')
  const rec = tryDecodeRecord(value.genesis)
  if (!rec.ok) throw new BadOfferError('the genesis is not a record')
  const g = checkGenesis(rec.value)
  if (typeof g === 'string') throw new BadOfferError(g)
  if (g.keyHash !== keyHashOf(key)) throw new BadOfferError('the key does not match the genesis')
  if ((options.now ?? Date.now()) > g.expiresAt) throw new OfferExpiredError(g.expiresAt)
  return Object.freeze({
    linkId: g.linkId,
    key: new Uint8Array(key),
    addrs: Object.freeze([...(addrs as string[])]),
    genesis: rec.value,
    proposal: g,
  })
}

function isMultiaddr(a: string): boolean {
  try {
    multiaddr(a)
    return true
  } catch {
    return false
  }
}
