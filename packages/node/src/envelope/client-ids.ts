/**
 * Which Yjs client ids a writer may insert items under. Each writer (author key +
 * writer id) has exactly one, derived, so every node computes the same one and no
 * writer can forge items under another writer's id:
 *
 *   clientIdFor(author, writerId) =
 *     big-endian uint32 of the first 4 bytes of SHA-256("tapestry/client-id/v1" ‖ author ‖ writerId)
 *
 * (Yjs client ids are uint32.) The writer's Y.Doc must use it: `doc.clientID = clientIdFor(...)`.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { inspectUpdate } from '@tapestry/crdt-schema'
import { ForeignClientError, MalformedEnvelopeError } from './errors.js'

const CLIENT_ID_DOMAIN = new TextEncoder().encode('tapestry/client-id/v1')

/** The one Yjs client id registered to the writer (author, writerId). */
export function clientIdFor(author: Uint8Array, writerId: Uint8Array): number {
  const input = new Uint8Array(
    CLIENT_ID_DOMAIN.byteLength + author.byteLength + writerId.byteLength,
  )
  input.set(CLIENT_ID_DOMAIN, 0)
  input.set(author, CLIENT_ID_DOMAIN.byteLength)
  input.set(writerId, CLIENT_ID_DOMAIN.byteLength + author.byteLength)
  const h = sha256(input)
  return ((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0
}

/**
 * Decodes a Yjs v1 update and checks that every struct in it (items, GCs, skips) is
 * under client `allowed`, and that Yjs can apply it (`inspectUpdate`). Deletions of
 * other clients' items (the delete set) are allowed: co-authors delete each other's
 * text. Throws ForeignClientError, or MalformedEnvelopeError if the bytes are not a
 * Yjs update Yjs can apply; nothing else.
 */
export function checkUpdateClients(update: Uint8Array, allowed: number, docId?: string): void {
  const info = inspectUpdate(update)
  if (!info.ok) throw new MalformedEnvelopeError(info.error.message, docId)
  for (const client of info.value.clients) {
    if (client !== allowed) throw new ForeignClientError(docId, allowed, client)
  }
}
