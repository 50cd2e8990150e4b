import { type ChildProcess, spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { DesktopError } from './errors.js'

export interface UiProcessOptions {
  /** The `tapestry` launcher (packages/node/bin/tapestry.js). */
  tapestryBin: string
  /** The member's data directory; default: the CLI's own default (TAPESTRY_DATA, XDG). */
  dataDir?: string | undefined
  /** The JavaScript runtime; in Electron, its own binary with ELECTRON_RUN_AS_NODE. */
  execPath?: string
  /** Run `execPath` as plain Node (Electron's binary). */
  runAsNode?: boolean
  /** Extra arguments to `tapestry ui` (e.g. `--port 0`). */
  args?: string[]
  env?: NodeJS.ProcessEnv
  /** How long to wait for the ready line. */
  timeoutMs?: number
}

export interface UiProcess {
  /** The page's address with its token: a secret. */
  url: string
  port: number
  token: string
  memberId: string
  mode: 'attached' | 'own'
  child: ChildProcess
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code. */
  stop(graceMs?: number): Promise<number | null>
}

/**
 * Starts `tapestry ui --json` as a child process (the node, when it runs one, lives there,
 * so the window's process stays responsive) and resolves once it prints its ready line.
 * Rejects with the child's own error (`{"error":{code,message}}` on stderr) if it exits
 * first, or with code `UI_TIMEOUT`.
 */
export function startUiProcess(opts: UiProcessOptions): Promise<UiProcess> {
  const args = [
    opts.tapestryBin,
    '--json',
    ...(opts.dataDir ? ['--data', opts.dataDir] : []),
    'ui',
    ...(opts.args ?? []),
  ]
  const env = {
    ...(opts.env ?? process.env),
    ...(opts.runAsNode ? { ELECTRON_RUN_AS_NODE: '1' } : {}),
  }
  const child = spawn(opts.execPath ?? process.execPath, args, {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => resolve(code)),
  )
  let stderr = ''
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (d: string) => {
    stderr = (stderr + d).slice(-8192)
  })

  const stop = async (graceMs = 5000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
    child.kill('SIGTERM')
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    const code = await exited
    clearTimeout(timer)
    return code
  }

  return new Promise<UiProcess>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    const timer = setTimeout(() => {
      void stop(500)
      reject(
        new DesktopError(
          'UI_TIMEOUT',
          'tapestry ui did not become ready in time',
          stderr.trim() || undefined,
        ),
      )
    }, opts.timeoutMs ?? 30_000)
    lines.on('line', (line) => {
      let msg: { event?: string; url?: string; port?: number; memberId?: string; mode?: string }
      try {
        msg = JSON.parse(line)
      } catch {
        return
      }
      if (msg.event !== 'ready' || typeof msg.url !== 'string') return
      clearTimeout(timer)
      const url = new URL(msg.url)
      resolve({
        url: msg.url,
        port: Number(url.port),
        token: url.searchParams.get('token') ?? '',
        memberId: msg.memberId ?? '',
        mode: msg.mode === 'attached' ? 'attached' : 'own',
        child,
        stop,
      })
    })
    child.once('error', (err) => {
      clearTimeout(timer)
      reject(new DesktopError('UI_SPAWN', `could not start tapestry ui: ${err.message}`))
    })
    void exited.then((code) => {
      clearTimeout(timer)
      reject(childError(code, stderr))
    })
  })
}

function childError(code: number | null, stderr: string): DesktopError {
  for (const line of stderr.trim().split('\n').reverse()) {
    try {
      const e = (JSON.parse(line) as { error?: { code?: string; message?: string; hint?: string } })
        .error
      if (e?.code) return new DesktopError(e.code, e.message ?? 'tapestry ui failed', e.hint)
    } catch {
      // not JSON
    }
  }
  return new DesktopError(
    'UI_EXITED',
    `tapestry ui exited (${code}) before it was ready`,
    stderr.trim() || undefined,
  )
}
