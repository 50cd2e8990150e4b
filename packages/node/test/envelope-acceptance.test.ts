import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  type Acceptance,
  type AcceptanceContext,
  acceptEnvelope,
  BadSignatureError,
  BeyondCutoffError,
  clientIdFor,
  type Envelope,
  ForeignClientError,
  GapBuffer,
  MalformedEnvelopeError,
  NotAuthorizedError,
  signEnvelope,
  verifyEnvelope,
  writerKey,
} from '../src/envelope/index.js'
import { createIdentity, type Identity } from '../src/identity/index.js'

const docId = 'narrative_baaaaaaaaaaaaaaaaaaaaaaaaaa'
let dirs: string[] = []
let alice: Identity
let bob: Identity

function updateBy(clientId: number, text: string): Uint8Array {
  const doc = new Y.Doc()
  doc.clientID = clientId
  doc.getText('body').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}
const own = (who: Identity, text: string) =>
  updateBy(clientIdFor(who.publicKey, who.writerId), text)

beforeAll(async () => {
  for (const name of ['alice', 'bob']) dirs.push(await mkdtemp(join(tmpdir(), `tapestry-${name}-`)))
  alice = await createIdentity(dirs[0]!, 'Alice')
  bob = await createIdentity(dirs[1]!, 'Bob')
})
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })))
  dirs = []
})

/** An in-memory stand-in for the node: authors, stored envelopes, cut-offs. */
function context(authors: string[], cutoffs: Record<string, number> = {}) {
  const stored = new Map<string, Envelope>()
  const highest = new Map<string, number>()
  const ctx: AcceptanceContext = {
    mayWrite: (_doc, author) => authors.includes(author),
    known: (doc, wk, seq) => stored.get(`${doc}/${wk}/${seq}`),
    highestSeq: (doc, wk) => highest.get(`${doc}/${wk}`) ?? 0,
    cutoff: (_doc, author) => cutoffs[author],
  }
  const store = (env: Envelope) => {
    const wk = writerKey(env.author, env.writerId)
    stored.set(`${env.docId}/${wk}/${env.seq}`, env)
    highest.set(`${env.docId}/${wk}`, env.seq)
  }
  return { ctx, store }
}

const rejected = (o: Acceptance) => (o.kind === 'reject' ? o.error : undefined)

function flip(b: Uint8Array, i = 0): Uint8Array {
  const c = b.slice()
  c[i] = c[i]! ^ 1
  return c
}

describe('signing', () => {
  it('verifies a genuine envelope and refuses every forged field', async () => {
    const env = await signEnvelope(alice, { docId, seq: 1, update: own(alice, 'hello') })
    expect(verifyEnvelope(env)).toBe(true)
    const forgeries: Envelope[] = [
      { ...env, signature: flip(env.signature, 10) },
      { ...env, update: flip(env.update, env.update.byteLength - 3) },
      { ...env, docId: 'narrative_baaaaaaaaaaaaaaaaaaaaaaaaab' },
      { ...env, seq: 2 },
      { ...env, writerId: flip(env.writerId) },
      { ...env, author: bob.publicKey },
    ]
    const { ctx } = context([alice.memberId, bob.memberId])
    for (const f of forgeries) {
      expect(verifyEnvelope(f)).toBe(false)
      const err = rejected(acceptEnvelope(f, ctx))
      expect(err).toBeInstanceOf(BadSignatureError)
      expect(err?.code).toBe('BAD_SIGNATURE')
      expect(err?.docId).toBe(f.docId)
    }
  })

  it('measures sign and verify cost per envelope', async () => {
    const update = own(alice, 'x'.repeat(100))
    const n = 2000
    for (let i = 1; i <= 200; i++)
      verifyEnvelope(await signEnvelope(alice, { docId, seq: i, update }))
    let t = performance.now()
    const envs: Envelope[] = []
    for (let i = 1; i <= n; i++) envs.push(await signEnvelope(alice, { docId, seq: i, update }))
    const signUs = ((performance.now() - t) * 1000) / n
    t = performance.now()
    for (const e of envs) expect(verifyEnvelope(e)).toBe(true)
    const verifyUs = ((performance.now() - t) * 1000) / n
    t = performance.now()
    const { ctx } = context([alice.memberId])
    for (const e of envs.slice(0, 1)) acceptEnvelope(e, ctx)
    for (let i = 0; i < n; i++) acceptEnvelope(envs[0]!, ctx)
    const acceptUs = ((performance.now() - t) * 1000) / n
    console.log(
      `envelope (${update.byteLength} B update): sign ${signUs.toFixed(1)} µs, verify ${verifyUs.toFixed(1)} µs, accept ${acceptUs.toFixed(1)} µs`,
    )
  })
})

