/**
 * Folding a link document's records with the rosters a node knows: shared by the
 * federation (links.ts) and by a steward starting a swarm-key epoch (link-keys.ts),
 * which reads the records straight from the store.
 */
import {
  type SignedRecord as AuthorityInput,
  type LinkAuthority,
  type LinkSnapshot,
  linkAuthority,
  type RosterView,
} from '@tapestry/crdt-schema'
import type { DocId } from '../envelope/types.js'

/** The other tribe of a link. */
export function otherTribeOf(link: LinkSnapshot, tribeId: string): string | undefined {
  if (link.tribeA.id === tribeId) return link.tribeB.id
  if (link.tribeB.id === tribeId) return link.tribeA.id
  return undefined
}

/** A link's authority; an acceptance or end counts from whoever is or was a steward. */
export function foldLink(
  linkId: DocId,
  inputs: readonly AuthorityInput[],
  rosters: ReadonlyMap<string, RosterView>,
): LinkAuthority | undefined {
  const r = linkAuthority(inputs, {
    linkId,
    wasSteward: (t, m) => {
      const roster = rosters.get(t)
      return roster === undefined || roster.snapshot.members[m]?.role === 'steward'
    },
  })
  return r.ok ? r.value : undefined
}
