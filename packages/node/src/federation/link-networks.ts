/**
 * The link networks this node carries, for the mesh: each with its keys, the offer's key
 * rotated through the rosters' epochs when a member leaves either tribe (link-keys.ts).
 * An ended link's host keeps running for a grace period, so erasure receipts travel back.
 */
import { readFile } from 'node:fs/promises'
import type { TribeNetwork } from '../core/replication.js'
import { DEFAULT_KEY_GRACE_MS } from '../core/tribe-keys.js'
import { decodeSwarmKey } from '../net/swarm-key.js'
import { DAY, type LinkContext } from './link-context.js'
import { linkKeySet } from './link-keys.js'

/** An ended link's host keeps running this long, so erasure receipts can travel back. */
const ENDED_LINK_GRACE_MS = 7 * DAY

/**
 * The link networks this node carries (it holds their offer's key), for the mesh, each
 * with its keys as the rosters' epochs have rotated them (link-keys.ts).
 */
export async function linkNetworks(c: LinkContext): Promise<TribeNetwork[]> {
  const rosters = await c.d.authority.rosters()
  const out: TribeNetwork[] = []
  for (const linkId of await c.files.carried()) {
    const file = await c.files.read(linkId)
    const a = await c.fold(linkId, rosters)
    if (!file || !a) continue
    if (rosters.get(file.tribeId)?.removed(c.me)) continue
    if (a.ended && c.d.now() > a.ended.at + ENDED_LINK_GRACE_MS) continue
    let offerKey: Uint8Array
    try {
      offerKey = decodeSwarmKey(await readFile(c.files.keyFile(linkId), 'utf8'))
    } catch {
      continue
    }
    out.push({
      tribeId: linkId,
      name: `${a.proposal.tribe.name} ↔ ${a.link?.tribeB.name ?? '…'}`,
      keys: a.link
        ? linkKeySet({
            link: a.link,
            tribeId: file.tribeId,
            rosters,
            identity: c.d.identity,
            offerKey,
            now: c.d.now(),
            graceMs: DEFAULT_KEY_GRACE_MS,
          })
        : { current: offerKey, previous: [] },
    })
  }
  return out
}
