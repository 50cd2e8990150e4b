/**
 * Removing a member rotates the tribe's swarm key.
 *
 * Protocol (one signed roster change, then every node follows the roster):
 *
 * 1. A current steward computes the cut-off: for every document of the tribe it
 *    holds, for every writer key of the removed member, the highest contiguous
 *    sequence in its store (`cutoffKey(docId, writerKey)` → seq). Acceptance then
 *    takes exactly those envelopes of the removed member, whatever arrives first.
 * 2. It writes ONE roster change: `removeMember(...)` with that cut-off, and
 *    `addSwarmKeyEpoch({ epoch: current + 1 })` holding a fresh 32-byte key sealed to
 *    every remaining member (crypto/sealed-box.ts, context `${tribeId}/${epoch}`), and
 *    the new key of each active federation link of the tribe, sealed to the other
 *    tribe's carrier (federation/link-keys.ts): the removed member's copy of a link
 *    key stops opening the link network as well.
 * 3. Every node, whenever the roster changes, runs `applyEpochs`: it follows the
 *    roster's `currentEpoch` exactly. If it holds a box for this member that opens
 *    to a key other than the current one, that key becomes current and the old one is
 *    kept as a previous key for the grace period (TribeKeys.rotate), so a member
 *    offline during the rotation can still reach the tribe. A removed member's node
 *    discards the tribe's keys (its host must not connect again).
 *
 * Concurrent rotations. Two stewards who remove concurrently both write epoch N+1
 * under the same Y.Map key; Yjs keeps one winner, the same on every replica, and
 * `currentEpoch` is the highest epoch. A node that made the losing key switches to
 * the winner (its own key stays a previous key). Both removals survive (one entry per
 * remover), so the merged roster removes both members; but the winning epoch was
 * sealed to the member the other steward removed, or was created by a member who is
 * now removed. Such an epoch is *tainted*: the first current steward (sorted by
 * member id) re-keys at once with epoch N+2 sealed to current members only; several
 * healers again resolve to one winner, all clean.
 *
 * Two stewards removing each other: each removal's cut-off excludes the other's, so
 * only one may stand. Every node keeps the earlier one and drops the other with
 * whatever its remover wrote beyond the winner's cut-off (mutual-removal.ts), whichever
 * it heard first: one steward is removed, and the winner's epoch N+1, sealed to the
 * remaining members only, is the one every node follows. A steward removing themself
 * is allowed only while another steward remains (their epoch is tainted, so that
 * steward re-keys); the last steward cannot remove themself.
 *
 * Limits: the cut-off names only documents the removing steward holds; a document of
 * the removed member that the steward may not see gets 0 (no envelope of it accepted
 * after the removal is known).
 */
import {
  addSwarmKeyEpoch,
  type RosterView,
  removeMember,
  type WriteResult,
} from '@tapestry/crdt-schema'
import type * as Y from 'yjs'
import { epochContext, openSealed, SealedKeyError, sealKey } from '../crypto/sealed-box.js'
import type { DocId } from '../envelope/types.js'
import { ForbiddenError, NotFoundError, TapestryError, UsageError } from '../errors.js'
import { activeLinksOf, sealLinkKeys } from '../federation/link-keys.js'
import { type Identity, publicKeyFromMemberId } from '../identity/index.js'
import { generateSwarmKey, networkId } from '../net/swarm-key.js'
import type { EnvelopeStore } from '../store/index.js'
import { cutoffKey } from './node-replication.js'
import type { TribeKeys } from './tribe-keys.js'

/** What removal needs from the node (all of it public or a thin closure over it). */
export interface RemovalDeps {
  identity: Pick<Identity, 'memberId' | 'publicKey' | 'privateKey'>
  /** Every tribe the node knows, folded (AuthorityIndex.rosters). */
  rosters: () => Promise<ReadonlyMap<string, RosterView>>
  /** The tribe a document belongs to (AuthorityIndex.tribeOf). */
  tribeOf: (docId: DocId) => Promise<string | undefined>
  /** Documents, version vectors (cut-offs) and records (the tribe's federation links). */
  store: Pick<EnvelopeStore, 'listDocuments' | 'versionVector' | 'records'>
  /** Writes one durable, signed change to a roster (DocumentSet.change). */
  changeRoster: (tribeId: string, fn: (doc: Y.Doc) => WriteResult) => Promise<void>
  keys: TribeKeys
  now: () => number
  /** Fresh swarm keys (tests may fix them). */
  generateKey?: () => Uint8Array
}

