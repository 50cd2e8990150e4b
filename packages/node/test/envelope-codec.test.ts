import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encode } from 'cborg'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as Y from 'yjs'
import {
  checkUpdateClients,
  clientIdFor,
  decodeEnvelope,
  decodeRecord,
  type Envelope,
  encodeEnvelope,
  encodeRecord,
  ForeignClientError,
  MAX_ENVELOPE_BYTES,
  MalformedEnvelopeError,
  recordId,
  signEnvelope,
  signRecord,
  tryDecodeEnvelope,
  tryDecodeRecord,
} from '../src/envelope/index.js'
import { createIdentity, type Identity } from '../src/identity/index.js'

let dir: string
let me: Identity
let env: Envelope
const docId = 'narrative_baaaaaaaaaaaaaaaaaaaaaaaaaa'

function updateBy(clientId: number, text: string): Uint8Array {
  const doc = new Y.Doc()
  doc.clientID = clientId
  doc.getText('body').insert(0, text)
  return Y.encodeStateAsUpdate(doc)
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tapestry-codec-'))
  me = await createIdentity(dir, 'Alice')
  env = await signEnvelope(me, {
    docId,
    seq: 1,
    update: updateBy(clientIdFor(me.publicKey, me.writerId), 'hi'),
  })
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

const malformed = (f: () => unknown) => {
  let thrown: unknown
  try {
    f()
  } catch (e) {
    thrown = e
  }
  expect(thrown).toBeInstanceOf(MalformedEnvelopeError)
  expect((thrown as MalformedEnvelopeError).code).toBe('MALFORMED_ENVELOPE')
}

describe('envelope codec', () => {
  it('round-trips an envelope byte for byte', () => {
    const bytes = encodeEnvelope(env)
    expect(bytes[0]).toBe(0x87)
    const back = decodeEnvelope(bytes)
    expect(back).toEqual({ ...env })
    expect(Buffer.from(encodeEnvelope(back))).toEqual(Buffer.from(bytes))
  })

  it('round-trips a signed record; its id is stable', async () => {
    const rec = await signRecord(me, {
      docId,
      kind: 'narrative.genesis',
      payload: new Uint8Array([1, 2, 3]),
      createdAt: 1_700_000_000_000,
    })
    const bytes = encodeRecord(rec)
    const back = decodeRecord(bytes)
    expect(back).toEqual({ ...rec })
    expect(recordId(back)).toBe(recordId(rec))
    expect(recordId(rec)).toMatch(/^[0-9a-f]{64}$/)
  })

  it('rejects non-canonical, mistyped, extra-field and oversize input', () => {
    const fields = [env.version, env.docId, env.author, env.writerId, env.seq, env.update]
    // seq as a float, extra field, missing signature, wrong author length, a map, version 2
    malformed(() => decodeEnvelope(encode([...fields.slice(0, 4), 1.5, env.update, env.signature])))
    malformed(() => decodeEnvelope(encode([...fields, env.signature, 0])))
    malformed(() => decodeEnvelope(encode(fields)))
    malformed(() =>
      decodeEnvelope(
        encode([1, docId, new Uint8Array(31), env.writerId, 1, env.update, env.signature]),
      ),
    )
    malformed(() => decodeEnvelope(encode({ docId, seq: 1 })))
    malformed(() => decodeEnvelope(encode([2, ...fields.slice(1), env.signature])))
    malformed(() => decodeEnvelope(encode([...fields.slice(0, 4), 0, env.update, env.signature])))
    // non-minimal integer: seq 1 written as uint8 (0x18 0x01) instead of 0x01
    const bytes = encodeEnvelope(env)
    const prefix = encode([...fields.slice(0, 4)]).subarray(1)
    const at = 1 + prefix.byteLength
    expect(bytes[at]).toBe(0x01)
    const longSeq = new Uint8Array([
      ...bytes.subarray(0, at),
      0x18,
      0x01,
      ...bytes.subarray(at + 1),
    ])
    malformed(() => decodeEnvelope(longSeq))
    // trailing byte, oversize buffer, not bytes at all
    malformed(() => decodeEnvelope(new Uint8Array([...bytes, 0])))
    malformed(() => decodeEnvelope(new Uint8Array(MAX_ENVELOPE_BYTES + 1)))
    malformed(() => decodeEnvelope('nope' as unknown as Uint8Array))
    expect(tryDecodeEnvelope(new Uint8Array([0xff])).ok).toBe(false)
  })

  it('garbage never throws anything but MalformedEnvelopeError (property)', () => {
    const valid = encodeEnvelope(env)
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
        const r = tryDecodeEnvelope(bytes)
        if (!r.ok) expect(r.error).toBeInstanceOf(MalformedEnvelopeError)
        const q = tryDecodeRecord(bytes)
        if (!q.ok) expect(q.error).toBeInstanceOf(MalformedEnvelopeError)
      }),
      { numRuns: 2000 },
    )
    // mutations of a valid envelope: flip, truncate, insert
    fc.assert(
      fc.property(fc.nat(valid.byteLength - 1), fc.integer({ min: 1, max: 255 }), (i, x) => {
        const m = valid.slice()
        m[i] = m[i]! ^ x
        const r = tryDecodeEnvelope(m)
        if (!r.ok) expect(r.error).toBeInstanceOf(MalformedEnvelopeError)
        const t = tryDecodeEnvelope(valid.subarray(0, i))
        expect(t.ok).toBe(false)
      }),
      { numRuns: 2000 },
    )
  })
})

describe('client ids', () => {
  it('derives a stable uint32 per writer', () => {
    const id = clientIdFor(me.publicKey, me.writerId)
    expect(Number.isInteger(id) && id >= 0 && id < 2 ** 32).toBe(true)
    expect(clientIdFor(me.publicKey, me.writerId)).toBe(id)
    expect(clientIdFor(me.publicKey, new Uint8Array(8))).not.toBe(id)
  })

  it('accepts own items and deletions of others, refuses items under another client', () => {
    const mine = clientIdFor(me.publicKey, me.writerId)
    checkUpdateClients(updateBy(mine, 'hello'), mine)
    // a co-author's text deleted by me: the update carries only my delete set entries
    const doc = new Y.Doc()
    Y.applyUpdate(doc, updateBy(12345, 'theirs'))
    doc.clientID = mine
    const sv = Y.encodeStateVector(doc)
    doc.getText('body').delete(0, 3)
    doc.getText('body').insert(0, 'x')
    checkUpdateClients(Y.encodeStateAsUpdate(doc, sv), mine)
    expect(() => checkUpdateClients(updateBy(12345, 'forged'), mine)).toThrow(ForeignClientError)
    const both = Y.mergeUpdates([updateBy(mine, 'a'), updateBy(12345, 'b')])
    expect(() => checkUpdateClients(both, mine)).toThrow(ForeignClientError)
  })

  it('garbage updates give MalformedEnvelopeError only (property)', () => {
    const mine = clientIdFor(me.publicKey, me.writerId)
    const good = updateBy(mine, 'hello world')
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 256 }),
          fc.tuple(fc.nat(good.byteLength - 1), fc.integer({ min: 1, max: 255 })).map(([i, x]) => {
            const m = good.slice()
            m[i] = m[i]! ^ x
            return m
          }),
        ),
        (bytes) => {
          try {
            checkUpdateClients(bytes, mine)
          } catch (e) {
            expect(e instanceof MalformedEnvelopeError || e instanceof ForeignClientError).toBe(
              true,
            )
          }
        },
      ),
      { numRuns: 3000 },
    )
  })
})
