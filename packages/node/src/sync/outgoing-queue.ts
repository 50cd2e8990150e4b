/**
 * A session's outgoing queue and its writer. The reader never waits for the writer, so
 * the queue is bounded (frames + live items, in bytes and in count); round answers are
 * queued as tasks whose frames are produced lazily while being written, and live items
 * of one type are batched into one frame. When a bound is hit (a slow peer), everything
 * queued is dropped and `epoch` moves on; the session repairs with a fresh round.
 */
import { encodeBatch } from './codec.js'

/** One frame to write, with the items it carries (for the counters). */
export interface Frame {
  bytes: Uint8Array
  records?: number
  envelopes?: number
}

export type Out =
  | { kind: 'msg'; frame: Uint8Array; size: number }
  | { kind: 'item'; type: 'records' | 'envelopes'; bytes: Uint8Array; size: number }
  | { kind: 'task'; run: () => AsyncIterable<Frame>; size: number }

export const TASK_SIZE = 1024

export interface OutgoingQueueOptions {
  maxQueueBytes: number
  maxQueueItems: number
  maxBatchBytes: number
  /** Writes one frame. */
  send(f: Frame): Promise<void>
  /** Has the session ended? Nothing is queued or written after. */
  closed(): boolean
  /** Everything queued was dropped (after `epoch` moved on). */
  onOverflow(dropped: number): void
  /** The writer ran out of frames (or stopped). */
  onIdle(): void
  /** A write failed. */
  onError(err: unknown): void
}

export class OutgoingQueue {
  readonly #o: OutgoingQueueOptions
  readonly #queue: Out[] = []
  #queuedBytes = 0
  #pumping = false
  #epoch = 0

  constructor(opts: OutgoingQueueOptions) {
    this.#o = opts
  }

  /** Moves on each time the queue is dropped: work of an older epoch is stale. */
  get epoch(): number {
    return this.#epoch
  }

  get length(): number {
    return this.#queue.length
  }

  enqueue(o: Out): void {
    if (this.#o.closed()) return
    if (
      this.#queue.length + 1 > this.#o.maxQueueItems ||
      this.#queuedBytes + o.size > this.#o.maxQueueBytes
    ) {
      this.overflow()
      return
    }
    this.#queue.push(o)
    this.#queuedBytes += o.size
    void this.#pump()
  }

  /** Drops everything queued and moves the epoch on. */
  overflow(): void {
    const dropped = this.#queue.length
    this.#queue.length = 0
    this.#queuedBytes = 0
    this.#epoch++
    this.#o.onOverflow(dropped)
    if (!this.#pumping) void this.#pump()
  }

  /** Forgets what is queued (the session ended). */
  clear(): void {
    this.#queue.length = 0
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return
    this.#pumping = true
    try {
      while (!this.#o.closed()) {
        const o = this.#queue.shift()
        if (o === undefined) break
        this.#queuedBytes -= o.size
        if (o.kind === 'msg') await this.#o.send({ bytes: o.frame })
        else if (o.kind === 'item') {
          const items = [o.bytes]
          let size = o.size
          while (
            this.#queue[0]?.kind === 'item' &&
            this.#queue[0].type === o.type &&
            size + this.#queue[0].size <= this.#o.maxBatchBytes
          ) {
            const next = this.#queue.shift() as Extract<Out, { kind: 'item' }>
            this.#queuedBytes -= next.size
            items.push(next.bytes)
            size += next.size
          }
          await this.#o.send({ bytes: encodeBatch(o.type, items), [o.type]: items.length })
        } else {
          const epoch = this.#epoch
          for await (const f of o.run()) {
            if (this.#o.closed()) break
            await this.#o.send(f)
            if (epoch !== this.#epoch) break // overflowed meanwhile: the new round covers it
          }
        }
      }
    } catch (err) {
      this.#o.onError(err)
    } finally {
      this.#pumping = false
    }
    this.#o.onIdle()
  }
}
