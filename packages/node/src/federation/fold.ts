/**
 * Folding a link document's records with the rosters a node knows: shared by the
 * federation (links.ts) and by a steward starting a swarm-key epoch (link-keys.ts),
 * which reads the records straight from the store.
 */
import {
  type SignedRecord as AuthorityInput,
  decodeRecordPayload,
  type LinkAuthority,
  type LinkSnapshot,
  linkAuthority,
  type RosterView,
} from '@tapestry/crdt-schema'
import type { DocId } from '../envelope/types.js'
import { memberIdFromPublicKey } from '../identity/index.js'
import type { StoredRecord } from '../store/index.js'

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

/** Stored (verified) records as fold inputs; a payload that does not decode is skipped. */
export function foldInputs(raw: readonly StoredRecord[]): AuthorityInput[] {
  const inputs: AuthorityInput[] = []
  for (const { record } of raw) {
    const decoded = decodeRecordPayload(record.payload)
    if (decoded.ok) {
      inputs.push({ signer: memberIdFromPublicKey(record.author), record: decoded.value })
    }
  }
  return inputs
}
