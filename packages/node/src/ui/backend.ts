import { ControlClient } from '../api/control-client.js'
import { type ControlInfo, readControlInfo } from '../api/control-file.js'
import type { DocumentEvent, NodeApi } from '../core/node-api.js'
import type { TapestryNode } from '../core/tapestry-node.js'
import { paths } from '../data-dir.js'
import { TapestryError } from '../errors.js'
import { Tapestry } from '../root/tapestry.js'
import { probeLock } from '../store/index.js'

/**
 * The node behind `tapestry ui`. Either `attached` to the member's running node
 * (`tapestry start` holds the store's lock; its control API is in control.json), or
 * `own`: no node ran, so this process opens one and serves the same control API, so
 * that the CLI keeps working beside the UI.
 *
 * Contract: `api()` returns the NodeApi to call now, or throws a TapestryError with code
 * `NODE_UNREACHABLE` while an attached node is away. Listeners registered with `on`
 * receive every DocumentEvent and every change of reachability (`online`), in order.
 * An attached backend keeps trying to reach the node (a restarted node has a new
 * port and token) until `close()`.
 */
export interface UiBackend {
  readonly mode: 'attached' | 'own'
  readonly memberId: string
  api(): NodeApi
  online(): boolean
  on(listener: BackendListener): () => void
  close(): Promise<void>
}

export type BackendListener = (
  e: { type: 'event'; event: DocumentEvent } | { type: 'online'; online: boolean },
) => void

export interface OpenBackendOptions {
  dataDir: string
  /** How long an attached backend waits before asking for the node again (ms). */
  retryMs?: number
}

/** Attaches to the member's running node, or opens one when none runs. */
export async function openBackend(opts: OpenBackendOptions): Promise<UiBackend> {
  const store = paths.store(opts.dataDir)
  if (!(await probeLock(store))) {
    try {
      return await OwnBackend.open(opts.dataDir)
    } catch (err) {
      // A node started between the probe and the open: attach to it instead.
      if ((err as { code?: unknown }).code !== 'NODE_RUNNING') throw err
    }
  }
  const info = await waitForControlInfo(opts.dataDir)
  return new AttachedBackend(opts.dataDir, info, opts.retryMs ?? 1000)
}

async function waitForControlInfo(dataDir: string): Promise<ControlInfo> {
  for (let i = 0; i < 50; i++) {
    const info = await readControlInfo(dataDir)
    if (info) return info
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new TapestryError(
    'NODE_STARTING',
    'a node is running on this data directory but its control API is not ready',
    'wait a moment and retry',
  )
}

class Listeners {
  readonly #set = new Set<BackendListener>()
  add(l: BackendListener): () => void {
    this.#set.add(l)
    return () => this.#set.delete(l)
  }
  emit(e: Parameters<BackendListener>[0]): void {
    for (const l of this.#set) l(e)
  }
}

class OwnBackend implements UiBackend {
  readonly mode = 'own'
  readonly #listeners = new Listeners()
  readonly #unsubscribe: () => void

  private constructor(private readonly tapestry: Tapestry) {
    this.#unsubscribe = tapestry.node.subscribe((event) =>
      this.#listeners.emit({ type: 'event', event }),
    )
  }

  static async open(dataDir: string): Promise<OwnBackend> {
    const tapestry = await Tapestry.open({ dataDir })
    try {
      await tapestry.start({ offline: true })
      return new OwnBackend(tapestry)
    } catch (err) {
      await tapestry.close()
      throw err
    }
  }

  get node(): TapestryNode {
    return this.tapestry.node
  }

  get memberId(): string {
    return this.node.memberId
  }
  api(): NodeApi {
    return this.node
  }
  online(): boolean {
    return true
  }
  on(listener: BackendListener): () => void {
    return this.#listeners.add(listener)
  }
  async close(): Promise<void> {
    this.#unsubscribe()
    await this.tapestry.close()
  }
}

class AttachedBackend implements UiBackend {
  readonly mode = 'attached'
  readonly memberId: string
  readonly #listeners = new Listeners()
  readonly #stop = new AbortController()
  #client: ControlClient | undefined
  #online = false
  readonly #loop: Promise<void>

  constructor(
    private readonly dataDir: string,
    first: ControlInfo,
    private readonly retryMs: number,
  ) {
    this.memberId = first.memberId
    this.#loop = this.#run(first)
  }

  api(): NodeApi {
    if (!this.#client || !this.#online) {
      throw new TapestryError(
        'NODE_UNREACHABLE',
        'your node is not running',
        'start it with `tapestry start`; this page reconnects by itself',
      )
    }
    return this.#client
  }
  online(): boolean {
    return this.#online
  }
  on(listener: BackendListener): () => void {
    return this.#listeners.add(listener)
  }
  async close(): Promise<void> {
    this.#stop.abort()
    await this.#loop
  }

  #setOnline(online: boolean): void {
    if (online === this.#online) return
    this.#online = online
    this.#listeners.emit({ type: 'online', online })
  }

  /** Follows the node's event stream; when it ends, looks for the node again. */
  async #run(first: ControlInfo): Promise<void> {
    let info: ControlInfo | undefined = first
    const signal = this.#stop.signal
    while (!signal.aborted) {
      if (info && info.memberId === this.memberId) {
        this.#client = new ControlClient(info)
        try {
          const events = this.#client.events(signal, () => this.#setOnline(true))
          for await (const event of events) this.#listeners.emit({ type: 'event', event })
        } catch {
          // the node went away (stopped, killed): offline until it answers again
        }
        this.#setOnline(false)
      }
      if (signal.aborted) break
      await abortableDelay(this.retryMs, signal)
      info = (await probeLock(paths.store(this.dataDir)))
        ? await readControlInfo(this.dataDir)
        : undefined
    }
    this.#setOnline(false)
  }
}

function abortableDelay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