export interface RemovalResult {
  tribeId: string
  memberId: string
  /** The swarm-key epoch the removal started. */
  epoch: number
}

/** What `applyEpochs` did. */
export type EpochOutcome =
  | { kind: 'no-roster' }
  | { kind: 'current'; epoch: number }
  | { kind: 'rotated'; epoch: number; from: number }
  /** This member was removed: the tribe's keys were discarded. */
  | { kind: 'removed' }
  /** A newer epoch holds no key for this member (e.g. it joined later by invitation). */
  | { kind: 'not-sealed'; epoch: number }
  /** The box for this member does not open (altered, or sealed to another key). */
  | { kind: 'unopenable'; epoch: number; code: string }

const hex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/**
 * The cut-off of a member: per document of the tribe and writer key of the member, the
 * highest contiguous sequence the store holds (its version vector).
 */
export async function computeCutoff(
  deps: Pick<RemovalDeps, 'store' | 'tribeOf'>,
  tribeId: string,
  memberId: string,
): Promise<Record<string, number>> {
  const prefix = `${hex(publicKeyFromMemberId(memberId))}:`
  const cutoff: Record<string, number> = {}
  for (const { id } of await deps.store.listDocuments()) {
    if ((await deps.tribeOf(id)) !== tribeId) continue
    for (const [wk, seq] of await deps.store.versionVector(id)) {
      if (wk.startsWith(prefix)) cutoff[cutoffKey(id, wk)] = seq
    }
  }
  return cutoff
}

/**
 * True when the roster's current epoch key may be known to someone removed: it was
 * created by a removed member or sealed to one (concurrent removals, self-removal).
 */
export function epochTainted(view: RosterView): boolean {
  const e = view.currentEpoch
  if (!e) return false
  if (view.removed(e.createdBy)) return true
  return Object.keys(e.sealedKeys).some((m) => view.removed(m))
}

/** The steward who re-keys a tainted epoch: the first current steward, if any. */
export function healer(view: RosterView): string | undefined {
  return view.stewards[0]
}

/**
 * Removal and epoch-following for one node. Operations on a tribe run one at a time
 * (a removal and a roster change arriving from a peer never rotate concurrently).
 */
export class Removals {
  readonly #queues = new Map<string, Promise<unknown>>()

  constructor(private readonly d: RemovalDeps) {}

  /** Removes `memberId` from `tribeId` and starts a new swarm-key epoch (see the top). */
  remove(tribeId: string, memberId: string): Promise<RemovalResult> {
    return this.#serial(tribeId, () => this.#remove(tribeId, memberId))
  }

