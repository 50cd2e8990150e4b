/**
 * A rogue member: a real member of the tribe whose mesh also offers forged envelopes and
 * records to its peers (live pushes, exactly as an honest node offers what it stores).
 * Each forged envelope carries a unique marker in its Yjs text, so the harness can check
 * that none was applied, stored or forwarded anywhere (invariant 2).
 *
 * Forgeries, against a narrative of another author (`victim`) or the rogue's own:
 * - `not-author`: an envelope on the victim's narrative, validly signed by the rogue;
 * - `bad-signature`: an envelope claiming the victim's key, signed by the rogue;
 * - `foreign-client`: an envelope on the rogue's own narrative, validly signed, whose
 *   Yjs items sit under a client id that is not the rogue writer's;
 * - `withdraw`, `audience`: authority records on the victim's narrative signed by the
 *   rogue (a member who is no author of it);
 * - `withdraw-bad-signature`: a withdrawal claiming the victim's key.
 */
import { randomBytes } from 'node:crypto'
import { encodeRecordPayload } from '@tapestry/crdt-schema'
import * as Y from 'yjs'
import type { Replication, StoredItem } from '../core/replication.js'
import type { TapestryNode } from '../core/tapestry-node.js'
import { clientIdFor } from '../envelope/client-ids.js'
import { envelopeSigningInput, recordSigningInput } from '../envelope/codec.js'
import { signEnvelope, signRecord } from '../envelope/sign.js'
import { ENVELOPE_VERSION, type Envelope, type SignedRecord } from '../envelope/types.js'
import { type Identity, publicKeyFromMemberId } from '../identity/identity.js'
import type { Mesh } from '../mesh/mesh.js'
import type { Rng } from './schedule.js'

export type ForgeryKind =
  | 'not-author'
  | 'bad-signature'
  | 'foreign-client'
  | 'withdraw'
  | 'audience'
  | 'withdraw-bad-signature'

export interface Forgery {
  kind: ForgeryKind
  docId: string
  /** Text the forged update inserts (envelopes only). */
  marker?: string
  /** Hex of the forged signature, to find it if it was ever stored. */
  signature: string
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

export class Rogue {
  readonly forged: Forgery[] = []
  #mesh: Pick<Mesh, 'offer'> | undefined
  readonly #records = new Map<string, SignedRecord[]>()
  readonly #seq = new Map<string, number>()

  constructor(
    /** The rogue's own key with a writer id of its own, for validly signed forgeries. */
    readonly device: Identity,
  ) {}

  /** The replication the rogue's mesh uses: the real one, plus forged records. */
  wrap(real: Replication): Replication {
    const extra = this.#records
    return new Proxy(real, {
      get(target, prop) {
        if (prop === 'recordsFor') {
          return async (docId: string, peer: string) => [
            ...(await target.recordsFor(docId, peer)),
            ...(extra.get(docId) ?? []),
          ]
        }
        const v = Reflect.get(target, prop, target) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    })
  }

  /** Where forged items are pushed: the rogue's running mesh (none while it is down). */
  attach(mesh: Pick<Mesh, 'offer'> | undefined): void {
    this.#mesh = mesh
  }

  #emit(item: StoredItem): void {
    this.#mesh?.offer(item)
  }

  /** Current Yjs state of a document as the rogue's node holds it. */
  async #doc(node: TapestryNode, docId: string): Promise<Y.Doc | undefined> {
    const envs = await node.replication.envelopesFor(docId, new Map(), node.memberId)
    if (envs.length === 0) return undefined
    const doc = new Y.Doc()
    for (const e of envs) Y.applyUpdate(doc, e.update)
    return doc
  }

