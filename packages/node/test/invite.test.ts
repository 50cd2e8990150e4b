import { generateKeyPair } from '@libp2p/crypto/keys'
import { Command } from 'commander'
import fc from 'fast-check'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { parseDuration, registerInviteCommands } from '../src/cli/invite-commands.js'
import type { Output } from '../src/cli/output.js'
import { recordId } from '../src/envelope/codec.js'
import { signRecord } from '../src/envelope/sign.js'
import type { SignedRecord } from '../src/envelope/types.js'
import { Identity } from '../src/identity/identity.js'
import { encodeCanonical } from '../src/invite/cbor.js'
import {
  ADMISSION_KIND,
  type AdmissionRecordRef,
  admissionStatusOf,
  BadInviteError,
  createAdmission,
  createInvitation,
  createRevocation,
  encodeInviteCode,
  type FoldAdmissionsInput,
  foldAdmissions,
  INVITE_CODE_PREFIX,
  InviteExpiredError,
  parseInviteCode,
  type SignedInvitation,
  termsMap,
  termsOf,
} from '../src/invite/index.js'
import { generateSwarmKey } from '../src/net/swarm-key.js'

const TRIBE = 'roster_baaaaaaaaaaaaaaaaaaaaaaaaaa'
const OTHER_TRIBE = 'roster_bbbbbbbbbbbbbbbbbbbbbbbbbb'
const NOW = 1_750_000_000_000
const DAY = 86_400_000

async function member(name: string): Promise<Identity> {
  return new Identity(await generateKeyPair('Ed25519'), new Uint8Array(8), name)
}

let steward: Identity
let plainMember: Identity
let joiners: Identity[]
const swarmKey = generateSwarmKey()

beforeAll(async () => {
  steward = await member('Steward')
  plainMember = await member('Member')
  joiners = await Promise.all(['Ana', 'Ben', 'Cai', 'Dee'].map(member))
})

const invite = (issuer: Identity, extra: Partial<Parameters<typeof createInvitation>[1]> = {}) =>
  createInvitation(issuer, {
    tribeId: TRIBE,
    tribeName: 'River Tribe',
    swarmKey,
    addrs: ['/ip4/127.0.0.1/tcp/4001'],
    expiresAt: NOW + 7 * DAY,
    ...extra,
  })

const ref = (record: SignedRecord): AdmissionRecordRef => ({ record, id: recordId(record) })

function catchError(fn: () => unknown): { code?: string } & Error {
  try {
    fn()
  } catch (err) {
    return err as Error
  }
  throw new Error('expected an error')
}

