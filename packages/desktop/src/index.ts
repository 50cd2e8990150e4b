/**
 * @tapestry/desktop — the Electron shell's main-process logic as plain modules (usable and
 * tested without Electron), and the renderer built to dist/renderer (served by
 * `tapestry ui` in a browser, and by the Electron window).
 *
 * @example
 * ```ts
 * import { createUiClient, startUiProcess } from '@tapestry/desktop'
 *
 * const ui = await startUiProcess({ tapestryBin: 'packages/node/bin/tapestry.js', dataDir: '/tmp/ada' })
 * const bridge = createUiClient(ui)
 * console.log((await bridge.snapshot()).items.length)
 * await ui.stop()
 * ```
 */

export { findElectronBinary } from './main/electron-binary.js'
export { DesktopError } from './main/errors.js'
export { type IpcMainLike, serveBridge } from './main/ipc-bridge.js'
export { createUiClient } from './main/ui-client.js'
export { startUiProcess, type UiProcess, type UiProcessOptions } from './main/ui-process.js'
export { APP_ENTRY, isAppUrl, RENDERER_CSP, rendererFile, windowOptions } from './main/window.js'
export { BridgeError, type TapestryBridge } from './shared/bridge.js'
export type * from './shared/wire.js'
