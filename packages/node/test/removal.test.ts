import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RosterView } from '@tapestry/crdt-schema'
import { afterEach, describe, expect, it } from 'vitest'
import { AuthorityIndex } from '../src/core/authority.js'
import { DocumentSet } from '../src/core/documents.js'
import { admissionsFold } from '../src/core/invitations.js'
import { cutoffKey } from '../src/core/node-replication.js'
import { computeCutoff, epochTainted, Removals } from '../src/core/removal.js'
import type { TapestryNode } from '../src/core/tapestry-node.js'
import { TribeKeys } from '../src/core/tribe-keys.js'
import { paths } from '../src/data-dir.js'
import { writerKey } from '../src/envelope/index.js'
import type { Envelope } from '../src/envelope/types.js'
import { createIdentity, Identity } from '../src/identity/index.js'
import { Tapestry } from '../src/root/tapestry.js'
import { type EnvelopeStore, LevelEnvelopeStore, MemoryEnvelopeStore } from '../src/store/index.js'
import { pull } from './helpers/tribe.js'

/**
 * A member's real TapestryNode, opened on a store the test holds. Removal needs the
 * node's roster writer and folded rosters, which TapestryNode keeps private; until it
 * wires `Removals` itself, a second "device" of the same member (same key, its own
 * writer id and store, synced from the node) runs removal and pushes its roster
 * envelope into the node through the public replication boundary.
 */
interface Rig {
  name: string
  dataDir: string
  store: EnvelopeStore
  node: TapestryNode
  keys: TribeKeys
}

async function makeRig(name: string): Promise<Rig> {
  const dataDir = await mkdtemp(join(tmpdir(), `tapestry-rm-${name.toLowerCase()}-`))
  await createIdentity(dataDir, name)
  const store = new LevelEnvelopeStore(paths.store(dataDir))
  const node = (await Tapestry.open({ dataDir, store })).node
  return { name, dataDir, store, node, keys: new TribeKeys(dataDir) }
}

/** Hands the roster to a node that honest peers no longer send it to (a removed member). */
async function deliverRoster(from: Rig, to: Rig, tribeId: string) {
  await to.node.replication.ingestRecords(
    (await from.store.records(tribeId)).map((r) => r.record),
    from.node.memberId,
  )
  return to.node.replication.ingestEnvelopes(
    await from.store.envelopesSince(tribeId, new Map()),
    from.node.memberId,
  )
}

/** A second device of the rig's member, synced from its node, running Removals. */
async function device(rig: Rig) {
  const side = new MemoryEnvelopeStore()
  await side.open()
  for (const { id } of await rig.store.listDocuments()) {
    for (const r of await rig.store.records(id)) await side.putRecord(r.record, r.id)
    await side.appendEnvelopes(await rig.store.envelopesSince(id, new Map()))
  }
  const produced: Envelope[] = []
  const me = rig.node.identity
  const identity = new Identity(me.privateKey, new Uint8Array(randomBytes(8)), rig.name)
  const authority: AuthorityIndex = new AuthorityIndex({
    records: (id) => side.records(id),
    doc: (id) => docs.doc(id),
    listDocuments: () => side.listDocuments(),
    hasContent: async (id) => (await side.versionVector(id)).size > 0,
    admissions: admissionsFold,
  })
  const docs: DocumentSet = new DocumentSet(side, identity, {
    event: () => {},
    written: (id) => authority.invalidate(id),
    stored: (item) => {
      if (item.type === 'envelope') produced.push(item.envelope)
    },
  })
  const removals = new Removals({
    identity: me,
    rosters: () => authority.rosters(),
    tribeOf: (id) => authority.tribeOf(id),
    store: rig.store,
    changeRoster: (id, fn) => docs.change(id, fn),
    keys: rig.keys,
    now: () => Date.now(),
  })
  return {
    removals,
    roster: async (tribeId: string) => (await authority.rosters()).get(tribeId),
    /** Pushes what this device wrote into the member's node, then closes the device. */
    async push() {
      const e = await rig.node.replication.ingestEnvelopes(produced.splice(0), me.memberId)
      expect(e.rejected).toEqual([])
      await docs.close()
      await side.close()
    },
  }
}

async function removeOn(rig: Rig, tribeId: string, memberId: string) {
  const d = await device(rig)
  try {
    return await d.removals.remove(tribeId, memberId)
  } finally {
    await d.push()
  }
}

/**
 * Follow the roster's epochs, as the node's roster-change hook does: the node has
 * usually rotated already when the roster reached it (then the outcome is `current`).
 */
async function follow(rig: Rig, tribeId: string) {
  const d = await device(rig)
  const outcome = await d.removals.applyEpochs(tribeId)
  const roster = await d.roster(tribeId)
  await d.push()
  return { outcome, roster }
}

