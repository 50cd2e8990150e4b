/**
 * Signing and verifying envelopes and records (Ed25519 through @libp2p/crypto).
 * The signature covers the domain-separated canonical encoding of every other field
 * (codec.ts), so flipping any bit of any field invalidates it.
 */
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import type { PublicKey } from '@libp2p/interface'
import type { Identity } from '../identity/identity.js'
import {
  checkEnvelopeFields,
  checkRecordFields,
  envelopeSigningInput,
  recordSigningInput,
} from './codec.js'
import {
  type DocId,
  ENVELOPE_VERSION,
  type Envelope,
  type SignedRecord,
  type WriterKey,
} from './types.js'

/** What signing needs from an identity. `Identity` satisfies it. */
export type Signer = Pick<Identity, 'publicKey' | 'writerId' | 'sign'>

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/** `${hex(author)}:${hex(writerId)}`: the key of a writer in version vectors and the store. */
export function writerKey(author: Uint8Array, writerId: Uint8Array): WriterKey {
  return `${hex(author)}:${hex(writerId)}`
}

/** The writer key of an envelope. */
export const envelopeWriterKey = (env: Envelope): WriterKey => writerKey(env.author, env.writerId)

/** Splits a writer key back into author and writer id; undefined if it is not one. */
export function parseWriterKey(
  key: string,
): { author: Uint8Array; writerId: Uint8Array } | undefined {
  const m = /^([0-9a-f]{64}):([0-9a-f]{16})$/.exec(key)
  if (m === null) return undefined
  return {
    author: new Uint8Array(Buffer.from(m[1]!, 'hex')),
    writerId: new Uint8Array(Buffer.from(m[2]!, 'hex')),
  }
}

/** Signs one change of `docId` as `signer`'s writer. Throws MalformedEnvelopeError on bad fields. */
export async function signEnvelope(
  signer: Signer,
  fields: { docId: DocId; seq: number; update: Uint8Array },
): Promise<Envelope> {
  const unsigned = {
    version: ENVELOPE_VERSION,
    docId: fields.docId,
    author: signer.publicKey,
    writerId: signer.writerId,
    seq: fields.seq,
    update: fields.update,
  }
  checkEnvelopeFields({ ...unsigned, signature: new Uint8Array(64) })
  const signature = plain(await signer.sign(envelopeSigningInput(unsigned)))
  return Object.freeze({ ...unsigned, signature })
}

/** Signs an authority record (genesis, audience change, withdrawal, roster event, ...). */
export async function signRecord(
  signer: Pick<Identity, 'publicKey' | 'sign'>,
  fields: { docId: DocId; kind: string; payload: Uint8Array; createdAt?: number },
): Promise<SignedRecord> {
  const unsigned = {
    version: ENVELOPE_VERSION,
    docId: fields.docId,
    author: signer.publicKey,
    kind: fields.kind,
    payload: fields.payload,
    createdAt: fields.createdAt ?? Date.now(),
  }
  checkRecordFields({ ...unsigned, signature: new Uint8Array(64) })
  const signature = plain(await signer.sign(recordSigningInput(unsigned)))
  return Object.freeze({ ...unsigned, signature })
}

/** A plain Uint8Array view (Node's crypto returns Buffers, which serialize differently). */
const plain = (b: Uint8Array) =>
  b.constructor === Uint8Array ? b : new Uint8Array(b.buffer, b.byteOffset, b.byteLength)

/** True only if every field is well formed and the signature verifies. Never throws. */
export function verifyEnvelope(env: Envelope): boolean {
  try {
    checkEnvelopeFields(env)
    return verifyBytes(env.author, envelopeSigningInput(env), env.signature)
  } catch {
    return false
  }
}

/** True only if every field is well formed and the signature verifies. Never throws. */
export function verifyRecord(rec: SignedRecord): boolean {
  try {
    checkRecordFields(rec)
    return verifyBytes(rec.author, recordSigningInput(rec), rec.signature)
  } catch {
    return false
  }
}

// Parsed public keys of recent authors: a tribe has few, and parsing costs more than a lookup.
const KEY_CACHE_MAX = 1024
const keyCache = new Map<string, PublicKey>()

function publicKeyOf(raw: Uint8Array): PublicKey {
  const id = hex(raw)
  let key = keyCache.get(id)
  if (key === undefined) {
    key = publicKeyFromRaw(raw)
    if (key.type !== 'Ed25519') throw new TypeError('not an Ed25519 key')
    if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value as string)
    keyCache.set(id, key)
  }
  return key
}

function verifyBytes(author: Uint8Array, data: Uint8Array, signature: Uint8Array): boolean {
  // Ed25519 verification in @libp2p/crypto is synchronous on Node; anything else is a failure.
  return publicKeyOf(author).verify(data, signature) === true
}
