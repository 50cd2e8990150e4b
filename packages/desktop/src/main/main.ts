/**
 * The Electron main process, kept thin: everything it decides lives in plain modules
 * tested without Electron (ui-process, ui-client, ipc-bridge, window). It
 * 1. starts `tapestry ui --json` as a child (attaches to the member's running node, or
 *    runs one there), so this process never blocks on the node;
 * 2. serves the built renderer on tapestry://app with a strict CSP (no remote content);
 * 3. opens one isolated, sandboxed window whose preload exposes the bridge, served here
 *    over IPC from the child's API (the window never sees the token).
 * Not run on the development machine: Electron's binary cannot be downloaded there.
 */
import { readFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { app, BrowserWindow, dialog, ipcMain, protocol, session } from 'electron'
import { serveBridge } from './ipc-bridge.js'
import { createUiClient } from './ui-client.js'
import { startUiProcess, type UiProcess } from './ui-process.js'
import {
  APP_ENTRY,
  APP_SCHEME,
  isAppUrl,
  RENDERER_CSP,
  rendererFile,
  windowOptions,
} from './window.js'

const here = dirname(fileURLToPath(import.meta.url))
const rendererDir = join(here, '..', 'renderer')
const preload = join(here, '..', 'preload', 'preload.cjs')
const tapestryBin = join(
  dirname(createRequire(import.meta.url).resolve('@tapestry/node')),
  '..',
  'bin',
  'tapestry.js',
)

protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: false } },
])

let ui: UiProcess | undefined

async function main(): Promise<void> {
  await app.whenReady()
  try {
    ui = await startUiProcess({
      tapestryBin,
      execPath: process.execPath,
      runAsNode: true,
      args: ['--port', '0'],
      dataDir: process.env.TAPESTRY_DATA,
    })
  } catch (err) {
    const e = err as { message: string; hint?: string }
    dialog.showErrorBox(
      'Tapestry could not start your node',
      [e.message, e.hint].filter(Boolean).join('\n\n'),
    )
    app.exit(1)
    return
  }

  protocol.handle(APP_SCHEME, async (request) => {
    const file = rendererFile(request.url, rendererDir)
    if (!file) return new Response('not found', { status: 404 })
    try {
      return new Response(await readFile(file.path), {
        headers: {
          'content-type': file.type,
          'content-security-policy': RENDERER_CSP,
          'x-content-type-options': 'nosniff',
        },
      })
    } catch {
      return new Response('not found', { status: 404 })
    }
  })
  // No permission (camera, notifications, ...) is ever granted to the page.
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) =>
    callback(false),
  )

  serveBridge(ipcMain, createUiClient({ port: ui.port, token: ui.token }))

  const win = new BrowserWindow(windowOptions(preload))
  win.webContents.on('will-navigate', (event, url) => {
    if (!isAppUrl(url)) event.preventDefault()
  })
  win.webContents.setWindowOpenHandler(() => ({ action: 'deny' }))
  win.once('ready-to-show', () => win.show())
  await win.loadURL(APP_ENTRY)
}

app.on('web-contents-created', (_e, contents) => {
  contents.on('will-attach-webview', (event) => event.preventDefault())
})
app.on('window-all-closed', () => app.quit())
app.on('will-quit', (event) => {
  if (!ui) return
  event.preventDefault()
  const child = ui
  ui = undefined
  void child.stop().finally(() => app.exit(0))
})

void main()
