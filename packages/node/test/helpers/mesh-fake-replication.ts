/**
 * An in-memory `Replication` for the sync state machine's tests: documents belong to a
 * shared `FakeWorld` (tribe and audience per document, members per tribe), every node
 * keeps its own envelopes and records. Ingest checks signatures, authorship by a tribe
 * member and contiguous sequences (later ones are held), like the real node.
 */
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Network } from '../../src/core/network.js'
import type {
  IngestResult,
  Replication,
  StoredItem,
  VisibleDocument,
} from '../../src/core/replication.js'
import { recordId } from '../../src/envelope/codec.js'
import {
  signEnvelope,
  signRecord,
  verifyEnvelope,
  verifyRecord,
  writerKey,
} from '../../src/envelope/sign.js'
import type {
  DocId,
  Envelope,
  SignedRecord,
  VersionVector,
  WriterKey,
} from '../../src/envelope/types.js'
import { Identity, memberIdFromPublicKey } from '../../src/identity/identity.js'

export interface DocMeta {
  tribeId: string
  /** Members who may receive it; undefined: the whole tribe. */
  audience?: Set<string>
}

export class FakeWorld {
  readonly docs = new Map<DocId, DocMeta>()
  readonly members = new Map<string, Set<string>>()
  readonly keys = new Map<string, Uint8Array>()
  #n = 0

  tribe(tribeId: string, members: string[]): void {
    this.members.set(tribeId, new Set(members))
    this.keys.set(tribeId, randomBytes(32))
  }

  /** A new document id (narrative kind unless given). */
  doc(tribeId: string, kind = 'narrative', audience?: string[]): DocId {
    const id = `${kind}_b${String(this.#n++).padStart(26, 'a')}`
    this.docs.set(id, audience ? { tribeId, audience: new Set(audience) } : { tribeId })
    return id
  }
}

export async function fakeIdentity(name = 'member'): Promise<Identity> {
  return new Identity(await generateKeyPair('Ed25519'), new Uint8Array(randomBytes(8)), name)
}

export class FakeReplication implements Replication {
  readonly memberId: string
  readonly envelopes = new Map<DocId, Map<WriterKey, Envelope[]>>()
  readonly records = new Map<DocId, Map<string, SignedRecord>>()
  readonly #held = new Map<string, Envelope>()
  readonly #listeners = new Set<(item: StoredItem) => void>()
  /** Calls to visibleDocuments, by peer (to assert what was asked). */
  readonly ingested: { from: string; envelopes: number; records: number }[] = []

  constructor(
    readonly world: FakeWorld,
    readonly identity: Identity,
  ) {
    this.memberId = identity.memberId
  }

  // ---- test helpers -----------------------------------------------------------------

  /** Writes one change of `docId` as this node's writer (stored, then offered onward). */
  async write(docId: DocId, text = 'x'): Promise<Envelope> {
    const wk = writerKey(this.identity.publicKey, this.identity.writerId)
    const seq = (this.envelopes.get(docId)?.get(wk)?.length ?? 0) + 1
    const env = await signEnvelope(this.identity, {
      docId,
      seq,
      update: new TextEncoder().encode(text),
    })
    this.#store(env)
    return env
  }

  async addRecord(docId: DocId, kind = 'narrative.genesis'): Promise<SignedRecord> {
    const rec = await signRecord(this.identity, {
      docId,
      kind,
      payload: new TextEncoder().encode(`${kind} ${docId}`),
    })
    this.#storeRecord(rec)
    return rec
  }

  /** Stores envelopes directly (no checks, no events): to set up large states fast. */
  seed(envs: readonly Envelope[]): void {
    for (const e of envs) this.#put(e)
  }

  /** A canonical dump to compare replicas. */
  dump(tribeId?: string): string {
    const out: string[] = []
    for (const [docId, writers] of [...this.envelopes].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (tribeId && this.world.docs.get(docId)?.tribeId !== tribeId) continue
      for (const [wk, list] of [...writers].sort(([a], [b]) => (a < b ? -1 : 1))) {
        out.push(`${docId} ${wk.slice(0, 8)} ${list.length}`)
      }
    }
    for (const [docId, recs] of [...this.records].sort(([a], [b]) => (a < b ? -1 : 1))) {
      out.push(`${docId} records ${[...recs.keys()].sort().join(',')}`)
    }
    return out.join('\n')
  }

  envelopeCount(): number {
    let n = 0
    for (const w of this.envelopes.values()) for (const l of w.values()) n += l.length
    return n
  }

  // ---- Replication ------------------------------------------------------------------

  async networks(): Promise<Network[]> {
    const out: Network[] = []
    for (const [tribeId, members] of this.world.members) {
      if (!members.has(this.memberId)) continue
      out.push({
        id: tribeId,
        kind: 'tribe',
        name: tribeId,
        keys: { current: this.world.keys.get(tribeId)!, previous: [] },
        isMember: (m) => this.isMember(tribeId, m),
        documents: (peer) => this.visibleDocuments(tribeId, peer),
        bootstrapAddrs: async () => [],
      })
    }
    return out
  }

