/**
 * The consent decision, table-driven: private / circle / tribe / federated,
 * co-authors (intersection), revoked consent, removed members, withdrawn
 * narratives, echoes never wider than their narrative, roster/profile/link; and the
 * rules beside it: who may receive records, what a node may hold, who may write.
 */
import { describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  type Audience,
  type AuthorityRecord,
  acceptLink,
  admitMember,
  type ConsentContext,
  createLink,
  createRoster,
  DOC_KINDS,
  type DocDescriptor,
  echoAuthority,
  foldRoster,
  isConsentBound,
  type LinkSnapshot,
  mayHold,
  mayReceive,
  mayReceiveRecords,
  mayWrite,
  type NarrativeAuthority,
  narrativeAuthority,
  type RosterView,
  readLink,
  readRoster,
  removeMember,
  revokeLink,
  type SignedRecord,
  unwrap,
} from '../src/index.js'
import {
  ALICE,
  BOB,
  CAROL,
  DAVE,
  ECHO_1,
  ECHO_NONCE,
  ERIN,
  FRANK,
  GRACE,
  HEIDI,
  NARRATIVE_1,
  NARRATIVE_2,
  NONCE_1,
  NONCE_2,
  TRIBE_A,
  TRIBE_B,
} from './helpers.js'

// Tribe A: ALICE (steward), BOB, CAROL, DAVE (removed). Tribe B: ERIN (steward), FRANK.
// GRACE: member of a third tribe, not linked. HEIDI: nobody.
function tribe(id: string, steward: string, members: string[], removed: string[] = []): RosterView {
  const doc = new Y.Doc()
  unwrap(
    createRoster(doc, {
      tribeId: id,
      name: id,
      createdAt: 1,
      founder: { memberId: steward, name: 's' },
    }),
  )
  for (const m of [...members, ...removed]) {
    unwrap(admitMember(doc, { memberId: m, name: 'm', joinedAt: 2, admittedBy: steward }))
  }
  for (const m of removed) {
    unwrap(removeMember(doc, { memberId: m, by: steward, at: 3, cutoff: { [`${m}/w`]: 7 } }))
  }
  return foldRoster(unwrap(readRoster(doc)))
}

function link(
  terms: ('narratives' | 'echoes' | 'profile')[],
  state: 'active' | 'proposed' | 'revoked',
): LinkSnapshot {
  const doc = new Y.Doc()
  unwrap(
    createLink(doc, {
      tribeA: { id: TRIBE_A, name: 'A' },
      tribeB: { id: TRIBE_B, name: 'B' },
      terms,
      proposedBy: ALICE,
      proposedAt: 1,
    }),
  )
  if (state !== 'proposed') unwrap(acceptLink(doc, { tribeId: TRIBE_B, steward: ERIN, at: 2 }))
  if (state === 'revoked') unwrap(revokeLink(doc, { tribeId: TRIBE_B, steward: ERIN, at: 3 }))
  return unwrap(readLink(doc))
}

const A = tribe(TRIBE_A, ALICE, [BOB, CAROL], [DAVE])
const B = tribe(TRIBE_B, ERIN, [FRANK])
const C = tribe('roster_bccccccccccccccccccccccccca', GRACE, [])

const ctx = (
  links: LinkSnapshot[] = [link(['narratives', 'echoes', 'profile'], 'active')],
): ConsentContext => ({
  rosters: [A, B, C],
  links,
})

const genesis = (
  audience: Audience,
  authors = [ALICE],
  narrativeId = NARRATIVE_1,
): SignedRecord => ({
  signer: ALICE,
  record: {
    v: 1,
    type: 'narrative.genesis',
    narrativeId,
    tribeId: TRIBE_A,
    creator: ALICE,
    authors,
    audience,
    nonce: narrativeId === NARRATIVE_2 ? NONCE_2 : NONCE_1,
    createdAt: 10,
  },
})
const audienceRecord = (
  member: string,
  audience: Audience,
  at: number,
  signer = member,
): SignedRecord => ({
  signer,
  record: { v: 1, type: 'narrative.audience', narrativeId: NARRATIVE_1, member, audience, at },
})
const withdraw = (by: string, signer = by): SignedRecord => ({
  signer,
  record: { v: 1, type: 'narrative.withdraw', narrativeId: NARRATIVE_1, by, at: 50 },
})
const coauthor = (member: string, signer: string): SignedRecord => ({
  signer,
  record: { v: 1, type: 'narrative.coauthor', narrativeId: NARRATIVE_1, member, at: 20 },
})

