import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { findElectronBinary } from '../src/main/electron-binary.js'
import { type IpcEventLike, type IpcMainLike, serveBridge } from '../src/main/ipc-bridge.js'
import { createUiClient } from '../src/main/ui-client.js'
import { startUiProcess, type UiProcess } from '../src/main/ui-process.js'
import {
  APP_ENTRY,
  isAppUrl,
  RENDERER_CSP,
  rendererFile,
  windowOptions,
} from '../src/main/window.js'
import { BridgeError, IPC, type TapestryBridge } from '../src/shared/bridge.js'
import type { UiEvent } from '../src/shared/wire.js'
import { newMember, TAPESTRY_BIN, TempDirs, tapestry, until } from './helpers/cli.js'

/**
 * The Electron main process's logic, run without Electron (its binary cannot be
 * downloaded here): window options, navigation and file rules, the IPC bridge with a
 * fake ipcMain, and the real `tapestry ui` child with the Node bridge client.
 */
const dirs = new TempDirs()
const children: UiProcess[] = []
afterEach(async () => {
  await Promise.all(children.splice(0).map((c) => c.stop()))
  await dirs.cleanup()
})

describe('window', () => {
  it('isolates and sandboxes the page, with no Node in it', () => {
    const o = windowOptions('/app/preload.cjs')
    expect(o.webPreferences).toMatchObject({
      preload: '/app/preload.cjs',
      contextIsolation: true,
      nodeIntegration: false,
      sandbox: true,
      webSecurity: true,
      webviewTag: false,
    })
  })

  it('allows only the app’s own origin, and nothing remote in its CSP', () => {
    expect(isAppUrl(APP_ENTRY)).toBe(true)
    for (const url of [
      'https://example.com/',
      'tapestry://other/index.html',
      'file:///etc/passwd',
      'http://127.0.0.1:1/',
      'not a url',
    ]) {
      expect(isAppUrl(url), url).toBe(false)
    }
    expect(RENDERER_CSP).toContain("default-src 'none'")
    expect(RENDERER_CSP).toContain("script-src 'self'")
    expect(RENDERER_CSP).not.toMatch(/https?:|unsafe-eval|unsafe-inline|\*/)
  })

  it('maps app URLs to files of the built renderer, never outside it', () => {
    const dir = '/opt/tapestry/renderer'
    expect(rendererFile('tapestry://app/index.html', dir)).toEqual({
      path: `${dir}/index.html`,
      type: 'text/html; charset=utf-8',
    })
    expect(rendererFile('tapestry://app/', dir)?.path).toBe(`${dir}/index.html`)
    expect(rendererFile('tapestry://app/assets/index-1.js', dir)?.type).toContain('javascript')
    for (const url of [
      'tapestry://app/../../etc/passwd',
      'tapestry://app/%2e%2e/%2e%2e/etc/passwd',
      'tapestry://app/sw.js',
      'tapestry://app/x.exe',
      'https://app/index.html',
    ]) {
      expect(rendererFile(url, dir), url).toBeUndefined()
    }
  })
})

describe('npm run desktop without the Electron binary', () => {
  it('says the binary is missing and what to do instead, without trying to download it', async () => {
    const empty = await dirs.make()
    const r = findElectronBinary(import.meta.url, { ELECTRON_OVERRIDE_DIST_PATH: empty })
    expect(r).toEqual({
      ok: false,
      message: expect.stringMatching(/Electron binary is not installed[\s\S]*tapestry ui --open/),
    })
  })

  it('finds a binary where Electron’s package says it is', async () => {
    const dist = await dirs.make()
    const { writeFile } = await import('node:fs/promises')
    await writeFile(`${dist}/electron`, '')
    expect(findElectronBinary(import.meta.url, { ELECTRON_OVERRIDE_DIST_PATH: dist })).toEqual({
      ok: true,
      path: `${dist}/electron`,
    })
  })

  it('`npm run desktop` prints that message and fails', async () => {
    const { execFile } = await import('node:child_process')
    const launch = fileURLToPath(new URL('../dist/main/launch.js', import.meta.url))
    const empty = await dirs.make()
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [launch],
        { env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: empty } },
        (_err, _stdout, stderr) => resolve({ code: child.exitCode, stderr }),
      )
    })
    expect(out.code).toBe(1)
    expect(out.stderr).toMatch(/Electron binary is not installed/)
  })
})

describe('preload', () => {
  it('uses exactly the IPC channels the main process serves', async () => {
    const src = await readFile(
      fileURLToPath(new URL('../src/preload/preload.cts', import.meta.url)),
      'utf8',
    )
    for (const channel of Object.values(IPC)) expect(src).toContain(`'${channel}'`)
    expect(src).toContain("exposeInMainWorld('tapestry'")
  })
})

/** An ipcMain stand-in: records handlers and listeners, invokes them like Electron. */
class FakeIpc implements IpcMainLike {
  handlers = new Map<string, (e: IpcEventLike, ...a: unknown[]) => Promise<unknown>>()
  listeners = new Map<string, (e: IpcEventLike, ...a: unknown[]) => void>()
  handle(c: string, fn: (e: IpcEventLike, ...a: unknown[]) => Promise<unknown>) {
    this.handlers.set(c, fn)
  }
  removeHandler(c: string) {
    this.handlers.delete(c)
  }
  on(c: string, fn: (e: IpcEventLike, ...a: unknown[]) => void) {
    this.listeners.set(c, fn)
  }
  removeListener(c: string) {
    this.listeners.delete(c)
  }
}
const sender = (url: string | null) => {
  const sent: [string, unknown][] = []
  let destroyed = () => {}
  const event: IpcEventLike = {
    senderFrame: url === null ? null : { url },
    sender: {
      send: (c, v) => void sent.push([c, v]),
      once: (_e, fn) => {
        destroyed = fn
      },
    },
  }
  return { event, sent, destroy: () => destroyed() }
}

