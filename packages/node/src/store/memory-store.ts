/**
 * `EnvelopeStore` in memory, for unit tests and ephemeral nodes. Same contract as the
 * durable store except durability: everything is gone when the process ends (and stays
 * across `close()`/`open()` of the same instance, like a directory would).
 */

import type { DocId, Envelope, SignedRecord, VersionVector, WriterKey } from '../envelope/types.js'
import {
  bytesEqual,
  checkDocId,
  checkSeq,
  checkWriterKey,
  cloneEnvelope,
  cloneRecord,
  copy,
  encodeEnvelope,
  encodeRecord,
} from './encoding.js'
import {
  type DocSnapshot,
  type DocumentEntry,
  docKind,
  type EnvelopeStore,
  type EquivocationEvidence,
  type StoredRecord,
  type StoreStats,
  writerKeyOf,
} from './envelope-store.js'
import { EquivocationError, RecordConflictError, StoreClosedError } from './errors.js'

interface DocState {
  readonly envelopes: Map<WriterKey, Map<number, Envelope>>
  readonly records: Map<string, SignedRecord>
  snapshot: DocSnapshot | undefined
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0)

export class MemoryEnvelopeStore implements EnvelopeStore {
  #open = false
  readonly #docs = new Map<DocId, DocState>()
  readonly #equivocations = new Map<string, EquivocationEvidence>()

  async open(): Promise<void> {
    this.#open = true
  }

  async close(): Promise<void> {
    this.#open = false
  }

  #check(op: string): void {
    if (!this.#open) throw new StoreClosedError(op)
  }

