/**
 * Concurrent changes on 2–5 replicas, seeded random delivery order with
 * duplicates: all replicas end identical (state vectors and validated snapshots).
 */
import * as prng from 'lib0/prng'
import { describe, expect, it } from 'vitest'
import {
  acceptLink,
  addSwarmKeyEpoch,
  admitMember,
  CATEGORIES,
  createEcho,
  createLink,
  createNarrative,
  createProfile,
  createRoster,
  echoBody,
  foldRoster,
  narrativeBody,
  readEcho,
  readLink,
  readNarrative,
  readProfile,
  readRoster,
  removeMember,
  revokeInvitation,
  setCategoryDefault,
  setMemberRole,
  setMood,
  setNarrativeTitle,
  setProfileName,
  setTags,
  setTribeName,
  type WriteResult,
} from '../src/index.js'
import {
  ALICE,
  assertConverged,
  BOB,
  CAROL,
  DAVE,
  ERIN,
  FRANK,
  forSeeds,
  GRACE,
  HEIDI,
  NARRATIVE_1,
  network,
  pick,
  TRIBE_A,
  TRIBE_B,
} from './helpers.js'

const SEEDS = 25
const PEOPLE = [ALICE, BOB, CAROL, DAVE, ERIN, FRANK, GRACE, HEIDI]
const must = (r: WriteResult): void => {
  if (!r.ok) throw r.error
}

/** Runs `steps` random ops on random replicas interleaved with random deliveries. */
function run(
  seed: number,
  init: Parameters<typeof network>[2],
  op: (doc: import('yjs').Doc, gen: prng.PRNG, step: number) => void,
  steps = 40,
) {
  const gen = prng.create(seed * 7919)
  const n = prng.int32(gen, 2, 5)
  const net = network(seed, n, init)
  for (let step = 0; step < steps; step++) {
    op(pick(net.gen, net.docs), net.gen, step)
    net.deliverSome()
  }
  net.flush()
  return net
}

