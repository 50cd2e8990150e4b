import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Runs the real `tapestry` binary (bin/tapestry.js -> dist/cli/main.js, built once by
 * the project's globalSetup) as child processes on temp data directories.
 *
 * @example
 * ```ts
 * const cli = new CliSandbox()
 * afterEach(() => cli.cleanup())
 * const dir = await cli.dataDir()
 * const { memberId } = await cli.json<{ memberId: string }>(dir, 'init', '--name', 'Ada')
 * const node = await cli.startNode(dir)   // resolves on {"event":"ready"}
 * ```
 */

export const BIN = fileURLToPath(new URL('../../bin/tapestry.js', import.meta.url))

export interface ExitStatus {
  code: number | null
  signal: NodeJS.Signals | null
}

export interface CliResult extends ExitStatus {
  args: string[]
  stdout: string
  stderr: string
}

export interface CliError {
  code: string
  message: string
}

export interface RunOptions {
  /** Extra environment (TAPESTRY_DATA, ...); `DEBUG` and `TAPESTRY_DATA` are cleared otherwise. */
  env?: Record<string, string>
  /** Kill the command (and fail) after this long. Default 30 s. */
  timeoutMs?: number
}

export interface ReadyEvent {
  event: 'ready'
  memberId: string
  controlPort: number
  dataDir: string
}

export interface RunningNode {
  child: ChildProcess
  pid: number
  ready: ReadyEvent
  /** Every JSON line `start --json` printed so far. */
  lines: Record<string, unknown>[]
  stderr(): string
  exited: Promise<ExitStatus>
  /** SIGTERM, then waits for the exit (SIGKILL if it does not come within `timeoutMs`). */
  stop(timeoutMs?: number): Promise<ExitStatus>
  /** SIGKILL and wait for the exit: the crash a node must survive. */
  kill(): Promise<ExitStatus>
}

const summary = (r: CliResult) =>
  `tapestry ${r.args.join(' ')} -> code ${r.code} signal ${r.signal}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`

/** Resolves when `child` exits (at once if it already has). */
function exitOf(child: ChildProcess): Promise<ExitStatus> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode })
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))
}

