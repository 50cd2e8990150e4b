import type { WriteResult } from '@tapestry/crdt-schema'
import * as Y from 'yjs'
import {
  clientIdFor,
  EnvelopeCoalescer,
  equalBytes,
  recordId,
  writerKey,
} from '../envelope/index.js'
import type { DocId, Envelope, SignedRecord } from '../envelope/types.js'
import { TapestryError } from '../errors.js'
import type { Identity } from '../identity/index.js'
import { docKind, type EnvelopeStore } from '../store/index.js'
import type { DocumentEvent } from './node-api.js'
import type { StoredItem } from './replication.js'

/** Transaction origin of updates that come from the store or from peers, never the user. */
export const REMOTE_ORIGIN = Symbol('tapestry/remote')

/**
 * Applies stored or received updates as non-local changes. Yjs gives a document a new
 * random client id whenever a non-local update touches its own client id; this sets
 * the writer's derived client id back afterwards, which is sound because every
 * item under that id is this writer's own, signed, and now integrated in order.
 */
function applyStored(doc: Y.Doc, updates: readonly Uint8Array[], clientId: number): void {
  Y.transact(
    doc,
    () => {
      for (const u of updates) Y.applyUpdate(doc, u, REMOTE_ORIGIN)
    },
    REMOTE_ORIGIN,
  )
  doc.clientID = clientId
}

/** A snapshot is written when this many envelopes arrived since the last one (and on close). */
const SNAPSHOT_EVERY = 256

interface Replica {
  readonly docId: DocId
  readonly kind: string
  readonly doc: Y.Doc
  readonly writer: EnvelopeCoalescer
  sinceSnapshot: number
}

/**
 * The node's open documents: each a Yjs replica whose local changes the envelope
 * coalescer signs and stores, loaded lazily from the latest snapshot plus the envelopes
 * after it (never the whole history when a snapshot exists). The only place the node
 * turns a document change into stored envelopes.
 */
export class DocumentSet {
  readonly #replicas = new Map<DocId, Promise<Replica>>()
  readonly #myWriter: string
  readonly #clientId: number

  constructor(
    private readonly store: EnvelopeStore,
    private readonly identity: Identity,
    private readonly hooks: {
      /** For subscribers of the node (control API, desktop). */
      event: (event: DocumentEvent) => void
      /**
       * Called right after any write to the store, before the other hooks, so what
       * was derived from the document (authority, membership) is forgotten first.
       */
      written: (docId: DocId, what: 'record' | 'content') => void
      /** Everything newly durable, for the sync layer to offer onward. */
      stored: (item: StoredItem) => void
    },
  ) {
    this.#myWriter = writerKey(identity.publicKey, identity.writerId)
    this.#clientId = clientIdFor(identity.publicKey, identity.writerId)
  }

