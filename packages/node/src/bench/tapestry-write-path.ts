/**
 * Tapestry's half of `trace-write-path`: the trace typed into a narrative body one Yjs
 * transaction per patch, as an editor makes them, through the real write path:
 * `EnvelopeCoalescer` (gathers the local transactions made while the previous envelope is
 * being signed and stored into one update, encoded from the document; no timer) →
 * `signEnvelope` (Ed25519 via the member's `Identity`) → `LevelEnvelopeStore.appendEnvelopes`
 * (one LevelDB batch with `sync: true` per round).
 * Then the store is closed, measured on disk, and reloaded from envelopes alone (a node
 * that never wrote a snapshot), then again after `putSnapshot` (the fast start-up path).
 *
 * The editor gives the event loop a turn after every `yieldEvery` patches (default 1: each
 * key press is its own event, as in a real editor), so the store's I/O completes and the
 * coalescer's rounds proceed while typing goes on.
 */
import { performance as perf } from 'node:perf_hooks'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import * as Y from 'yjs'
import { clientIdFor } from '../envelope/client-ids.js'
import { EnvelopeCoalescer } from '../envelope/coalescer.js'
import type { Envelope } from '../envelope/types.js'
import { Identity } from '../identity/identity.js'
import { LevelEnvelopeStore } from '../store/level-store.js'
import { bytesOnDisk } from './fs-size.js'
import { applyPatchToYText, assertReplayEquals, type Patch } from './trace.js'

/** A fixed, valid narrative id (`narrative_` + multibase base32 of 16 zero bytes). */
export const BENCH_DOC_ID = `narrative_b${'a'.repeat(26)}`

/**
 * The bench member: an Ed25519 key from a fixed seed and a fixed writer id, so the Yjs
 * client id (derived from both), the signatures (Ed25519 is deterministic) and therefore
 * every byte figure repeat from run to run.
 */
export async function benchIdentity(): Promise<Identity> {
  const seed = new Uint8Array(32).map((_, i) => i + 1)
  const key = await generateKeyPairFromSeed('Ed25519', seed)
  const writerId = Uint8Array.from([0x74, 0x61, 0x70, 0x65, 0x73, 0x74, 0x72, 0x79])
  return new Identity(key, writerId, 'bench')
}

/** The Yjs client id the bench writer must use (and the baselines use too, for equal bytes). */
export async function benchClientId(): Promise<number> {
  const me = await benchIdentity()
  return clientIdFor(me.publicKey, me.writerId)
}

export interface TapestryRunOptions {
  readonly patches: readonly Patch[]
  readonly expected: string
  readonly textName: string
  /** An empty temporary directory for the store. */
  readonly dir: string
  /** Give the event loop a turn after this many patches (default 1). */
  readonly yieldEvery?: number
  progress(message: string): void
  gc(): void
}

export interface TapestryRun {
  /** First patch to last envelope durably stored. */
  readonly seconds: number
  /** Open the store, read its envelopes, rebuild the doc, check the text (no snapshot). */
  readonly reloadSeconds: number
  readonly bytesOnDisk: number
  readonly checkpoints: Array<[number, number]>
  readonly details: Record<string, number | string>
}

export type TapestryOutcome =
  | { readonly wired: true; readonly run: TapestryRun }
  | { readonly wired: false; readonly missing: string }

const turn = () => new Promise<void>((resolve) => setImmediate(resolve))

async function reload(
  dir: string,
  textName: string,
): Promise<{ seconds: number; text: string; envelopes: number; snapshot: boolean }> {
  const t0 = performance.now()
  const store = new LevelEnvelopeStore(dir)
  await store.open()
  const snap = await store.getSnapshot(BENCH_DOC_ID)
  const envs = await store.envelopesSince(BENCH_DOC_ID, snap?.vv ?? new Map())
  const doc = new Y.Doc()
  doc.transact(() => {
    if (snap) Y.applyUpdate(doc, snap.state)
    for (const env of envs) Y.applyUpdate(doc, env.update)
  })
  const text = doc.getText(textName).toString()
  const seconds = (performance.now() - t0) / 1000
  doc.destroy()
  await store.close()
  return { seconds, text, envelopes: envs.length, snapshot: snap !== undefined }
}