  #doc(docId: DocId): DocState {
    let d = this.#docs.get(docId)
    if (d === undefined) {
      d = { envelopes: new Map(), records: new Map(), snapshot: undefined }
      this.#docs.set(docId, d)
    }
    return d
  }

  async appendEnvelopes(envs: readonly Envelope[]): Promise<void> {
    this.#check('appendEnvelopes')
    const pending = new Map<string, Envelope>()
    for (const env of envs) {
      checkDocId(env.docId)
      checkSeq(env.seq)
      const wk = writerKeyOf(env)
      const slot = `${env.docId}!${wk}!${env.seq}`
      const existing =
        pending.get(slot) ?? this.#docs.get(env.docId)?.envelopes.get(wk)?.get(env.seq)
      if (existing !== undefined) {
        if (!bytesEqual(encodeEnvelope(existing), encodeEnvelope(env))) {
          throw new EquivocationError(
            env.docId,
            wk,
            env.seq,
            cloneEnvelope(existing),
            cloneEnvelope(env),
          )
        }
        continue
      }
      pending.set(slot, env)
    }
    for (const env of pending.values()) {
      const byWriter = this.#doc(env.docId).envelopes
      const wk = writerKeyOf(env)
      let seqs = byWriter.get(wk)
      if (seqs === undefined) {
        seqs = new Map()
        byWriter.set(wk, seqs)
      }
      seqs.set(env.seq, cloneEnvelope(env))
    }
  }

  async getEnvelope(
    docId: DocId,
    writerKey: WriterKey,
    seq: number,
  ): Promise<Envelope | undefined> {
    this.#check('getEnvelope')
    checkDocId(docId)
    checkWriterKey(writerKey)
    checkSeq(seq)
    const env = this.#docs.get(docId)?.envelopes.get(writerKey)?.get(seq)
    return env === undefined ? undefined : cloneEnvelope(env)
  }

  async envelopesSince(docId: DocId, vv: VersionVector): Promise<Envelope[]> {
    this.#check('envelopesSince')
    checkDocId(docId)
    const doc = this.#docs.get(docId)
    if (doc === undefined) return []
    const out: Envelope[] = []
    for (const wk of [...doc.envelopes.keys()].sort(cmp)) {
      const from = vv.get(wk) ?? 0
      const seqs = doc.envelopes.get(wk)!
      for (const seq of [...seqs.keys()].sort((a, b) => a - b)) {
        if (seq > from) out.push(cloneEnvelope(seqs.get(seq)!))
      }
    }
    return out
  }

  async versionVector(docId: DocId): Promise<VersionVector> {
    this.#check('versionVector')
    checkDocId(docId)
    const vv = new Map<WriterKey, number>()
    const doc = this.#docs.get(docId)
    if (doc === undefined) return vv
    for (const wk of [...doc.envelopes.keys()].sort(cmp)) {
      const seqs = doc.envelopes.get(wk)!
      let n = 0
      while (seqs.has(n + 1)) n++
      if (n > 0) vv.set(wk, n)
    }
    return vv
  }

  async putRecord(rec: SignedRecord, id: string): Promise<void> {
    this.#check('putRecord')
    checkDocId(rec.docId)
    const records = this.#doc(rec.docId).records
    const existing = records.get(id)
    if (existing !== undefined) {
      if (!bytesEqual(encodeRecord(existing), encodeRecord(rec))) {
        throw new RecordConflictError(rec.docId, id)
      }
      return
    }
    records.set(id, cloneRecord(rec))
  }

  async records(docId: DocId): Promise<StoredRecord[]> {
    this.#check('records')
    checkDocId(docId)
    const doc = this.#docs.get(docId)
    if (doc === undefined) return []
    return [...doc.records.entries()]
      .map(([id, record]) => ({ id, record: cloneRecord(record) }))
      .sort((a, b) => a.record.createdAt - b.record.createdAt || cmp(a.id, b.id))
  }

  async putSnapshot(docId: DocId, snapshot: DocSnapshot): Promise<void> {
    this.#check('putSnapshot')
    checkDocId(docId)
    this.#doc(docId).snapshot = { state: copy(snapshot.state), vv: new Map(snapshot.vv) }
  }

  async getSnapshot(docId: DocId): Promise<DocSnapshot | undefined> {
    this.#check('getSnapshot')
    checkDocId(docId)
    const s = this.#docs.get(docId)?.snapshot
    return s === undefined ? undefined : { state: copy(s.state), vv: new Map(s.vv) }
  }

  async putEquivocation(ev: EquivocationEvidence): Promise<void> {
    this.#check('putEquivocation')
    checkDocId(ev.docId)
    checkSeq(ev.seq)
    const key = `${ev.docId}!${ev.writerKey}!${ev.seq}!${Buffer.from(encodeEnvelope(ev.second)).toString('base64')}`
    if (this.#equivocations.has(key)) return
    this.#equivocations.set(key, {
      docId: ev.docId,
      writerKey: ev.writerKey,
      seq: ev.seq,
      first: cloneEnvelope(ev.first),
      second: cloneEnvelope(ev.second),
    })
  }

  async equivocations(): Promise<EquivocationEvidence[]> {
    this.#check('equivocations')
    return [...this.#equivocations.values()]
      .sort((a, b) => cmp(a.docId, b.docId) || cmp(a.writerKey, b.writerKey) || a.seq - b.seq)
      .map((ev) => ({ ...ev, first: cloneEnvelope(ev.first), second: cloneEnvelope(ev.second) }))
  }

  async listDocuments(): Promise<DocumentEntry[]> {
    this.#check('listDocuments')
    return [...this.#docs.entries()]
      .filter(([, d]) => d.envelopes.size > 0 || d.records.size > 0 || d.snapshot !== undefined)
      .map(([id]) => ({ id, kind: docKind(id) }))
      .sort((a, b) => cmp(a.id, b.id))
  }

  async eraseContent(docId: DocId): Promise<void> {
    this.#check('eraseContent')
    checkDocId(docId)
    const doc = this.#docs.get(docId)
    if (doc !== undefined) {
      doc.envelopes.clear()
      doc.snapshot = undefined
      if (doc.records.size === 0) this.#docs.delete(docId)
    }
    for (const [key, ev] of this.#equivocations) {
      if (ev.docId === docId) this.#equivocations.delete(key)
    }
  }

  async stats(): Promise<StoreStats> {
    this.#check('stats')
    let bytes = 0
    let envelopes = 0
    for (const doc of this.#docs.values()) {
      for (const seqs of doc.envelopes.values()) {
        for (const env of seqs.values()) {
          envelopes++
          bytes += env.update.byteLength + env.signature.byteLength + 64
        }
      }
      for (const r of doc.records.values()) bytes += r.payload.byteLength + 64
      if (doc.snapshot !== undefined) bytes += doc.snapshot.state.byteLength
    }
    const documents = (await this.listDocuments()).length
    return { bytes, documents, envelopes }
  }
}
