/**
 * Test helpers: fixed member ids and an in-memory replication harness in the
 * spirit of yjs/tests/testHelper.js — N replicas, seeded random delivery order,
 * duplicated deliveries, failures that print the seed.
 */
import * as prng from 'lib0/prng'
import * as Y from 'yjs'
import { applyPeerUpdate, boundDocId } from '../src/index.js'

export const ALICE = '12D3KooWEkYz5kDpJHuYXPzqXNm5YsEUCiNctkdmi5vcnst7aKKX'
export const BOB = '12D3KooWGr39X5f8dY7ZrCka3dsZa1A7mdtrmifka7mDChq1CeNL'
export const CAROL = '12D3KooWJwXJxR6SxnKbB1WJZtz3b95mJvw4Zi8wq6s7422PvLxw'
export const DAVE = '12D3KooWM31UPkXmJ2XcVpG369HUiCciYKzV9qcmU6Eta5Qk4bHG'
export const ERIN = '12D3KooWP8Vdq5y5dGjdjK8pmg9tmGYarSFyHWR6VjaJ7E54FxSR'
export const FRANK = '12D3KooWRDyoGNm5ikZcTfVvm2XBD44A6w9qd9H1YcEyEapFeL6g'
export const GRACE = '12D3KooWA2EJ4fd6uR7gm4VJzTvmBbD57beXkJaNbXGgimjvNeFd'
export const HEIDI = '12D3KooWC7iTW14REfKi5sF3Wj3FCj8igXAmdGrnvAw2XZ8VXyFY'

export const TRIBE_A = 'roster_baaaaaaaaaaaaaaaaaaaaaaaaaa'
export const TRIBE_B = 'roster_bbbbbbbbbbbbbbbbbbbbbbbbbba'
/** Narratives created by ALICE (ids bound to her with these nonces). */
export const NONCE_1 = 'bnonceone'
export const NONCE_2 = 'bnoncetwo'
export const NARRATIVE_1 = boundDocId('narrative', ALICE, NONCE_1)
export const NARRATIVE_2 = boundDocId('narrative', ALICE, NONCE_2)
/** An echo by BOB (id bound to him). */
export const ECHO_NONCE = 'bnonceecho'
export const ECHO_1 = boundDocId('echo', BOB, ECHO_NONCE)

const REMOTE = Symbol('remote')

export interface Network {
  readonly gen: prng.PRNG
  readonly docs: Y.Doc[]
  /** Delivers up to `n` queued updates in random order, sometimes twice. */
  deliverSome(n?: number): void
  /** Delivers everything queued (random order, with duplicates) until quiet. */
  flush(): void
}

/** `n` replicas of a document started by `init` on replica 0 and synced to the rest. */
export function network(seed: number, n: number, init: (doc: Y.Doc) => void): Network {
  const gen = prng.create(seed)
  const docs = Array.from({ length: n }, (_, i) => {
    const doc = new Y.Doc()
    doc.clientID = i + 1 + seed * 16
    return doc
  })
  const inbox: { to: number; update: Uint8Array }[] = []
  docs.forEach((doc, i) => {
    doc.on('update', (update: Uint8Array, origin: unknown) => {
      if (origin === REMOTE) return
      for (let j = 0; j < n; j++) if (j !== i) inbox.push({ to: j, update })
    })
  })
  init(docs[0]!)
  const deliver = (): void => {
    const k = prng.int32(gen, 0, inbox.length - 1)
    const [msg] = inbox.splice(k, 1)
    if (msg === undefined) return
    const r = applyPeerUpdate(docs[msg.to]!, msg.update, REMOTE)
    if (!r.ok) throw r.error
    // duplicate deliveries: re-queue about one message in five
    if (prng.int32(gen, 0, 4) === 0) inbox.push(msg)
  }
  // everyone starts from the created document
  while (inbox.length > 0) deliver()
  return {
    gen,
    docs,
    deliverSome(count = prng.int32(gen, 0, 3)) {
      for (let i = 0; i < count && inbox.length > 0; i++) deliver()
    },
    flush() {
      while (inbox.length > 0) deliver()
    },
  }
}

/** Runs `body(seed)` for several seeds; a failure names the seed (replay with SEED=n). */
export function forSeeds(count: number, body: (seed: number) => void): void {
  const fixed = process.env.SEED
  const seeds = fixed ? [Number(fixed)] : Array.from({ length: count }, (_, i) => i + 1)
  for (const seed of seeds) {
    try {
      body(seed)
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e)
      throw new Error(`failed with seed ${seed} (replay: SEED=${seed}): ${message}`, { cause: e })
    }
  }
}

/** All replicas have the same state vector and the same validated snapshot. */
export function assertConverged<T>(
  docs: readonly Y.Doc[],
  read: (doc: Y.Doc) => { ok: boolean; value?: T; error?: unknown },
): T {
  const first = read(docs[0]!)
  if (!first.ok) throw new Error(`replica 0 does not read: ${String(first.error)}`)
  const sv0 = Y.encodeStateVector(docs[0]!).toString()
  const json0 = JSON.stringify(first.value)
  docs.forEach((doc, i) => {
    const r = read(doc)
    if (!r.ok) throw new Error(`replica ${i} does not read: ${String(r.error)}`)
    if (Y.encodeStateVector(doc).toString() !== sv0)
      throw new Error(`replica ${i}: state vector differs`)
    const json = JSON.stringify(r.value)
    if (json !== json0) throw new Error(`replica ${i} differs:\n${json}\nvs\n${json0}`)
  })
  return first.value as T
}

export function pick<T>(gen: prng.PRNG, items: readonly T[]): T {
  return items[prng.int32(gen, 0, items.length - 1)]!
}
