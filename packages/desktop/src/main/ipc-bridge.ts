import { IPC, type TapestryBridge } from '../shared/bridge.js'
import { isAppUrl } from './window.js'

/** The part of Electron's ipcMain this module uses (a fake in tests). */
export interface IpcMainLike {
  handle(channel: string, fn: (event: IpcEventLike, ...args: unknown[]) => Promise<unknown>): void
  removeHandler(channel: string): void
  on(channel: string, fn: (event: IpcEventLike, ...args: unknown[]) => void): void
  removeListener(channel: string, fn: (event: IpcEventLike, ...args: unknown[]) => void): void
}

export interface IpcEventLike {
  senderFrame: { url: string } | null
  sender: {
    send(channel: string, ...args: unknown[]): void
    once(event: 'destroyed', fn: () => void): void
  }
}

/** What crosses IPC for a call: errors as plain data (Electron drops an Error's fields). */
export type Wrapped =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: string; message: string; hint?: string } }

const METHOD = /^[A-Za-z]{1,40}$/

/**
 * Serves the renderer's bridge over IPC from `client`, only to frames of the app's own
 * origin (tapestry://app). Returns a function that stops serving.
 */
export function serveBridge(ipc: IpcMainLike, client: TapestryBridge): () => void {
  const trusted = (e: IpcEventLike) => e.senderFrame !== null && isAppUrl(e.senderFrame.url)
  const refuse = (): Wrapped => ({
    ok: false,
    error: { code: 'FORBIDDEN', message: 'not the Tapestry window' },
  })
  const wrap = async (p: () => Promise<unknown>): Promise<Wrapped> => {
    try {
      return { ok: true, value: await p() }
    } catch (err) {
      const e = err as { code?: unknown; message?: unknown; hint?: unknown }
      return {
        ok: false,
        error: {
          code: typeof e.code === 'string' ? e.code : 'INTERNAL',
          message: typeof e.message === 'string' ? e.message : String(err),
          ...(typeof e.hint === 'string' ? { hint: e.hint } : {}),
        },
      }
    }
  }
  ipc.handle(IPC.snapshot, async (e) => (trusted(e) ? wrap(() => client.snapshot()) : refuse()))
  ipc.handle(IPC.call, async (e, method, args) => {
    if (!trusted(e)) return refuse()
    if (typeof method !== 'string' || !METHOD.test(method) || !Array.isArray(args)) {
      return {
        ok: false,
        error: { code: 'BAD_REQUEST', message: 'a call names a method and an array of arguments' },
      }
    }
    return wrap(() => client.call(method, args))
  })
  const onSubscribe = (e: IpcEventLike) => {
    if (!trusted(e)) return
    const wc = e.sender
    const off = client.subscribe(
      (event) => wc.send(IPC.event, event),
      (up) => wc.send(IPC.link, up),
    )
    wc.once('destroyed', off)
  }
  ipc.on(IPC.subscribe, onSubscribe)
  return () => {
    ipc.removeHandler(IPC.snapshot)
    ipc.removeHandler(IPC.call)
    ipc.removeListener(IPC.subscribe, onSubscribe)
  }
}
