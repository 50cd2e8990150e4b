/**
 * Fuzzing of every decoder that reads a peer's bytes, with fast-check: random inputs,
 * mutations of valid inputs (taken from a real node: its envelopes, records, Yjs
 * updates, invitation and admission) and structure-aware junk (CBOR of the right shape
 * with wrong values). For each decoder the property is that nothing escapes the
 * boundary but its typed error (or its Result), that whatever it accepts is canonical
 * (re-encodes to the same bytes) where the format says so, and, for the node's ingest,
 * that a real node's narratives and store are unchanged by anything mutated.
 *
 * `runFuzz` is used by `npm run fuzz` (fuzz-main.ts: a long run) and test/fuzz.test.ts
 * (a short one in CI).
 */
import '../polyfill.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import {
  applyPeerUpdate,
  decodeRecordPayload,
  encodeRecordPayload,
  formatAudience,
  parseAudience,
  parseDocId,
  readDocument,
  SchemaError,
} from '@tapestry/crdt-schema'
import { decode as cborDecode, encode as cborEncode } from 'cborg'
import fc from 'fast-check'
import * as Y from 'yjs'
import type { Replication } from '../core/replication.js'
import type { TapestryNode } from '../core/tapestry-node.js'
import { clientIdFor } from '../envelope/client-ids.js'
import {
  encodeEnvelope,
  encodeRecord,
  equalBytes,
  tryDecodeEnvelope,
  tryDecodeRecord,
} from '../envelope/codec.js'
import { MalformedEnvelopeError } from '../envelope/errors.js'
import { signEnvelope } from '../envelope/sign.js'
import type { Envelope, SignedRecord } from '../envelope/types.js'
import { NotFoundError } from '../errors.js'
import { createIdentity, Identity } from '../identity/identity.js'
import { InviteError } from '../invite/errors.js'
import { parseInviteCode } from '../invite/invitation.js'
import { checkJoinRequest, decodeJoinReply, encodeJoinReply } from '../invite/join-protocol.js'
import { BadSwarmKeyError } from '../net/errors.js'
import { decodeSwarmKey, encodeSwarmKey, generateSwarmKey } from '../net/swarm-key.js'
import { Tapestry } from '../root/tapestry.js'
import { LevelEnvelopeStore } from '../store/level-store.js'
import { decodeMessage, encodeMessage } from '../sync/codec.js'
import { SyncDecodeError } from '../sync/errors.js'
import type { SyncMessage } from '../sync/messages.js'

// ---- the corpus: valid inputs from a real node -------------------------------------------

export interface Corpus {
  dir: string
  /** The founder's node, open on a LevelDB store the fuzzer can read stats from. */
  node: TapestryNode
  store: LevelEnvelopeStore
  tribeId: string
  /** A published narrative the node's member is an author of. */
  narrativeId: string
  /** Every envelope and record the node holds (the admission below it does not). */
  envelopes: Envelope[]
  records: SignedRecord[]
  /** Wire frames of every sync message type. */
  frames: Uint8Array[]
  /** Yjs updates with the document id they belong to. */
  updates: { docId: string; update: Uint8Array }[]
  inviteCode: string
  inviteNow: number
  admission: { frame: Uint8Array; memberId: string; now: number }
  joinReplies: Uint8Array[]
  swarmKeyFile: string
  memberIds: string[]
  close(): Promise<void>
}

