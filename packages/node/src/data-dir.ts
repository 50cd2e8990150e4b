import { mkdir, stat } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

/**
 * Where a member's node keeps its identity, config and store: `--data DIR`, else
 * `TAPESTRY_DATA`, else `$XDG_DATA_HOME/tapestry`, else `~/.local/share/tapestry`.
 */
export function resolveDataDir(
  flag: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
): string {
  if (flag) return resolve(flag)
  if (env.TAPESTRY_DATA) return resolve(env.TAPESTRY_DATA)
  const xdg = env.XDG_DATA_HOME || join(homedir(), '.local', 'share')
  return join(xdg, 'tapestry')
}

/** Creates the data directory private to this user (0700): it holds keys and stories. */
export async function ensureDataDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const s = await stat(dir)
  if (!s.isDirectory()) throw new Error(`${dir} is not a directory`)
}

/** Fixed names inside a data directory. */
export const paths = {
  store: (dir: string) => join(dir, 'store'),
  control: (dir: string) => join(dir, 'control.json'),
  config: (dir: string) => join(dir, 'config.json'),
  peers: (dir: string) => join(dir, 'peers'),
}