  /** The replica of a document the store holds, loading it on first use. */
  async doc(docId: DocId): Promise<Y.Doc> {
    return (await this.#replica(docId)).doc
  }

  /**
   * Creates a document: stores its authority records first (a peer must be able to
   * check the first envelope against them), then writes its initial content as this
   * member's first envelope. Resolves once both are durable. Content the schema refuses
   * (an oversized title, ...) is found on a scratch document first: then nothing is stored.
   */
  async create(
    docId: DocId,
    records: readonly SignedRecord[],
    init: (doc: Y.Doc) => WriteResult,
  ): Promise<Y.Doc> {
    const scratch = new Y.Doc()
    try {
      let checked!: WriteResult
      scratch.transact(() => {
        checked = init(scratch)
      })
      if (!checked.ok) {
        throw new TapestryError(checked.error.code, checked.error.message, 'nothing was written')
      }
    } finally {
      scratch.destroy()
    }
    for (const rec of records) await this.putRecord(rec)
    const replica = await this.#replica(docId)
    await this.#write(replica, init)
    return replica.doc
  }

  /** Applies a local change and resolves once it is durable (then it may be acknowledged). */
  async change(docId: DocId, fn: (doc: Y.Doc) => WriteResult): Promise<void> {
    await this.#write(await this.#replica(docId), fn)
  }

  /** Stores a signed authority record (audience change, withdrawal, ...) and offers it onward. */
  async putRecord(rec: SignedRecord): Promise<void> {
    await this.store.putRecord(rec, recordId(rec))
    this.hooks.written(rec.docId, 'record')
    const mine = equalBytes(rec.author, this.identity.publicKey)
    this.hooks.event({
      docId: rec.docId,
      kind: docKind(rec.docId),
      origin: mine ? 'local' : 'remote',
      record: rec.kind,
    })
    this.hooks.stored({ type: 'record', record: rec })
  }

  /**
   * Applies an accepted envelope from a peer (already stored) to the open replica, if
   * any: a closed document reads it from the store when next opened.
   */
  applyRemote(env: Envelope): Promise<void> {
    return this.#applyStored(env, 'remote')
  }

  /**
   * Stores and applies an envelope this member signed as another of its writers (an
   * editing session of the desktop): the same write path as every local change,
   * durable before it resolves, reported as local and offered onward.
   */
  async appendLocal(env: Envelope): Promise<void> {
    await this.store.appendEnvelopes([env])
    await this.#applyStored(env, 'local')
  }

  async #applyStored(env: Envelope, origin: 'local' | 'remote'): Promise<void> {
    const open = this.#replicas.get(env.docId)
    const kind = docKind(env.docId)
    if (open) {
      const replica = await open
      applyStored(replica.doc, [env.update], this.#clientId)
      replica.sinceSnapshot++
    }
    this.hooks.written(env.docId, 'content')
    this.hooks.event({ docId: env.docId, kind, origin, update: env.update })
    this.hooks.stored({ type: 'envelope', envelope: env })
  }

  /**
   * Erases a document's content: the replica is dropped without a snapshot and the
   * store deletes (and compacts away) every envelope and cache of it. Records stay.
   */
  async erase(docId: DocId): Promise<void> {
    await this.#drop(docId)
    await this.store.eraseContent(docId)
    this.hooks.written(docId, 'content')
    this.hooks.event({ docId, kind: docKind(docId), origin: 'local', erased: true })
    this.hooks.stored({ type: 'erased', docId })
  }

  /**
   * Erases the stored envelopes `drop` selects (a writer's tail that a removal settled
   * later excludes) and keeps the rest: Yjs cannot take back an applied update, so the
   * document is rebuilt from the envelopes kept. Returns how many were dropped.
   */
  async exclude(docId: DocId, drop: (env: Envelope) => boolean): Promise<number> {
    const stored = () => this.store.envelopesSince(docId, new Map())
    if (!(await stored()).some(drop)) return 0
    // Closing the replica flushes its pending writes: read what to keep after that.
    await this.#drop(docId)
    const all = await stored()
    const kept = all.filter((e) => !drop(e))
    await this.store.eraseContent(docId)
    await this.store.appendEnvelopes(kept)
    this.hooks.written(docId, 'content')
    this.hooks.event({ docId, kind: docKind(docId), origin: 'remote' })
    return all.length - kept.length
  }

  /** Forgets the open replica (pending local writes flushed, no snapshot written). */
  async #drop(docId: DocId): Promise<void> {
    const open = this.#replicas.get(docId)
    this.#replicas.delete(docId)
    if (open) {
      const replica = await open
      await replica.writer.close()
      replica.doc.destroy()
    }
  }

  /** Flushes every pending write, writes snapshots of changed documents, drops replicas. */
  async close(): Promise<void> {
    const replicas = await Promise.all(this.#replicas.values())
    this.#replicas.clear()
    for (const r of replicas) {
      await r.writer.close()
      if (r.sinceSnapshot > 0) await this.#snapshot(r)
      r.doc.destroy()
    }
  }

  async #write(replica: Replica, fn: (doc: Y.Doc) => WriteResult): Promise<void> {
    let result!: WriteResult
    replica.doc.transact(() => {
      result = fn(replica.doc)
    })
    if (!result.ok) {
      throw new TapestryError(result.error.code, result.error.message, 'nothing was written')
    }
    await replica.writer.flush()
    if (replica.sinceSnapshot >= SNAPSHOT_EVERY) await this.#snapshot(replica)
  }

  async #snapshot(r: Replica): Promise<void> {
    const vv = await this.store.versionVector(r.docId)
    await this.store.putSnapshot(r.docId, { state: Y.encodeStateAsUpdate(r.doc), vv })
    r.sinceSnapshot = 0
  }

  #replica(docId: DocId): Promise<Replica> {
    let p = this.#replicas.get(docId)
    if (!p) {
      p = this.#load(docId)
      this.#replicas.set(docId, p)
      p.catch(() => this.#replicas.delete(docId))
    }
    return p
  }

  async #load(docId: DocId): Promise<Replica> {
    const doc = new Y.Doc()
    const snapshot = await this.store.getSnapshot(docId)
    const envelopes = await this.store.envelopesSince(docId, snapshot?.vv ?? new Map())
    const updates = envelopes.map((e) => e.update)
    applyStored(doc, snapshot ? [snapshot.state, ...updates] : updates, this.#clientId)
    const vv = await this.store.versionVector(docId)
    const kind = docKind(docId)
    const writer = new EnvelopeCoalescer({
      doc,
      docId,
      signer: this.identity,
      highestSeq: vv.get(this.#myWriter) ?? 0,
      persist: (envs) => this.store.appendEnvelopes(envs),
      remoteOrigins: [REMOTE_ORIGIN],
    })
    const replica: Replica = { docId, kind, doc, writer, sinceSnapshot: envelopes.length }
    writer.onEnvelope((env: Envelope) => {
      replica.sinceSnapshot++
      this.hooks.written(docId, 'content')
      this.hooks.event({ docId, kind, origin: 'local', update: env.update })
      this.hooks.stored({ type: 'envelope', envelope: env })
    })
    return replica
  }
}