/** A tribe with every kind of document and record, on a temp directory. */
export async function buildCorpus(): Promise<Corpus> {
  const dir = await mkdtemp(join(tmpdir(), 'tapestry-fuzz-'))
  const [da, db, dc] = ['a', 'b', 'c'].map((n) => join(dir, n)) as [string, string, string]
  await createIdentity(da, 'Ada')
  await createIdentity(db, 'Bo')
  await createIdentity(dc, 'Cy')
  const store = new LevelEnvelopeStore(join(da, 'store'))
  const a = (await Tapestry.open({ dataDir: da, store })).node
  const b = (await Tapestry.open({ dataDir: db })).node
  const c = (await Tapestry.open({ dataDir: dc })).node
  const { tribeId } = await a.createTribe('Fuzz Folk')
  await a.admitMember(tribeId, { memberId: b.memberId, name: 'Bo' })
  const n1 = await a.narrate({ title: 'The flood', body: 'It rained for days', tags: ['river'] })
  const n2 = await a.narrate({ title: 'Quiet', body: 'only us', audience: 'private' })
  await a.narrate({ title: 'Circle', body: 'for Bo', audience: `circle:${b.memberId}` })
  await a.echo(n1.narrativeId, 'I remember')
  await a.coauthor(n1.narrativeId, b.memberId)
  await a.consentSet({ narrativeId: n1.narrativeId, audience: 'tribe' })
  await a.consentSet({ category: 'echoes', audience: 'private' })
  await a.withdraw(n2.narrativeId)
  const invite = await a.invite({ expiresInMs: 3_600_000 })
  await c.join(invite.invite)
  const [pending] = await c.replication.pendingJoins()
  if (!pending) throw new Error('no pending join')
  const envelopes: Envelope[] = []
  const records: SignedRecord[] = []
  for (const { id } of await store.listDocuments()) {
    envelopes.push(...(await a.replication.envelopesFor(id, new Map(), a.memberId)))
    records.push(...(await a.replication.recordsFor(id, a.memberId)))
  }
  await b.close()
  await c.close()
  const wk = `${Buffer.from(envelopes[0]!.author).toString('hex')}:${Buffer.from(envelopes[0]!.writerId).toString('hex')}`
  const messages: SyncMessage[] = [
    { type: 'hello', version: 1, tribeId },
    { type: 'digest', round: 7, count: 12, root: new Uint8Array(16).fill(3) },
    { type: 'match', round: 7 },
    { type: 'buckets', round: 7, hashes: new Uint8Array(256 * 8).fill(1) },
    {
      type: 'vectors',
      round: 9,
      reply: true,
      final: true,
      buckets: [0, 5, 200],
      docs: [
        { docId: n1.narrativeId, vv: new Map([[wk, 3]]), recordIds: ['00'.repeat(32)] },
        { docId: tribeId, vv: new Map(), recordIds: [] },
      ],
    },
    { type: 'records', records: records.slice(0, 3) },
    { type: 'envelopes', envelopes: envelopes.slice(0, 3) },
    { type: 'bye', code: 'BAD_INPUT', message: 'bye' },
  ]
  return {
    dir,
    node: a,
    store,
    tribeId,
    narrativeId: n1.narrativeId,
    envelopes,
    records,
    frames: messages.map(encodeMessage),
    updates: envelopes.map((e) => ({ docId: e.docId, update: e.update })),
    inviteCode: invite.invite,
    inviteNow: Date.now(),
    admission: {
      frame: encodeRecord(pending.admission),
      memberId: c.memberId,
      now: pending.admission.createdAt,
    },
    joinReplies: [
      encodeJoinReply({ ok: true }),
      encodeJoinReply({ ok: false, code: 'EXPIRED', message: 'too late' }),
    ],
    swarmKeyFile: encodeSwarmKey(generateSwarmKey()),
    memberIds: [a.memberId, b.memberId, c.memberId],
    async close() {
      await a.close()
      await rm(dir, { recursive: true, force: true, maxRetries: 3 })
    },
  }
}

// ---- arbitraries ---------------------------------------------------------------------

type Mutation =
  | { op: 'flip'; at: number; bit: number }
  | { op: 'set'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'insert'; at: number; bytes: Uint8Array }
  | { op: 'delete'; at: number; n: number }
  | { op: 'duplicate'; at: number; n: number }
  | { op: 'splice'; at: number; other: number; from: number }
  | { op: 'append'; bytes: Uint8Array }

