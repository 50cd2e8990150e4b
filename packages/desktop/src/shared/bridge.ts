/**
 * The renderer's one way to its node. Two implementations with one contract:
 * - in a browser, `httpBridge` (renderer/http-bridge.ts) speaks to `tapestry ui` over
 *   HTTP with the page's token;
 * - in Electron, the preload exposes `window.tapestry` (preload/preload.cts), which the
 *   main process serves over IPC from the same `tapestry ui` API.
 *
 * Contract:
 * - `snapshot()` resolves to the current projection, or rejects with a `BridgeError`
 *   (code `NODE_UNREACHABLE` while the node is away, `LINK_DOWN` when nothing answers).
 * - `call(method, args)` runs one NodeApi method on the node; errors keep the node's
 *   `code` and `hint`; a method the node lacks rejects with code `NOT_AVAILABLE` (the
 *   node's API has it, this node does not) or `UNKNOWN_METHOD` (no such method).
 * - `subscribe(onEvent, onLink)` delivers every UiEvent in order and reports the link
 *   (true once events flow, false when they stop; it reconnects by itself) until the
 *   returned function is called.
 */
import type { UiEvent, UiSnapshot } from './wire.js'

export interface TapestryBridge {
  snapshot(): Promise<UiSnapshot>
  call(method: string, args: unknown[]): Promise<unknown>
  subscribe(onEvent: (e: UiEvent) => void, onLink: (up: boolean) => void): () => void
}

/** What a failed bridge call carries (plain data: it crosses Electron's context bridge). */
export interface BridgeErrorData {
  code: string
  message: string
  hint?: string | undefined
}

export class BridgeError extends Error {
  override readonly name = 'BridgeError'
  readonly code: string
  readonly hint: string | undefined
  constructor(data: BridgeErrorData) {
    super(data.message)
    this.code = data.code
    this.hint = data.hint
  }
}

/** The codes of a call the node does not offer: the page says so, not that it failed. */
export const UNAVAILABLE_CODES: ReadonlySet<string> = new Set(['NOT_AVAILABLE', 'UNKNOWN_METHOD'])

/** The BridgeError of a failed HTTP reply from `tapestry ui`: its `{error}` body, or the status. */
export function httpBridgeError(status: number, body: unknown): BridgeError {
  const e = (body as { error?: { code?: unknown; message?: unknown; hint?: unknown } } | undefined)
    ?.error
  return new BridgeError({
    code: typeof e?.code === 'string' ? e.code : `HTTP_${status}`,
    message: typeof e?.message === 'string' ? e.message : `HTTP ${status}`,
    hint: typeof e?.hint === 'string' ? e.hint : undefined,
  })
}

/** Channel names between the Electron preload and main process. */
export const IPC = {
  snapshot: 'tapestry:snapshot',
  call: 'tapestry:call',
  subscribe: 'tapestry:subscribe',
  event: 'tapestry:event',
  link: 'tapestry:link',
} as const
