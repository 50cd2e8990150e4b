/**
 * A runnable tour of the schema: a tribe roster with two members, a narrative
 * with its signed genesis record, the narrative's snapshot and consent decisions.
 *
 *   npm run build && npm run example -w @tapestry/crdt-schema
 */
import * as Y from 'yjs'
import {
  type AuthorityRecord,
  admitMember,
  createNarrative,
  createRoster,
  decodeRecordPayload,
  encodeRecordPayload,
  foldRoster,
  formatAudience,
  mayReceive,
  narrativeAuthority,
  newBoundDocId,
  readNarrative,
  readRoster,
  unwrap,
} from './index.js'

const alice = '12D3KooWEkYz5kDpJHuYXPzqXNm5YsEUCiNctkdmi5vcnst7aKKX'
const bob = '12D3KooWGr39X5f8dY7ZrCka3dsZa1A7mdtrmifka7mDChq1CeNL'
const stranger = '12D3KooWJwXJxR6SxnKbB1WJZtz3b95mJvw4Zi8wq6s7422PvLxw'
const now = Date.now()

// A tribe: its id is its roster document's id, bound to its founder.
const { id: tribeId } = newBoundDocId('roster', alice)
const roster = new Y.Doc()
unwrap(
  createRoster(roster, {
    tribeId,
    name: 'Riverside',
    createdAt: now,
    founder: { memberId: alice, name: 'Alice' },
  }),
)
unwrap(
  admitMember(roster, {
    memberId: bob,
    name: 'Bob',
    joinedAt: now,
    admittedBy: alice,
    invitationId: 'inv-1',
  }),
)
const tribe = foldRoster(unwrap(readRoster(roster)))
console.log(
  `tribe ${tribe.name} (${tribeId}): members ${tribe.members.length}, stewards ${tribe.stewards.length}`,
)

// A narrative: content in Yjs, authority in a signed record beside it; its id is
// bound to its creator, so only alice can sign a genesis that counts.
const { id: narrativeId, nonce } = newBoundDocId('narrative', alice)
const story = new Y.Doc()
unwrap(
  createNarrative(story, {
    tribeId,
    title: 'The year the river rose',
    body: 'We carried the seed bank up the hill, two boxes at a time.',
    tags: ['river', 'memory'],
    mood: 'solemn',
    createdAt: now,
  }),
)
console.log('narrative snapshot:', unwrap(readNarrative(story)))

const genesis: AuthorityRecord = {
  v: 1,
  type: 'narrative.genesis',
  narrativeId,
  tribeId,
  creator: alice,
  authors: [alice],
  audience: { kind: 'tribe' },
  nonce,
  createdAt: now,
}
const payload = encodeRecordPayload(genesis) // what the node signs
const decoded = unwrap(decodeRecordPayload(payload))
const authority = unwrap(narrativeAuthority([{ signer: alice, record: decoded }]))
console.log(
  `genesis record: ${payload.length} bytes; audience ${formatAudience(authority.effectiveAudience)}, ${authority.status}`,
)

for (const [who, id] of [
  ['alice', alice],
  ['bob', bob],
  ['stranger', stranger],
] as const) {
  const decision = mayReceive(id, { kind: 'narrative', authority }, { rosters: [tribe] })
  console.log(`may ${who} receive it?`, decision)
}