const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({
    op: fc.constant('set' as const),
    at: fc.nat(),
    value: fc.constantFrom(
      0,
      1,
      0x17,
      0x18,
      0x1f,
      0x40,
      0x5f,
      0x60,
      0x7f,
      0x80,
      0x9f,
      0xa0,
      0xbf,
      0xc0,
      0xf4,
      0xf6,
      0xf7,
      0xf9,
      0xfb,
      0xff,
    ),
  }),
  fc.record({ op: fc.constant('set' as const), at: fc.nat(), value: fc.nat(255) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    op: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    op: fc.constant('delete' as const),
    at: fc.nat(),
    n: fc.integer({ min: 1, max: 16 }),
  }),
  fc.record({
    op: fc.constant('duplicate' as const),
    at: fc.nat(),
    n: fc.integer({ min: 1, max: 32 }),
  }),
  fc.record({ op: fc.constant('splice' as const), at: fc.nat(), other: fc.nat(), from: fc.nat() }),
  fc.record({
    op: fc.constant('append' as const),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
)

function mutate(
  bytes: Uint8Array,
  ms: readonly Mutation[],
  pool: readonly Uint8Array[],
): Uint8Array {
  let b: Uint8Array = Uint8Array.from(bytes)
  for (const m of ms) {
    const at = b.length === 0 ? 0 : ('at' in m ? m.at : 0) % (b.length + 1)
    switch (m.op) {
      case 'flip':
        if (b.length > 0) b[at % b.length] = b[at % b.length]! ^ (1 << m.bit)
        break
      case 'set':
        if (b.length > 0) b[at % b.length] = m.value
        break
      case 'truncate':
        b = b.slice(0, at)
        break
      case 'insert':
        b = concat(b.subarray(0, at), m.bytes, b.subarray(at))
        break
      case 'delete':
        b = concat(b.subarray(0, at), b.subarray(at + m.n))
        break
      case 'duplicate':
        b = concat(b.subarray(0, at + m.n), b.subarray(at))
        break
      case 'splice': {
        const other = pool[m.other % pool.length]!
        b = concat(b.subarray(0, at), other.subarray(m.from % (other.length + 1)))
        break
      }
      case 'append':
        b = concat(b, m.bytes)
        break
    }
  }
  return b
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** Valid samples, each mutated 1..4 times (sometimes left intact). */
function mutatedOf(pool: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.nat(pool.length - 1), fc.array(mutationArb, { minLength: 0, maxLength: 4 }))
    .map(([i, ms]) => mutate(pool[i]!, ms, pool))
}

/** Values CBOR can carry (no floats: strict decoders refuse them anyway, so a few). */
const cborValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.integer(),
    fc.constantFrom(0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32, 2 ** 53 - 1, -1, -(2 ** 53)),
    fc.string({ maxLength: 40 }),
    fc.constantFrom('narrative_b', 'roster_b', 'tapestry', 'tribe', 'private', 'circle:'),
    fc.uint8Array({ maxLength: 80 }),
    fc.constantFrom(new Uint8Array(8), new Uint8Array(16), new Uint8Array(32), new Uint8Array(64)),
    fc.boolean(),
    fc.constant(null),
    fc.double({ noNaN: true }),
    fc.array(tie('v'), { maxLength: 8 }),
    fc.dictionary(fc.string({ maxLength: 10 }), tie('v'), { maxKeys: 6 }),
  ),
})).v

function cbor(v: unknown): Uint8Array {
  try {
    return cborEncode(v)
  } catch {
    return new Uint8Array([0xf6])
  }
}

/** CBOR arrays shaped like a sample (same length, each field kept or replaced). */
function shapedLike(samples: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  const decoded = samples.map((s) => {
    try {
      return cborDecode(s, { useMaps: false }) as unknown
    } catch {
      return undefined
    }
  })
  return fc
    .tuple(fc.nat(samples.length - 1), fc.array(fc.tuple(fc.nat(), cborValue), { maxLength: 3 }))
    .map(([i, edits]) => {
      const v = decoded[i]
      if (Array.isArray(v)) {
        const copy = [...v]
        for (const [at, value] of edits) copy[at % Math.max(copy.length, 1)] = value
        return cbor(copy)
      }
      if (v && typeof v === 'object') {
        const copy: Record<string, unknown> = { ...(v as Record<string, unknown>) }
        const keys = Object.keys(copy)
        for (const [at, value] of edits) copy[keys[at % Math.max(keys.length, 1)] ?? 'x'] = value
        return cbor(copy)
      }
      return cbor(edits.map(([, value]) => value))
    })
}

/** Random, mutated and shaped inputs for a byte decoder. */
function bytesFor(pool: readonly Uint8Array[], maxRandom = 600): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { arbitrary: fc.uint8Array({ maxLength: maxRandom }), weight: 2 },
    { arbitrary: mutatedOf(pool), weight: 5 },
    { arbitrary: shapedLike(pool), weight: 3 },
    { arbitrary: cborValue.map(cbor), weight: 1 },
  )
}

