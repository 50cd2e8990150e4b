import { randomBytes } from 'node:crypto'
import { readFile, rm } from 'node:fs/promises'
import { paths } from '../data-dir.js'
import { writeFileAtomic } from '../secret-file.js'

/**
 * `control.json` in the data directory tells local clients where the running node's
 * control API listens and the secret token it expects. Mode 0600: only this user can
 * read the token. It is advisory: whether a node runs is decided by the store's lock,
 * so a file left behind by a killed process never fools a client.
 */
export interface ControlInfo {
  port: number
  token: string
  pid: number
  memberId: string
}

export function newToken(): string {
  return randomBytes(32).toString('base64url')
}

export async function writeControlInfo(dataDir: string, info: ControlInfo): Promise<void> {
  await writeFileAtomic(paths.control(dataDir), JSON.stringify(info), { overwrite: true })
}

export async function readControlInfo(dataDir: string): Promise<ControlInfo | undefined> {
  try {
    const raw = JSON.parse(await readFile(paths.control(dataDir), 'utf8')) as Partial<ControlInfo>
    if (
      typeof raw.port === 'number' &&
      typeof raw.token === 'string' &&
      typeof raw.pid === 'number' &&
      typeof raw.memberId === 'string'
    ) {
      return raw as ControlInfo
    }
    return undefined
  } catch {
    return undefined
  }
}

export async function removeControlInfo(dataDir: string): Promise<void> {
  await rm(paths.control(dataDir), { force: true })
}
