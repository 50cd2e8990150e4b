import { BridgeError, httpBridgeError, type TapestryBridge } from '../shared/bridge.js'
import type { UiEvent, UiSnapshot } from '../shared/wire.js'

/** The bridge of a page served by `tapestry ui`: the token comes from the page's address. */
export function httpBridge(token: string): TapestryBridge {
  const q = `token=${encodeURIComponent(token)}`
  const request = async (path: string, init?: RequestInit): Promise<unknown> => {
    let res: Response
    try {
      res = await fetch(path, {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        cache: 'no-store',
      })
    } catch {
      throw new BridgeError({
        code: 'LINK_DOWN',
        message: 'tapestry ui does not answer',
        hint: 'start it again with `tapestry ui`; this page keeps what it last showed',
      })
    }
    let body: unknown
    try {
      body = await res.json()
    } catch {
      body = undefined
    }
    if (!res.ok) throw httpBridgeError(res.status, body)
    return body
  }
  return {
    snapshot: () => request(`api/snapshot?${q}`) as Promise<UiSnapshot>,
    call: (method, args) =>
      request(`api/rpc/${encodeURIComponent(method)}`, {
        method: 'POST',
        body: JSON.stringify(args),
      }),
    subscribe(onEvent, onLink) {
      const source = new EventSource(`api/events?${q}`)
      source.onopen = () => onLink(true)
      source.onerror = () => onLink(false)
      source.onmessage = (m: MessageEvent<string>) => {
        try {
          onEvent(JSON.parse(m.data) as UiEvent)
        } catch {
          // not an event of ours
        }
      }
      return () => source.close()
    },
  }
}