/** Random strings, near-valid strings (mutated characters) and line-wrapped ones. */
function textFor(samples: readonly string[], alphabet: string): fc.Arbitrary<string> {
  const ch = fc.constantFrom(...alphabet.split(''))
  return fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: 'binary', maxLength: 60 }),
    fc
      .tuple(
        fc.nat(samples.length - 1),
        fc.array(
          fc.oneof(
            fc.record({ at: fc.nat(), c: ch, op: fc.constant('set' as const) }),
            fc.record({
              at: fc.nat(),
              c: fc.constantFrom(' ', '\n', '\r\n', '\t', '=', '\0', 'é'),
              op: fc.constant('insert' as const),
            }),
            fc.record({ at: fc.nat(), c: fc.constant(''), op: fc.constant('cut' as const) }),
          ),
          { maxLength: 4 },
        ),
      )
      .map(([i, edits]) => {
        let s = samples[i]!
        for (const { at, c, op } of edits) {
          const p = at % (s.length + 1)
          if (op === 'set') s = s.slice(0, p) + c + s.slice(p + 1)
          else if (op === 'insert') s = s.slice(0, p) + c + s.slice(p)
          else s = s.slice(0, p)
        }
        return s
      }),
  )
}

// ---- targets ---------------------------------------------------------------------------

export interface FuzzTarget {
  name: string
  /** Share of the run's inputs (relative). */
  weight: number
  property(c: Corpus): fc.IRawProperty<unknown[]>
}

/** A failure of the property: something other than the typed error escaped, or a rule broke. */
class Escaped extends Error {}

function expectOnly(err: unknown, ...types: (abstract new (...a: never[]) => Error)[]): void {
  if (!types.some((t) => err instanceof t)) {
    throw new Escaped(`escaped the boundary: ${(err as Error)?.stack ?? String(err)}`)
  }
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Escaped(what)
}

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

