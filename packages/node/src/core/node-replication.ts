import { compareSyncOrder, kindOf, syncRank } from '@tapestry/crdt-schema'
import {
  acceptEnvelope,
  BeyondCutoffError,
  equalBytes,
  GapBuffer,
  recordId,
  verifyRecord,
  writerKey,
} from '../envelope/index.js'
import type { DocId, Envelope, SignedRecord, VersionVector } from '../envelope/types.js'
import type { Federation } from '../federation/links.js'
import { memberIdFromPublicKey } from '../identity/index.js'
import { type EnvelopeStore, EquivocationError } from '../store/index.js'
import type { AuthorityIndex } from './authority.js'
import type { DocumentSet } from './documents.js'
import type { Invitations } from './invitations.js'
import { contest } from './mutual-removal.js'
import { type Network, type NetworkDescription, networkKindOf } from './network.js'
import { Placement } from './placement.js'
import type { IngestResult, PendingJoin, Replication, VisibleDocument } from './replication.js'
import type { TribeKeys } from './tribe-keys.js'

export interface NodeReplicationDeps {
  memberId: string
  store: EnvelopeStore
  docs: DocumentSet
  authority: AuthorityIndex
  keys: TribeKeys
  /**
   * Re-checks this member's own right to hold a narrative after its records changed
   * (a withdrawal, a narrowed audience): erases it here and signs a receipt if not.
   * Returns true when the content was erased.
   */
  enforceConsent: (narrativeId: DocId) => Promise<boolean>
  /** A roster changed (records or content): the node may now be a member of it. */
  rosterChanged: (tribeId: string) => Promise<void>
  invitations: Invitations
  /** The federation links this node carries, and what a change of their records means. */
  federation: Pick<Federation, 'networks' | 'isLinkMember' | 'folded' | 'linksChanged'>
}

/**
 * The one replication engine (see replication.ts for the contract): it serves every
 * network the member takes part in, tribes and federation links alike, as `Network`
 * values (network.ts) whose documents placement.ts chooses. Ingest runs one batch at a
 * time, so acceptance always sees the store as the previous batch left it; consent is
 * decided per peer by the authority index.
 */
export class NodeReplication implements Replication {
  readonly memberId: string
  readonly #gaps = new GapBuffer()
  readonly #placement: Placement
  #queue: Promise<unknown> = Promise.resolve()

