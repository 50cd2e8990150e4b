import { xsalsa20 } from '@noble/ciphers/salsa.js'
import { describe, expect, it } from 'vitest'
import { BadSwarmKeyError } from '../src/net/errors.js'
import {
  decodeSwarmKey,
  encodeSwarmKey,
  generateSwarmKey,
  networkId,
  networkTag,
} from '../src/net/swarm-key.js'
import { XSalsa20Stream } from '../src/net/xsalsa-stream.js'

const HEX = 'dffb7e3135399a8b1612b2aaca1c36a3a8ac2cd0cca51ceeb2ced87d308cac6d'

describe('swarm.key', () => {
  it('round-trips the standard format', () => {
    const key = generateSwarmKey()
    expect(key.byteLength).toBe(32)
    const file = encodeSwarmKey(key)
    expect(file).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    expect(decodeSwarmKey(file)).toEqual(key)
    expect(decodeSwarmKey(new TextEncoder().encode(file))).toEqual(key)
  })

  it('reads files written by other implementations (CRLF, uppercase, no final newline)', () => {
    const expected = new Uint8Array(Buffer.from(HEX, 'hex'))
    expect(decodeSwarmKey(`/key/swarm/psk/1.0.0/\r\n/base16/\r\n${HEX.toUpperCase()}\r\n`)).toEqual(
      expected,
    )
    expect(decodeSwarmKey(`/key/swarm/psk/1.0.0/\n/base16/\n${HEX}`)).toEqual(expected)
  })

  it.each([
    ['empty', ''],
    ['wrong header', `/key/swarm/psk/2.0.0/\n/base16/\n${HEX}\n`],
    ['base64 encoding', `/key/swarm/psk/1.0.0/\n/base64/\n${HEX}\n`],
    ['short key', `/key/swarm/psk/1.0.0/\n/base16/\n${HEX.slice(2)}\n`],
    ['long key', `/key/swarm/psk/1.0.0/\n/base16/\n${HEX}00\n`],
    ['not hex', `/key/swarm/psk/1.0.0/\n/base16/\n${HEX.slice(1)}g\n`],
    ['spaces', `/key/swarm/psk/1.0.0/\n/base16/\n ${HEX}\n`],
    ['extra line', `/key/swarm/psk/1.0.0/\n/base16/\n${HEX}\nmore\n`],
    ['missing line', `/key/swarm/psk/1.0.0/\n${HEX}\n`],
  ])('rejects a malformed file: %s', (_name, file) => {
    expect(() => decodeSwarmKey(file)).toThrow(BadSwarmKeyError)
    try {
      decodeSwarmKey(file)
    } catch (err) {
      expect((err as BadSwarmKeyError).code).toBe('BAD_SWARM_KEY')
    }
  })

  it('rejects key bytes of the wrong length', () => {
    expect(() => encodeSwarmKey(new Uint8Array(31))).toThrow(BadSwarmKeyError)
    expect(() => networkTag(new Uint8Array(33))).toThrow(BadSwarmKeyError)
  })
})

describe('networkTag / networkId', () => {
  it('are opaque, stable, differ per key and never contain the key', () => {
    const a = generateSwarmKey()
    const b = generateSwarmKey()
    expect(networkTag(a)).toBe(networkTag(a))
    expect(networkTag(a)).not.toBe(networkTag(b))
    expect(networkId(a)).not.toBe(networkId(b))
    for (const key of [a, b]) {
      const tag = networkTag(key)
      // a DNS-SD service name: "_" + at most 15 letters, digits, hyphens
      expect(tag).toMatch(/^_tp-[a-z2-7]{11}\._udp\.local$/)
      expect(tag.split('.')[0]!.length).toBeLessThanOrEqual(16)
      const hex = Buffer.from(key).toString('hex')
      for (const text of [tag, networkId(key)]) {
        expect(text).not.toContain(hex.slice(0, 8))
        expect(text).not.toContain(Buffer.from(key).toString('base64').slice(0, 8))
      }
      expect(networkId(key)).toMatch(/^net-[a-z2-7]{16}$/)
    }
  })
})

describe('XSalsa20Stream', () => {
  it('equals one-shot XSalsa20 whatever the chunking', () => {
    const key = generateSwarmKey()
    const nonce = new Uint8Array(24).map((_, i) => i * 7)
    const data = new Uint8Array(70_000).map((_, i) => (i * 31) & 0xff)
    const expected = xsalsa20(key, nonce, data)
    for (let round = 0; round < 20; round++) {
      const stream = new XSalsa20Stream(key, nonce)
      const out = new Uint8Array(data.length)
      let pos = 0
      while (pos < data.length) {
        const n = Math.min(
          data.length - pos,
          1 + Math.floor(Math.random() * (round % 2 ? 200 : 9000)),
        )
        const chunk = data.slice(pos, pos + n)
        out.set(stream.xor(chunk, chunk), pos) // in place
        pos += n
      }
      expect(Buffer.from(out).equals(Buffer.from(expected))).toBe(true)
    }
  })
})
