/**
 * A session's record and envelope counters: totals since the session began, and the
 * counts since the last `progress` event, coalesced over `progressIntervalMs`.
 */
import type { Counts } from './session-options.js'

export interface Totals {
  received: Counts
  sent: Counts
}

export class SessionProgress {
  readonly #received: Counts = { records: 0, envelopes: 0 }
  readonly #sent: Counts = { records: 0, envelopes: 0 }
  readonly #intervalMs: number
  readonly #onProgress: (received: Counts, sent: Counts) => void
  #timer: NodeJS.Timeout | undefined
  /** Totals since the session began. */
  readonly totals: Totals = {
    received: { records: 0, envelopes: 0 },
    sent: { records: 0, envelopes: 0 },
  }

  constructor(intervalMs: number, onProgress: (received: Counts, sent: Counts) => void) {
    this.#intervalMs = intervalMs
    this.#onProgress = onProgress
  }

  count(direction: 'received' | 'sent', k: keyof Counts, n: number): void {
    if (n === 0) return
    ;(direction === 'sent' ? this.#sent : this.#received)[k] += n
    this.totals[direction][k] += n
    this.#timer ??= setTimeout(() => this.flush(), this.#intervalMs)
    this.#timer.unref?.()
  }

  /** Stops the timer (the session ended); call `flush` for the last event. */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer)
  }

  flush(): void {
    this.#timer = undefined
    const received = { ...this.#received }
    const sent = { ...this.#sent }
    this.#received.records = this.#received.envelopes = 0
    this.#sent.records = this.#sent.envelopes = 0
    if (received.records + received.envelopes + sent.records + sent.envelopes > 0) {
      this.#onProgress(received, sent)
    }
  }
}