const auth = (...records: SignedRecord[]): NarrativeAuthority => unwrap(narrativeAuthority(records))
const narrative = (...records: SignedRecord[]): DocDescriptor => ({
  kind: 'narrative',
  authority: auth(...records),
})
const echo = (narrativeRecords: SignedRecord[], echoAudience?: Audience): DocDescriptor => {
  const record: AuthorityRecord = {
    v: 1,
    type: 'echo.genesis',
    echoId: ECHO_1,
    narrativeId: NARRATIVE_1,
    responder: BOB,
    nonce: ECHO_NONCE,
    createdAt: 30,
    ...(echoAudience ? { audience: echoAudience } : {}),
  }
  return {
    kind: 'echo',
    echo: unwrap(echoAuthority([{ signer: BOB, record }])),
    narrative: auth(...narrativeRecords),
  }
}

const P: Audience = { kind: 'private' }
const T: Audience = { kind: 'tribe' }
const F: Audience = { kind: 'federated' }
const circleOf = (...members: string[]): Audience => ({ kind: 'circle', members })

type Row = [
  name: string,
  member: string,
  doc: DocDescriptor,
  expected: true | string,
  c?: ConsentContext,
]

const rows: Row[] = [
  // private
  ['private: the author', ALICE, narrative(genesis(P)), true],
  ['private: a tribe member', BOB, narrative(genesis(P)), 'private'],
  [
    'private: co-author',
    BOB,
    narrative(genesis(P, [ALICE, BOB]), audienceRecord(BOB, P, 11)),
    true,
  ],
  // circle
  ['circle: named member', BOB, narrative(genesis(circleOf(BOB))), true],
  ['circle: unnamed member', CAROL, narrative(genesis(circleOf(BOB))), 'not-in-circle'],
  ['circle: named but removed', DAVE, narrative(genesis(circleOf(DAVE))), 'removed'],
  ['circle: named outsider', HEIDI, narrative(genesis(circleOf(HEIDI))), 'not-a-member'],
  ['circle: named federated member', FRANK, narrative(genesis(circleOf(FRANK))), 'not-a-member'],
  // tribe
  ['tribe: member', CAROL, narrative(genesis(T)), true],
  ['tribe: removed member', DAVE, narrative(genesis(T)), 'removed'],
  ['tribe: outsider', HEIDI, narrative(genesis(T)), 'not-a-member'],
  ['tribe: federated member', FRANK, narrative(genesis(T)), 'not-a-member'],
  // federated
  ['federated: member', BOB, narrative(genesis(F)), true],
  ['federated: linked tribe member', FRANK, narrative(genesis(F)), true],
  ['federated: linked tribe steward', ERIN, narrative(genesis(F)), true],
  ['federated: unlinked tribe', GRACE, narrative(genesis(F)), 'not-federated'],
  ['federated: removed member', DAVE, narrative(genesis(F)), 'removed'],
  [
    'federated: link only proposed',
    FRANK,
    narrative(genesis(F)),
    'not-federated',
    ctx([link(['narratives'], 'proposed')]),
  ],
  [
    'federated: link revoked',
    FRANK,
    narrative(genesis(F)),
    'not-federated',
    ctx([link(['narratives'], 'revoked')]),
  ],
  [
    'federated: terms exclude narratives',
    FRANK,
    narrative(genesis(F)),
    'not-federated',
    ctx([link(['echoes'], 'active')]),
  ],
  ['federated: no links', FRANK, narrative(genesis(F)), 'not-federated', ctx([])],
  // revoked / changed consent
  ['narrowed to private', BOB, narrative(genesis(T), audienceRecord(ALICE, P, 20)), 'private'],
  [
    'widened again',
    BOB,
    narrative(genesis(T), audienceRecord(ALICE, P, 20), audienceRecord(ALICE, T, 30)),
    true,
  ],
  [
    'narrowing signed by someone else is ignored',
    BOB,
    narrative(genesis(T), audienceRecord(ALICE, P, 20, BOB)),
    true,
  ],
  // co-authors: intersection
  [
    'co-author consented tribe too',
    CAROL,
    narrative(genesis(T, [ALICE, BOB]), audienceRecord(BOB, T, 11)),
    true,
  ],
  [
    'co-author narrowed to circle',
    CAROL,
    narrative(genesis(T, [ALICE, BOB]), audienceRecord(BOB, circleOf(ALICE), 11)),
    'not-in-circle',
  ],
  ['co-author consent unknown → private', CAROL, narrative(genesis(T, [ALICE, BOB])), 'private'],
  [
    'co-author keeps federation out',
    FRANK,
    narrative(genesis(F, [ALICE, BOB]), audienceRecord(BOB, T, 11)),
    'not-a-member',
  ],
  ['both federated', FRANK, narrative(genesis(F, [ALICE, BOB]), audienceRecord(BOB, F, 11)), true],
  [
    'co-author added by author',
    CAROL,
    narrative(genesis(T), coauthor(BOB, ALICE), audienceRecord(BOB, P, 25)),
    'private',
  ],
  [
    'co-author added by non-author ignored',
    CAROL,
    narrative(genesis(T), coauthor(BOB, CAROL), audienceRecord(BOB, P, 25)),
    true,
  ],
  // withdrawn
  ['withdrawn: member', BOB, narrative(genesis(T), withdraw(ALICE)), 'withdrawn'],
  ['withdrawn: author', ALICE, narrative(genesis(T), withdraw(ALICE)), 'withdrawn'],
  [
    'withdrawn by co-author',
    CAROL,
    narrative(genesis(T, [ALICE, BOB]), audienceRecord(BOB, T, 11), withdraw(BOB)),
    'withdrawn',
  ],
  ['withdrawal by non-author ignored', CAROL, narrative(genesis(T), withdraw(CAROL)), true],
  [
    'withdrawal signed by someone else ignored',
    CAROL,
    narrative(genesis(T), withdraw(ALICE, BOB)),
    true,
  ],
  // echoes
  ['echo: tribe narrative, tribe member', CAROL, echo([genesis(T)]), true],
  ['echo: never wider than private narrative', CAROL, echo([genesis(P)]), 'narrative-denied'],
  [
    'echo: circle narrative, outside circle',
    CAROL,
    echo([genesis(circleOf(BOB))]),
    'narrative-denied',
  ],
  ['echo: responder narrows to private', CAROL, echo([genesis(T)], P), 'private'],
  ['echo: federated narrative and echo', FRANK, echo([genesis(F)], F), true],
  ['echo: federated narrative, echo tribe', FRANK, echo([genesis(F)], T), 'not-a-member'],
  [
    'echo: link terms exclude echoes',
    FRANK,
    echo([genesis(F)], F),
    'not-federated',
    ctx([link(['narratives'], 'active')]),
  ],
  [
    'echo: no own audience, link without echoes',
    FRANK,
    echo([genesis(F)]),
    'not-federated',
    ctx([link(['narratives'], 'active')]),
  ],
  ['echo: narrative withdrawn', BOB, echo([genesis(T), withdraw(ALICE)]), 'withdrawn'],
  ['echo: removed member', DAVE, echo([genesis(T)]), 'removed'],
  [
    'echo: points at another narrative',
    CAROL,
    {
      ...(echo([genesis(T)]) as Extract<DocDescriptor, { kind: 'echo' }>),
      narrative: auth(genesis(T, [ALICE], NARRATIVE_2)),
    },
    'echo-narrative-mismatch',
  ],
  // roster, profile, link
  ['roster: member', BOB, { kind: 'roster', tribeId: TRIBE_A }, true],
  ['roster: removed', DAVE, { kind: 'roster', tribeId: TRIBE_A }, 'removed'],
  ['roster: outsider', HEIDI, { kind: 'roster', tribeId: TRIBE_A }, 'not-a-member'],
  ['roster: linked tribe member', FRANK, { kind: 'roster', tribeId: TRIBE_A }, true],
  [
    'roster: unknown tribe',
    BOB,
    { kind: 'roster', tribeId: 'roster_bdddddddddddddddddddddddda' },
    'unknown-tribe',
  ],
  ['profile: member', BOB, { kind: 'profile', tribeId: TRIBE_A, memberId: CAROL }, true],
  ['profile: removed', DAVE, { kind: 'profile', tribeId: TRIBE_A, memberId: CAROL }, 'removed'],
  [
    'profile: outsider',
    GRACE,
    { kind: 'profile', tribeId: TRIBE_A, memberId: CAROL },
    'not-a-member',
  ],
  [
    'profile: private profile, other member',
    BOB,
    { kind: 'profile', tribeId: TRIBE_A, memberId: CAROL, audience: P },
    'private',
  ],
  [
    'profile: private profile, owner',
    CAROL,
    { kind: 'profile', tribeId: TRIBE_A, memberId: CAROL, audience: P },
    true,
  ],
  [
    'profile: federated profile, linked',
    FRANK,
    { kind: 'profile', tribeId: TRIBE_A, memberId: CAROL, audience: F },
    true,
  ],
  ['link: tribe A member', BOB, { kind: 'link', link: link(['narratives'], 'proposed') }, true],
  ['link: tribe B member', FRANK, { kind: 'link', link: link(['narratives'], 'proposed') }, true],
  [
    'link: outsider',
    GRACE,
    { kind: 'link', link: link(['narratives'], 'proposed') },
    'not-a-member',
  ],
  [
    'link: removed member',
    DAVE,
    { kind: 'link', link: link(['narratives'], 'proposed') },
    'removed',
  ],
]