  constructor(private readonly d: NodeReplicationDeps) {
    this.memberId = d.memberId
    this.#placement = new Placement({
      memberId: d.memberId,
      authority: d.authority,
      store: d.store,
      links: () => d.federation.folded(),
    })
  }

  /** Every network this member takes part in: its tribes, then the links it carries. */
  async networks(): Promise<Network[]> {
    const rosters = await this.d.authority.rosters()
    const out: Network[] = []
    for (const tribeId of await this.d.keys.list()) {
      const roster = rosters.get(tribeId)
      if (roster?.removed(this.memberId)) continue
      const k = await this.d.keys.keys(tribeId)
      out.push(
        this.network({
          id: tribeId,
          name: roster?.name ?? '',
          keys: { current: k.current, previous: k.previous.map((p) => p.key) },
        }),
      )
    }
    for (const link of await this.d.federation.networks()) {
      out.push(this.network({ id: link.tribeId, name: link.name, keys: link.keys }))
    }
    return out
  }

  /** A network's behaviour for its description: the kind of its id decides which. */
  network(description: NetworkDescription): Network {
    const { id } = description
    if (networkKindOf(id) === 'link') {
      return {
        ...description,
        kind: 'link',
        isMember: (m) => this.d.federation.isLinkMember(id, m),
        documents: (peer) => this.#placement.onLink(id, peer),
        bootstrapAddrs: async () => [],
      }
    }
    return {
      ...description,
      kind: 'tribe',
      isMember: (m) => this.#isTribeMember(id, m),
      documents: (peer) => this.#placement.onTribe(id, peer),
      bootstrapAddrs: () => this.d.invitations.bootstrapAddrs(id),
    }
  }

  isMember(networkId: string, memberId: string): Promise<boolean> {
    return this.#behaviour(networkId).isMember(memberId)
  }

  visibleDocuments(networkId: string, peer: string): Promise<VisibleDocument[]> {
    return this.#behaviour(networkId).documents(peer)
  }

  bootstrapAddrs(networkId: string): Promise<string[]> {
    return this.#behaviour(networkId).bootstrapAddrs()
  }

  /** What the engine knows of a network from its id alone (membership, documents). */
  #behaviour(networkId: string): Network {
    return this.network({
      id: networkId,
      name: '',
      keys: { current: new Uint8Array(), previous: [] },
    })
  }

  /**
   * A node that holds a tribe's key but not yet its roster (it just joined) accepts
   * any peer of that network until the roster arrives: it has nothing to leak (every
   * send still asks mayReceive, which needs the roster) and needs the roster from them.
   */
  async #isTribeMember(tribeId: string, memberId: string): Promise<boolean> {
    const roster = (await this.d.authority.rosters()).get(tribeId)
    if (roster) return roster.isMember(memberId)
    return (await this.d.keys.list()).includes(tribeId)
  }

  async mayReceive(docId: DocId, peer: string): Promise<boolean> {
    return (await this.d.authority.mayReceive(docId, peer)).allowed
  }

  async envelopesFor(docId: DocId, vv: VersionVector, peer: string): Promise<Envelope[]> {
    if (!(await this.mayReceive(docId, peer))) return []
    return this.d.store.envelopesSince(docId, vv)
  }

  recordsFor(docId: DocId, peer: string): Promise<SignedRecord[]> {
    return this.#placement.recordsFor(docId, peer)
  }

  /** Link records first (a narrative's right to be here may depend on them), then the rest. */
  ingestRecords(records: readonly SignedRecord[], from: string): Promise<IngestResult> {
    return this.#serial(async () => {
      const links = records.filter((r) => networkKindOf(r.docId) === 'link')
      if (links.length === 0) return this.#ingestRecords(records, from)
      const first = await this.#ingestRecords(links, from)
      if (first.applied > 0) await this.d.federation.linksChanged()
      const rest = records.filter((r) => networkKindOf(r.docId) !== 'link')
      return rest.length === 0 ? first : addResults(first, await this.#ingestRecords(rest, from))
    })
  }

  ingestEnvelopes(envelopes: readonly Envelope[], from: string): Promise<IngestResult> {
    return this.#serial(() => this.#ingestEnvelopes(envelopes, from))
  }

  pendingJoins(): Promise<PendingJoin[]> {
    return this.d.invitations.pendingJoins()
  }

  admit(record: SignedRecord, from: string) {
    return this.d.invitations.admit(record, from, async (r) => {
      await this.ingestRecords([r], from)
    })
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn)
    this.#queue = run.catch(() => {})
    return run
  }

  async #ingestRecords(records: readonly SignedRecord[], _from: string): Promise<IngestResult> {
    const result = emptyResult()
    // Genesis-like records first (rosters, then any record) so later ones can be judged.
    const sorted = [...records].sort((a, b) => syncRank(a.docId) - syncRank(b.docId))
    for (const rec of sorted) {
      if (!verifyRecord(rec)) {
        result.rejected.push({
          code: 'BAD_SIGNATURE',
          message: 'record signature',
          docId: rec.docId,
        })
        continue
      }
      const id = recordId(rec)
      const known = await this.d.authority.rawRecords(rec.docId)
      if (known.some((r) => r.id === id)) {
        result.duplicates++
        continue
      }
      await this.d.docs.putRecord(rec)
      result.applied++
      if (rec.kind.startsWith('narrative.') && (await this.d.enforceConsent(rec.docId))) {
        this.#gaps.dropDocument(rec.docId)
      }
      if (kindOf(rec.docId) === 'roster') await this.d.rosterChanged(rec.docId)
    }
    return result
  }

  async #ingestEnvelopes(envelopes: readonly Envelope[], from: string): Promise<IngestResult> {
    const result = emptyResult()
    const sorted = [...envelopes].sort(
      (a, b) => compareSyncOrder(a.docId, b.docId) || a.seq - b.seq,
    )
    const batch = new IngestBatch()
    const refused: Refused = new Map()
    for (const env of sorted) {
      if (storeFirst(batch, env)) await this.#flush(batch, result)
      let next: Envelope | undefined = env
      while (next) {
        const accepted = await this.#ingestOne(next, from, result, batch, refused)
        // An accepted envelope may fill a gap: continue with the one held after it.
        next = accepted
          ? this.#gaps.take(next.docId, writerKey(next.author, next.writerId), next.seq + 1)
          : undefined
      }
      if (batch.full) await this.#flush(batch, result)
    }
    await this.#flush(batch, result)
    return result
  }

  /**
   * Stores the accepted envelopes in one durable write, then applies them in order.
   * A batch the store refuses as an equivocation (a concurrent writer stored another
   * envelope under one of its sequences) is retried one envelope at a time.
   */
  async #flush(batch: IngestBatch, result: IngestResult): Promise<void> {
    const envs = batch.take()
    if (envs.length === 0) return
    let stored = envs
    try {
      await this.d.store.appendEnvelopes(envs)
    } catch (err) {
      if (!(err instanceof EquivocationError)) throw err
      stored = []
      for (const env of envs) {
        try {
          await this.d.store.appendEnvelopes([env])
          stored.push(env)
        } catch (e) {
          if (!(e instanceof EquivocationError)) throw e
          result.equivocations++
        }
      }
    }
    for (const env of stored) {
      await this.d.docs.applyRemote(env)
      result.applied++
    }
    for (const docId of new Set(stored.map((e) => e.docId))) {
      if (kindOf(docId) === 'roster') await this.d.rosterChanged(docId)
    }
  }

  /**
   * Returns true when the envelope was applied. Roster envelopes refused by their
   * author's cut-off are kept in `refused` for this call, to contest a mutual removal.
   */
  async #ingestOne(
    env: Envelope,
    from: string,
    result: IngestResult,
    batch: IngestBatch,
    refused?: Refused,
  ): Promise<boolean> {
    const wk = writerKey(env.author, env.writerId)
    let author: string | undefined
    try {
      author = memberIdFromPublicKey(env.author)
    } catch {
      author = undefined
    }
    const [known, vv, mayWrite, cutoff] = await Promise.all([
      this.d.store.getEnvelope(env.docId, wk, env.seq),
      this.d.store.versionVector(env.docId),
      author ? this.d.authority.mayWrite(env.docId, author) : false,
      author ? this.#cutoff(env.docId, author, wk) : undefined,
    ])
    const decision = acceptEnvelope(env, {
      mayWrite: () => mayWrite,
      known: () => known ?? batch.get(env.docId, wk, env.seq),
      highestSeq: () => Math.max(vv.get(wk) ?? 0, batch.highest(env.docId, wk)),
      cutoff: () => cutoff,
    })
    switch (decision.kind) {
      case 'duplicate':
        result.duplicates++
        return false
      case 'gap':
        if (this.#gaps.add(env)) result.held++
        return false
      case 'equivocation':
        await this.d.store.putEquivocation({
          docId: env.docId,
          writerKey: wk,
          seq: env.seq,
          first: decision.evidence[0],
          second: decision.evidence[1],
        })
        result.equivocations++
        return false
      case 'reject': {
        const rejection = {
          code: decision.error.code,
          message: decision.error.message,
          docId: env.docId,
        }
        result.rejected.push(rejection)
        if (!refused || !(decision.error instanceof BeyondCutoffError)) return false
        if (kindOf(env.docId) !== 'roster') return false
        refused.set(`${wk} ${env.seq}`, { env, rejection })
        return this.#contest(env, decision.error.cutoff, { from, result, batch, refused })
      }
      case 'apply':
        // An honest store holds only what its own member may receive: content pushed by
        // a peer that ignored consent (or kept a withdrawn narrative) is refused here.
        // Rosters and profiles are exempt: they are what membership is decided from.
        if (!(await this.d.authority.mayHold(env.docId, this.memberId))) {
          result.rejected.push({
            code: 'NOT_IN_AUDIENCE',
            message: 'this member may not receive that document',
            docId: env.docId,
          })
          return false
        }
        batch.add(env, wk)
        return true
    }
  }

  /**
   * A roster envelope refused by its author's cut-off may complete a chain (the author's
   * envelopes after the cut-off) that wins a mutual removal: then the losers'
   * envelopes beyond the winner's cut-off are dropped from every document of the tribe
   * and the chain is judged again. Returns true when the chain was applied.
   */
  async #contest(
    env: Envelope,
    cutoff: number,
    call: { from: string; result: IngestResult; batch: IngestBatch; refused: Refused },
  ): Promise<boolean> {
    const wk = writerKey(env.author, env.writerId)
    const held = []
    for (let seq = cutoff + 1; seq <= env.seq; seq++) {
      const h = call.refused.get(`${wk} ${seq}`)
      if (!h) return false
      held.push(h)
    }
    const tribeId = env.docId
    await this.#flush(call.batch, call.result)
    const stored = await this.d.store.envelopesSince(tribeId, new Map())
    const verdict = await contest(
      (doc) => this.d.authority.foldRoster(tribeId, doc),
      stored,
      held.map((h) => h.env),
    )
    if (!verdict) return false
    // The roster first: what else the losers wrote is judged by it.
    await this.d.docs.exclude(tribeId, verdict.drop)
    for (const { id } of await this.d.store.listDocuments()) {
      if (id !== tribeId && (await this.d.authority.tribeOf(id)) === tribeId) {
        await this.d.docs.exclude(id, verdict.drop)
      }
    }
    const dropped = new Set(held.map((h) => h.rejection))
    call.result.rejected = call.result.rejected.filter((r) => !dropped.has(r))
    let applied = false
    for (const h of held) {
      call.refused.delete(`${wk} ${h.env.seq}`)
      applied = await this.#ingestOne(h.env, call.from, call.result, call.batch)
    }
    return applied
  }

  async #cutoff(docId: DocId, author: string, wk: string): Promise<number | undefined> {
    const tribeId = await this.d.authority.tribeOf(docId)
    if (!tribeId) return undefined
    const cut = (await this.d.authority.rosters()).get(tribeId)?.cutoff(author)
    return cut ? (cut[cutoffKey(docId, wk)] ?? 0) : undefined
  }
}

