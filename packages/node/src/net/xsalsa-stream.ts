/**
 * XSalsa20 as a byte stream: one keystream per (key, nonce) that continues across
 * calls, so a connection can be encrypted chunk by chunk whatever the chunk sizes.
 *
 * The XSalsa20 subkey (HSalsa20 of key and nonce[0..16]) is derived once; each call
 * runs Salsa20 with nonce[16..24] from the current 64-byte block counter, and the part
 * of a block a call did not use is kept for the next call. Salsa20's block counter is
 * 32 bits in @noble/ciphers: a stream ends (throws) after 256 GiB.
 */
import { hsalsa, salsa20 } from '@noble/ciphers/salsa.js'
import { NetError } from './errors.js'

const BLOCK = 64
const MAX_BLOCKS = 2 ** 32 - 1
const ZERO_BLOCK = new Uint8Array(BLOCK)
// "expand 32-byte k" as little-endian words
const SIGMA = new Uint32Array(new Uint8Array(new TextEncoder().encode('expand 32-byte k')).buffer)

export class XSalsa20Stream {
  readonly #subkey: Uint8Array
  readonly #nonce: Uint8Array
  #counter = 0
  readonly #rest = new Uint8Array(BLOCK)
  #restOffset = BLOCK

  constructor(key: Uint8Array, nonce: Uint8Array) {
    if (key.byteLength !== 32 || nonce.byteLength !== 24) {
      throw new NetError('BAD_CIPHER_INPUT', 'xsalsa20 needs a 32-byte key and a 24-byte nonce')
    }
    const k32 = new Uint32Array(new Uint8Array(key).buffer)
    const n32 = new Uint32Array(new Uint8Array(nonce.subarray(0, 16)).buffer)
    const out = new Uint32Array(8)
    hsalsa(SIGMA, k32, n32, out)
    this.#subkey = new Uint8Array(out.buffer)
    this.#nonce = new Uint8Array(nonce.subarray(16, 24))
    k32.fill(0)
  }

  /**
   * XORs `input` with the next `input.length` keystream bytes into `output` (same
   * length; may be `input` itself for in-place use). Returns `output`.
   */
  xor(input: Uint8Array, output: Uint8Array = new Uint8Array(input.length)): Uint8Array {
    const len = input.length
    let pos = 0
    const rest = this.#rest
    while (this.#restOffset < BLOCK && pos < len) {
      output[pos] = (input[pos] as number) ^ (rest[this.#restOffset++] as number)
      pos++
    }
    if (pos === len) return output
    const blocks = Math.floor((len - pos) / BLOCK)
    const tail = len - pos - blocks * BLOCK
    if (this.#counter + blocks + (tail > 0 ? 1 : 0) > MAX_BLOCKS) {
      throw new NetError('PNET_STREAM_EXHAUSTED', 'private network keystream exhausted (256 GiB)')
    }
    if (blocks > 0) {
      const end = pos + blocks * BLOCK
      const src = input.subarray(pos, end)
      const dst = output.subarray(pos, end)
      if (((src.byteOffset | dst.byteOffset) & 3) === 0) {
        salsa20(this.#subkey, this.#nonce, src, dst, this.#counter)
      } else {
        // noble's word-at-a-time path needs 4-byte alignment; a copy is much cheaper
        // than its byte-at-a-time fallback
        const scratch = new Uint8Array(src)
        salsa20(this.#subkey, this.#nonce, scratch, scratch, this.#counter)
        dst.set(scratch)
      }
      this.#counter += blocks
      pos = end
    }
    if (tail > 0) {
      salsa20(this.#subkey, this.#nonce, ZERO_BLOCK, rest, this.#counter)
      this.#counter++
      for (let i = 0; i < tail; i++) {
        output[pos + i] = (input[pos + i] as number) ^ (rest[i] as number)
      }
      this.#restOffset = tail
    }
    return output
  }
}
