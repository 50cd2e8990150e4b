import '../polyfill.js'
import { spawn } from 'node:child_process'
import { access, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { newToken } from '../api/control-file.js'
import type { Output } from '../cli/output.js'
import { ensureDataDir } from '../data-dir.js'
import { TapestryError } from '../errors.js'
import { writeFileAtomic } from '../secret-file.js'
import { openBackend, type UiBackend } from './backend.js'
import { startUiServer, type UiServer } from './ui-server.js'

export interface RunUiOptions {
  dataDir: string
  out: Output
  /** Listen here (0: any free port); default: the port this data directory used last. */
  port?: number | undefined
  /** Open the page in the default browser. */
  open?: boolean
  /** The built renderer; default: TAPESTRY_RENDERER, else packages/desktop/dist/renderer. */
  rendererDir?: string | undefined
}

/**
 * `ui.json` in the data directory (mode 0600): the port and token `tapestry ui` used
 * last. The same port keeps the page's origin, and so its IndexedDB cache, across runs;
 * the same token keeps an open page able to reconnect after a restart.
 */
interface UiState {
  port: number
  token: string
}

const uiStatePath = (dataDir: string) => join(dataDir, 'ui.json')

async function readUiState(dataDir: string): Promise<UiState | undefined> {
  try {
    const raw = JSON.parse(await readFile(uiStatePath(dataDir), 'utf8')) as Partial<UiState>
    if (typeof raw.port === 'number' && typeof raw.token === 'string' && raw.token.length >= 32) {
      return raw as UiState
    }
  } catch {
    // none yet, or unreadable: start afresh
  }
  return undefined
}

/** Where the built renderer is: an explicit directory, the environment, or the workspace. */
export async function findRenderer(given?: string): Promise<string> {
  const dir =
    given ??
    process.env.TAPESTRY_RENDERER ??
    fileURLToPath(new URL('../../../desktop/dist/renderer', import.meta.url))
  try {
    await access(join(dir, 'index.html'))
  } catch {
    throw new TapestryError(
      'RENDERER_MISSING',
      `the desktop renderer is not built (no ${join(dir, 'index.html')})`,
      'run `npm run build` at the repository root, or give --renderer DIR',
    )
  }
  return dir
}

/**
 * Serves the renderer and the member's node on 127.0.0.1 until SIGINT/SIGTERM. Prints
 * `{"event":"ready","url":...}` (the url holds the token: a secret) once the page works.
 */
export async function runUi(opts: RunUiOptions): Promise<void> {
  const rendererDir = await findRenderer(opts.rendererDir)
  await ensureDataDir(opts.dataDir)
  const previous = await readUiState(opts.dataDir)
  const token = previous?.token ?? newToken()
  const backend = await openBackend({ dataDir: opts.dataDir })
  let server: UiServer
  try {
    await waitOnline(backend, 5000)
    server = await listenUi(backend, rendererDir, token, opts.port, previous?.port)
  } catch (err) {
    await backend.close()
    throw err
  }
  await writeFileAtomic(
    uiStatePath(opts.dataDir),
    JSON.stringify({ port: server.port, token } satisfies UiState),
    { overwrite: true },
  )
  const offline = backend.on((e) => {
    if (e.type === 'online') {
      opts.out.line({ event: e.online ? 'node:online' : 'node:offline' }, () =>
        e.online ? 'Your node answers again.' : 'Your node stopped; the page shows its cache.',
      )
    }
  })
  opts.out.line(
    {
      event: 'ready',
      url: server.url,
      port: server.port,
      mode: backend.mode,
      memberId: backend.memberId,
    },
    () =>
      [
        `Tapestry for ${backend.memberId}`,
        backend.mode === 'own'
          ? 'No node was running: this process runs one (without the mesh; `tapestry start` syncs with peers).'
          : 'Attached to your running node.',
        `Open ${server.url}`,
        'This address holds a secret token: do not share it. Press Ctrl+C to stop.',
      ].join('\n'),
  )
  if (opts.open) openBrowser(server.url)

  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'))
    process.once('SIGTERM', () => resolve('SIGTERM'))
  })
  offline()
  await server.close()
  await backend.close()
  opts.out.line({ event: 'stopped', signal }, () => 'Stopped.')
}

async function listenUi(
  backend: UiBackend,
  rendererDir: string,
  token: string,
  explicit: number | undefined,
  remembered: number | undefined,
): Promise<UiServer> {
  const port = explicit ?? remembered ?? 0
  try {
    return await startUiServer({ backend, rendererDir, token, port })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code !== 'EADDRINUSE' && code !== 'EACCES') throw err
    if (explicit !== undefined) {
      throw new TapestryError(
        'PORT_IN_USE',
        `port ${explicit} is taken`,
        'give another --port, or --port 0 for any free one',
      )
    }
    // The remembered port is taken today: any free one (the page's cache starts afresh).
    return startUiServer({ backend, rendererDir, token, port: 0 })
  }
}

function waitOnline(backend: UiBackend, ms: number): Promise<void> {
  if (backend.online()) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms)
    const off = backend.on((e) => {
      if (e.type === 'online' && e.online) done()
    })
    function done() {
      clearTimeout(timer)
      off()
      resolve()
    }
  })
}

function openBrowser(url: string): void {
  const cmd =
    process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'explorer' : 'xdg-open'
  try {
    const child = spawn(cmd, [url], { stdio: 'ignore', detached: true })
    child.on('error', () => {
      process.stderr.write(`could not open a browser (${cmd}); open the address yourself\n`)
    })
    child.unref()
  } catch {
    process.stderr.write('could not open a browser; open the address yourself\n')
  }
}
