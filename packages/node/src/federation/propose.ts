/**
 * Proposing a link (a steward of tribe A): the `link.genesis` record, the offer's fresh
 * swarm key kept in the data directory, and the offer code with the link host's addresses.
 */
import { type Category, newBoundDocId } from '@tapestry/crdt-schema'
import { ForbiddenError, UsageError } from '../errors.js'
import { generateSwarmKey } from '../net/swarm-key.js'
import type { ProposeInput, ProposeResult } from './api-types.js'
import { checkTerms } from './link-checks.js'
import { DAY, type LinkContext } from './link-context.js'
import { encodeOffer, keyHashOf } from './offer.js'

const DEFAULT_TERMS: Category[] = ['echoes', 'narratives']

export async function proposeLink(
  c: LinkContext,
  given?: ProposeInput | null,
): Promise<ProposeResult> {
  const input = given ?? {}
  const tribeId = await c.d.tribeFor(input.tribeId)
  const roster = (await c.d.authority.rosters()).get(tribeId)
  if (!roster?.isSteward(c.me)) {
    throw new ForbiddenError(
      'only a steward may propose a federation link',
      'ask one of the tribe’s stewards',
    )
  }
  const terms = checkTerms(input.terms ?? DEFAULT_TERMS)
  if (input.addresses !== undefined && !Array.isArray(input.addresses)) {
    throw new UsageError('addresses must be a list of multiaddrs')
  }
  const expiresInMs = input.expiresInMs ?? 7 * DAY
  if (!Number.isSafeInteger(expiresInMs) || expiresInMs <= 0) {
    throw new UsageError('the offer’s lifetime must be a positive number of milliseconds')
  }
  const key = generateSwarmKey()
  const { id: linkId, nonce } = newBoundDocId('link', c.me)
  const createdAt = c.d.now()
  const expiresAt = createdAt + expiresInMs
  const genesis = await c.sign(linkId, {
    v: 1,
    type: 'link.genesis',
    linkId,
    tribe: { id: tribeId, name: roster.name },
    terms,
    proposer: c.me,
    keyHash: keyHashOf(key),
    expiresAt,
    nonce,
    createdAt,
  })
  await c.files.save(linkId, key, { v: 1, role: 'proposer', tribeId, addrs: [], createdAt })
  await c.d.putRecord(genesis)
  // A running node starts the link host now, so the offer can carry its addresses.
  await c.d.refreshNetwork()
  const addrs = [...c.d.listenAddrs(linkId), ...(input.addresses ?? [])]
  return { offer: encodeOffer({ key, addrs, genesis }), linkId, expiresAt }
}