describe('acceptEnvelope', () => {
  it('applies in order, holds gaps, ignores identical replays', async () => {
    const { ctx, store } = context([alice.memberId])
    const e1 = await signEnvelope(alice, { docId, seq: 1, update: own(alice, 'a') })
    const e3 = await signEnvelope(alice, { docId, seq: 3, update: own(alice, 'c') })
    expect(acceptEnvelope(e3, ctx)).toEqual({ kind: 'gap', expected: 1 })
    expect(acceptEnvelope(e1, ctx)).toEqual({ kind: 'apply' })
    store(e1)
    expect(acceptEnvelope(e1, ctx)).toEqual({ kind: 'duplicate' })
    expect(acceptEnvelope({ ...e1 }, ctx)).toEqual({ kind: 'duplicate' })
    expect(acceptEnvelope(e3, ctx)).toEqual({ kind: 'gap', expected: 2 })
  })

  it('reports a different envelope under the same writer and seq as equivocation', async () => {
    const { ctx, store } = context([alice.memberId])
    const e1 = await signEnvelope(alice, { docId, seq: 1, update: own(alice, 'one') })
    const e1b = await signEnvelope(alice, { docId, seq: 1, update: own(alice, 'other') })
    store(e1)
    const o = acceptEnvelope(e1b, ctx)
    expect(o.kind).toBe('equivocation')
    if (o.kind === 'equivocation') expect(o.evidence).toEqual([e1, e1b])
  })

  it('refuses a member who may not write the document', async () => {
    const { ctx } = context([alice.memberId])
    const e = await signEnvelope(bob, { docId, seq: 1, update: own(bob, 'intrusion') })
    const err = rejected(acceptEnvelope(e, ctx))
    expect(err).toBeInstanceOf(NotAuthorizedError)
    expect(err?.code).toBe('NOT_AUTHORIZED')
    expect(err?.docId).toBe(docId)
  })

  it('refuses items under another writer’s client id', async () => {
    const { ctx } = context([alice.memberId, bob.memberId])
    const forged = await signEnvelope(bob, { docId, seq: 1, update: own(alice, 'as alice') })
    const err = rejected(acceptEnvelope(forged, ctx))
    expect(err).toBeInstanceOf(ForeignClientError)
    expect(err?.code).toBe('FOREIGN_CLIENT')
    expect(err?.docId).toBe(docId)
  })

  it('refuses a garbage update as malformed', async () => {
    const { ctx } = context([alice.memberId])
    const e = await signEnvelope(alice, { docId, seq: 1, update: new Uint8Array([9, 9, 9, 9]) })
    expect(rejected(acceptEnvelope(e, ctx))).toBeInstanceOf(MalformedEnvelopeError)
    const bad = { ...e, seq: -1 } as Envelope
    expect(rejected(acceptEnvelope(bad, ctx))).toBeInstanceOf(MalformedEnvelopeError)
  })

  it('applies a removed author’s envelopes up to the cut-off, whichever arrives first', async () => {
    const { ctx } = context([], { [alice.memberId]: 2 })
    const e2 = await signEnvelope(alice, { docId, seq: 1, update: own(alice, 'ok') })
    expect(acceptEnvelope(e2, ctx)).toEqual({ kind: 'apply' })
    const e3 = await signEnvelope(alice, { docId, seq: 3, update: own(alice, 'late') })
    const err = rejected(acceptEnvelope(e3, ctx))
    expect(err).toBeInstanceOf(BeyondCutoffError)
    expect(err?.code).toBe('BEYOND_CUTOFF')
  })
})

describe('GapBuffer', () => {
  it('holds envelopes within its bounds and hands them back by seq', async () => {
    const buf = new GapBuffer({ maxPerWriter: 2 })
    const envs = await Promise.all(
      [2, 3, 4].map((seq) => signEnvelope(alice, { docId, seq, update: own(alice, `${seq}`) })),
    )
    expect(buf.add(envs[0]!)).toBe(true)
    expect(buf.add(envs[1]!)).toBe(true)
    expect(buf.add(envs[2]!)).toBe(false)
    const wk = writerKey(alice.publicKey, alice.writerId)
    expect(buf.take(docId, wk, 2)).toBe(envs[0])
    expect(buf.take(docId, wk, 2)).toBeUndefined()
    buf.dropDocument(docId)
    expect(buf.size).toBe(0)
    expect(buf.bytes).toBe(0)
  })
})