export const TARGETS: FuzzTarget[] = [
  {
    name: 'envelope/decodeEnvelope',
    weight: 12,
    property: (c) => {
      const pool = c.envelopes.map(encodeEnvelope)
      return fc.property(bytesFor(pool), (bytes) => {
        const r = tryDecodeEnvelope(bytes)
        if (!r.ok) return expectOnly(r.error, MalformedEnvelopeError)
        check(equalBytes(encodeEnvelope(r.value), bytes), 'accepted a non-canonical envelope')
      })
    },
  },
  {
    name: 'envelope/decodeRecord',
    weight: 12,
    property: (c) => {
      const pool = [...c.records.map(encodeRecord), c.admission.frame]
      return fc.property(bytesFor(pool), (bytes) => {
        const r = tryDecodeRecord(bytes)
        if (!r.ok) return expectOnly(r.error, MalformedEnvelopeError)
        check(equalBytes(encodeRecord(r.value), bytes), 'accepted a non-canonical record')
      })
    },
  },
  {
    name: 'sync/decodeMessage',
    weight: 14,
    property: (c) =>
      fc.property(bytesFor(c.frames, 2_500), (bytes) => {
        let m: SyncMessage
        try {
          m = decodeMessage(bytes)
        } catch (err) {
          return expectOnly(err, SyncDecodeError)
        }
        // What the decoder accepts, the encoder must be able to write back.
        try {
          encodeMessage(m)
        } catch (err) {
          throw new Escaped(`decoded a message the encoder refuses: ${(err as Error).message}`)
        }
      }),
  },
  {
    name: 'invite/parseInviteCode',
    weight: 8,
    property: (c) => {
      const prefix = 'tapestry-invite-1:'
      const body = c.inviteCode.slice(prefix.length)
      const bytes = new Uint8Array(Buffer.from(body, 'base64url'))
      const reencoded = shapedLike([bytes]).map(
        (b) => prefix + Buffer.from(b).toString('base64url'),
      )
      const mutatedBytes = mutatedOf([bytes]).map(
        (b) => prefix + Buffer.from(b).toString('base64url'),
      )
      return fc.property(
        fc.oneof(textFor([c.inviteCode], B64URL), reencoded, mutatedBytes),
        (code) => {
          try {
            parseInviteCode(code, { now: c.inviteNow })
          } catch (err) {
            expectOnly(err, InviteError)
          }
        },
      )
    },
  },
  {
    name: 'join/decodeJoinReply',
    weight: 6,
    property: (c) =>
      fc.property(bytesFor(c.joinReplies, 300), (bytes) => {
        let r: ReturnType<typeof decodeJoinReply>
        try {
          r = decodeJoinReply(bytes)
        } catch (err) {
          throw new Escaped(`decodeJoinReply threw: ${(err as Error).message}`)
        }
        if (r)
          check(
            r.ok || (typeof r.code === 'string' && typeof r.message === 'string'),
            'bad reply shape',
          )
      }),
  },
  {
    name: 'join/checkJoinRequest',
    weight: 6,
    property: (c) =>
      fc.property(
        bytesFor([c.admission.frame], 1_000),
        fc.constantFrom(c.admission.memberId, ...c.memberIds),
        (frame, peer) => {
          let r: ReturnType<typeof checkJoinRequest>
          try {
            r = checkJoinRequest(frame, peer, c.admission.now)
          } catch (err) {
            throw new Escaped(`checkJoinRequest threw: ${(err as Error).message}`)
          }
          if (!r.ok)
            check(
              typeof r.reply.code === 'string' && r.reply.code.length > 0,
              'refusal without a code',
            )
          else
            check(
              equalBytes(encodeRecord(r.record), frame),
              'accepted a frame that is not its record',
            )
        },
      ),
  },
  {
    name: 'net/decodeSwarmKey',
    weight: 6,
    property: (c) => {
      const text = textFor([c.swarmKeyFile], '0123456789abcdefABCDEF/\n')
      const bytes = bytesFor([new TextEncoder().encode(c.swarmKeyFile)], 200)
      return fc.property(fc.oneof(text, bytes), (input) => {
        try {
          const key = decodeSwarmKey(input)
          check(key.length === 32, 'a swarm key of the wrong length')
        } catch (err) {
          expectOnly(err, BadSwarmKeyError)
        }
      })
    },
  },
  {
    name: 'crdt-schema/decodeRecordPayload',
    weight: 12,
    property: (c) => {
      const pool = c.records.map((r) => r.payload)
      return fc.property(bytesFor(pool), (bytes) => {
        let r: ReturnType<typeof decodeRecordPayload>
        try {
          r = decodeRecordPayload(bytes)
        } catch (err) {
          throw new Escaped(`decodeRecordPayload threw: ${(err as Error).stack}`)
        }
        if (!r.ok) return expectOnly(r.error, SchemaError)
        check(equalBytes(encodeRecordPayload(r.value), bytes), 'accepted a non-canonical payload')
      })
    },
  },
  {
    name: 'crdt-schema/applyPeerUpdate',
    weight: 8,
    property: (c) => {
      const pool = c.updates.map((u) => u.update)
      return fc.property(fc.nat(c.updates.length - 1), bytesFor(pool, 400), (i, bytes) => {
        // A replica holding some of a document's updates receives a peer's bytes.
        const { docId } = c.updates[i]!
        const doc = new Y.Doc()
        for (const u of c.updates)
          if (u.docId === docId && u !== c.updates[i]) Y.applyUpdate(doc, u.update)
        const before = Y.encodeStateAsUpdate(doc)
        let r: ReturnType<typeof applyPeerUpdate>
        try {
          r = applyPeerUpdate(doc, bytes)
        } catch (err) {
          throw new Escaped(`applyPeerUpdate threw: ${(err as Error).stack}`)
        }
        if (!r.ok) {
          expectOnly(r.error, SchemaError)
          check(
            equalBytes(Y.encodeStateAsUpdate(doc), before),
            'a refused update changed the document',
          )
        }
        try {
          readDocument(doc, docId)
        } catch (err) {
          throw new Escaped(`readDocument threw after an update: ${(err as Error).stack}`)
        }
      })
    },
  },
  {
    name: 'crdt-schema/readDocument',
    weight: 8,
    property: (c) => {
      const ids = [...new Set(c.updates.map((u) => u.docId))]
      const kinds = [
        'content',
        'meta',
        'narrative',
        'roster',
        'members',
        'profile',
        'echo',
        'link',
        'body',
      ]
      return fc.property(
        fc.constantFrom(...ids),
        fc.array(
          fc.tuple(
            fc.constantFrom(...kinds),
            fc.string({ maxLength: 12 }),
            fc.jsonValue({ maxDepth: 3 }),
          ),
          { maxLength: 6 },
        ),
        fc.boolean(),
        (docId, sets, fresh) => {
          // A document that decoded, with values of any JSON type where the schema expects others.
          const doc = new Y.Doc()
          if (!fresh) for (const u of c.updates) if (u.docId === docId) Y.applyUpdate(doc, u.update)
          for (const [map, key, value] of sets) {
            const m = doc.getMap<unknown>(map)
            const target =
              m.size > 0 && key.length % 2 === 0 ? [...m.keys()][key.length % m.size]! : key
            try {
              m.set(target, value)
            } catch {
              // a Y.Text already under that name: skip
            }
          }
          let r: ReturnType<typeof readDocument>
          try {
            r = readDocument(doc, docId)
          } catch (err) {
            throw new Escaped(`readDocument threw: ${(err as Error).stack}`)
          }
          if (!r.ok) expectOnly(r.error, SchemaError)
        },
      )
    },
  },
  {
    name: 'crdt-schema/parseDocId',
    weight: 4,
    property: (c) => {
      const ids = [...new Set(c.updates.map((u) => u.docId))]
      return fc.property(
        fc.oneof(fc.anything(), textFor(ids, 'abcdefghijklmnopqrstuvwxyz234567_')),
        (input) => {
          let r: ReturnType<typeof parseDocId>
          try {
            r = parseDocId(input)
          } catch (err) {
            throw new Escaped(`parseDocId threw: ${(err as Error).message}`)
          }
          if (!r.ok) return expectOnly(r.error, SchemaError)
          check(r.value.id === input, 'parseDocId changed the id')
        },
      )
    },
  },
  {
    name: 'crdt-schema/parseAudience',
    weight: 4,
    property: (c) => {
      const samples = [
        'tribe',
        'private',
        'federated',
        `circle:${c.memberIds.join(',')}`,
        `circle:${c.memberIds[1]}`,
      ]
      return fc.property(textFor(samples, 'abcdefghijklmnopqrstuvwxyz12DKoW:, '), (input) => {
        let r: ReturnType<typeof parseAudience>
        try {
          r = parseAudience(input)
        } catch (err) {
          throw new Escaped(`parseAudience threw: ${(err as Error).message}`)
        }
        if (!r.ok) return expectOnly(r.error, SchemaError)
        const again = parseAudience(formatAudience(r.value))
        check(
          again.ok && formatAudience(again.value) === formatAudience(r.value),
          'audience does not round-trip',
        )
      })
    },
  },
  {
    name: 'node/ingestEnvelopes',
    weight: 3,
    property: (c) => ingestProperty(c, 'envelopes'),
  },
  {
    name: 'node/ingestRecords',
    weight: 3,
    property: (c) => ingestProperty(c, 'records'),
  },
  {
    name: 'node/ingestEnvelopes (authorized writer)',
    weight: 3,
    property: (c) => authorizedProperty(c),
  },
]

