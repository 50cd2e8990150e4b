import { generateKeyPair } from '@libp2p/crypto/keys'
import { describe, expect, it } from 'vitest'
import { MAX_SEALED_SECRET, openSealed, SealedKeyError, sealKey } from '../src/crypto/sealed-box.js'
import { generateSwarmKey } from '../src/net/swarm-key.js'

async function member() {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, publicKey: privateKey.publicKey.raw }
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    if (err instanceof SealedKeyError) return err.code
    throw err
  }
  return undefined
}

describe('sealed swarm keys', () => {
  it('round-trips a swarm key to the recipient (libp2p key or raw seed)', async () => {
    const ada = await member()
    expect(ada.privateKey.raw.byteLength).toBe(64)
    const key = generateSwarmKey()
    const sealed = sealKey(key, ada.publicKey, 'roster_x/1')
    expect(sealed.length).toBeLessThanOrEqual(512)
    expect(sealed).toMatch(/^[A-Za-z0-9+/]*={0,2}$/)
    expect(openSealed(ada.privateKey, sealed, 'roster_x/1')).toEqual(key)
    expect(openSealed(ada.privateKey.raw.subarray(0, 32), sealed, 'roster_x/1')).toEqual(key)
    // Fresh ephemeral key and nonce every time.
    expect(sealKey(key, ada.publicKey, 'roster_x/1')).not.toBe(sealed)
  })

  it('does not open for another member, or in another context', async () => {
    const ada = await member()
    const bo = await member()
    const sealed = sealKey(generateSwarmKey(), ada.publicKey, 'roster_x/1')
    expect(codeOf(() => openSealed(bo.privateKey, sealed, 'roster_x/1'))).toBe(
      'SEALED_KEY_NOT_FOR_ME',
    )
    expect(codeOf(() => openSealed(ada.privateKey, sealed, 'roster_x/2'))).toBe(
      'SEALED_KEY_NOT_FOR_ME',
    )
  })

  it('refuses every altered byte and malformed input', async () => {
    const ada = await member()
    const sealed = sealKey(generateSwarmKey(), ada.publicKey)
    const bytes = Buffer.from(sealed, 'base64')
    for (let i = 1; i < bytes.length; i++) {
      const t = Buffer.from(bytes)
      t[i] = (t[i] ?? 0) ^ 0x01
      expect(codeOf(() => openSealed(ada.privateKey, t.toString('base64')))).toBe(
        'SEALED_KEY_NOT_FOR_ME',
      )
    }
    const wrongVersion = Buffer.from(bytes)
    wrongVersion[0] = 2
    expect(codeOf(() => openSealed(ada.privateKey, wrongVersion.toString('base64')))).toBe(
      'SEALED_KEY_MALFORMED',
    )
    expect(codeOf(() => openSealed(ada.privateKey, 'not base64!'))).toBe('SEALED_KEY_MALFORMED')
    expect(codeOf(() => openSealed(ada.privateKey, bytes.subarray(0, 40).toString('base64')))).toBe(
      'SEALED_KEY_MALFORMED',
    )
  })

  it('refuses bad recipients and secrets', async () => {
    expect(codeOf(() => sealKey(generateSwarmKey(), new Uint8Array(31)))).toBe(
      'SEALED_KEY_BAD_RECIPIENT',
    )
    const ada = await member()
    expect(() => sealKey(new Uint8Array(MAX_SEALED_SECRET + 1), ada.publicKey)).toThrow(RangeError)
  })
})