function addResults(a: IngestResult, b: IngestResult): IngestResult {
  return {
    applied: a.applied + b.applied,
    duplicates: a.duplicates + b.duplicates,
    held: a.held + b.held,
    equivocations: a.equivocations + b.equivocations,
    rejected: [...a.rejected, ...b.rejected],
  }
}

/**
 * A removal's cut-off names, per document and writer of the removed member, the last
 * sequence accepted (sequences count per document); a document it does not name gets 0.
 */
export function cutoffKey(docId: DocId, writer: string): string {
  return `${docId}/${writer}`
}

/** Roster envelopes refused by a cut-off in one ingest call, by `${writerKey} ${seq}`. */
type Refused = Map<string, { env: Envelope; rejection: IngestResult['rejected'][number] }>

/**
 * Rosters decide who may write everything else: store them before judging more. A
 * roster envelope may remove the author of the next one, so each author's run of a
 * roster is judged against the roster the previous runs left (as if heard one by one).
 */
function storeFirst(batch: IngestBatch, next: Envelope): boolean {
  const last = batch.last
  if (!last || !isRuleDoc(last.docId)) return false
  if (last.docId !== next.docId) return true
  return kindOf(next.docId) === 'roster' && !equalBytes(last.author, next.author)
}

/** Rosters and links: documents whose content decides what else is accepted. */
function isRuleDoc(docId: string | undefined): boolean {
  const kind = docId === undefined ? undefined : kindOf(docId)
  return kind === 'roster' || kind === 'link'
}

