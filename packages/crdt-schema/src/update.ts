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
  let decoded: ReturnType<typeof Y.decodeUpdate>
  try {
    decoded = Y.decodeUpdate(bytes)
  } catch (cause) {
    return err(new InvalidUpdateError('update does not decode', cause))
  }
  const unsound = unsoundPart(decoded)
  if (unsound !== undefined) return err(new InvalidUpdateError(`update ${unsound}`))
  const clients = new Set<number>()
  for (const s of decoded.structs) clients.add(s.id.client)
  return ok(Object.freeze({ clients: Object.freeze([...clients].sort((a, b) => a - b)) }))
}

/** Clocks count a writer's inserted units: far below this in any real document. */
const MAX_CLOCK = 2 ** 32

/**
 * What, in a decoded update, Yjs would throw on while applying it (or while a later
 * replica applies the stored history), after it has already integrated the structs
 * before it: the document would change and the update still be refused. Each was found
 * by fuzzing with validly signed, mutated updates:
 *
 * - a deletion or a struct of length 0, or a clock past MAX_CLOCK (lib0 refuses to read
 *   integers past 2^53 back, and a clock plus a length can get there);
 * - one client's structs that do not follow each other clock after clock;
 * - an item whose origin, right origin or parent is an item of its own client at its own
 *   clock or later: Yjs takes references within one client to be integrated already.
 */
function unsoundPart({ structs, ds }: ReturnType<typeof Y.decodeUpdate>): string | undefined {
  for (const ranges of ds.clients.values()) {
    for (const r of ranges) {
      if (!(r.len > 0) || r.clock + r.len > MAX_CLOCK)
        return 'deletes a range of length 0 or out of range'
    }
  }
  const next = new Map<number, number>()
  for (const s of structs) {
    const { client, clock } = s.id
    if (!(s.length > 0) || clock + s.length > MAX_CLOCK) {
      return `has a struct (${client}:${clock}) of length 0 or out of range`
    }
    const expected = next.get(client)
    if (expected !== undefined && clock !== expected) {
      return `has structs of client ${client} that do not follow each other (${clock} after ${expected})`
    }
    next.set(client, clock + s.length)
    if (!(s instanceof Y.Item)) continue
    const parent = s.parent instanceof Y.ID ? s.parent : null
    for (const ref of [s.origin, s.rightOrigin, parent]) {
      if (ref === null) continue
      if ((ref.client === client && ref.clock >= clock) || ref.clock >= MAX_CLOCK) {
        return `has an item (${client}:${clock}) that refers to itself, a later item of its writer or past any clock`
      }
    }
  }
  return undefined
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
