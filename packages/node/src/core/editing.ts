import { parseDocId } from '@tapestry/crdt-schema'
import * as Y from 'yjs'
import {
  checkUpdateClients,
  clientIdFor,
  type Envelope,
  type Signer,
  signEnvelope,
  writerKey,
} from '../envelope/index.js'
import type { DocId } from '../envelope/types.js'
import { ForbiddenError, UsageError } from '../errors.js'
import type { EditSessionView } from './node-api.js'

/** Bytes of a renderer's writer id (as an identity's). */
const WRITER_ID_BYTES = 8

export interface EditingDeps {
  /** This member's signing identity; editing sessions sign as its other writers. */
  identity: Signer & { memberId: string }
  mayWrite(docId: DocId, memberId: string): Promise<boolean>
  /** The node's replica of the document. */
  doc(docId: DocId): Promise<Y.Doc>
  versionVector(docId: DocId): Promise<ReadonlyMap<string, number>>
  /** The node's local write path for an envelope signed here (store, replica, events, forwarding). */
  appendLocal(env: Envelope): Promise<void>
}

/**
 * Editing sessions of a renderer: the renderer keeps its own Yjs replica of a document
 * and writes as one more writer of this member (its own writer id, so its own derived
 * Yjs client id). The node checks each update is only that writer's items, that the
 * member may still write the document, signs it, and hands it to the same write path as
 * every other local change (durable, then reported as local and offered onward). The
 * renderer never holds the key.
 */
export class Editing {
  readonly #queues = new Map<DocId, Promise<unknown>>()

  constructor(private readonly deps: EditingDeps) {}

  async editSession(docId: string, writerIdHex?: string): Promise<EditSessionView> {
    const id = this.#checkDoc(docId)
    await this.#checkWrite(id)
    const writerId =
      writerIdHex === undefined || writerIdHex === null
        ? crypto.getRandomValues(new Uint8Array(WRITER_ID_BYTES))
        : this.#writerId(writerIdHex)
    const doc = await this.deps.doc(id)
    return {
      docId: id,
      writerId: Buffer.from(writerId).toString('hex'),
      clientId: clientIdFor(this.deps.identity.publicKey, writerId),
      state: Buffer.from(Y.encodeStateAsUpdate(doc)).toString('base64'),
    }
  }

  async editUpdate(
    docId: string,
    writerIdHex: string,
    updateBase64: string,
  ): Promise<{ seq: number }> {
    const id = this.#checkDoc(docId)
    const writerId = this.#writerId(writerIdHex)
    if (typeof updateBase64 !== 'string' || updateBase64.length === 0) {
      throw new UsageError('an edit needs a Yjs update (base64)')
    }
    const update = new Uint8Array(Buffer.from(updateBase64, 'base64'))
    // Only items of this session's writer: never under the node's or anyone else's id.
    checkUpdateClients(update, clientIdFor(this.deps.identity.publicKey, writerId), id)
    return this.#serial(id, async () => {
      await this.#checkWrite(id)
      const me = this.deps.identity
      const key = writerKey(me.publicKey, writerId)
      const seq = ((await this.deps.versionVector(id)).get(key) ?? 0) + 1
      const signer: Signer = { publicKey: me.publicKey, writerId, sign: (b) => me.sign(b) }
      const env = await signEnvelope(signer, { docId: id, seq, update })
      await this.deps.appendLocal(env)
      return { seq }
    })
  }

  /** A session's writer id: 8 bytes, never the node's own writer (its coalescer writes there). */
  #writerId(hex: unknown): Uint8Array {
    if (typeof hex !== 'string' || !/^[0-9a-f]{16}$/.test(hex)) {
      throw new UsageError('a writer id is 16 hex characters', 'start an edit session first')
    }
    const writerId = new Uint8Array(Buffer.from(hex, 'hex'))
    if (Buffer.from(writerId).equals(Buffer.from(this.deps.identity.writerId))) {
      throw new ForbiddenError("an editing session may not write as the node's own writer")
    }
    return writerId
  }

  #checkDoc(docId: unknown): DocId {
    const parsed = parseDocId(docId)
    if (!parsed.ok || (parsed.value.kind !== 'narrative' && parsed.value.kind !== 'echo')) {
      throw new UsageError(`"${String(docId)}" is not a narrative or echo id`)
    }
    return docId as DocId
  }

  async #checkWrite(docId: DocId): Promise<void> {
    if (!(await this.deps.mayWrite(docId, this.deps.identity.memberId))) {
      throw new ForbiddenError(
        'you may not edit this document',
        'only its authors may edit a published narrative (and its responder an echo)',
      )
    }
  }

  #serial<T>(docId: DocId, fn: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(docId) ?? Promise.resolve()
    const next = prev.then(fn, fn)
    const tail = next.catch(() => {})
    this.#queues.set(docId, tail)
    void tail.then(() => {
      if (this.#queues.get(docId) === tail) this.#queues.delete(docId)
    })
    return next
  }
}
