import { createPrivateKey, type KeyObject, sign as nodeSign, randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { mkdir, open, readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import {
  generateKeyPair,
  privateKeyFromProtobuf,
  privateKeyToProtobuf,
  publicKeyFromRaw,
} from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey, peerIdFromPublicKey, peerIdFromString } from '@libp2p/peer-id'
import { writeFileAtomic } from '../secret-file.js'
import {
  CorruptIdentityError,
  IdentityExistsError,
  InsecureKeyFileError,
  InvalidMemberIdError,
  NoIdentityError,
} from './errors.js'

/** Fixed file names inside a data directory. */
export const identityFiles = {
  /** libp2p protobuf encoding of the Ed25519 private key, mode 0600. */
  key: (dir: string) => join(dir, 'identity.key'),
  /** `{ version, memberId, name }`: public, for display. */
  meta: (dir: string) => join(dir, 'identity.json'),
  /** `{ version, writerId }`: the 8-byte writer id of this data directory (hex). */
  writer: (dir: string) => join(dir, 'writer.json'),
}

export const WRITER_ID_BYTES = 8

const inspectSymbol = Symbol.for('nodejs.util.inspect.custom')

const toHex = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')

/**
 * A member as seen by its own node: the Ed25519 key (the libp2p PeerId), the writer id
 * of this data directory and the display name. The private key is reachable through
 * `privateKey` for libp2p, but `toJSON`, `util.inspect` and `String()` never show it.
 */
export class Identity {
  readonly #privateKey: PrivateKey
  #keyObject: KeyObject | undefined
  /** The libp2p PeerId string of the key (`12D3KooW...`). */
  readonly memberId: string
  /** Raw 32-byte Ed25519 public key (the envelope `author`). */
  readonly publicKey: Uint8Array
  /** 8 random bytes per data directory. */
  readonly writerId: Uint8Array

  constructor(
    privateKey: PrivateKey,
    writerId: Uint8Array,
    readonly name: string,
  ) {
    if (privateKey.type !== 'Ed25519') throw new TypeError('a member key must be Ed25519')
    if (writerId.byteLength !== WRITER_ID_BYTES) throw new TypeError('a writer id is 8 bytes')
    this.#privateKey = privateKey
    this.memberId = peerIdFromPrivateKey(privateKey).toString()
    this.publicKey = privateKey.publicKey.raw
    this.writerId = writerId
  }

  /** The libp2p private key, for the libp2p node only. Never log it. */
  get privateKey(): PrivateKey {
    return this.#privateKey
  }

  /**
   * Ed25519 signature (64 bytes) of `data`: the same bytes as `privateKey.sign(data)`
   * (Ed25519 is deterministic), but through a cached Node KeyObject, which halves the
   * cost per signature (about 30 µs instead of 70 µs), and on libuv's thread pool (Node's
   * callback form of `crypto.sign`), so the event loop spends only a few µs on it: on the
   * write path it signs while the editor keeps typing.
   */
  sign(data: Uint8Array): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      // Throws here (a bad key or input) reject the promise.
      nodeSign(null, data, this.#signingKey(), (err, sig) => {
        if (err) reject(err)
        else resolve(new Uint8Array(sig.buffer, sig.byteOffset, sig.byteLength))
      })
    })
  }

  #signingKey(): KeyObject {
    if (this.#keyObject === undefined) {
      const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url')
      this.#keyObject = createPrivateKey({
        format: 'jwk',
        key: {
          kty: 'OKP',
          crv: 'Ed25519',
          d: b64(this.#privateKey.raw.subarray(0, 32)),
          x: b64(this.publicKey),
        },
      })
    }
    return this.#keyObject
  }

  toJSON(): { memberId: string; name: string; publicKey: string; writerId: string } {
    return {
      memberId: this.memberId,
      name: this.name,
      publicKey: toHex(this.publicKey),
      writerId: toHex(this.writerId),
    }
  }

  toString(): string {
    return `Identity(${this.memberId}, ${this.name})`
  }

  [inspectSymbol](): string {
    return `Identity ${JSON.stringify(this.toJSON())}`
  }
}

/** The member id (PeerId string) of a raw 32-byte Ed25519 public key. */
export function memberIdFromPublicKey(raw: Uint8Array): string {
  if (raw.byteLength !== 32) {
    throw new InvalidMemberIdError(toHex(raw), 'an Ed25519 public key is 32 bytes')
  }
  const key = publicKeyFromRaw(raw)
  if (key.type !== 'Ed25519') throw new InvalidMemberIdError(toHex(raw), 'not Ed25519')
  return peerIdFromPublicKey(key).toString()
}