describe('mayReceive', () => {
  it.each(rows)('%s', (_name, member, doc, expected, c) => {
    const decision = mayReceive(member, doc, c ?? ctx())
    if (expected === true) expect(decision).toEqual({ allowed: true })
    else expect(decision).toMatchObject({ allowed: false, reason: expected })
  })

  it('withdrawn: a tombstone may go to those who could see it, not to others', () => {
    const d = narrative(genesis(circleOf(BOB)), withdraw(ALICE))
    expect(mayReceive(BOB, d, ctx())).toEqual({
      allowed: false,
      reason: 'withdrawn',
      tombstone: true,
    })
    expect(mayReceive(CAROL, d, ctx())).toEqual({
      allowed: false,
      reason: 'withdrawn',
      tombstone: false,
    })
  })

  it('accepts rosters as a Map', () => {
    const rosters = new Map([[TRIBE_A, A]])
    expect(mayReceive(BOB, narrative(genesis(T)), { rosters })).toEqual({ allowed: true })
  })
})

const ROSTER_A: DocDescriptor = { kind: 'roster', tribeId: TRIBE_A }
const PROFILE_CAROL: DocDescriptor = {
  kind: 'profile',
  tribeId: TRIBE_A,
  memberId: CAROL,
  audience: P,
}
const LINK: DocDescriptor = { kind: 'link', link: link(['narratives'], 'active') }
const withdrawnT = narrative(genesis(T), withdraw(ALICE))
const narrowedT = narrative(genesis(T), audienceRecord(ALICE, P, 20))
const narrowedF = narrative(genesis(F), audienceRecord(ALICE, T, 20))
// DAVE co-authored, then was removed from the tribe, then withdrew.
const withdrawnByRemoved = narrative(
  genesis(T, [ALICE, DAVE]),
  audienceRecord(DAVE, T, 11),
  withdraw(DAVE),
)
const ended = ctx([link(['narratives', 'echoes', 'profile'], 'revoked')])