/** Envelopes accepted in one ingest call and not yet stored, with their sequences. */
class IngestBatch {
  static readonly MAX_ENVELOPES = 512
  static readonly MAX_BYTES = 8 * 1024 * 1024
  #envs: Envelope[] = []
  #bytes = 0
  readonly #highest = new Map<string, number>()
  readonly #bySeq = new Map<string, Envelope>()

  get size(): number {
    return this.#envs.length
  }

  get last(): Envelope | undefined {
    return this.#envs.at(-1)
  }

  get full(): boolean {
    return this.#envs.length >= IngestBatch.MAX_ENVELOPES || this.#bytes >= IngestBatch.MAX_BYTES
  }

  add(env: Envelope, wk: string): void {
    this.#envs.push(env)
    this.#bytes += env.update.byteLength
    this.#highest.set(`${env.docId} ${wk}`, env.seq)
    this.#bySeq.set(`${env.docId} ${wk} ${env.seq}`, env)
  }

  highest(docId: string, wk: string): number {
    return this.#highest.get(`${docId} ${wk}`) ?? 0
  }

  get(docId: string, wk: string, seq: number): Envelope | undefined {
    return this.#bySeq.get(`${docId} ${wk} ${seq}`)
  }

  take(): Envelope[] {
    const envs = this.#envs
    this.#envs = []
    this.#bytes = 0
    this.#highest.clear()
    this.#bySeq.clear()
    return envs
  }
}

function emptyResult(): IngestResult {
  return { applied: 0, duplicates: 0, held: 0, equivocations: 0, rejected: [] }
}