function summary(view: RosterView | undefined) {
  return {
    members: view?.members,
    stewards: view?.stewards,
    epoch: view?.currentEpoch?.epoch,
    createdBy: view?.currentEpoch?.createdBy,
    sealedTo: Object.keys(view?.currentEpoch?.sealedKeys ?? {}).sort(),
  }
}

async function tribeOf(founder: Rig, others: Rig[], stewards: Rig[] = []) {
  const { tribeId } = await founder.node.createTribe('River Folk')
  const key = await founder.node.swarmKey(tribeId)
  for (const m of others) {
    await founder.node.admitMember(tribeId, {
      memberId: m.node.memberId,
      name: m.name,
      role: stewards.includes(m) ? 'steward' : 'member',
    })
    await m.node.adoptSwarmKey(tribeId, key)
  }
  for (const m of others) await pull(founder.node, m.node, tribeId)
  return { tribeId, key }
}

describe('removal rotates the swarm key', () => {
  const rigs: Rig[] = []
  afterEach(async () => {
    for (const r of rigs.splice(0)) {
      await r.node.close()
      await rm(r.dataDir, { recursive: true, force: true })
    }
  })
  async function rig(name: string) {
    const r = await makeRig(name)
    rigs.push(r)
    return r
  }

  it('cuts off the removed member, seals a new key to the others, and they all switch', async () => {
    const ada = await rig('Ada')
    const bo = await rig('Bo')
    const cy = await rig('Cy')
    const { tribeId, key: k0 } = await tribeOf(ada, [bo, cy])
    const { narrativeId } = await bo.node.narrate({ tribeId, title: 'Before', body: 'kept' })
    await pull(bo.node, ada.node, tribeId)
    await pull(bo.node, cy.node, tribeId)

    const bosWriter = writerKey(bo.node.identity.publicKey, bo.node.identity.writerId)
    const ref = await device(ada)
    const tribeOfDoc = async (id: string) =>
      (await ref.roster(tribeId)) && id === narrativeId ? tribeId : undefined
    expect(
      await computeCutoff({ store: ada.store, tribeOf: tribeOfDoc }, tribeId, bo.node.memberId),
    ).toEqual({
      [cutoffKey(narrativeId, bosWriter)]: 1,
    })
    await ref.push()

    expect(await removeOn(ada, tribeId, bo.node.memberId)).toEqual({
      tribeId,
      memberId: bo.node.memberId,
      epoch: 1,
    })
    const adaKeys = await ada.keys.keys(tribeId)
    expect(adaKeys.epoch).toBe(1)
    expect(adaKeys.current).not.toEqual(k0)
    expect(adaKeys.previous.map((p) => [p.epoch, p.key])).toEqual([[0, k0]])
    expect(await ada.node.swarmKey(tribeId)).toEqual(adaKeys.current)
    expect((await ada.node.members({ tribeId })).map((m) => m.memberId)).not.toContain(
      bo.node.memberId,
    )

    // Cy learns the removal from Ada and follows the new epoch.
    await pull(ada.node, cy.node, tribeId)
    const cyFollow = await follow(cy, tribeId)
    expect(cyFollow.outcome).toMatchObject({ epoch: 1 })
    expect(['rotated', 'current']).toContain(cyFollow.outcome.kind)
    expect(summary(cyFollow.roster).sealedTo).toEqual([ada.node.memberId, cy.node.memberId].sort())
    const cyKeys = await cy.keys.keys(tribeId)
    expect(cyKeys.current).toEqual(adaKeys.current)
    expect(cyKeys.previous.map((p) => p.key)).toEqual([k0])
    const cut = cyFollow.roster?.cutoff(bo.node.memberId)
    expect(cut?.[cutoffKey(narrativeId, bosWriter)]).toBe(1)
    expect(Object.keys(cut ?? {}).length).toBeGreaterThanOrEqual(2) // + Bo's profile
    expect(await follow(cy, tribeId).then((f) => f.outcome)).toEqual({ kind: 'current', epoch: 1 })

    // Bo keeps writing; nothing after the cut-off is accepted by Cy, whatever arrives.
    await bo.node.narrate({ tribeId, title: 'After', body: 'refused' })
    const late = await pull(bo.node, cy.node, tribeId)
    expect(late.e.rejected.length).toBeGreaterThan(0)
    expect((await cy.node.narratives({ tribeId })).map((n) => n.title)).toEqual(['Before'])
    // Honest nodes send Bo nothing more, not even the roster.
    const { narrativeId: fresh } = await ada.node.narrate({ tribeId, title: 'New', body: 'x' })
    expect(await ada.node.replication.visibleDocuments(tribeId, bo.node.memberId)).toEqual([])
    expect(await ada.node.replication.envelopesFor(fresh, new Map(), bo.node.memberId)).toEqual([])
    expect((await ada.node.replication.networks()).map((n) => n.id)).toEqual([tribeId])

    // If the removal reaches Bo anyway, Bo's node forgets the tribe's keys.
    await deliverRoster(ada, bo, tribeId)
    expect((await follow(bo, tribeId)).outcome).toEqual({ kind: 'removed' })
    expect(await bo.keys.list()).toEqual([])
    await expect(bo.node.swarmKey(tribeId)).rejects.toMatchObject({ code: 'NO_SWARM_KEY' })
    expect(await bo.node.replication.networks()).toEqual([])
  })

  it('only a steward removes; not the last steward themself; not twice; not a stranger', async () => {
    const ada = await rig('Ada')
    const bo = await rig('Bo')
    const cy = await rig('Cy')
    const { tribeId } = await tribeOf(ada, [bo, cy], [bo])
    const code = (p: Promise<unknown>) =>
      p.then(
        () => 'ok',
        (e: { code?: string }) => e.code,
      )
    expect(await code(removeOn(cy, tribeId, bo.node.memberId))).toBe('FORBIDDEN')
    expect(await code(removeOn(ada, tribeId, 'not-a-member'))).toBe('NOT_FOUND')
    await removeOn(ada, tribeId, cy.node.memberId)
    expect(await code(removeOn(ada, tribeId, cy.node.memberId))).toBe('ALREADY_REMOVED')
    // Bo is another steward: Ada may remove herself; her epoch is then re-keyed by Bo.
    await pull(ada.node, bo.node, tribeId)
    const boFollow = await follow(bo, tribeId)
    expect(boFollow.outcome).toMatchObject({ epoch: 1 })
    expect(['rotated', 'current']).toContain(boFollow.outcome.kind)
    await pull(bo.node, ada.node, tribeId)
    expect(await removeOn(ada, tribeId, ada.node.memberId)).toMatchObject({ epoch: 2 })
    expect(await ada.keys.list()).toEqual([])
    await deliverRoster(ada, bo, tribeId)
    const healed = await follow(bo, tribeId)
    expect(healed.outcome).toMatchObject({ epoch: 3 })
    expect(['rotated', 'current']).toContain(healed.outcome.kind)
    expect(summary(healed.roster)).toMatchObject({
      members: [bo.node.memberId],
      stewards: [bo.node.memberId],
      createdBy: bo.node.memberId,
      sealedTo: [bo.node.memberId],
    })
    // Bo is now the last steward.
    expect(await code(removeOn(bo, tribeId, bo.node.memberId))).toBe('USAGE')
  })

  /** Full pulls between every pair of nodes that still talk, then every node follows. */
  async function converge(all: Rig[], tribeId: string, rounds = 4) {
    for (let i = 0; i < rounds; i++) {
      for (const a of all) for (const b of all) if (a !== b) await pull(a.node, b.node, tribeId)
      for (const r of all) await follow(r, tribeId)
    }
  }

  it('two stewards removing two members concurrently end in one roster and one clean key', async () => {
    const ada = await rig('Ada')
    const bo = await rig('Bo')
    const cy = await rig('Cy')
    const dee = await rig('Dee')
    const eve = await rig('Eve')
    const { tribeId } = await tribeOf(ada, [bo, cy, dee, eve], [bo])
    await removeOn(ada, tribeId, cy.node.memberId)
    await removeOn(bo, tribeId, dee.node.memberId)
    // Before they meet, each steward made its own epoch 1.
    expect(await ada.keys.keys(tribeId)).toMatchObject({ epoch: 1 })
    expect(await bo.keys.keys(tribeId)).toMatchObject({ epoch: 1 })
    expect(await ada.node.swarmKey(tribeId)).not.toEqual(await bo.node.swarmKey(tribeId))

    const remaining = [ada, bo, eve]
    await converge([ada, bo, cy, dee, eve], tribeId)
    const views = []
    for (const r of remaining) views.push((await follow(r, tribeId)).roster)
    const first = summary(views[0])
    expect(first.members).toEqual([ada.node.memberId, bo.node.memberId, eve.node.memberId].sort())
    expect(first.epoch).toBe(2) // epoch 1's winner was sealed to a removed member: re-keyed
    expect(first.createdBy).toBe(first.stewards?.[0])
    expect(epochTainted(views[0] as RosterView)).toBe(false)
    for (const v of views) expect(summary(v)).toEqual(first)
    const key = await ada.node.swarmKey(tribeId)
    for (const r of remaining) {
      expect(await r.keys.keys(tribeId)).toMatchObject({ epoch: 2, current: key })
    }
    // The losing epoch-1 key is still accepted for the grace period on its maker's node.
    for (const r of [ada, bo]) {
      expect((await r.keys.keys(tribeId)).previous.some((p) => p.epoch === 1)).toBe(true)
    }
  })

  /**
   * Two stewards removing each other. Each removal names the other's cut-off, which
   * excludes the other's (concurrent) removal. Every node settles the pair the same
   * way whatever it hears first (core/mutual-removal.ts): the earlier removal wins,
   * here Ada's (she removes first); a node that took Bo's first drops it for Ada's.
   */
  async function mutual(names: string[]) {
    const [ada, bo, cy, dee] = (await Promise.all(names.map((n) => rig(n)))) as [Rig, Rig, Rig, Rig]
    const { tribeId } = await tribeOf(ada, [bo, cy, dee], [bo])
    await removeOn(ada, tribeId, bo.node.memberId)
    await removeOn(bo, tribeId, ada.node.memberId)
    return { ada, bo, cy, dee, tribeId }
  }

  it('two stewards removing each other: members hearing the same removal first agree', async () => {
    const { ada, bo, cy, dee, tribeId } = await mutual(['Ada', 'Bo', 'Cy', 'Dee'])
    for (const m of [cy, dee]) await pull(ada.node, m.node, tribeId)
    for (const m of [cy, dee]) {
      const late = await pull(bo.node, m.node, tribeId)
      expect(late.e.rejected.map((r) => r.docId)).toContain(tribeId)
    }
    await converge([ada, cy, dee], tribeId)
    const views = []
    for (const r of [ada, cy, dee]) views.push(summary((await follow(r, tribeId)).roster))
    expect(views[0]).toMatchObject({
      members: [ada.node.memberId, cy.node.memberId, dee.node.memberId].sort(),
      stewards: [ada.node.memberId],
      epoch: 1,
      createdBy: ada.node.memberId,
    })
    for (const v of views) expect(v).toEqual(views[0])
    const key = await ada.node.swarmKey(tribeId)
    for (const r of [cy, dee]) expect(await r.node.swarmKey(tribeId)).toEqual(key)
    // Bo's node drops its own (later) removal of Ada for hers: Bo is removed there too.
    await deliverRoster(ada, bo, tribeId)
    const boFollow = await follow(bo, tribeId)
    expect(boFollow.outcome).toEqual({ kind: 'removed' })
    expect(summary(boFollow.roster)).toEqual(views[0])
    expect(await bo.keys.list()).toEqual([])
  })

  it('two stewards removing each other: all members agree whatever the order', async () => {
    const { ada, bo, cy, dee, tribeId } = await mutual(['Ada', 'Bo', 'Cy', 'Dee'])
    await pull(ada.node, cy.node, tribeId)
    await pull(bo.node, dee.node, tribeId)
    await converge([ada, bo, cy, dee], tribeId)
    const views = []
    for (const r of [ada, cy, dee]) views.push(summary((await follow(r, tribeId)).roster))
    expect(views[0]).toEqual({
      members: [ada.node.memberId, cy.node.memberId, dee.node.memberId].sort(),
      stewards: [ada.node.memberId],
      epoch: 1,
      createdBy: ada.node.memberId,
      sealedTo: [ada.node.memberId, cy.node.memberId, dee.node.memberId].sort(),
    })
    for (const v of views) expect(v).toEqual(views[0])
    const key = await ada.node.swarmKey(tribeId)
    for (const r of [cy, dee]) expect(await r.node.swarmKey(tribeId)).toEqual(key)
    // Nobody sends Bo anything once he is removed; handed Ada's roster, he agrees too.
    await deliverRoster(ada, bo, tribeId)
    expect((await follow(bo, tribeId)).outcome).toEqual({ kind: 'removed' })
    expect(await bo.keys.list()).toEqual([])
  })

  it('two stewards removing each other: a member handed both at once keeps the earlier', async () => {
    const { ada, bo, cy, dee, tribeId } = await mutual(['Ada', 'Bo', 'Cy', 'Dee'])
    // Bo's (later) removal first, in the same call as Ada's.
    const both = [
      ...(await bo.store.envelopesSince(tribeId, new Map())),
      ...(await ada.store.envelopesSince(tribeId, new Map())),
    ]
    await cy.node.replication.ingestEnvelopes(both, ada.node.memberId)
    expect(summary((await follow(cy, tribeId)).roster)).toMatchObject({
      members: [ada.node.memberId, cy.node.memberId, dee.node.memberId].sort(),
      stewards: [ada.node.memberId],
      epoch: 1,
      createdBy: ada.node.memberId,
    })
    expect(await cy.node.swarmKey(tribeId)).toEqual(await ada.node.swarmKey(tribeId))
  })
})