type RuleRow = [
  name: string,
  member: string,
  doc: DocDescriptor,
  expected: boolean,
  c?: ConsentContext,
]

describe('mayReceiveRecords', () => {
  const recordRows: RuleRow[] = [
    ['published: member', BOB, narrative(genesis(T)), true],
    ['published: outsider', HEIDI, narrative(genesis(T)), false],
    ['published: removed member', DAVE, narrative(genesis(T)), false],
    ['published private: a member', BOB, narrative(genesis(P)), false],
    ['withdrawn: a member who could see it gets the tombstone', BOB, withdrawnT, true],
    ['withdrawn: the author', ALICE, withdrawnT, true],
    ['withdrawn: an outsider learns nothing', HEIDI, withdrawnT, false],
    [
      'withdrawn circle: outside the circle',
      CAROL,
      narrative(genesis(circleOf(BOB)), withdraw(ALICE)),
      false,
    ],
    ['withdrawn by a removed co-author: a member', BOB, withdrawnByRemoved, true],
    ['withdrawn by a removed co-author: the removed one', DAVE, withdrawnByRemoved, false],
    ['narrowed: who left the audience is told', BOB, narrowedT, true],
    ['narrowed: an outsider is not', HEIDI, narrowedT, false],
    ['narrowed: a removed member is not', DAVE, narrowedT, false],
    [
      'narrowed then withdrawn: who was in the earlier audience',
      BOB,
      narrative(genesis(T), audienceRecord(ALICE, P, 20), withdraw(ALICE)),
      true,
    ],
    [
      'narrowed then withdrawn: who never was',
      HEIDI,
      narrative(genesis(T), audienceRecord(ALICE, P, 20), withdraw(ALICE)),
      false,
    ],
    [
      "a co-author's earlier audience counts with the others' current ones",
      CAROL,
      narrative(
        genesis(T, [ALICE, BOB]),
        audienceRecord(BOB, T, 11),
        audienceRecord(BOB, circleOf(ALICE), 12),
      ),
      true,
    ],
    [
      "an earlier audience is still cut by another author's consent",
      CAROL,
      narrative(
        genesis(T, [ALICE, BOB]),
        audienceRecord(BOB, T, 11),
        audienceRecord(BOB, P, 12),
        audienceRecord(ALICE, circleOf(BOB), 13),
      ),
      false,
    ],
    ['narrowed from federated: over an active link', FRANK, narrowedF, true],
    ['narrowed from federated: over an ended link', FRANK, narrowedF, false, ended],
    ['narrowed from federated: an unlinked tribe', GRACE, narrowedF, false],
    ['echo: allowed', CAROL, echo([genesis(T)]), true],
    [
      'echo: narrative narrowed, no history for echoes',
      BOB,
      echo([genesis(T), audienceRecord(ALICE, P, 20)]),
      false,
    ],
    ['echo: narrative withdrawn, its tombstone', BOB, echo([genesis(T), withdraw(ALICE)]), true],
    ['echo: narrative withdrawn, an outsider', HEIDI, echo([genesis(T), withdraw(ALICE)]), false],
    ['echo: responder narrowed', CAROL, echo([genesis(T)], P), false],
    ['roster: member', BOB, ROSTER_A, true],
    ['roster: removed', DAVE, ROSTER_A, false],
    ['roster: linked tribe over an active link', FRANK, ROSTER_A, true],
    ['roster: linked tribe over an ended link', FRANK, ROSTER_A, false, ended],
    ['profile: private, another member', BOB, PROFILE_CAROL, false],
    ['profile: private, its member', CAROL, PROFILE_CAROL, true],
    ['link: member of one side', FRANK, LINK, true],
    ['link: outsider', GRACE, LINK, false],
  ]
  it.each(recordRows)('%s', (_name, member, doc, expected, c) => {
    expect(mayReceiveRecords(member, doc, c ?? ctx())).toBe(expected)
  })

  it('records go wherever content goes', () => {
    for (const [, member, doc, , c] of [...rows, ...recordRows]) {
      if (mayReceive(member, doc, c ?? ctx()).allowed) {
        expect(mayReceiveRecords(member, doc, c ?? ctx())).toBe(true)
      }
    }
  })
})