/**
 * Mutated Yjs updates signed by a writer who may write the document (a second device of
 * its author): signature and authority pass, so the update itself meets the node. Ingest
 * must not throw (a bad update is refused with a typed rejection) and the node must still
 * read every document afterwards. (What it accepts changes the document: no equality.)
 */
function authorizedProperty(c: Corpus) {
  const device = new Identity(c.node.identity.privateKey, new Uint8Array(8).fill(9), 'device')
  const docId = c.narrativeId
  let seq = 0
  let samples: Uint8Array[] | undefined
  const editsOf = async (): Promise<Uint8Array[]> => {
    const doc = new Y.Doc()
    for (const e of await c.node.replication.envelopesFor(docId, new Map(), c.node.memberId)) {
      Y.applyUpdate(doc, e.update)
    }
    doc.clientID = clientIdFor(device.publicKey, device.writerId)
    const out: Uint8Array[] = []
    const text = doc.getText('body')
    for (const edit of ['a', 'bc', 'def']) {
      const sv = Y.encodeStateVector(doc)
      text.insert(Math.min(2, text.length), edit)
      if (edit === 'bc') text.delete(0, 1)
      out.push(Y.encodeStateAsUpdate(doc, sv))
    }
    return out
  }
  return fc.asyncProperty(
    fc.nat(2),
    fc.array(mutationArb, { minLength: 0, maxLength: 3 }),
    async (i, ms) => {
      samples ??= await editsOf()
      const update = mutate(samples[i]!, ms, samples)
      const env = await signEnvelope(device, { docId, seq: seq + 1, update })
      let res: Awaited<ReturnType<Replication['ingestEnvelopes']>>
      try {
        res = await c.node.replication.ingestEnvelopes([env], c.node.memberId)
      } catch (err) {
        throw new Escaped(`ingest threw: ${(err as Error).stack}`)
      }
      if (res.applied === 1) {
        seq++
        samples = undefined // edits on the new state next time
      }
      try {
        await c.node.narratives({})
        // An authorized writer may make its own document invalid for the schema (a
        // title that is not text, ...): the node then hides it (NotFoundError), and that
        // is all it may do.
        await c.node.show(docId).catch((err: unknown) => {
          if (!(err instanceof NotFoundError)) throw err
        })
      } catch (err) {
        throw new Escaped(
          `the node cannot read its documents after ingest: ${(err as Error).stack}`,
        )
      }
    },
  )
}

