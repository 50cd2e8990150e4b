import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { inspect } from 'node:util'
import { privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import {
  CorruptIdentityError,
  createIdentity,
  IdentityExistsError,
  InsecureKeyFileError,
  InvalidMemberIdError,
  identityFiles,
  loadIdentity,
  loadOrCreateIdentity,
  memberIdFromPublicKey,
  NoIdentityError,
  publicKeyFromMemberId,
} from '../src/identity/index.js'

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tapestry-identity-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('identity', () => {
  it('creates, then loads the same member, name and writer id', async () => {
    const a = await createIdentity(dir, 'Alice')
    expect(a.memberId).toMatch(/^12D3KooW/)
    expect(a.publicKey.byteLength).toBe(32)
    expect(a.writerId.byteLength).toBe(8)
    const b = await loadIdentity(dir)
    expect(b.memberId).toBe(a.memberId)
    expect(b.name).toBe('Alice')
    expect(Buffer.from(b.writerId)).toEqual(Buffer.from(a.writerId))
    expect(Buffer.from(b.publicKey)).toEqual(Buffer.from(a.publicKey))
  })

  it('writes the key file with mode 0600', async () => {
    await createIdentity(dir, 'Alice')
    const s = await stat(identityFiles.key(dir))
    expect(s.mode & 0o777).toBe(0o600)
  })

  it('refuses to overwrite an existing identity', async () => {
    const a = await createIdentity(dir, 'Alice')
    const before = await readFile(identityFiles.key(dir))
    const err = await createIdentity(dir, 'Mallory').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(IdentityExistsError)
    expect((err as IdentityExistsError).code).toBe('IDENTITY_EXISTS')
    expect(await readFile(identityFiles.key(dir))).toEqual(before)
    expect((await loadIdentity(dir)).memberId).toBe(a.memberId)
    expect((await loadIdentity(dir)).name).toBe('Alice')
  })

  it('two concurrent creators: exactly one wins', async () => {
    const results = await Promise.allSettled([createIdentity(dir, 'A'), createIdentity(dir, 'B')])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect(lost.reason).toBeInstanceOf(IdentityExistsError)
  })

  it('loadIdentity without one says to run tapestry init', async () => {
    const err = await loadIdentity(dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NoIdentityError)
    expect((err as NoIdentityError).code).toBe('NO_IDENTITY')
    expect((err as Error).message).toContain('tapestry init --name NAME')
  })

  it('loadOrCreateIdentity creates once, then loads', async () => {
    const a = await loadOrCreateIdentity(dir, 'Bob')
    const b = await loadOrCreateIdentity(dir, 'Other')
    expect(b.memberId).toBe(a.memberId)
    expect(b.name).toBe('Bob')
  })

  it('refuses a key file readable by group or others', async () => {
    await createIdentity(dir, 'Alice')
    await chmod(identityFiles.key(dir), 0o644)
    const err = await loadIdentity(dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InsecureKeyFileError)
    expect((err as InsecureKeyFileError).code).toBe('INSECURE_KEY_FILE')
    expect((err as Error).message).toContain('chmod 600')
  })

  it('reports a corrupt key file with a typed error', async () => {
    await writeFile(identityFiles.key(dir), 'garbage', { mode: 0o600 })
    const err = await loadIdentity(dir).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(CorruptIdentityError)
  })

  it('never reveals the private key in JSON, inspect or String', async () => {
    const a = await createIdentity(dir, 'Alice')
    const secret = Buffer.from(a.privateKey.raw)
    const secretHex = secret.toString('hex').slice(0, 64)
    const secretB64 = secret.toString('base64').slice(0, 40)
    const pb = Buffer.from(privateKeyToProtobuf(a.privateKey)).toString('base64').slice(0, 40)
    for (const shown of [
      JSON.stringify(a),
      inspect(a, { depth: 10, showHidden: true }),
      String(a),
    ]) {
      expect(shown).toContain(a.memberId.slice(0, 20))
      for (const s of [secretHex, secretB64, pb, 'privateKey']) expect(shown).not.toContain(s)
    }
    expect(Object.keys(a)).not.toContain('privateKey')
  })

  it('signs with the member key', async () => {
    const a = await createIdentity(dir, 'Alice')
    const msg = new TextEncoder().encode('hello')
    const sig = await a.sign(msg)
    expect(sig.byteLength).toBe(64)
    expect(a.privateKey.publicKey.verify(msg, sig)).toBe(true)
    expect(Buffer.from(sig)).toEqual(Buffer.from(await a.privateKey.sign(msg)))
  })

  it('converts between member ids and raw public keys', async () => {
    const a = await createIdentity(dir, 'Alice')
    expect(memberIdFromPublicKey(a.publicKey)).toBe(a.memberId)
    expect(Buffer.from(publicKeyFromMemberId(a.memberId))).toEqual(Buffer.from(a.publicKey))
    expect(() => publicKeyFromMemberId('nope')).toThrow(InvalidMemberIdError)
    expect(() => memberIdFromPublicKey(new Uint8Array(31))).toThrow(InvalidMemberIdError)
  })

  it('keeps one writer id per data directory', async () => {
    const other = await mkdtemp(join(tmpdir(), 'tapestry-identity-'))
    try {
      const a = await createIdentity(dir, 'Alice')
      const b = await createIdentity(other, 'Alice2')
      expect(Buffer.from(a.writerId)).not.toEqual(Buffer.from(b.writerId))
      expect((await stat(identityFiles.writer(dir))).isFile()).toBe(true)
    } finally {
      await rm(other, { recursive: true, force: true })
    }
  })
})
