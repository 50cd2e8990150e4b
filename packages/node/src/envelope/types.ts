/**
 * The wire-level units every node signs, stores and syncs. Shared by the envelope
 * layer (codec, signing, acceptance), the store and the sync protocol.
 *
 * The envelope layer is versioned separately from the content schema
 * (`ENVELOPE_VERSION`), so every node can check authority and audience even for a
 * document whose newer content schema it cannot read.
 */

export const ENVELOPE_VERSION = 1

/** A document id as produced by `@tapestry/crdt-schema` (kind prefix + random part). */
export type DocId = string

/**
 * One signed change to one document. `author` is the member's raw 32-byte Ed25519
 * public key; `writerId` is 8 random bytes per data directory, so two devices of one
 * member never share a sequence space. `seq` starts at 1 per (author, writerId, docId)
 * and has no gaps. `signature` is Ed25519 over the domain-separated canonical
 * encoding of every other field (see envelope/codec.ts).
 */
export interface Envelope {
  readonly version: number
  readonly docId: DocId
  readonly author: Uint8Array
  readonly writerId: Uint8Array
  readonly seq: number
  readonly update: Uint8Array
  readonly signature: Uint8Array
}

/**
 * A signed authority record kept beside a document's Yjs content: a narrative's
 * genesis (creator, authors, audience), audience changes, co-author additions,
 * withdrawal, erasure receipts, roster events. `payload` is the canonical encoding of
 * a typed record from `@tapestry/crdt-schema`; `id` is the SHA-256 of the signed bytes,
 * so identical records deduplicate everywhere.
 */
export interface SignedRecord {
  readonly version: number
  readonly docId: DocId
  readonly author: Uint8Array
  readonly kind: string
  readonly payload: Uint8Array
  readonly createdAt: number
  readonly signature: Uint8Array
}

/** `${hex(author)}:${hex(writerId)}`: the key of a writer in version vectors and the store. */
export type WriterKey = string

/** Highest contiguous envelope sequence per writer for one document. */
export type VersionVector = ReadonlyMap<WriterKey, number>