/**
 * A Yjs update that decodes (so `checkUpdateClients` passes it) but throws when applied
 * to `base`: a splice of two valid edits under one client, searched deterministically.
 */
export function unappliableUpdate(base: Y.Doc, client: number): Uint8Array | undefined {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Y.encodeStateAsUpdate(base))
  doc.clientID = client
  const edits: Uint8Array[] = []
  const text = doc.getText('body')
  for (const e of ['a', 'bc', 'def']) {
    const sv = Y.encodeStateVector(doc)
    text.insert(Math.min(2, text.length), e)
    if (e === 'bc') text.delete(0, 1)
    edits.push(Y.encodeStateAsUpdate(doc, sv))
  }
  const a = edits[0]!
  for (const b of edits) {
    for (let at = 0; at <= a.length; at++) {
      for (let from = 0; from <= b.length; from++) {
        const u = concat(a.subarray(0, at), b.subarray(from))
        try {
          Y.decodeUpdate(u)
        } catch {
          continue
        }
        const trial = new Y.Doc()
        Y.applyUpdate(trial, Y.encodeStateAsUpdate(base))
        try {
          Y.applyUpdate(trial, u)
        } catch {
          return u
        }
      }
    }
  }
  return undefined
}

/** What a node holds, to compare before and after an ingest. */
async function fingerprint(c: Corpus): Promise<string> {
  const [narratives, stats, equivocations, docs] = await Promise.all([
    c.node.narratives({}),
    c.store.stats(),
    c.store.equivocations(),
    c.node.replication.visibleDocuments(c.tribeId, c.node.memberId),
  ])
  return JSON.stringify([
    narratives,
    stats,
    equivocations.length,
    docs.map((d) => [d.docId, [...d.vv], d.recordIds]),
  ])
}

let stranger: Identity | undefined

/**
 * Mutated envelopes or records into a real node: decoded after mutation (only what
 * the wire codec would let through reaches ingest), or with one field replaced, or
 * re-signed by a key that may write nothing. Ingest must not throw and must leave the
 * node's narratives, store statistics and documents as they were.
 */
function ingestProperty(c: Corpus, what: 'envelopes' | 'records') {
  const pool = what === 'envelopes' ? c.envelopes.map(encodeEnvelope) : c.records.map(encodeRecord)
  const decoded = mutatedOf(pool).map((b) => {
    const r = what === 'envelopes' ? tryDecodeEnvelope(b) : tryDecodeRecord(b)
    return r.ok ? r.value : undefined
  })
  const field = fc
    .tuple(fc.nat(pool.length - 1), fc.nat(6), cborValue, fc.uint8Array({ maxLength: 70 }))
    .map(([i, f, v, bytes]) => {
      const item = { ...(what === 'envelopes' ? c.envelopes[i]! : c.records[i]!) } as Record<
        string,
        unknown
      >
      const keys = Object.keys(item)
      const key = keys[f % keys.length]!
      item[key] =
        item[key] instanceof Uint8Array
          ? bytes
          : typeof item[key] === 'number'
            ? typeof v === 'number'
              ? v
              : bytes.length
            : v
      // Only what the wire codec would let through reaches ingest.
      try {
        const wire =
          what === 'envelopes'
            ? tryDecodeEnvelope(encodeEnvelope(item as unknown as Envelope))
            : tryDecodeRecord(encodeRecord(item as unknown as SignedRecord))
        return wire.ok ? wire.value : undefined
      } catch {
        return undefined
      }
    })
  const resigned = fc
    .tuple(fc.nat(pool.length - 1), fc.boolean())
    .map(([i, seqUp]) => ({ i, seqUp }))
  return fc.asyncProperty(
    fc.array(fc.oneof(decoded, field, resigned), { minLength: 1, maxLength: 4 }),
    async (items) => {
      stranger ??= new Identity(await generateKeyPair('Ed25519'), new Uint8Array(8).fill(7), 'x')
      const batch: unknown[] = []
      for (const it of items) {
        if (it === undefined) continue
        if ('seqUp' in it) {
          if (what === 'envelopes') {
            const e = c.envelopes[it.i]!
            batch.push(
              await signEnvelope(stranger, {
                docId: e.docId,
                seq: e.seq + (it.seqUp ? 1 : 0),
                update: e.update,
              }),
            )
          }
          // (a record re-signed by a stranger is a valid record of its own: see the note in the harness)
          continue
        }
        batch.push(it)
      }
      if (batch.length === 0) return
      const before = await fingerprint(c)
      const r: Replication = c.node.replication
      try {
        if (what === 'envelopes') await r.ingestEnvelopes(batch as Envelope[], stranger.memberId)
        else await r.ingestRecords(batch as SignedRecord[], stranger.memberId)
      } catch (err) {
        throw new Escaped(`ingest threw: ${(err as Error).stack}`)
      }
      const after = await fingerprint(c)
      check(after === before, `ingest changed the node: ${diff(before, after)}`)
    },
  )
}

