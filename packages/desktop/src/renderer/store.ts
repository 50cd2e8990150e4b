import { BridgeError, type TapestryBridge } from '../shared/bridge.js'
import type { LinkView, UiEvent, UiSnapshot, WeaveItem } from '../shared/wire.js'
import type { OutboxEntry, PageCache } from './cache.js'

export interface Notice {
  kind: 'info' | 'error'
  text: string
  hint?: string | undefined
}

export interface AppState {
  /** The link to `tapestry ui` (or the Electron main process). */
  link: 'connecting' | 'up' | 'down'
  /** Whether the member's node answers (null: not known yet). */
  nodeOnline: boolean | null
  peers: number | null
  memberId: string | null
  name: string | null
  mode: UiSnapshot['mode'] | null
  tribes: UiSnapshot['tribes']
  names: Record<string, string>
  /** Tribe id -> name of the tribes linked with the member's: where federated narratives come from. */
  partners: Record<string, string>
  methods: string[]
  /** Ascending by time. */
  items: WeaveItem[]
  /** True while what is shown comes from the page's cache, not the node. */
  fromCache: boolean
  savedAt: number | null
  outbox: OutboxEntry[]
  notice: Notice | null
  /** Bumped when rosters, profiles or consent change: views that read them refresh. */
  generation: number
}

const INITIAL: AppState = {
  link: 'connecting',
  nodeOnline: null,
  peers: null,
  memberId: null,
  name: null,
  mode: null,
  tribes: [],
  names: {},
  partners: {},
  methods: [],
  items: [],
  fromCache: false,
  savedAt: null,
  outbox: [],
  notice: null,
  generation: 0,
}

/**
 * The page's state and the one place that talks to the bridge and the cache. Views read
 * `state` (through `subscribe`) and call the methods; nothing else mutates it.
 */
export class TapestryStore {
  #state: AppState = INITIAL
  readonly #listeners = new Set<() => void>()
  readonly #items = new Map<string, WeaveItem>()
  #loading: Promise<void> | undefined
  #flushing = false
  #unsubscribe: (() => void) | undefined
  readonly #docListeners = new Set<{ docId: string; fn: (update: string) => void }>()

  constructor(
    readonly bridge: TapestryBridge,
    private readonly cache: PageCache,
  ) {}

  get state(): AppState {
    return this.#state
  }

  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  #set(patch: Partial<AppState>): void {
    this.#state = { ...this.#state, ...patch }
    for (const l of this.#listeners) l()
  }

