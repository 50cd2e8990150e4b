/**
 * The window's one bridge to its node (contextIsolation, sandbox): `window.tapestry`,
 * the TapestryBridge contract of shared/bridge.ts, served by the main process over IPC.
 * A sandboxed preload may require nothing but 'electron', so the channel names are
 * repeated here (a test checks they match shared/bridge.ts).
 */
import electron = require('electron')

const { contextBridge, ipcRenderer } = electron
type IpcRendererEvent = electron.IpcRendererEvent

const SNAPSHOT = 'tapestry:snapshot'
const CALL = 'tapestry:call'
const SUBSCRIBE = 'tapestry:subscribe'
const EVENT = 'tapestry:event'
const LINK = 'tapestry:link'

type Wrapped =
  | { ok: true; value: unknown }
  | { ok: false; error: { code: string; message: string; hint?: string } }

// Rejections carry plain data ({code, message, hint}): Error fields do not cross the bridge.
const unwrap = (w: Wrapped): unknown => {
  if (w.ok) return w.value
  throw w.error
}

contextBridge.exposeInMainWorld('tapestry', {
  snapshot: () => ipcRenderer.invoke(SNAPSHOT).then(unwrap),
  call: (method: string, args: unknown[]) =>
    ipcRenderer.invoke(CALL, String(method), args).then(unwrap),
  subscribe(onEvent: (e: unknown) => void, onLink: (up: boolean) => void): () => void {
    const ev = (_e: IpcRendererEvent, data: unknown) => onEvent(data)
    const ln = (_e: IpcRendererEvent, up: unknown) => onLink(up === true)
    ipcRenderer.on(EVENT, ev)
    ipcRenderer.on(LINK, ln)
    ipcRenderer.send(SUBSCRIBE)
    return () => {
      ipcRenderer.removeListener(EVENT, ev)
      ipcRenderer.removeListener(LINK, ln)
    }
  },
})
