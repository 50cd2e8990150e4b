import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

/** The real `tapestry` launcher (TAPESTRY_BIN overrides it, e.g. to try a local build). */
export const TAPESTRY_BIN =
  process.env.TAPESTRY_BIN ??
  fileURLToPath(new URL('../../../node/bin/tapestry.js', import.meta.url))

/** Runs one `tapestry --json` command on a data directory; resolves to its JSON result. */
export function tapestry<T = unknown>(dataDir: string, args: string[]): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [TAPESTRY_BIN, '--json', '--data', dataDir, ...args],
      { timeout: 30_000, env: { ...process.env, TAPESTRY_DATA: '' } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`tapestry ${args.join(' ')} failed: ${stderr || err.message}`))
        else resolve(JSON.parse(stdout) as T)
      },
    )
  })
}

/** A long-running `tapestry` process that printed its JSON `ready` line. */
export interface Running<R> {
  ready: R
  child: ChildProcess
  /** Every JSON line it printed, in order. */
  lines: Record<string, unknown>[]
  stderr(): string
  /** SIGTERM (SIGKILL after 10 s); resolves on exit. */
  stop(): Promise<void>
  /** Resolves with the first printed line that satisfies `pred`, or rejects after `ms`. */
  waitLine(
    pred: (l: Record<string, unknown>) => boolean,
    ms?: number,
  ): Promise<Record<string, unknown>>
}

export function spawnTapestry<R = Record<string, unknown>>(
  dataDir: string,
  args: string[],
  timeoutMs = 30_000,
): Promise<Running<R>> {
  const child = spawn(process.execPath, [TAPESTRY_BIN, '--json', '--data', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, TAPESTRY_DATA: '' },
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const lines: Record<string, unknown>[] = []
  const waiters = new Set<(l: Record<string, unknown>) => void>()
  let err = ''
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    err += d
  })
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      const l = JSON.parse(line) as Record<string, unknown>
      lines.push(l)
      for (const w of waiters) w(l)
    } catch {
      // not JSON
    }
  })
  const waitLine = (pred: (l: Record<string, unknown>) => boolean, ms = 30_000) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = lines.find(pred)
      if (seen) return resolve(seen)
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`tapestry ${args[0]}: no expected line in ${ms} ms; stderr: ${err}`))
      }, ms)
      const check = (l: Record<string, unknown>) => {
        if (!pred(l)) return
        clearTimeout(timer)
        waiters.delete(check)
        resolve(l)
      }
      waiters.add(check)
      void exited.then(() => {
        if (!waiters.has(check)) return
        clearTimeout(timer)
        waiters.delete(check)
        reject(new Error(`tapestry ${args.join(' ')} exited (${child.exitCode}): ${err}`))
      })
    })
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const t = setTimeout(() => child.kill('SIGKILL'), 10_000)
    await exited
    clearTimeout(t)
  }
  return waitLine((l) => l.event === 'ready', timeoutMs).then(
    (ready) => ({ ready: ready as R, child, lines, stderr: () => err, stop, waitLine }),
    async (e: unknown) => {
      await stop()
      throw e
    },
  )
}

export interface UiReady {
  event: 'ready'
  url: string
  port: number
  mode: 'attached' | 'own'
  memberId: string
}

/** `tapestry ui --json` on a data directory. */
export function startUi(dataDir: string, args: string[] = []): Promise<Running<UiReady>> {
  return spawnTapestry<UiReady>(dataDir, ['ui', ...args])
}

/** `tapestry start` on loopback only, without mDNS. */
export function startNode(dataDir: string): Promise<Running<Record<string, unknown>>> {
  return spawnTapestry(dataDir, ['start', '--no-mdns', '--listen', '/ip4/127.0.0.1/tcp/0'])
}

/** Temporary directories removed by `cleanup()`. */
export class TempDirs {
  readonly #dirs: string[] = []
  async make(prefix = 'tapestry-desktop-'): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), prefix))
    this.#dirs.push(d)
    return d
  }
  async cleanup(): Promise<void> {
    await Promise.all(this.#dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })))
  }
}

/** A member with an identity and a tribe of their own. */
export async function newMember(
  dirs: TempDirs,
  name: string,
  tribe = 'River Folk',
): Promise<{ dataDir: string; memberId: string; tribeId: string }> {
  const dataDir = join(await dirs.make(), name.toLowerCase())
  const { memberId } = await tapestry<{ memberId: string }>(dataDir, ['init', '--name', name])
  const { tribeId } = await tapestry<{ tribeId: string }>(dataDir, ['tribe', 'create', tribe])
  return { dataDir, memberId, tribeId }
}

/** Polls `check` until it returns a truthy value (resolved), or fails after `ms`. */
export async function until<T>(check: () => T | Promise<T>, what: string, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  let last: unknown
  for (;;) {
    try {
      const v = await check()
      if (v) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${ms} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      )
    }
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Joins `dataDir`'s member to the tribe of a running node's member, by invitation. */
export async function joinTribe(hostDataDir: string, dataDir: string): Promise<void> {
  const { invite } = await tapestry<{ invite: string }>(hostDataDir, ['invite'])
  await tapestry(dataDir, ['join', invite])
}
