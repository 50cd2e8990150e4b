/**
 * A small async lock: `shared` sections run concurrently with each other, an
 * `exclusive` section waits for running shared ones and keeps new ones (and other
 * exclusive ones) out until it ends. Used so that erasure never runs beside an open
 * iterator (LevelDB keeps overwritten values alive for open snapshots).
 */
export class RwLock {
  #shared = 0
  #exclusive: Promise<void> | null = null
  #drained: (() => void) | null = null

  async shared<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#exclusive !== null) await this.#exclusive
    this.#shared++
    try {
      return await fn()
    } finally {
      this.#shared--
      if (this.#shared === 0 && this.#drained !== null) this.#drained()
    }
  }

  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#exclusive !== null) await this.#exclusive
    let release!: () => void
    this.#exclusive = new Promise<void>((resolve) => {
      release = resolve
    })
    try {
      if (this.#shared > 0) {
        await new Promise<void>((resolve) => {
          this.#drained = resolve
        })
        this.#drained = null
      }
      return await fn()
    } finally {
      this.#exclusive = null
      release()
    }
  }
}
