/**
 * Item keys, and the bounded set of items that came from the peer recently: live push
 * does not send an item back to the peer it came from.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { envelopeWriterKey } from '../envelope/sign.js'
import type { Envelope } from '../envelope/types.js'

const RECENT_MAX = 50_000

export const envKey = (e: Envelope) => `e/${e.docId}/${envelopeWriterKey(e)}/${e.seq}`
export const hex = (b: Uint8Array) =>
  Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex')
export const recordIdOf = (bytes: Uint8Array) => hex(sha256(bytes))

/** Keys of items received from the peer, oldest dropped first past RECENT_MAX. */
export class RecentItems {
  readonly #recent = new Set<string>()

  has(key: string): boolean {
    return this.#recent.has(key)
  }

  remember(key: string): void {
    this.#recent.delete(key)
    this.#recent.add(key)
    if (this.#recent.size > RECENT_MAX) {
      let n = this.#recent.size - RECENT_MAX + 1024
      for (const k of this.#recent) {
        if (n-- <= 0) break
        this.#recent.delete(k)
      }
    }
  }
}