  async isMember(tribeId: string, memberId: string): Promise<boolean> {
    return this.world.members.get(tribeId)?.has(memberId) ?? false
  }

  #may(docId: DocId, peer: string): boolean {
    const meta = this.world.docs.get(docId)
    if (!meta) return false
    if (!this.world.members.get(meta.tribeId)?.has(peer)) return false
    return meta.audience === undefined || meta.audience.has(peer)
  }

  async visibleDocuments(tribeId: string, peer: string): Promise<VisibleDocument[]> {
    const ids = new Set([...this.envelopes.keys(), ...this.records.keys()])
    const out: VisibleDocument[] = []
    for (const docId of ids) {
      if (this.world.docs.get(docId)?.tribeId !== tribeId || !this.#may(docId, peer)) continue
      out.push({
        docId,
        vv: this.#vv(docId),
        recordIds: [...(this.records.get(docId)?.keys() ?? [])].sort(),
        content: true,
      })
    }
    const rank = (id: string) => (id.startsWith('roster_') ? 0 : 1)
    return out.sort((a, b) => rank(a.docId) - rank(b.docId) || (a.docId < b.docId ? -1 : 1))
  }

  async mayReceive(docId: DocId, peer: string): Promise<boolean> {
    return this.#may(docId, peer)
  }

  async envelopesFor(docId: DocId, vv: VersionVector, peer: string): Promise<Envelope[]> {
    if (!this.#may(docId, peer)) return []
    const out: Envelope[] = []
    for (const [wk, list] of this.envelopes.get(docId) ?? []) {
      out.push(...list.slice(vv.get(wk) ?? 0))
    }
    return out
  }

  async recordsFor(docId: DocId, peer: string): Promise<SignedRecord[]> {
    if (!this.#may(docId, peer)) return []
    return [...(this.records.get(docId)?.values() ?? [])]
  }

  async ingestRecords(records: readonly SignedRecord[], from: string): Promise<IngestResult> {
    const result = empty()
    this.ingested.push({ from, envelopes: 0, records: records.length })
    for (const r of records) {
      if (!verifyRecord(r)) {
        result.rejected.push({ code: 'BAD_SIGNATURE', message: 'record', docId: r.docId })
        continue
      }
      if (this.records.get(r.docId)?.has(recordId(r))) {
        result.duplicates++
        continue
      }
      this.#storeRecord(r)
      result.applied++
    }
    return result
  }

  async ingestEnvelopes(envelopes: readonly Envelope[], from: string): Promise<IngestResult> {
    const result = empty()
    this.ingested.push({ from, envelopes: envelopes.length, records: 0 })
    for (const env of envelopes) {
      if (!verifyEnvelope(env)) {
        result.rejected.push({ code: 'BAD_SIGNATURE', message: 'envelope', docId: env.docId })
        continue
      }
      const meta = this.world.docs.get(env.docId)
      const author = memberIdFromPublicKey(env.author)
      if (!meta || !this.world.members.get(meta.tribeId)?.has(author)) {
        result.rejected.push({ code: 'NOT_AUTHORIZED', message: author, docId: env.docId })
        continue
      }
      const wk = writerKey(env.author, env.writerId)
      const have = this.envelopes.get(env.docId)?.get(wk)?.length ?? 0
      if (env.seq <= have) {
        result.duplicates++
        continue
      }
      if (env.seq > have + 1) {
        this.#held.set(`${env.docId}/${wk}/${env.seq}`, env)
        result.held++
        continue
      }
      this.#store(env)
      result.applied++
      for (let s = env.seq + 1; ; s++) {
        const next = this.#held.get(`${env.docId}/${wk}/${s}`)
        if (!next) break
        this.#held.delete(`${env.docId}/${wk}/${s}`)
        this.#store(next)
        result.applied++
      }
    }
    return result
  }

  /** Everything this fake stores (the tests forward it to sessions, as the root does). */
  onStored(listener: (item: StoredItem) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  // ---- internals --------------------------------------------------------------------

  #vv(docId: DocId): Map<WriterKey, number> {
    const vv = new Map<WriterKey, number>()
    for (const [wk, list] of this.envelopes.get(docId) ?? []) vv.set(wk, list.length)
    return vv
  }

  #put(env: Envelope): void {
    const writers = this.envelopes.get(env.docId) ?? new Map<WriterKey, Envelope[]>()
    this.envelopes.set(env.docId, writers)
    const wk = writerKey(env.author, env.writerId)
    const list = writers.get(wk) ?? []
    writers.set(wk, list)
    list.push(env)
  }

  #store(env: Envelope): void {
    this.#put(env)
    for (const l of this.#listeners) l({ type: 'envelope', envelope: env })
  }

  #storeRecord(rec: SignedRecord): void {
    const recs = this.records.get(rec.docId) ?? new Map<string, SignedRecord>()
    this.records.set(rec.docId, recs)
    recs.set(recordId(rec), rec)
    for (const l of this.#listeners) l({ type: 'record', record: rec })
  }
}

function empty(): IngestResult {
  return { applied: 0, duplicates: 0, held: 0, equivocations: 0, rejected: [] }
}