/** The raw 32-byte Ed25519 public key inside a member id (Ed25519 PeerIds embed it). */
export function publicKeyFromMemberId(memberId: string): Uint8Array {
  let peer: ReturnType<typeof peerIdFromString>
  try {
    peer = peerIdFromString(memberId)
  } catch (err) {
    throw new InvalidMemberIdError(memberId, (err as Error).message)
  }
  if (peer.type !== 'Ed25519') throw new InvalidMemberIdError(memberId, `a ${peer.type} key`)
  return peer.publicKey.raw
}

/** Creates a new identity; refuses (IdentityExistsError) if the directory already has one. */
export async function createIdentity(dataDir: string, name: string): Promise<Identity> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const keyPath = identityFiles.key(dataDir)
  if (await exists(keyPath)) throw new IdentityExistsError(dataDir)
  const key = await generateKeyPair('Ed25519')
  // The key file is the commitment: created without ever replacing an existing one.
  const created = await writeFileAtomic(keyPath, privateKeyToProtobuf(key), { overwrite: false })
  if (!created) throw new IdentityExistsError(dataDir)
  const memberId = peerIdFromPrivateKey(key).toString()
  await writeJsonAtomic(identityFiles.meta(dataDir), { version: 1, memberId, name })
  const writerId = await loadOrCreateWriterId(dataDir)
  return new Identity(key, writerId, name)
}

/** Loads the identity; NoIdentityError if there is none. */
export async function loadIdentity(dataDir: string): Promise<Identity> {
  const keyPath = identityFiles.key(dataDir)
  let bytes: Uint8Array
  try {
    const fh = await open(keyPath, constants.O_RDONLY | constants.O_NOFOLLOW)
    try {
      const st = await fh.stat()
      if ((st.mode & 0o077) !== 0) throw new InsecureKeyFileError(dataDir, keyPath, st.mode)
      bytes = await fh.readFile()
    } finally {
      await fh.close()
    }
  } catch (err) {
    if (isCode(err, 'ENOENT')) throw new NoIdentityError(dataDir)
    if (isCode(err, 'ELOOP')) {
      throw new CorruptIdentityError(dataDir, keyPath, 'a symbolic link, refused')
    }
    throw err
  }
  let key: PrivateKey
  try {
    key = privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new CorruptIdentityError(dataDir, keyPath, (err as Error).message)
  }
  if (key.type !== 'Ed25519') throw new CorruptIdentityError(dataDir, keyPath, 'not Ed25519')
  const memberId = peerIdFromPrivateKey(key).toString()
  const meta = await readJson(dataDir, identityFiles.meta(dataDir))
  let name = memberId.slice(-8)
  if (meta !== undefined) {
    if (typeof meta.name !== 'string' || meta.memberId !== memberId) {
      throw new CorruptIdentityError(dataDir, identityFiles.meta(dataDir), 'does not match the key')
    }
    name = meta.name
  }
  const writerId = await loadOrCreateWriterId(dataDir)
  return new Identity(key, writerId, name)
}

/** Loads the identity, creating one (named `name`) if the directory has none. */
export async function loadOrCreateIdentity(dataDir: string, name = 'member'): Promise<Identity> {
  try {
    return await loadIdentity(dataDir)
  } catch (err) {
    if (!(err instanceof NoIdentityError)) throw err
  }
  try {
    return await createIdentity(dataDir, name)
  } catch (err) {
    // Lost a race with a concurrent creator: theirs is the identity.
    if (err instanceof IdentityExistsError) return await loadIdentity(dataDir)
    throw err
  }
}

/** The writer id of this data directory, created once (never replaced) on first use. */
export async function loadOrCreateWriterId(dataDir: string): Promise<Uint8Array> {
  const path = identityFiles.writer(dataDir)
  const existing = await readJson(dataDir, path)
  if (existing === undefined) {
    const fresh = new Uint8Array(randomBytes(WRITER_ID_BYTES))
    const body = `${JSON.stringify({ version: 1, writerId: toHex(fresh) })}\n`
    if (await writeFileAtomic(path, new TextEncoder().encode(body), { overwrite: false })) {
      return fresh
    }
    return loadOrCreateWriterId(dataDir) // someone else created it first
  }
  const hex = existing.writerId
  if (typeof hex !== 'string' || !/^[0-9a-f]{16}$/.test(hex)) {
    throw new CorruptIdentityError(dataDir, path, 'writerId is not 16 hex digits')
  }
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

async function readJson(
  dataDir: string,
  path: string,
): Promise<Record<string, unknown> | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if (isCode(err, 'ENOENT')) return undefined
    throw err
  }
  try {
    const v: unknown = JSON.parse(text)
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not an object')
    return v as Record<string, unknown>
  } catch (err) {
    throw new CorruptIdentityError(dataDir, path, (err as Error).message)
  }
}

async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const body = new TextEncoder().encode(`${JSON.stringify(value)}\n`)
  await writeFileAtomic(path, body, { overwrite: true })
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path)
    return true
  } catch (err) {
    if (isCode(err, 'ENOENT')) return false
    throw err
  }
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code
}