export async function runTapestryWritePath(opts: TapestryRunOptions): Promise<TapestryOutcome> {
  const { patches, expected, textName, dir } = opts
  const yieldEvery = Math.max(1, opts.yieldEvery ?? 1)
  const me = await benchIdentity()
  const store = new LevelEnvelopeStore(dir)
  await store.open()

  const doc = new Y.Doc()
  doc.clientID = clientIdFor(me.publicKey, me.writerId)
  const text = doc.getText(textName)
  let envelopes = 0
  let envelopeBytes = 0
  let rounds = 0
  let largestRound = 0
  const persist = async (envs: Envelope[]) => {
    rounds++
    largestRound = Math.max(largestRound, envs.length)
    for (const e of envs) envelopeBytes += e.update.byteLength
    envelopes += envs.length
    await store.appendEnvelopes(envs)
  }
  const coalescer = new EnvelopeCoalescer({
    doc,
    docId: BENCH_DOC_ID,
    signer: me,
    highestSeq: 0,
    persist,
  })

  const every = Math.max(1, Math.ceil(patches.length / 40))
  const checkpoints: Array<[number, number]> = [[0, 0]]
  const elu0 = perf.eventLoopUtilization()
  const t0 = performance.now()
  for (let i = 0; i < patches.length; i++) {
    const patch = patches[i]!
    doc.transact(() => applyPatchToYText(text, patch))
    if ((i + 1) % yieldEvery === 0) await turn()
    if ((i + 1) % every === 0) checkpoints.push([i + 1, (performance.now() - t0) / 1000])
  }
  const typed = (performance.now() - t0) / 1000
  await coalescer.flush()
  const seconds = (performance.now() - t0) / 1000
  const elu = perf.eventLoopUtilization(elu0).utilization
  if (checkpoints.at(-1)![0] !== patches.length) checkpoints.push([patches.length, seconds])
  assertReplayEquals(text.toString(), expected, 'Tapestry (in memory)')
  await coalescer.close()
  const state = Y.encodeStateAsUpdate(doc)
  doc.destroy()
  await store.close()
  const size = await bytesOnDisk(dir)
  opts.progress(
    `Tapestry: ${seconds.toFixed(2)} s (typing done at ${typed.toFixed(2)} s), ` +
      `${envelopes} envelopes in ${rounds} rounds; reloading...`,
  )

  opts.gc()
  const fromEnvelopes = await reload(dir, textName)
  assertReplayEquals(fromEnvelopes.text, expected, 'Tapestry (reloaded from envelopes)')

  // The fast start-up path: an unsigned local snapshot, then nothing left to replay.
  const s0 = performance.now()
  const snapStore = new LevelEnvelopeStore(dir)
  await snapStore.open()
  await snapStore.putSnapshot(BENCH_DOC_ID, {
    state,
    vv: await snapStore.versionVector(BENCH_DOC_ID),
  })
  await snapStore.close()
  const snapshotWrite = (performance.now() - s0) / 1000
  const sizeWithSnapshot = await bytesOnDisk(dir)
  opts.gc()
  const fromSnapshot = await reload(dir, textName)
  assertReplayEquals(fromSnapshot.text, expected, 'Tapestry (reloaded from snapshot)')

  return {
    wired: true,
    run: {
      seconds,
      reloadSeconds: fromEnvelopes.seconds,
      bytesOnDisk: size,
      checkpoints,
      details: {
        'Tapestry typing done s': typed,
        'Tapestry main thread busy (event loop utilisation)': elu,
        'Tapestry envelopes': envelopes,
        'Tapestry persist rounds (sync batches)': rounds,
        'Tapestry updates per envelope (mean)': patches.length / Math.max(1, envelopes),
        'Tapestry largest round (envelopes)': largestRound,
        'Tapestry envelope update bytes': envelopeBytes,
        'Tapestry yield every (patches)': yieldEvery,
        'Tapestry reload from snapshot s': fromSnapshot.seconds,
        'Tapestry snapshot write s': snapshotWrite,
        'Tapestry bytes on disk with snapshot': sizeWithSnapshot,
      },
    },
  }
}