  /**
   * Follows the roster's current epoch (call whenever a roster changes: content or
   * records). A steward chosen by `healer` re-keys a tainted epoch.
   */
  applyEpochs(tribeId: string): Promise<EpochOutcome> {
    return this.#serial(tribeId, async () => {
      const outcome = await this.#apply(tribeId)
      const view = (await this.d.rosters()).get(tribeId)
      if (view && healer(view) === this.d.identity.memberId && epochTainted(view)) {
        await this.#rekey(tribeId, view)
        return this.#apply(tribeId)
      }
      return outcome
    })
  }

  async #remove(tribeId: string, memberId: string): Promise<RemovalResult> {
    const me = this.d.identity.memberId
    const view = (await this.d.rosters()).get(tribeId)
    if (!view?.isSteward(me)) {
      throw new ForbiddenError('only a steward may remove a member', 'ask one of the stewards')
    }
    if (view.removed(memberId)) {
      throw new TapestryError('ALREADY_REMOVED', `${memberId} was already removed from this tribe`)
    }
    if (!view.isMember(memberId)) {
      throw new NotFoundError('member of this tribe', memberId, 'see `tapestry members`')
    }
    if (memberId === me && view.stewards.length === 1) {
      throw new UsageError(
        'the last steward cannot remove themself',
        'make another member a steward first',
      )
    }
    const cutoff = await computeCutoff(this.d, tribeId, memberId)
    const remaining = view.members.filter((m) => m !== memberId)
    const epoch = (view.currentEpoch?.epoch ?? 0) + 1
    const sealedKeys = await this.#seal(tribeId, epoch, remaining)
    const at = this.d.now()
    await this.d.changeRoster(tribeId, (doc) => {
      const removed = removeMember(doc, { memberId, by: me, at, cutoff })
      if (!removed.ok) return removed
      return addSwarmKeyEpoch(doc, { epoch, createdAt: at, createdBy: me, sealedKeys })
    })
    // The roster is durable: follow it like any node (rotates, or discards on self-removal).
    await this.#apply(tribeId)
    return { tribeId, memberId, epoch }
  }

  /** Starts epoch N+1 sealed to current members only (healing a tainted epoch). */
  async #rekey(tribeId: string, view: RosterView): Promise<void> {
    const epoch = (view.currentEpoch?.epoch ?? 0) + 1
    const sealedKeys = await this.#seal(tribeId, epoch, view.members)
    const at = this.d.now()
    const me = this.d.identity.memberId
    await this.d.changeRoster(tribeId, (doc) =>
      addSwarmKeyEpoch(doc, { epoch, createdAt: at, createdBy: me, sealedKeys }),
    )
  }

  /**
   * A fresh key sealed to `members`, plus the boxes that rotate the tribe's federation
   * links with it (federation/link-keys.ts).
   */
  async #seal(tribeId: string, epoch: number, members: readonly string[]) {
    const key = (this.d.generateKey ?? generateSwarmKey)()
    const rosters = await this.d.rosters()
    const links = await activeLinksOf(this.d.store, rosters, tribeId)
    const sealedKeys = sealLinkKeys(key, tribeId, epoch, links, rosters)
    const context = epochContext(tribeId, epoch)
    for (const m of members) sealedKeys[m] = sealKey(key, publicKeyFromMemberId(m), context)
    return sealedKeys
  }

  async #apply(tribeId: string): Promise<EpochOutcome> {
    const me = this.d.identity.memberId
    const view = (await this.d.rosters()).get(tribeId)
    if (!view) return { kind: 'no-roster' }
    if (view.removed(me)) {
      await this.d.keys.discard(tribeId)
      return { kind: 'removed' }
    }
    const held = await this.d.keys.keys(tribeId).catch(() => undefined)
    const e = view.currentEpoch
    if (!e || (held && e.epoch < held.epoch)) return { kind: 'current', epoch: held?.epoch ?? 0 }
    // A non-member's box in a tribe epoch holds a link key (federation/link-keys.ts).
    const sealed = view.isMember(me) ? e.sealedKeys[me] : undefined
    if (sealed === undefined) {
      return held && e.epoch === held.epoch
        ? { kind: 'current', epoch: e.epoch }
        : { kind: 'not-sealed', epoch: e.epoch }
    }
    let key: Uint8Array
    try {
      key = openSealed(this.d.identity.privateKey, sealed, epochContext(tribeId, e.epoch))
    } catch (err) {
      if (!(err instanceof SealedKeyError)) throw err
      return { kind: 'unopenable', epoch: e.epoch, code: err.code }
    }
    if (held && held.epoch === e.epoch && networkId(held.current) === networkId(key)) {
      return { kind: 'current', epoch: e.epoch }
    }
    await this.d.keys.rotate(tribeId, e.epoch, key)
    return { kind: 'rotated', epoch: e.epoch, from: held?.epoch ?? 0 }
  }

  #serial<T>(tribeId: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#queues.get(tribeId) ?? Promise.resolve()
    const run = prev.then(fn, fn)
    const tail = run.catch(() => {})
    this.#queues.set(tribeId, tail)
    tail.then(() => {
      if (this.#queues.get(tribeId) === tail) this.#queues.delete(tribeId)
    })
    return run
  }
}