  /** An update inserting `text` at the start of the body, made under Yjs client `client`. */
  async #update(node: TapestryNode, docId: string, client: number, text: string) {
    const doc = await this.#doc(node, docId)
    if (!doc) return undefined
    doc.clientID = client
    const sv = Y.encodeStateVector(doc)
    doc.getText('body').insert(0, `${text} `)
    return Y.encodeStateAsUpdate(doc, sv)
  }

  #nextSeq(docId: string): number {
    const seq = (this.#seq.get(docId) ?? 0) + 1
    this.#seq.set(docId, seq)
    return seq
  }

  #offerEnvelope(kind: ForgeryKind, env: Envelope, marker: string): void {
    this.forged.push({ kind, docId: env.docId, marker, signature: hex(env.signature) })
    this.#emit({ type: 'envelope', envelope: env })
  }

  #offerRecord(kind: ForgeryKind, rec: SignedRecord): void {
    this.forged.push({ kind, docId: rec.docId, signature: hex(rec.signature) })
    this.#records.set(rec.docId, [...(this.#records.get(rec.docId) ?? []), rec])
    this.#emit({ type: 'record', record: rec })
  }

  /**
   * Forges a few items and offers them to every connected peer. `victim` is a published
   * narrative of another author the rogue holds; `own` is the rogue's own narrative.
   * `marker()` gives a fresh unique marker. Returns the kinds offered.
   */
  async forge(
    r: Rng,
    node: TapestryNode,
    targets: { victim?: { docId: string; author: string }; own?: string },
    marker: () => string,
  ): Promise<ForgeryKind[]> {
    const done: ForgeryKind[] = []
    const { victim, own } = targets
    const kinds = r.shuffle<ForgeryKind>([
      'not-author',
      'bad-signature',
      'foreign-client',
      'withdraw',
      'audience',
      'withdraw-bad-signature',
    ])
    for (const kind of kinds.slice(0, 2 + r.int(3))) {
      const m = marker()
      if (kind === 'foreign-client') {
        if (!own) continue
        const stranger = clientIdFor(
          publicKeyFromMemberId(victim?.author ?? node.memberId),
          randomBytes(8),
        )
        const update = await this.#update(node, own, stranger, m)
        if (!update) continue
        const env = await signEnvelope(this.device, { docId: own, seq: this.#nextSeq(own), update })
        this.#offerEnvelope(kind, env, m)
        done.push(kind)
        continue
      }
      if (!victim) continue
      const victimKey = publicKeyFromMemberId(victim.author)
      switch (kind) {
        case 'not-author': {
          const client = clientIdFor(this.device.publicKey, this.device.writerId)
          const update = await this.#update(node, victim.docId, client, m)
          if (!update) continue
          const seq = this.#nextSeq(victim.docId)
          this.#offerEnvelope(
            kind,
            await signEnvelope(this.device, { docId: victim.docId, seq, update }),
            m,
          )
          break
        }
        case 'bad-signature': {
          const writerId = new Uint8Array(randomBytes(8))
          const update = await this.#update(node, victim.docId, clientIdFor(victimKey, writerId), m)
          if (!update) continue
          const unsigned = {
            version: ENVELOPE_VERSION,
            docId: victim.docId,
            author: victimKey,
            writerId,
            seq: 1,
            update,
          }
          const signature = await this.device.sign(envelopeSigningInput(unsigned))
          this.#offerEnvelope(kind, { ...unsigned, signature: new Uint8Array(signature) }, m)
          break
        }
        case 'withdraw': {
          const payload = encodeRecordPayload({
            v: 1,
            type: 'narrative.withdraw',
            narrativeId: victim.docId,
            by: node.memberId,
            at: Date.now(),
          })
          this.#offerRecord(
            kind,
            await signRecord(this.device, {
              docId: victim.docId,
              kind: 'narrative.withdraw',
              payload,
            }),
          )
          break
        }
        case 'audience': {
          const payload = encodeRecordPayload({
            v: 1,
            type: 'narrative.audience',
            narrativeId: victim.docId,
            member: victim.author,
            audience: { kind: 'private' },
            at: Date.now(),
          })
          this.#offerRecord(
            kind,
            await signRecord(this.device, {
              docId: victim.docId,
              kind: 'narrative.audience',
              payload,
            }),
          )
          break
        }
        case 'withdraw-bad-signature': {
          const payload = encodeRecordPayload({
            v: 1,
            type: 'narrative.withdraw',
            narrativeId: victim.docId,
            by: victim.author,
            at: Date.now(),
          })
          const unsigned = {
            version: ENVELOPE_VERSION,
            docId: victim.docId,
            author: victimKey,
            kind: 'narrative.withdraw',
            payload,
            createdAt: Date.now(),
          }
          const signature = new Uint8Array(await this.device.sign(recordSigningInput(unsigned)))
          this.#offerRecord(kind, { ...unsigned, signature })
          break
        }
      }
      done.push(kind)
    }
    return done
  }
}
