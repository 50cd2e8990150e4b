import '../src/polyfill.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { encodeRecordPayload } from '@tapestry/crdt-schema'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  buildCorpus,
  type Corpus,
  runTarget,
  shares,
  TARGETS,
  unappliableUpdate,
} from '../src/chaos/fuzz.js'
import { clientIdFor } from '../src/envelope/client-ids.js'
import { signEnvelope } from '../src/envelope/sign.js'
import { createIdentity, Identity } from '../src/identity/identity.js'
import { Tapestry } from '../src/root/tapestry.js'

/**
 * The short fuzz run of CI: every decoder that reads a peer's bytes gets a share of
 * TAPESTRY_FUZZ_INPUTS (default 6,000) random, mutated and structure-aware inputs (see
 * src/chaos/fuzz.ts; `npm run fuzz` is the long run). Replay a failure with
 * TAPESTRY_SEED=<the printed seed>.
 */
// A fixed seed, so a test run is repeatable; `npm run fuzz` explores new inputs.
const SEED = Number(process.env.TAPESTRY_SEED ?? 20261123)
const TOTAL = Number(process.env.TAPESTRY_FUZZ_INPUTS ?? 6_000)
const runs = shares(TARGETS, TOTAL)

let corpus: Corpus
beforeAll(async () => {
  corpus = await buildCorpus()
})
afterAll(async () => {
  await corpus?.close()
})

describe(`fuzzing the decoders of peer bytes (seed ${SEED}; replay with TAPESTRY_SEED=${SEED})`, () => {
  it.for(TARGETS.map((t, i) => [t.name, t, runs[i]!, i] as const))(
    '%s: nothing escapes its typed error',
    async ([, target, n, i]) => {
      const r = await runTarget(target, corpus, n, (SEED + i * 7919) % 2 ** 31)
      expect(r.error ?? '', `counterexample: ${r.counterexample}`).toBe('')
      expect(r.runs).toBe(n)
    },
  )

  // Known gap, found by this harness (see the chaos/fuzz note): ingestRecords stores, and
  // recordsFor then relays to every peer, any record that is validly signed, whoever
  // signed it, whatever its kind. It has no effect on authority, but a stranger's junk
  // grows every honest store. This test flips to failing once ingest refuses such records.
  it.fails('a record signed by a stranger is not stored (known gap: it is)', async () => {
    const stranger = new Identity(await generateKeyPair('Ed25519'), new Uint8Array(8), 'x')
    const docId = corpus.envelopes.find((e) => e.docId.startsWith('narrative_'))!.docId
    const before = await corpus.store.stats()
    const rec = await signRecord(stranger, {
      docId,
      kind: 'narrative.withdraw',
      payload: encodeRecordPayload({
        v: 1,
        type: 'narrative.withdraw',
        narrativeId: docId,
        by: stranger.memberId,
        at: Date.now(),
      }),
    })
    await corpus.node.replication.ingestRecords([rec], stranger.memberId)
    expect(await corpus.store.stats()).toEqual(before)
  })

  // Found by the fuzzer (node/ingestEnvelopes (authorized writer)): an author (here a
  // second device of the narrative's author) signs a Yjs update that decodes but throws
  // when applied. A node whose replica was closed used to store and forward it, and from
  // then on every read of the document threw, restarts too. Ingest now refuses it.
  it('an update Yjs cannot apply is refused, not stored', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tapestry-poison-'))
    try {
      const id = await createIdentity(dir, 'Ada')
      let node = (await Tapestry.open({ dataDir: dir })).node
      await node.createTribe('t')
      const { narrativeId } = await node.narrate({ title: 'victim', body: 'It rained for days' })
      const base = new Y.Doc()
      for (const e of await node.replication.envelopesFor(narrativeId, new Map(), node.memberId)) {
        Y.applyUpdate(base, e.update)
      }
      const device = new Identity(id.privateKey, new Uint8Array(8).fill(9), 'Ada 2')
      const update = unappliableUpdate(base, clientIdFor(device.publicKey, device.writerId))
      expect(update).toBeDefined()
      await node.close()
      node = (await Tapestry.open({ dataDir: dir })).node // the document's replica is closed
      try {
        const env = await signEnvelope(device, { docId: narrativeId, seq: 1, update: update! })
        const res = await node.replication.ingestEnvelopes([env], node.memberId)
        expect(res.applied).toBe(0)
        expect((await node.narratives({})).map((n) => n.title)).toEqual(['victim'])
      } finally {
        await node.close()
      }
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