describe('invitation codes', () => {
  it('round-trip: the code holds every field, signed by the issuer', async () => {
    const signed = await invite(steward, { role: 'steward', uses: 3 })
    expect(signed.code.startsWith(INVITE_CODE_PREFIX)).toBe(true)
    expect(signed.code).toMatch(/^tapestry-invite-1:[A-Za-z0-9_-]+$/)
    const parsed = parseInviteCode(signed.code, { now: NOW })
    expect(parsed.invitation).toEqual(signed.invitation)
    expect(parsed.invitation).toMatchObject({
      v: 1,
      tribeId: TRIBE,
      tribeName: 'River Tribe',
      role: 'steward',
      uses: 3,
      issuer: steward.memberId,
      addrs: ['/ip4/127.0.0.1/tcp/4001'],
    })
    expect(parsed.invitation.id).toMatch(/^[a-z2-7]{26}$/)
    expect(Buffer.from(parsed.invitation.swarmKey).equals(Buffer.from(swarmKey))).toBe(true)
    expect(Buffer.from(parsed.signature).equals(Buffer.from(signed.signature))).toBe(true)
    // Line breaks and spaces picked up when copying are ignored.
    const wrapped = ` ${signed.code.slice(0, 40)}\n${signed.code.slice(40)}\n`
    expect(parseInviteCode(wrapped, { now: NOW }).invitation).toEqual(signed.invitation)
  })

  it('a code with any one character changed is BAD_INVITE', async () => {
    const { code } = await invite(steward)
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: code.length - 1 }),
        fc.constantFrom(...alphabet),
        (at, ch) => {
          fc.pre(code[at] !== ch)
          const tampered = code.slice(0, at) + ch + code.slice(at + 1)
          const err = catchError(() => parseInviteCode(tampered, { now: NOW }))
          expect(err).toBeInstanceOf(BadInviteError)
          expect(err.code).toBe('BAD_INVITE')
        },
      ),
      { numRuns: 300 },
    )
  })

  it('truncated, empty, foreign or newer-version codes are BAD_INVITE with a plain message', async () => {
    const { code } = await invite(steward)
    for (const cut of [1, 2, 3, 10, code.length - INVITE_CODE_PREFIX.length - 1]) {
      const err = catchError(() => parseInviteCode(code.slice(0, -cut), { now: NOW }))
      expect(err.code).toBe('BAD_INVITE')
      expect(err.message).toMatch(/damaged|altered/)
    }
    expect(catchError(() => parseInviteCode('')).message).toMatch(/empty/)
    expect(catchError(() => parseInviteCode('hello there')).message).toMatch(/not a Tapestry/)
    const newer = code.replace('tapestry-invite-1:', 'tapestry-invite-2:')
    expect(catchError(() => parseInviteCode(newer)).message).toMatch(/newer version/)
    expect(catchError(() => parseInviteCode(`${code}${'A'.repeat(9000)}`)).code).toBe('BAD_INVITE')
  })

  it('a signature by anyone but the named issuer is BAD_INVITE', async () => {
    const real = await invite(steward)
    const forged = await invite(plainMember, { id: real.invitation.id })
    // The forger's signature under the steward's name.
    const code = encodeInviteCode(real.invitation, forged.signature)
    const err = catchError(() => parseInviteCode(code, { now: NOW }))
    expect(err.code).toBe('BAD_INVITE')
    expect(err.message).toMatch(/signature/)
    // Changing a signed field (here the role) after signing is caught too.
    const upgraded = encodeInviteCode({ ...real.invitation, role: 'steward' }, real.signature)
    expect(catchError(() => parseInviteCode(upgraded, { now: NOW })).code).toBe('BAD_INVITE')
  })

  it('an expired code is INVITE_EXPIRED', async () => {
    const { code, invitation } = await invite(steward, { expiresAt: NOW - 1 })
    const err = catchError(() => parseInviteCode(code, { now: NOW }))
    expect(err).toBeInstanceOf(InviteExpiredError)
    expect(err.code).toBe('INVITE_EXPIRED')
    expect(parseInviteCode(code, { now: NOW - 1 }).invitation).toEqual(invitation)
  })

  it('refuses to create out-of-range invitations', async () => {
    await expect(invite(steward, { uses: 0 })).rejects.toMatchObject({ code: 'USAGE' })
    await expect(invite(steward, { addrs: ['not an address'] })).rejects.toMatchObject({
      code: 'USAGE',
    })
    await expect(invite(steward, { swarmKey: new Uint8Array(5) })).rejects.toMatchObject({
      code: 'USAGE',
    })
  })
})

