import { afterEach, describe, expect, it } from 'vitest'
import type { TapestryNode } from '../src/core/tapestry-node.js'
import type { Envelope, SignedRecord } from '../src/envelope/types.js'
import { filesContaining } from './helpers/store-files.js'
import { makeMember, makeTribe, pull, type TestMember } from './helpers/tribe.js'

/**
 * Misbehaving members built from the real code: a node whose send decisions ignore
 * consent, and one that kept a withdrawn narrative's envelopes and replays them. The
 * honest nodes' stores must stay correct (docs/DESIGN.md, "Invariants" 3 and 4).
 */

/** Every record and envelope `node` holds for the tribe, whoever may receive them. */
async function everything(node: TapestryNode, tribeId: string) {
  // The misbehaving send decision: ask as if the peer were the node itself (it sees all).
  const docs = await node.replication.visibleDocuments(tribeId, node.memberId)
  const records: SignedRecord[] = []
  const envelopes: Envelope[] = []
  for (const d of docs) {
    records.push(...(await node.replication.recordsFor(d.docId, node.memberId)))
    envelopes.push(...(await node.replication.envelopesFor(d.docId, new Map(), node.memberId)))
  }
  return { records, envelopes }
}

describe('misbehaving members cannot corrupt honest stores', () => {
  const members: TestMember[] = []
  afterEach(async () => {
    for (const m of members.splice(0)) await m.cleanup()
  })

  it('content pushed to a member outside its audience is refused and never stored (invariant 3)', async () => {
    const [ada, mal, cy] = await Promise.all(['Ada', 'Mal', 'Cy'].map(makeMember))
    members.push(ada!, mal!, cy!)
    const { tribeId } = await makeTribe('Kin', [ada!, mal!, cy!])
    const marker = 'circle-marker-9d1e'
    const { narrativeId } = await ada!.node.narrate({
      title: 'For Mal only',
      body: marker,
      audience: `circle:${mal!.node.memberId}`,
    })
    await pull(ada!.node, mal!.node, tribeId)
    await pull(ada!.node, cy!.node, tribeId)
    expect((await mal!.node.show(narrativeId)).body).toBe(marker)

    // Mal forwards everything to Cy, ignoring consent.
    const all = await everything(mal!.node, tribeId)
    await cy!.node.replication.ingestRecords(all.records, mal!.node.memberId)
    const result = await cy!.node.replication.ingestEnvelopes(all.envelopes, mal!.node.memberId)
    expect(
      result.rejected.some((r) => r.code === 'NOT_IN_AUDIENCE' && r.docId === narrativeId),
    ).toBe(true)
    await cy!.close()
    expect(await holds(cy!.dataDir, marker)).toBe(false)
    expect(await holds(mal!.dataDir, marker)).toBe(true)
  })

  it('a member replaying a withdrawn narrative cannot resurrect it (invariant 4)', async () => {
    const [ada, mal, bo] = await Promise.all(['Ada', 'Mal', 'Bo'].map(makeMember))
    members.push(ada!, mal!, bo!)
    const { tribeId } = await makeTribe('Kin', [ada!, mal!, bo!])
    const marker = 'withdrawn-marker-51c2'
    const { narrativeId } = await ada!.node.narrate({ title: 'Soon gone', body: marker })
    await pull(ada!.node, mal!.node, tribeId)
    await pull(ada!.node, bo!.node, tribeId)
    // Mal keeps a copy of the narrative's records and envelopes before the withdrawal.
    const all = await everything(mal!.node, tribeId)
    const kept = {
      records: all.records.filter((r) => r.docId === narrativeId),
      envelopes: all.envelopes.filter((e) => e.docId === narrativeId),
    }
    expect(kept.envelopes.length).toBeGreaterThan(0)

    await ada!.node.withdraw(narrativeId)
    await pull(ada!.node, bo!.node, tribeId)
    await pull(ada!.node, mal!.node, tribeId)
    await bo!.close()
    expect(await holds(bo!.dataDir, marker)).toBe(false)
    const boNode = await bo!.reopen()

    // Mal replays the pre-withdrawal records and envelopes to Bo and to Ada.
    for (const target of [boNode, ada!.node]) {
      await target.replication.ingestRecords(kept.records, mal!.node.memberId)
      const r = await target.replication.ingestEnvelopes(kept.envelopes, mal!.node.memberId)
      expect(r.applied).toBe(0)
      const shown = await target.show(narrativeId)
      expect(shown.status).toBe('withdrawn')
      expect(shown.body).toBe('')
    }
    await bo!.close()
    await ada!.close()
    expect(await holds(bo!.dataDir, marker)).toBe(false)
    expect(await holds(ada!.dataDir, marker)).toBe(false)
  })
})

const holds = async (dir: string, marker: string) => (await filesContaining(dir, marker)).length > 0