describe('mayHold', () => {
  it('binds narratives and echoes to consent, nothing else', () => {
    expect(DOC_KINDS.filter(isConsentBound)).toEqual(['narrative', 'echo'])
    expect(isConsentBound(undefined)).toBe(false)
  })

  const holdRows: RuleRow[] = [
    ['roster: even a removed member keeps it', DAVE, ROSTER_A, true],
    ['roster: even an outsider', HEIDI, ROSTER_A, true],
    ['profile: a private profile of another member', BOB, PROFILE_CAROL, true],
    ['link: an outsider', GRACE, LINK, true],
    ['narrative: a member', BOB, narrative(genesis(T)), true],
    ['narrative: outsider', HEIDI, narrative(genesis(T)), false],
    ['narrative: removed member', DAVE, narrative(genesis(T)), false],
    ['withdrawn: records yes, content no (a member)', BOB, withdrawnT, false],
    ['withdrawn: not even the author', ALICE, withdrawnT, false],
    ['withdrawn by a removed co-author', ALICE, withdrawnByRemoved, false],
    ['narrowed: who left the audience erases', BOB, narrowedT, false],
    ['narrowed: the author keeps', ALICE, narrowedT, true],
    ['federated over an active link', FRANK, narrative(genesis(F)), true],
    ['federated over an ended link', FRANK, narrative(genesis(F)), false, ended],
    ['narrowed from federated: the linked member erases', FRANK, narrowedF, false],
    ['echo: a member', CAROL, echo([genesis(T)]), true],
    ['echo: never wider than a private narrative', CAROL, echo([genesis(P)], F), false],
    ['echo: narrative narrowed', BOB, echo([genesis(T), audienceRecord(ALICE, P, 20)]), false],
    [
      'echo: narrative withdrawn, not even its responder',
      BOB,
      echo([genesis(T), withdraw(ALICE)]),
      false,
    ],
    ['echo: responder narrowed, the responder keeps', BOB, echo([genesis(T)], P), true],
    ['echo: responder narrowed, another member', CAROL, echo([genesis(T)], P), false],
    ['echo: across an active link', FRANK, echo([genesis(F)], F), true],
    ['echo: across an ended link', FRANK, echo([genesis(F)], F), false, ended],
  ]
  it.each(holdRows)('%s', (_name, member, doc, expected, c) => {
    expect(mayHold(member, doc, c ?? ctx())).toBe(expected)
  })

  it('is the content decision for consent-bound documents', () => {
    for (const [, member, doc, , c] of [...rows, ...holdRows]) {
      if (!isConsentBound(doc.kind)) continue
      expect(mayHold(member, doc, c ?? ctx())).toBe(mayReceive(member, doc, c ?? ctx()).allowed)
    }
  })
})