describe('replication converges', () => {
  it('roster', () => {
    forSeeds(SEEDS, (seed) => {
      const net = run(
        seed,
        (doc) =>
          must(
            createRoster(doc, {
              tribeId: TRIBE_A,
              name: 'Riverside',
              createdAt: 1,
              founder: { memberId: ALICE, name: 'Alice' },
            }),
          ),
        (doc, gen, step) => {
          const who = pick(gen, PEOPLE)
          switch (prng.int32(gen, 0, 5)) {
            case 0:
              return must(
                admitMember(doc, {
                  memberId: who,
                  name: prng.word(gen, 1, 10) || 'x',
                  joinedAt: step,
                  admittedBy: ALICE,
                  invitationId: `inv-${step}`,
                }),
              )
            case 1:
              return must(
                removeMember(doc, {
                  memberId: who,
                  by: pick(gen, [ALICE, BOB]),
                  at: step,
                  cutoff: { [`${who}/w1`]: prng.int32(gen, 0, 50) },
                }),
              )
            case 2:
              return must(
                addSwarmKeyEpoch(doc, {
                  epoch: prng.int32(gen, 1, 4),
                  createdAt: step,
                  createdBy: ALICE,
                  sealedKeys: { [who]: btoa(String(step)) },
                }),
              )
            case 3:
              return must(
                revokeInvitation(doc, { invitationId: `inv-${step}`, by: ALICE, at: step }),
              )
            case 4:
              return must(setTribeName(doc, `Riverside ${step}`))
            default: {
              const r = setMemberRole(doc, who, pick(gen, ['steward', 'member'] as const))
              if (!r.ok && r.error.code !== 'ERR_SCHEMA_VALIDATION') throw r.error
            }
          }
        },
      )
      const snapshot = assertConverged(net.docs, (d) => readRoster(d))
      const views = net.docs.map((d) => {
        const r = readRoster(d)
        if (!r.ok) throw r.error
        const v = foldRoster(r.value)
        return JSON.stringify([v.members, v.stewards, v.currentEpoch, PEOPLE.map(v.cutoff)])
      })
      expect(new Set(views).size).toBe(1)
      expect(snapshot.tribeId).toBe(TRIBE_A)
    })
  })

  it('profile', () => {
    forSeeds(SEEDS, (seed) => {
      const net = run(
        seed,
        (doc) => must(createProfile(doc, { tribeId: TRIBE_A, memberId: BOB, name: 'Bob' })),
        (doc, gen, step) => {
          if (prng.bool(gen)) return must(setProfileName(doc, `Bob ${step}`))
          const audience = pick(gen, [
            { kind: 'private' },
            { kind: 'tribe' },
            { kind: 'federated' },
            { kind: 'circle', members: [ALICE, CAROL] },
          ] as const)
          // equal timestamps on purpose: ties must still resolve the same everywhere
          must(setCategoryDefault(doc, pick(gen, CATEGORIES), audience, prng.int32(gen, 0, 5)))
        },
      )
      const s = assertConverged(net.docs, (d) => readProfile(d))
      expect(s.history.length).toBeGreaterThanOrEqual(0)
    })
  })

  it('narrative (concurrent body edits, title, tags, mood)', () => {
    forSeeds(SEEDS, (seed) => {
      const net = run(
        seed,
        (doc) =>
          must(
            createNarrative(doc, {
              tribeId: TRIBE_A,
              title: 'Start',
              body: 'Once upon a time.',
              tags: ['a'],
              mood: null,
              createdAt: 1,
            }),
          ),
        (doc, gen, step) => {
          const body = narrativeBody(doc)
          switch (prng.int32(gen, 0, 4)) {
            case 0:
              return must(setNarrativeTitle(doc, `Title ${step}`))
            case 1:
              return must(setTags(doc, [prng.word(gen, 1, 6) || 't', `s${step}`]))
            case 2:
              return must(setMood(doc, pick(gen, ['joyful', 'tender', null])))
            case 3:
              if (body.length > 0) {
                const at = prng.int32(gen, 0, body.length - 1)
                body.delete(at, Math.min(prng.int32(gen, 1, 4), body.length - at))
              }
              return
            default:
              body.insert(prng.int32(gen, 0, body.length), prng.word(gen, 1, 8))
          }
        },
        60,
      )
      assertConverged(net.docs, (d) => readNarrative(d))
    })
  })

  it('echo', () => {
    forSeeds(SEEDS, (seed) => {
      const net = run(
        seed,
        (doc) =>
          must(
            createEcho(doc, {
              tribeId: TRIBE_A,
              narrativeId: NARRATIVE_1,
              body: 'Yes!',
              createdAt: 2,
            }),
          ),
        (doc, gen) => {
          const body = echoBody(doc)
          body.insert(prng.int32(gen, 0, body.length), prng.word(gen, 1, 5))
        },
      )
      assertConverged(net.docs, (d) => readEcho(d))
    })
  })

  it('link (both stewards accept concurrently)', () => {
    forSeeds(SEEDS, (seed) => {
      const net = run(
        seed,
        (doc) =>
          must(
            createLink(doc, {
              tribeA: { id: TRIBE_A, name: 'A' },
              tribeB: { id: TRIBE_B, name: 'B' },
              terms: ['narratives', 'echoes'],
              proposedBy: ALICE,
              proposedAt: 1,
            }),
          ),
        (doc, gen, step) => {
          const tribeId = pick(gen, [TRIBE_A, TRIBE_B])
          must(acceptLink(doc, { tribeId, steward: tribeId === TRIBE_A ? ALICE : DAVE, at: step }))
        },
        10,
      )
      const s = assertConverged(net.docs, (d) => readLink(d))
      expect(Object.keys(s.acceptances)).toContain(TRIBE_A)
    })
  })
})