  #publishItems(): void {
    const items = [...this.#items.values()].sort(
      (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1),
    )
    this.#set({ items })
  }

  /** Shows the cache at once, then follows the node. */
  async start(): Promise<void> {
    try {
      await this.cache.ready()
      const meta = this.cache.meta()
      if (meta && this.#state.memberId === null) {
        for (const it of this.cache.items()) this.#items.set(it.id, it)
        this.#set({
          memberId: meta.memberId,
          name: meta.name,
          tribes: meta.tribes,
          names: meta.names,
          savedAt: meta.savedAt,
          fromCache: true,
          outbox: this.cache.outbox(),
        })
        this.#publishItems()
      }
    } catch {
      // no IndexedDB (private window): the page still works, without a cache
    }
    this.#unsubscribe = this.bridge.subscribe(
      (e) => this.#onEvent(e),
      (up) => this.#onLink(up),
    )
    await this.reload()
  }

  stop(): void {
    this.#unsubscribe?.()
  }

  /** Fetches the whole projection again (once at a time). */
  reload(): Promise<void> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined
    })
    return this.#loading
  }

  async #load(): Promise<void> {
    let s: UiSnapshot
    try {
      s = await this.bridge.snapshot()
    } catch (err) {
      const code = err instanceof BridgeError ? err.code : 'LINK_DOWN'
      if (code === 'NODE_UNREACHABLE') this.#set({ nodeOnline: false, link: 'up' })
      else if (code === 'LINK_DOWN') this.#set({ link: 'down' })
      else this.notify(err)
      return
    }
    this.#items.clear()
    for (const it of s.items) this.#items.set(it.id, it)
    this.#set({
      link: 'up',
      nodeOnline: true,
      peers: s.peers,
      memberId: s.memberId,
      name: s.name,
      mode: s.mode,
      tribes: s.tribes,
      names: s.names,
      methods: s.methods,
      fromCache: false,
      savedAt: s.at,
      generation: this.#state.generation + 1,
    })
    this.#publishItems()
    await this.cache.saveSnapshot(s).catch(() => {})
    void this.#flushOutbox()
    void this.#loadPartners()
  }

  async #loadPartners(): Promise<void> {
    if (!this.has('federation')) return
    let links: LinkView[]
    try {
      links = (await this.bridge.call('federation', [])) as LinkView[]
    } catch {
      // federated narratives stay marked, as from another tribe, without its name
      return
    }
    const own = new Set(this.#state.tribes.map((t) => t.tribeId))
    const partners: Record<string, string> = {}
    for (const l of links) {
      for (const t of [l.tribeA, l.tribeB]) if (t && !own.has(t.id)) partners[t.id] = t.name
    }
    this.#set({ partners })
  }

  #onLink(up: boolean): void {
    if (!up) this.#set({ link: 'down' })
    else if (this.#state.link !== 'up') this.#set({ link: 'up' })
  }

  #onEvent(e: UiEvent): void {
    switch (e.type) {
      case 'hello':
        this.#set({ link: 'up', nodeOnline: e.online })
        if (e.online) void this.reload()
        return
      case 'reset':
        void this.reload()
        return
      case 'status': {
        const wasOnline = this.#state.nodeOnline
        this.#set({ nodeOnline: e.online, peers: e.peers })
        if (e.online && !wasOnline) void this.reload()
        return
      }
      case 'upsert':
        this.#items.set(e.item.id, e.item)
        this.cache.upsert(e.item)
        this.#publishItems()
        return
      case 'remove':
        if (this.#items.delete(e.id)) this.#publishItems()
        void this.cache.remove(e.id)
        return
      case 'changed':
        this.#set({ generation: this.#state.generation + 1 })
        if (e.kind === 'roster') void this.reload()
        if (e.kind === 'link') void this.#loadPartners()
        return
      case 'update':
        for (const l of this.#docListeners) if (l.docId === e.docId) l.fn(e.update)
        return
    }
  }

  /** Yjs updates (base64) of one document as the node applies them, for open editors. */
  onDocUpdate(docId: string, fn: (update: string) => void): () => void {
    const l = { docId, fn }
    this.#docListeners.add(l)
    return () => this.#docListeners.delete(l)
  }

  has(method: string): boolean {
    // Before the first snapshot (offline), offer everything: a call says what is missing.
    return this.#state.methods.length === 0 || this.#state.methods.includes(method)
  }

  /** Calls a node method; errors reject as BridgeError. */
  async call<T>(method: string, ...args: unknown[]): Promise<T> {
    try {
      return (await this.bridge.call(method, args)) as T
    } catch (err) {
      if (err instanceof BridgeError) {
        if (err.code === 'NODE_UNREACHABLE') this.#set({ nodeOnline: false })
        if (err.code === 'LINK_DOWN') this.#set({ link: 'down' })
        throw err
      }
      throw new BridgeError({ code: 'INTERNAL', message: String((err as Error)?.message ?? err) })
    }
  }

  /**
   * Writes through the node, or, when it cannot be reached, keeps the change in the
   * page's outbox and sends it when the node answers again. Resolves to true when the
   * node stored it now, false when it waits in the outbox.
   */
  async write(method: 'narrate' | 'echo', args: unknown[], label: string): Promise<boolean> {
    try {
      await this.call(method, ...args)
      return true
    } catch (err) {
      if (!(err instanceof BridgeError) || !isUnreachable(err.code)) throw err
      const entry: OutboxEntry = {
        id: `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`,
        method,
        args,
        label,
        at: Date.now(),
      }
      this.cache.queue(entry)
      this.#set({ outbox: this.cache.outbox() })
      return false
    }
  }

  async #flushOutbox(): Promise<void> {
    if (this.#flushing) return
    this.#flushing = true
    try {
      for (const entry of this.cache.outbox()) {
        try {
          await this.bridge.call(entry.method, entry.args)
        } catch (err) {
          if (err instanceof BridgeError && isUnreachable(err.code)) return
          this.notify(err, `“${entry.label}” could not be sent and was dropped`)
        }
        this.cache.dequeue(entry.id)
        this.#set({ outbox: this.cache.outbox() })
      }
    } finally {
      this.#flushing = false
    }
  }

  notify(err: unknown, prefix?: string): void {
    const e =
      err instanceof BridgeError
        ? err
        : new BridgeError({ code: 'INTERNAL', message: String((err as Error)?.message ?? err) })
    this.#set({
      notice: {
        kind: 'error',
        text: prefix ? `${prefix}: ${e.message}` : e.message,
        hint: e.hint,
      },
    })
  }

  inform(text: string): void {
    this.#set({ notice: { kind: 'info', text } })
  }

  dismiss(): void {
    this.#set({ notice: null })
  }
}

function isUnreachable(code: string): boolean {
  return code === 'NODE_UNREACHABLE' || code === 'LINK_DOWN'
}