function diff(a: string, b: string): string {
  let i = 0
  while (i < a.length && a[i] === b[i]) i++
  return `…${a.slice(Math.max(0, i - 80), i + 80)} → …${b.slice(Math.max(0, i - 80), i + 80)}`
}

// ---- the runner ------------------------------------------------------------------------

export interface FuzzResult {
  name: string
  runs: number
  failures: number
  ms: number
  counterexample?: string
  error?: string
}

export interface FuzzOptions {
  /** Inputs over all targets. */
  total: number
  seed?: number
  /** Only targets whose name contains this. */
  only?: string
  /** Inputs per fast-check run (progress and memory). @default 20_000 */
  chunk?: number
  log?: (line: string) => void
}

/** Runs `runs` inputs of one target (in chunks); never throws for a failing property. */
export async function runTarget(
  t: FuzzTarget,
  corpus: Corpus,
  runs: number,
  seed: number,
  opts: { chunk?: number; log?: (line: string) => void } = {},
): Promise<FuzzResult> {
  const chunk = opts.chunk ?? 20_000
  const res: FuzzResult = { name: t.name, runs: 0, failures: 0, ms: 0 }
  const t0 = Date.now()
  const prop = t.property(corpus)
  for (let k = 0; res.runs < runs && res.failures === 0; k++) {
    const s = (seed + k * 104_729) % 2 ** 31
    const details = await fc.check(prop, {
      numRuns: Math.min(chunk, runs - res.runs),
      seed: s,
      endOnFailure: true,
    })
    res.runs += details.numRuns
    if (details.failed) {
      res.failures++
      res.counterexample = fc.stringify(details.counterexample).slice(0, 2_000)
      const e = details.errorInstance
      res.error = `${e instanceof Error ? e.message : String(e)}`.slice(0, 2_000)
      res.error += ` (replay: seed ${s}, path ${details.counterexamplePath})`
      opts.log?.(`${t.name}: FAILED ${res.error}\n  counterexample: ${res.counterexample}`)
    }
    opts.log?.(`${t.name}: ${res.runs}/${runs} inputs, ${res.failures} failures`)
  }
  res.ms = Date.now() - t0
  return res
}

/** How many of `total` inputs each target gets (by weight, at least 20). */
export function shares(targets: readonly FuzzTarget[], total: number): number[] {
  const weights = targets.reduce((s, t) => s + t.weight, 0)
  return targets.map((t) => Math.max(20, Math.round((total * t.weight) / weights)))
}

/** Runs every target (or those matching `only`) for its share of `total` inputs. */
export async function runFuzz(opts: FuzzOptions): Promise<FuzzResult[]> {
  const corpus = await buildCorpus()
  const targets = TARGETS.filter((t) => !opts.only || t.name.includes(opts.only))
  const runs = shares(targets, opts.total)
  const seed = opts.seed ?? Date.now() % 2 ** 31
  const results: FuzzResult[] = []
  try {
    for (const [i, t] of targets.entries()) {
      results.push(
        await runTarget(t, corpus, runs[i]!, (seed + i * 7919) % 2 ** 31, {
          ...(opts.chunk === undefined ? {} : { chunk: opts.chunk }),
          ...(opts.log === undefined ? {} : { log: opts.log }),
        }),
      )
    }
  } finally {
    await corpus.close()
  }
  return results
}