describe('the CLI', () => {
  function cli() {
    const results: unknown[] = []
    const out: Output = {
      json: true,
      result: (v) => results.push(v),
      line: () => {},
      fail: (err) => {
        throw err
      },
    }
    const api = {
      invite: vi.fn(async () => ({ invite: 'CODE', invitationId: 'x', expiresAt: NOW })),
      join: vi.fn(async () => ({ tribeId: TRIBE, name: 'River Tribe' })),
      invites: vi.fn(async () => []),
      revokeInvite: vi.fn(async (id: string) => ({ id, revoked: true as const })),
      members: vi.fn(async () => []),
    }
    const withApi = vi.fn(async (_g: unknown, fn: (a: typeof api) => Promise<unknown>) => fn(api))
    const program = new Command('tapestry').exitOverride().option('--data <dir>')
    registerInviteCommands(program, out, withApi as never)
    const run = (...args: string[]) => program.parseAsync(args, { from: 'user' })
    return { run, api, withApi, results }
  }

  it('join checks the code offline and never opens the node for a bad one', async () => {
    const { run, withApi } = cli()
    const { code } = await invite(steward, { expiresAt: Date.now() - 1 })
    await expect(run('join', code)).rejects.toMatchObject({ code: 'INVITE_EXPIRED' })
    await expect(run('join', `${code.slice(0, -4)}`)).rejects.toMatchObject({ code: 'BAD_INVITE' })
    expect(withApi).not.toHaveBeenCalled()
    const good = await invite(steward, { expiresAt: Date.now() + DAY })
    const c = cli()
    await c.run('join', good.code)
    expect(c.api.join).toHaveBeenCalledWith(good.code)
    expect(c.results).toEqual([{ tribeId: TRIBE, name: 'River Tribe' }])
  })

  it('invite passes its options; revoke, invites and members call the API', async () => {
    const { run, api, results } = cli()
    await run(
      'invite',
      '--role',
      'steward',
      '--expires',
      '12h',
      '--uses',
      '2',
      '--address',
      '/ip4/1.2.3.4/tcp/1',
      '--address',
      '/ip4/1.2.3.5/tcp/1',
    )
    expect(api.invite).toHaveBeenCalledWith({
      tribeId: undefined,
      role: 'steward',
      expiresInMs: 12 * 3_600_000,
      uses: 2,
      addresses: ['/ip4/1.2.3.4/tcp/1', '/ip4/1.2.3.5/tcp/1'],
    })
    expect(results[0]).toEqual({ invite: 'CODE' })
    await run('invite', 'revoke', 'abc')
    expect(api.revokeInvite).toHaveBeenCalledWith('abc')
    await run('invites', '--tribe', TRIBE)
    expect(api.invites).toHaveBeenCalledWith({ tribeId: TRIBE })
    await run('members')
    expect(api.members).toHaveBeenCalledWith({ tribeId: undefined })
    await expect(run('invite', '--expires', 'soon')).rejects.toMatchObject({ code: 'USAGE' })
    await expect(run('invite', '--role', 'admin')).rejects.toMatchObject({ code: 'USAGE' })
    await expect(run('invite', '--uses', '0')).rejects.toMatchObject({ code: 'USAGE' })
  })

  it('parses durations', () => {
    expect(parseDuration('30m')).toBe(30 * 60_000)
    expect(parseDuration('7d')).toBe(7 * DAY)
    expect(parseDuration('2w')).toBe(14 * DAY)
    expect(() => parseDuration('0d')).toThrow()
    expect(() => parseDuration('7')).toThrow()
  })
})