/** `promise`, or a rejection naming `what` after `ms`. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** Polls `check` until it returns a value other than undefined/false, or fails after `ms`. */
export async function until<T>(
  check: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms
  for (;;) {
    const v = await check()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** Temp data directories and child processes of one test file; `cleanup` in afterEach. */
export class CliSandbox {
  readonly #dirs: string[] = []
  readonly #children = new Set<ChildProcess>()

  /** A fresh, empty temp directory (mode 0700) to use as `--data`. */
  async dataDir(prefix = 'tapestry-cli-'): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix))
    this.#dirs.push(dir)
    return dir
  }

  /** Spawns `node bin/tapestry.js --data DIR ...args`, tracked for cleanup. */
  spawn(dataDir: string, args: string[], opts: RunOptions = {}): ChildProcess {
    const env: NodeJS.ProcessEnv = { ...process.env }
    delete env.DEBUG
    delete env.TAPESTRY_DATA
    Object.assign(env, opts.env)
    const argv = dataDir === '' ? args : ['--data', dataDir, ...args]
    const child = spawn(process.execPath, [BIN, ...argv], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    this.#children.add(child)
    child.once('exit', () => this.#children.delete(child))
    return child
  }

  /** Runs one command to its end. `dataDir` '' leaves out `--data`. */
  async run(dataDir: string, args: string[], opts: RunOptions = {}): Promise<CliResult> {
    const child = this.spawn(dataDir, args, opts)
    let stdout = ''
    let stderr = ''
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d
    })
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    const closed = new Promise<ExitStatus>((resolve) =>
      child.once('close', (code, signal) => resolve({ code, signal })),
    )
    const ms = opts.timeoutMs ?? 30_000
    try {
      const status = await withTimeout(closed, ms, `tapestry ${args.join(' ')}`)
      return { args, ...status, stdout, stderr }
    } catch (err) {
      child.kill('SIGKILL')
      throw new Error(`${(err as Error).message}\nstdout: ${stdout}\nstderr: ${stderr}`)
    }
  }

  /** Runs `args` with `--json`, expects success and exactly one JSON value on stdout. */
  async json<T = unknown>(dataDir: string, ...args: string[]): Promise<T> {
    const r = await this.run(dataDir, [...args, '--json'])
    if (r.code !== 0) throw new Error(`expected success: ${summary(r)}`)
    try {
      return JSON.parse(r.stdout) as T
    } catch {
      throw new Error(`stdout is not one JSON value: ${summary(r)}`)
    }
  }

  /**
   * Runs `args` with `--json`, expects failure: a non-zero exit, nothing on stdout and
   * exactly `{"error":{"code","message"}}` on stderr.
   */
  async fail(dataDir: string, ...args: string[]): Promise<CliError & { exit: number | null }> {
    const r = await this.run(dataDir, [...args, '--json'])
    if (r.code === 0 || r.code === null || r.stdout !== '') {
      throw new Error(`expected a failure with nothing on stdout: ${summary(r)}`)
    }
    let parsed: { error?: CliError }
    try {
      parsed = JSON.parse(r.stderr)
    } catch {
      throw new Error(`stderr is not one JSON value: ${summary(r)}`)
    }
    const e = parsed.error
    if (typeof e?.code !== 'string' || typeof e.message !== 'string') {
      throw new Error(`stderr is not {"error":{"code","message"}}: ${summary(r)}`)
    }
    return { exit: r.code, code: e.code, message: e.message }
  }

  /**
   * Spawns `tapestry start --json` and resolves on its `{"event":"ready"}` line (fails if
   * the process exits first or nothing comes within `timeoutMs`).
   */
  async startNode(dataDir: string, timeoutMs = 20_000, args: string[] = []): Promise<RunningNode> {
    const child = this.spawn(dataDir, ['start', '--json', ...args])
    const lines: Record<string, unknown>[] = []
    let stderr = ''
    let partial = ''
    let onLine: (() => void) | undefined
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr += d
    })
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      partial += d
      let nl = partial.indexOf('\n')
      while (nl >= 0) {
        const line = partial.slice(0, nl)
        partial = partial.slice(nl + 1)
        nl = partial.indexOf('\n')
        try {
          lines.push(JSON.parse(line) as Record<string, unknown>)
        } catch {
          lines.push({ event: 'not-json', line })
        }
        onLine?.()
      }
    })
    const exited = exitOf(child)
    const readyLine = new Promise<ReadyEvent>((resolve, reject) => {
      const check = () => {
        const ready = lines.find((l) => l.event === 'ready')
        if (ready) resolve(ready as unknown as ReadyEvent)
      }
      onLine = check
      exited.then((s) =>
        reject(new Error(`tapestry start exited (${s.code ?? s.signal}) before ready: ${stderr}`)),
      )
    })
    let ready: ReadyEvent
    try {
      ready = await withTimeout(readyLine, timeoutMs, `tapestry start ready (stderr: ${stderr})`)
    } catch (err) {
      child.kill('SIGKILL')
      throw err
    }
    const stopWith = async (signal: NodeJS.Signals, ms: number) => {
      child.kill(signal)
      try {
        return await withTimeout(exited, ms, `tapestry start to exit on ${signal}`)
      } catch (err) {
        child.kill('SIGKILL')
        await exited
        throw err
      }
    }
    return {
      child,
      pid: child.pid!,
      ready,
      lines,
      stderr: () => stderr,
      exited,
      stop: (ms = 10_000) => stopWith('SIGTERM', ms),
      kill: () => stopWith('SIGKILL', 10_000),
    }
  }

  /** Stops every child still running (SIGTERM, then SIGKILL) and removes every temp dir. */
  async cleanup(): Promise<void> {
    const children = [...this.#children]
    this.#children.clear()
    await Promise.all(
      children.map(async (child) => {
        const exited = exitOf(child)
        child.kill('SIGTERM')
        try {
          await withTimeout(exited, 5_000, 'a child to exit')
        } catch {
          child.kill('SIGKILL')
          await exited
        }
      }),
    )
    for (const dir of this.#dirs.splice(0)) {
      await rm(dir, { recursive: true, force: true, maxRetries: 3 })
    }
  }
}