describe('IPC bridge', () => {
  const client: TapestryBridge & { unsubscribed: number } = {
    unsubscribed: 0,
    snapshot: async () => ({
      memberId: 'm',
      name: 'Ada',
      mode: 'own',
      tribes: [],
      names: {},
      items: [],
      peers: 0,
      methods: [],
      at: 1,
    }),
    call: async (method, args) => {
      if (method === 'show')
        throw new BridgeError({ code: 'NOT_FOUND', message: 'no narrative', hint: 'list them' })
      return { method, args }
    },
    subscribe(onEvent, onLink) {
      onLink(true)
      onEvent({ type: 'hello', online: true })
      return () => {
        client.unsubscribed++
      }
    },
  }

  it('serves the window of the app, with errors as plain data', async () => {
    const ipc = new FakeIpc()
    const stop = serveBridge(ipc, client)
    const app = sender(APP_ENTRY)
    expect(await ipc.handlers.get(IPC.snapshot)!(app.event)).toMatchObject({
      ok: true,
      value: { name: 'Ada' },
    })
    expect(await ipc.handlers.get(IPC.call)!(app.event, 'echo', ['n', 'hi'])).toEqual({
      ok: true,
      value: { method: 'echo', args: ['n', 'hi'] },
    })
    expect(await ipc.handlers.get(IPC.call)!(app.event, 'show', ['x'])).toEqual({
      ok: false,
      error: { code: 'NOT_FOUND', message: 'no narrative', hint: 'list them' },
    })
    expect(await ipc.handlers.get(IPC.call)!(app.event, '../x', [])).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    })
    expect(await ipc.handlers.get(IPC.call)!(app.event, 'status', 'not an array')).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST' },
    })

    ipc.listeners.get(IPC.subscribe)!(app.event)
    expect(app.sent).toEqual([
      [IPC.link, true],
      [IPC.event, { type: 'hello', online: true } satisfies UiEvent],
    ])
    app.destroy()
    expect(client.unsubscribed).toBe(1)
    stop()
    expect(ipc.handlers.size + ipc.listeners.size).toBe(0)
  })

  it('refuses frames of any other origin', async () => {
    const ipc = new FakeIpc()
    serveBridge(ipc, client)
    for (const url of ['https://evil.example/', 'file:///tmp/x.html', null]) {
      const other = sender(url)
      expect(await ipc.handlers.get(IPC.snapshot)!(other.event)).toMatchObject({
        ok: false,
        error: { code: 'FORBIDDEN' },
      })
      expect(await ipc.handlers.get(IPC.call)!(other.event, 'status', [])).toMatchObject({
        ok: false,
        error: { code: 'FORBIDDEN' },
      })
      ipc.listeners.get(IPC.subscribe)!(other.event)
      expect(other.sent).toEqual([])
    }
  })
})

describe('the tapestry ui child and the Node bridge client', () => {
  it('starts `tapestry ui`, reads its ready line, and speaks the bridge contract to it', async () => {
    const ada = await newMember(dirs, 'Ada')
    const ui = await startUiProcess({
      tapestryBin: TAPESTRY_BIN,
      dataDir: ada.dataDir,
      args: ['--port', '0'],
    })
    children.push(ui)
    expect(ui).toMatchObject({ memberId: ada.memberId, mode: 'own' })
    expect(ui.token).toMatch(/^[\w-]{43}$/)

    const bridge = createUiClient({ port: ui.port, token: ui.token, retryMs: 100 })
    expect((await bridge.snapshot()).name).toBe('Ada')
    const events: UiEvent[] = []
    const links: boolean[] = []
    const off = bridge.subscribe(
      (e) => events.push(e),
      (up) => links.push(up),
    )
    await until(() => links.includes(true), 'the event stream')
    await tapestry(ada.dataDir, ['narrate', '--title', 'Via the child', '--body', 'b'])
    await until(
      () => events.some((e) => e.type === 'upsert' && e.item.title === 'Via the child'),
      'the upsert event',
    )
    await expect(bridge.call('show', ['narrative_nope'])).rejects.toMatchObject({ code: 'USAGE' })
    await expect(bridge.call('tribeKey', [{}])).rejects.toMatchObject({ code: 'UNKNOWN_METHOD' })

    await ui.stop()
    await until(() => links.at(-1) === false, 'the link reported down')
    off()
    await expect(bridge.snapshot()).rejects.toMatchObject({ code: 'LINK_DOWN' })
  })

  it('rejects with the CLI’s own error when `tapestry ui` cannot start', async () => {
    const empty = await dirs.make()
    await expect(
      startUiProcess({ tapestryBin: TAPESTRY_BIN, dataDir: empty, timeoutMs: 20_000 }),
    ).rejects.toMatchObject({
      name: 'DesktopError',
      message: expect.stringMatching(/identity|init/i),
    })
  })
})
