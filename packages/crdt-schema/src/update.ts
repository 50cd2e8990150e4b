/**
 * Applying Yjs updates that came from a peer without ever throwing.
 *
 * `applyPeerUpdate` first decodes the update on its own (`Y.decodeUpdate`), so
 * garbage or truncated bytes are rejected before the document is touched, then
 * applies it inside a try/catch. It checks bytes, not authority: the node checks
 * the envelope's signature and the writer's client ids before calling it.
 */
import * as Y from 'yjs'
import { InvalidUpdateError, OversizedError } from './errors.js'
import { MAX_UPDATE_BYTES } from './limits.js'
import { err, ok, type Result } from './result.js'

export interface UpdateInfo {
  /** Yjs client ids that created the items in the update (for the node's writer check). */
  readonly clients: readonly number[]
}

/** Decodes an update without applying it; lists the client ids of its items and deletions. */
export function inspectUpdate(
  bytes: Uint8Array,
): Result<UpdateInfo, InvalidUpdateError | OversizedError> {
  if (!(bytes instanceof Uint8Array)) return err(new InvalidUpdateError('update is not bytes'))
  if (bytes.length > MAX_UPDATE_BYTES) {
    return err(new OversizedError('update', MAX_UPDATE_BYTES, bytes.length))
  }
  try {
    const { structs } = Y.decodeUpdate(bytes)
    const clients = new Set<number>()
    for (const s of structs) clients.add(s.id.client)
    return ok(Object.freeze({ clients: Object.freeze([...clients].sort((a, b) => a - b)) }))
  } catch (cause) {
    return err(new InvalidUpdateError('update does not decode', cause))
  }
}

/** Applies a peer's update to `doc`. Never throws; bytes that do not decode leave the document untouched. */
export function applyPeerUpdate(
  doc: Y.Doc,
  bytes: Uint8Array,
  origin?: unknown,
): Result<UpdateInfo, InvalidUpdateError | OversizedError> {
  const info = inspectUpdate(bytes)
  if (!info.ok) return info
  try {
    Y.applyUpdate(doc, bytes, origin)
  } catch (cause) {
    return err(new InvalidUpdateError('update could not be applied', cause, doc.guid))
  }
  return info
}
