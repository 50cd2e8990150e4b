/**
 * Two stewards who remove each other concurrently each name a cut-off that excludes
 * the other's removal, so whichever removal a node stores first refuses the other.
 * Every node settles the pair the same way instead: the earlier removal (smaller `at`,
 * then smaller remover id) wins. A node that stored the losing removal first drops the
 * loser's envelopes beyond the winner's cut-off and takes the winning one; a node that
 * stored the winner keeps refusing the loser. Both end with the same envelopes.
 */
import type { Removal, RosterView } from '@tapestry/crdt-schema'
import * as Y from 'yjs'
import { checkUpdateClients, clientIdFor, writerKey } from '../envelope/index.js'
import type { Envelope } from '../envelope/types.js'
import { memberIdFromPublicKey } from '../identity/index.js'
import { cutoffKey } from './node-replication.js'

/** Which envelopes to drop for the refused chain to win, per document. */
export interface Verdict {
  /** True for an envelope of a losing steward beyond the winner's cut-off. */
  drop(env: Envelope): boolean
}

/** The total order of removals: the earlier one wins a mutual removal. */
function earlier(a: Removal, b: Removal): boolean {
  return a.at !== b.at ? a.at < b.at : a.by < b.by
}

/** Folds a roster as the node would (AuthorityIndex.foldRoster) from a candidate state. */
export type RosterFold = (doc: Y.Doc) => Promise<RosterView | undefined>

async function folded(fold: RosterFold, updates: readonly Uint8Array[]) {
  const doc = new Y.Doc()
  try {
    doc.transact(() => {
      for (const u of updates) Y.applyUpdate(doc, u)
    })
    return await fold(doc)
  } catch {
    return undefined // a state Yjs cannot build or the schema cannot read wins nothing
  } finally {
    doc.destroy()
  }
}

/**
 * Decides a roster `chain` refused by its author's removal cut-off: the author's
 * envelopes from the cut-off on, in sequence order, beside the roster's `stored`
 * envelopes, each state folded by `fold`. Returns a verdict when the chain removes the stewards who removed its
 * author, earlier than they did, and dropping their envelopes beyond its cut-off
 * leaves the author a steward; otherwise undefined (the chain stays refused).
 */
export async function contest(
  fold: RosterFold,
  stored: readonly Envelope[],
  chain: readonly Envelope[],
): Promise<Verdict | undefined> {
  const first = chain[0]
  if (!first) return undefined
  // Refused by the cut-off before their updates were checked: check them now.
  for (const e of chain) {
    try {
      checkUpdateClients(e.update, clientIdFor(e.author, e.writerId), e.docId)
    } catch {
      return undefined
    }
  }
  const author = memberIdFromPublicKey(first.author)
  const current = stored.map((e) => e.update)
  const updates = chain.map((e) => e.update)
  const before = await folded(fold, current)
  const both = await folded(fold, [...current, ...updates])
  if (!before || !both) return undefined
  const against = before.snapshot.removals.filter((r) => r.memberId === author)
  const losers = new Set<string>()
  for (const r of against) {
    const answer = both.snapshot.removals.find((w) => w.by === author && w.memberId === r.by)
    if (!answer || !earlier(answer, r)) return undefined
    losers.add(r.by)
  }
  if (losers.size === 0) return undefined
  const drop = (env: Envelope) => {
    const member = memberIdFromPublicKey(env.author)
    if (!losers.has(member)) return false
    const cut = both.cutoff(member)?.[cutoffKey(env.docId, writerKey(env.author, env.writerId))]
    return env.seq > (cut ?? 0)
  }
  // Without the losers' tails the author is a steward again (its chain may be written),
  // and the chain removes every loser.
  const kept = stored.filter((e) => !drop(e)).map((e) => e.update)
  const without = await folded(fold, kept)
  const after = await folded(fold, [...kept, ...updates])
  if (!without?.isSteward(author) || !after || [...losers].some((m) => !after.removed(m))) {
    return undefined
  }
  return { drop }
}
