/**
 * Link-key epochs: removing a member from either tribe of a federation link rotates
 * the link's swarm key too, in the same signed roster change that rotates the tribe's.
 *
 * Whenever tribe T starts swarm-key epoch e (a removal, or a steward re-keying a
 * tainted epoch: core/removal.ts), each active link L of T gets a new key
 *
 *   linkKey(L, T, e) = HKDF-SHA256(ikm = T's swarm key of epoch e, info = "tapestry/link-key/v1 " ‖ L)
 *
 * Every remaining member of T derives it from the tribe key sealed to them. The steward
 * who makes the epoch also seals it to the other tribe's carrier of L (the steward who
 * signed that tribe's acceptance), in the same epoch's `sealedKeys`, under the carrier's
 * member id and the context `${L}/${T}/${e}` (crypto/sealed-box.ts): a carrier is not a
 * member of T, so no member's box is displaced, and the box never opens as a tribe key.
 * Nothing new is written: the boxes travel with T's roster, which crosses the link.
 *
 * A carrier's keys for L follow from the two rosters alone (`linkKeySet`): the offer's
 * key, then one key per epoch, of either tribe, that holds a box for the other tribe's
 * carrier, ordered by the epoch's creation time, then tribe id and epoch, the same on
 * every node. The last one it can open is current. A key it replaced stays accepted
 * for the grace period after the replacing epoch was created, from members only (the
 * mesh's gate refuses a previous key from anyone else): a member offline during the
 * rotation reconnects and learns the new epoch; a removed member, who can neither open
 * nor derive the new key, is refused with the old one.
 */
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import type { FoldedLink, RosterView, SwarmKeyEpoch } from '@tapestry/crdt-schema'
import { foldInputs } from '../core/fold-inputs.js'
import {
  epochContext,
  linkEpochContext,
  openSealed,
  SealedKeyError,
  sealKey,
} from '../crypto/sealed-box.js'
import type { Identity } from '../identity/index.js'
import { publicKeyFromMemberId } from '../identity/index.js'
import type { EnvelopeStore } from '../store/index.js'
import { foldLink, otherTribeOf } from './fold.js'

const INFO = 'tapestry/link-key/v1 '

/** The key of link `linkId` in the epoch whose tribe key is `tribeKey`. */
export function deriveLinkKey(tribeKey: Uint8Array, linkId: string): Uint8Array {
  return hkdf(sha256, tribeKey, new Uint8Array(0), new TextEncoder().encode(INFO + linkId), 32)
}

/**
 * Who tribe `tribeId`'s epochs seal `link`'s key to: the other tribe's carrier (the
 * steward who signed its acceptance), unless it was ever a member of `tribeId`, whose
 * box there is a tribe key (it derives the link key as a member would).
 */
function recipientIn(link: FoldedLink, tribeId: string, roster: RosterView | undefined) {
  const other = otherTribeOf(link, tribeId)
  const carrier = other === undefined ? undefined : link.acceptances[other]?.steward
  if (carrier === undefined || roster?.snapshot.members[carrier] !== undefined) return undefined
  return { other: other!, carrier }
}

/** The active links of `tribeId` in `store`, folded (for a steward starting an epoch). */
export async function activeLinksOf(
  store: Pick<EnvelopeStore, 'listDocuments' | 'records'>,
  rosters: ReadonlyMap<string, RosterView>,
  tribeId: string,
): Promise<FoldedLink[]> {
  const out: FoldedLink[] = []
  for (const { id, kind } of await store.listDocuments()) {
    if (kind !== 'link') continue
    const a = foldLink(id, foldInputs(await store.records(id)), rosters)
    if (a?.link?.active && !a.ended && otherTribeOf(a.link, tribeId) !== undefined) {
      out.push(a.link)
    }
  }
  return out
}

/**
 * The boxes that make tribe `tribeId`'s new epoch rotate `links` too: each link's key,
 * derived from the epoch's tribe key, sealed to the other tribe's carrier (none for a
 * carrier removed from its own tribe).
 */
export function sealLinkKeys(
  tribeKey: Uint8Array,
  tribeId: string,
  epoch: number,
  links: readonly FoldedLink[],
  rosters: ReadonlyMap<string, RosterView>,
): Record<string, string> {
  const boxes: Record<string, string> = {}
  for (const link of links) {
    const to = recipientIn(link, tribeId, rosters.get(tribeId))
    if (to === undefined || rosters.get(to.other)?.removed(to.carrier)) continue
    boxes[to.carrier] = sealKey(
      deriveLinkKey(tribeKey, link.linkId),
      publicKeyFromMemberId(to.carrier),
      linkEpochContext(link.linkId, tribeId, epoch),
    )
  }
  return boxes
}

export interface LinkKeySetInput {
  link: FoldedLink
  /** The carrier's own tribe in the link. */
  tribeId: string
  rosters: ReadonlyMap<string, RosterView>
  identity: Pick<Identity, 'memberId' | 'privateKey'>
  /** The key from the link's offer (before any rotation). */
  offerKey: Uint8Array
  now: number
  graceMs: number
}

/** The link's current key and the replaced keys still in their grace period, newest first. */
export function linkKeySet(i: LinkKeySetInput): { current: Uint8Array; previous: Uint8Array[] } {
  const rotations: { tribeId: string; e: SwarmKeyEpoch }[] = []
  for (const t of [i.link.tribeA.id, i.link.tribeB.id]) {
    const roster = i.rosters.get(t)
    const to = recipientIn(i.link, t, roster)
    if (to === undefined || !roster) continue
    for (const e of roster.snapshot.epochs) {
      if (Object.hasOwn(e.sealedKeys, to.carrier)) rotations.push({ tribeId: t, e })
    }
  }
  rotations.sort(
    (x, y) =>
      x.e.createdAt - y.e.createdAt ||
      (x.tribeId < y.tribeId ? -1 : x.tribeId > y.tribeId ? 1 : 0) ||
      x.e.epoch - y.e.epoch,
  )
  const keys: { key: Uint8Array; replacedAt?: number }[] = [{ key: i.offerKey }]
  for (const r of rotations) {
    const key = openRotation(i, r.tribeId, r.e)
    if (key === undefined) continue
    keys.at(-1)!.replacedAt = r.e.createdAt
    keys.push({ key })
  }
  const previous = keys
    .filter((k) => k.replacedAt !== undefined && k.replacedAt + i.graceMs > i.now)
    .map((k) => k.key)
    .reverse()
  return { current: keys.at(-1)!.key, previous }
}

/** This carrier's key of a rotation, or undefined when it holds no box that opens. */
function openRotation(i: LinkKeySetInput, tribeId: string, e: SwarmKeyEpoch) {
  const sealed = e.sealedKeys[i.identity.memberId]
  if (sealed === undefined) return undefined
  const own = tribeId === i.tribeId
  try {
    return own
      ? deriveLinkKey(
          openSealed(i.identity.privateKey, sealed, epochContext(tribeId, e.epoch)),
          i.link.linkId,
        )
      : openSealed(i.identity.privateKey, sealed, linkEpochContext(i.link.linkId, tribeId, e.epoch))
  } catch (err) {
    if (err instanceof SealedKeyError) return undefined
    throw err
  }
}