describe('foldAdmissions', () => {
  const stewards = () => new Set([steward.memberId])
  const fold = (
    admissions: SignedRecord[],
    revocations: SignedRecord[] = [],
    isSteward: (m: string) => boolean = (m) => stewards().has(m),
  ) =>
    foldAdmissions({
      tribeId: TRIBE,
      isSteward,
      admissions: admissions.map(ref),
      revocations: revocations.map(ref),
    })
  const admit = (who: Identity, inv: SignedInvitation, at = NOW, name = who.name) =>
    createAdmission(who, inv, name, { at })
  const reasonOf = (r: ReturnType<typeof fold>, rec: SignedRecord) =>
    r.rejected.find((x) => x.id === recordId(rec))?.reason

  it('admits a joiner with a steward’s invitation', async () => {
    const inv = await invite(steward, { role: 'steward' })
    const rec = await admit(joiners[0]!, inv)
    expect(rec.kind).toBe(ADMISSION_KIND)
    expect(rec.docId).toBe(TRIBE)
    // The roster never receives the swarm key.
    expect(Buffer.from(rec.payload).includes(Buffer.from(swarmKey))).toBe(false)
    const r = fold([rec])
    expect(r.rejected).toEqual([])
    expect(r.admitted.get(joiners[0]!.memberId)).toEqual({
      name: 'Ana',
      role: 'steward',
      joinedAt: NOW,
      invitationId: inv.invitation.id,
      admittedBy: steward.memberId,
      recordId: recordId(rec),
    })
    expect(r.invitations.get(inv.invitation.id)).toMatchObject({ uses: 1, used: 1 })
    expect(admissionStatusOf(r, recordId(rec))).toEqual({ status: 'admitted' })
  })

  it('rejects an invitation whose issuer is not a steward, or no longer one', async () => {
    const byMember = await admit(joiners[0]!, await invite(plainMember))
    expect(reasonOf(fold([byMember]), byMember)).toBe('ISSUER_NOT_STEWARD')
    // A steward who was removed: the roster's fold no longer calls them a steward.
    const rec = await admit(joiners[1]!, await invite(steward))
    const r = fold([rec], [], () => false)
    expect(r.admitted.size).toBe(0)
    expect(admissionStatusOf(r, recordId(rec))).toMatchObject({
      status: 'rejected',
      reason: 'ISSUER_NOT_STEWARD',
    })
  })

  it('rejects expired, foreign, forged and malformed admissions without throwing', async () => {
    const inv = await invite(steward, { uses: 10 })
    const late = await admit(joiners[0]!, inv, inv.invitation.expiresAt + 1)
    const foreign = await admit(joiners[1]!, await invite(steward, { tribeId: OTHER_TRIBE }))
    // Ben signs an admission that names Cai.
    const impostor = await signRecord(joiners[1]!, {
      docId: TRIBE,
      kind: ADMISSION_KIND,
      createdAt: NOW,
      payload: encodeCanonical({
        v: 1,
        invitation: termsMap(termsOf(inv.invitation)),
        issuerSignature: inv.signature,
        memberId: joiners[2]!.memberId,
        name: 'Cai',
        at: NOW,
      }),
    })
    const badSig = { ...(await admit(joiners[3]!, inv)), createdAt: NOW + 1 }
    const garbage = await signRecord(joiners[3]!, {
      docId: TRIBE,
      kind: ADMISSION_KIND,
      payload: new Uint8Array([1, 2, 3]),
    })
    const junk = { record: { nonsense: true } as unknown as SignedRecord, id: 'junk' }
    const r = foldAdmissions({
      tribeId: TRIBE,
      isSteward: (m) => m === steward.memberId,
      admissions: [late, foreign, impostor, badSig, garbage].map(ref).concat([junk]),
      revocations: [junk],
    })
    expect(r.admitted.size).toBe(0)
    expect(reasonOf(r, late)).toBe('INVITE_EXPIRED')
    expect(r.rejected.find((x) => x.id === recordId(foreign))?.reason).toBe('WRONG_TRIBE')
    expect(reasonOf(r, impostor)).toBe('NOT_JOINER')
    expect(r.rejected.find((x) => x.id === ref(badSig).id)?.reason).toBe('BAD_RECORD')
    expect(reasonOf(r, garbage)).toBe('BAD_PAYLOAD')
    expect(r.rejected.find((x) => x.id === 'junk')?.reason).toBe('BAD_RECORD')
  })

  it('a steward’s revocation stops admissions after it, not before', async () => {
    const inv = await invite(steward, { uses: 5 })
    const revoke = await createRevocation(steward, TRIBE, inv.invitation.id, { at: NOW + 10 })
    const before = await admit(joiners[0]!, inv, NOW + 10)
    const after = await admit(joiners[1]!, inv, NOW + 11)
    const r = fold([before, after], [revoke])
    expect([...r.admitted.keys()]).toEqual([joiners[0]!.memberId])
    expect(reasonOf(r, after)).toBe('INVITE_REVOKED')
    expect(r.revoked.get(inv.invitation.id)).toBe(NOW + 10)
    expect(r.invitations.get(inv.invitation.id)?.revokedAt).toBe(NOW + 10)
    // A revocation by a non-steward counts for nothing.
    const fake = await createRevocation(plainMember, TRIBE, inv.invitation.id, { at: NOW })
    const r2 = fold([before, after], [fake])
    expect(r2.admitted.size).toBe(2)
    expect(reasonOf(r2, fake)).toBe('REVOKER_NOT_STEWARD')
  })

  it('a joiner presenting the same invitation twice uses it once', async () => {
    const inv = await invite(steward, { uses: 2 })
    const first = await admit(joiners[0]!, inv, NOW)
    const again = await admit(joiners[0]!, inv, NOW + 5)
    const other = await admit(joiners[1]!, inv, NOW + 9)
    const r = fold([again, other, first])
    expect(r.admitted.size).toBe(2)
    expect(r.admitted.get(joiners[0]!.memberId)?.joinedAt).toBe(NOW)
    expect(reasonOf(r, again)).toBe('DUPLICATE')
  })

  it('concurrent admissions beyond `uses`: the first by (at, record id) win, in any order', async () => {
    const one = await invite(steward, { uses: 1 })
    const two = await invite(steward, { uses: 2 })
    // Several joiners, several times each (ties across joiners break on record id).
    const pool: { inv: 1 | 2; joiner: string; at: number; ref: AdmissionRecordRef }[] = []
    for (const [n, inv] of [
      [1, one],
      [2, two],
    ] as const) {
      for (const j of joiners) {
        for (const at of [NOW, NOW + 1, NOW + 2]) {
          pool.push({ inv: n, joiner: j.memberId, at, ref: ref(await admit(j, inv, at)) })
        }
      }
    }
    const base: Omit<FoldAdmissionsInput, 'admissions'> = {
      tribeId: TRIBE,
      isSteward: (m) => m === steward.memberId,
      revocations: [],
    }
    const expected = (subset: typeof pool, n: 1 | 2) => {
      const mine = subset
        .filter((p) => p.inv === n)
        .sort((a, b) => a.at - b.at || (a.ref.id < b.ref.id ? -1 : 1))
      const winners: string[] = []
      for (const p of mine) {
        if (winners.length < n && !winners.includes(p.joiner)) winners.push(p.joiner)
      }
      return winners
    }
    fc.assert(
      fc.property(fc.shuffledSubarray(pool, { minLength: 1 }), (subset) => {
        const r = foldAdmissions({ ...base, admissions: subset.map((p) => p.ref) })
        const canonical = foldAdmissions({
          ...base,
          admissions: [...subset].sort((a, b) => (a.ref.id < b.ref.id ? -1 : 1)).map((p) => p.ref),
        })
        expect([...r.admitted].sort()).toEqual([...canonical.admitted].sort())
        expect(r.rejected).toEqual(canonical.rejected)
        for (const n of [1, 2] as const) {
          const inv = n === 1 ? one : two
          const admittedWith = [...r.admitted]
            .filter(([, m]) => m.invitationId === inv.invitation.id)
            .map(([id]) => id)
          // A joiner admitted with both invitations is listed under the earlier one.
          const winners = expected(subset, n)
          for (const id of admittedWith) expect(winners).toContain(id)
          expect(r.invitations.get(inv.invitation.id)?.used ?? 0).toBe(winners.length)
          for (const p of subset.filter((p) => p.inv === n)) {
            const reason = r.rejected.find((x) => x.id === p.ref.id)?.reason
            if (winners.includes(p.joiner)) expect([undefined, 'DUPLICATE']).toContain(reason)
            else expect(reason).toBe('INVITE_USED_UP')
          }
        }
        const everyone = new Set([...expected(subset, 1), ...expected(subset, 2)])
        expect(new Set(r.admitted.keys())).toEqual(everyone)
      }),
      { numRuns: 200 },
    )
  })

  it('two members admitting on both sides of a partition: after the merge one wins everywhere', async () => {
    const inv = await invite(steward, { uses: 1 })
    const left = await admit(joiners[0]!, inv, NOW + 100)
    const right = await admit(joiners[1]!, inv, NOW + 50)
    // Each side alone admits its own joiner.
    expect(fold([left]).admitted.has(joiners[0]!.memberId)).toBe(true)
    expect(fold([right]).admitted.has(joiners[1]!.memberId)).toBe(true)
    // Merged, on every node, in either order: the earlier one.
    for (const merged of [fold([left, right]), fold([right, left])]) {
      expect([...merged.admitted.keys()]).toEqual([joiners[1]!.memberId])
      expect(admissionStatusOf(merged, recordId(left))).toMatchObject({
        status: 'rejected',
        reason: 'INVITE_USED_UP',
      })
    }
  })
})
