import { BridgeError, httpBridgeError, type TapestryBridge } from '../shared/bridge.js'
import type { UiEvent, UiSnapshot } from '../shared/wire.js'

export interface UiClientOptions {
  port: number
  token: string
  /** Wait between reconnection attempts of the event stream (ms). */
  retryMs?: number
}

/**
 * The bridge contract (shared/bridge.ts) spoken from Node: what the Electron main
 * process serves to its window over IPC, from the `tapestry ui` child's HTTP API.
 */
export function createUiClient(opts: UiClientOptions): TapestryBridge {
  const base = `http://127.0.0.1:${opts.port}`
  const auth = { authorization: `Bearer ${opts.token}` }
  const request = async (path: string, init?: RequestInit): Promise<unknown> => {
    let res: Response
    try {
      res = await fetch(`${base}${path}`, {
        ...init,
        headers: { ...auth, 'content-type': 'application/json' },
      })
    } catch {
      throw new BridgeError({
        code: 'LINK_DOWN',
        message: 'tapestry ui does not answer',
        hint: 'restart Tapestry',
      })
    }
    const body: unknown = await res.json().catch(() => undefined)
    if (!res.ok) throw httpBridgeError(res.status, body)
    return body
  }
  return {
    snapshot: () => request('/api/snapshot') as Promise<UiSnapshot>,
    call: (method, args) =>
      request(`/api/rpc/${encodeURIComponent(method)}`, {
        method: 'POST',
        body: JSON.stringify(args),
      }),
    subscribe(onEvent, onLink) {
      const stop = new AbortController()
      void (async () => {
        while (!stop.signal.aborted) {
          try {
            const res = await fetch(`${base}/api/events`, { headers: auth, signal: stop.signal })
            if (res.ok && res.body) {
              onLink(true)
              await readSse(res.body as unknown as AsyncIterable<Uint8Array>, (data) =>
                onEvent(JSON.parse(data) as UiEvent),
              )
            }
          } catch {
            // closed, refused or aborted: say so, then try again
          }
          if (stop.signal.aborted) return
          onLink(false)
          await new Promise((r) => setTimeout(r, opts.retryMs ?? 1000))
        }
      })()
      return () => stop.abort()
    },
  }
}

/** Calls `onData` with each `data:` payload of a Server-Sent Events body. */
export async function readSse(
  body: AsyncIterable<Uint8Array>,
  onData: (data: string) => void,
): Promise<void> {
  const decoder = new TextDecoder()
  let buffered = ''
  for await (const chunk of body) {
    buffered += decoder.decode(chunk, { stream: true })
    let end = buffered.indexOf('\n\n')
    while (end >= 0) {
      const block = buffered.slice(0, end)
      buffered = buffered.slice(end + 2)
      end = buffered.indexOf('\n\n')
      const data = block
        .split('\n')
        .filter((l) => l.startsWith('data: '))
        .map((l) => l.slice(6))
        .join('\n')
      if (data) onData(data)
    }
  }
}
