/**
 * The tribe's swarm key: a 32-byte pre-shared key for the libp2p private-network
 * protector, kept in the standard `swarm.key` format that go-libp2p, Kubo and js-libp2p
 * private networks read:
 *
 * ```
 * /key/swarm/psk/1.0.0/
 * /base16/
 * <64 hex digits>
 * ```
 *
 * `networkTag` and `networkId` derive public, opaque names from a key (HKDF-SHA256 with
 * distinct labels), so logs, JSON and mDNS never carry the key or the tribe's name.
 */
import { randomBytes } from 'node:crypto'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { BadSwarmKeyError } from './errors.js'

export const SWARM_KEY_LENGTH = 32
export const SWARM_KEY_HEADER = '/key/swarm/psk/1.0.0/'
export const SWARM_KEY_ENCODING = '/base16/'

const encoder = new TextEncoder()

/** A fresh random 32-byte swarm key. */
export function generateSwarmKey(): Uint8Array {
  return new Uint8Array(randomBytes(SWARM_KEY_LENGTH))
}

/** Throws BadSwarmKeyError unless `key` is exactly 32 bytes. */
export function assertSwarmKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array) || key.byteLength !== SWARM_KEY_LENGTH) {
    throw new BadSwarmKeyError(`expected ${SWARM_KEY_LENGTH} bytes, got ${key?.byteLength}`)
  }
}

/** The `swarm.key` file text for `key` (lowercase hex, trailing newline). */
export function encodeSwarmKey(key: Uint8Array): string {
  assertSwarmKey(key)
  return `${SWARM_KEY_HEADER}\n${SWARM_KEY_ENCODING}\n${Buffer.from(key).toString('hex')}\n`
}

/**
 * Parses a `swarm.key` file (text or bytes). Accepts LF or CRLF line ends, hex in
 * either case, and trailing blank lines; rejects anything else with BadSwarmKeyError
 * (other encodings such as `/base64/` are valid pnet files but not supported here).
 */
export function decodeSwarmKey(file: string | Uint8Array): Uint8Array {
  const text =
    typeof file === 'string' ? file : new TextDecoder('utf-8', { fatal: false }).decode(file)
  const lines = text.split(/\r?\n/)
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop()
  if (lines.length !== 3) {
    throw new BadSwarmKeyError(`expected 3 lines, got ${lines.length}`)
  }
  const [header, encoding, body] = lines as [string, string, string]
  if (header !== SWARM_KEY_HEADER) {
    throw new BadSwarmKeyError(`first line must be ${SWARM_KEY_HEADER}`)
  }
  if (encoding !== SWARM_KEY_ENCODING) {
    throw new BadSwarmKeyError(
      `second line must be ${SWARM_KEY_ENCODING} (only base16 is supported)`,
    )
  }
  if (!/^[0-9a-fA-F]{64}$/.test(body)) {
    throw new BadSwarmKeyError('third line must be exactly 64 hex digits')
  }
  return new Uint8Array(Buffer.from(body, 'hex'))
}

function derive(key: Uint8Array, label: string, length: number): Uint8Array {
  assertSwarmKey(key)
  return hkdf(sha256, key, undefined, encoder.encode(label), length)
}

/**
 * The mDNS service name hosts of this network advertise and query: `_tp-<11 base32
 * chars>._udp.local` (the first label is 15 characters, the DNS-SD maximum). 55 bits of
 * HKDF output: unrelated networks on one LAN collide with negligible probability, and a
 * collision only costs a failed dial (the protector rejects the wrong key).
 */
export function networkTag(key: Uint8Array): string {
  const tag = uint8ArrayToString(derive(key, 'tapestry/mdns/v1', 7), 'base32').slice(0, 11)
  return `_tp-${tag}._udp.local`
}

/** An opaque, stable id of the network for logs and JSON (`net-` + 16 base32 chars). */
export function networkId(key: Uint8Array): string {
  const id = uint8ArrayToString(derive(key, 'tapestry/network-id/v1', 10), 'base32')
  return `net-${id}`
}
