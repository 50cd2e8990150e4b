import '../src/polyfill.js'
import { randomBytes } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { afterEach, describe, expect, it, vi } from 'vitest'
import type { SignedRecord } from '../src/envelope/types.js'
import { Identity } from '../src/identity/identity.js'
import {
  type Admit,
  createAdmission,
  createInvitation,
  decodeJoinReply,
  JOIN_PROTOCOL,
  type JoinHandlerOptions,
  JoinProtocolError,
  registerJoinHandler,
  requestJoin,
} from '../src/invite/index.js'
import { openFramedStream } from '../src/net/frames.js'
import { createTribeHost, type TribeHost } from '../src/net/host.js'
import { generateSwarmKey } from '../src/net/swarm-key.js'

const TRIBE = 'roster_baaaaaaaaaaaaaaaaaaaaaaaaaa'
const hosts: TribeHost[] = []
afterEach(async () => {
  await Promise.all(hosts.splice(0).map((h) => h.stop()))
})

async function identity(name: string): Promise<Identity> {
  return new Identity(await generateKeyPair('Ed25519'), new Uint8Array(8), name)
}

async function host(who: Identity, swarmKey: Uint8Array): Promise<TribeHost> {
  const h = await createTribeHost({
    privateKey: who.privateKey,
    keys: () => ({ current: swarmKey }),
    listen: ['/ip4/127.0.0.1/tcp/0'],
    mdns: false,
    name: `tapestry:join-test-${hosts.length}`,
  })
  hosts.push(h)
  return h
}

/** A member's host serving the join protocol, a joiner's host connected to it, and a record. */
async function setup(admit: Admit, options: JoinHandlerOptions = {}) {
  const swarmKey = generateSwarmKey()
  const steward = await identity('Steward')
  const joiner = await identity('Ana')
  const member = await host(steward, swarmKey)
  const joinerHost = await host(joiner, swarmKey)
  const unregister = await registerJoinHandler(member.libp2p, admit, options)
  const inv = await createInvitation(steward, {
    tribeId: TRIBE,
    tribeName: 'River',
    swarmKey,
    addrs: member.addrs(),
    expiresAt: Date.now() + 60_000,
  })
  const record = await createAdmission(joiner, inv, 'Ana')
  await joinerHost.dial(member.addrs()[0]!)
  return { member, joinerHost, joiner, steward, inv, record, unregister }
}

const same = (a: SignedRecord, b: SignedRecord) =>
  Buffer.from(a.signature).equals(Buffer.from(b.signature))

describe('/tapestry/join/1.0.0', () => {
  it('a member node admits: admit() gets the record and the joiner’s member id', async () => {
    const admit = vi.fn<Admit>(async () => ({ ok: true }))
    const { member, joinerHost, joiner, record } = await setup(admit)
    const reply = await requestJoin(joinerHost.libp2p, member.peerId, record, { timeout: 10_000 })
    expect(reply).toEqual({ ok: true })
    expect(admit).toHaveBeenCalledTimes(1)
    const [got, from] = admit.mock.calls[0]!
    expect(same(got, record)).toBe(true)
    expect(from).toBe(joiner.memberId)
  })

  it('a refusal reaches the joiner with its code and message', async () => {
    const { member, joinerHost, record } = await setup(async () => ({
      ok: false,
      code: 'INVITE_USED_UP',
      message: 'another member used this invitation first',
    }))
    await expect(requestJoin(joinerHost.libp2p, member.peerId, record)).resolves.toEqual({
      ok: false,
      code: 'INVITE_USED_UP',
      message: 'another member used this invitation first',
    })
  })

  it('an admit() that throws is a refusal carrying the error’s code', async () => {
    const err = Object.assign(new Error('the roster is busy'), { code: 'BUSY' })
    const { member, joinerHost, record } = await setup(async () => {
      throw err
    })
    await expect(requestJoin(joinerHost.libp2p, member.peerId, record)).resolves.toEqual({
      ok: false,
      code: 'BUSY',
      message: 'the roster is busy',
    })
  })

  it('refuses a record presented by another peer, or from a skewed clock, without calling admit', async () => {
    const admit = vi.fn<Admit>(async () => ({ ok: true }))
    const { member, joinerHost, joiner, inv } = await setup(admit)
    const someoneElse = await createAdmission(await identity('Ben'), inv, 'Ben')
    await expect(requestJoin(joinerHost.libp2p, member.peerId, someoneElse)).resolves.toMatchObject(
      { ok: false, code: 'WRONG_PEER' },
    )
    const stale = await createAdmission(joiner, inv, 'Ana', { at: Date.now() - 3_600_000 })
    await expect(requestJoin(joinerHost.libp2p, member.peerId, stale)).resolves.toMatchObject({
      ok: false,
      code: 'CLOCK_SKEW',
    })
    expect(admit).not.toHaveBeenCalled()
  })

  it('garbage gets an error reply and the stream is closed', async () => {
    const admit = vi.fn<Admit>(async () => ({ ok: true }))
    const onBadInput = vi.fn()
    const { member, joinerHost } = await setup(admit, { onBadInput })
    const s = await openFramedStream(joinerHost.libp2p, member.peerId, JOIN_PROTOCOL)
    await s.send(new Uint8Array(randomBytes(200)))
    const frames: Uint8Array[] = []
    for await (const f of s.frames) frames.push(f)
    expect(frames).toHaveLength(1)
    expect(decodeJoinReply(frames[0]!)).toMatchObject({ ok: false, code: 'BAD_REQUEST' })
    expect(admit).not.toHaveBeenCalled()
    expect(onBadInput).toHaveBeenCalledWith(joinerHost.peerId, 'BAD_REQUEST', expect.any(String))
  })

  it('an oversized frame or silence aborts the stream', async () => {
    const admit = vi.fn<Admit>(async () => ({ ok: true }))
    const onBadInput = vi.fn()
    const { member, joinerHost } = await setup(admit, { onBadInput, timeoutMs: 300 })
    const big = await openFramedStream(joinerHost.libp2p, member.peerId, JOIN_PROTOCOL)
    await big.send(new Uint8Array(64 * 1024))
    await expect(drain(big.frames)).rejects.toThrow()
    const silent = await openFramedStream(joinerHost.libp2p, member.peerId, JOIN_PROTOCOL)
    await expect(drain(silent.frames)).rejects.toThrow()
    expect(onBadInput.mock.calls.map((c) => c[1]).sort()).toEqual(['BAD_FRAME', 'TIMEOUT'])
    expect(admit).not.toHaveBeenCalled()
  })

  it('after unregistering, a join request fails with JOIN_FAILED', async () => {
    const { member, joinerHost, record, unregister } = await setup(async () => ({ ok: true }))
    await unregister()
    const err = await requestJoin(joinerHost.libp2p, member.peerId, record).catch((e) => e)
    expect(err).toBeInstanceOf(JoinProtocolError)
    expect(err.code).toBe('JOIN_FAILED')
  })
})

async function drain(frames: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0
  for await (const _ of frames) n++
  return n
}