describe('mayWrite', () => {
  const writeRows: RuleRow[] = [
    ['roster: its steward', ALICE, ROSTER_A, true],
    ['roster: a member', BOB, ROSTER_A, false],
    ['roster: a removed member', DAVE, ROSTER_A, false],
    ['roster: the steward of a linked tribe', ERIN, ROSTER_A, false],
    [
      'roster: of an unknown tribe',
      ALICE,
      { kind: 'roster', tribeId: 'roster_bdddddddddddddddddddddddda' },
      false,
    ],
    ['profile: its member', CAROL, PROFILE_CAROL, true],
    ['profile: a steward', ALICE, PROFILE_CAROL, false],
    ['narrative: its author', ALICE, narrative(genesis(T)), true],
    ['narrative: a co-author', BOB, narrative(genesis(T, [ALICE, BOB])), true],
    [
      'narrative: a co-author who consented to nobody',
      BOB,
      narrative(genesis(T, [ALICE, BOB]), audienceRecord(BOB, P, 11)),
      true,
    ],
    ['narrative: a member who may read it', CAROL, narrative(genesis(T)), false],
    [
      'narrative: a co-author added by a non-author',
      BOB,
      narrative(genesis(T), coauthor(BOB, CAROL)),
      false,
    ],
    [
      'narrative: a co-author added by its author',
      BOB,
      narrative(genesis(T), coauthor(BOB, ALICE)),
      true,
    ],
    ['withdrawn: not even its author', ALICE, withdrawnT, false],
    ['withdrawn by a removed co-author: the other author', ALICE, withdrawnByRemoved, false],
    ['echo: its responder', BOB, echo([genesis(T)]), true],
    ['echo: the narrative author', ALICE, echo([genesis(T)]), false],
    [
      'echo: responder after the narrative narrowed',
      BOB,
      echo([genesis(T), audienceRecord(ALICE, P, 20)]),
      true,
    ],
    ['echo: narrative withdrawn', BOB, echo([genesis(T), withdraw(ALICE)]), false],
    ['link: not even a steward of either tribe', ALICE, LINK, false],
    ['link: nor the other', ERIN, LINK, false],
  ]
  it.each(writeRows)('%s', (_name, member, doc, expected, c) => {
    expect(mayWrite(member, doc, c ?? ctx())).toBe(expected)
  })
})
