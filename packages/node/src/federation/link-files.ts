/**
 * A carrier's files for the links it carries: `links/<linkId>/swarm.key` (the offer's
 * key, mode 0600; never in a record, only its SHA-256) and `links/<linkId>/link.json`
 * (this node's part in the link).
 */
import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { encodeSwarmKey } from '../net/swarm-key.js'
import { writeFileAtomic } from '../secret-file.js'

/** `links/<linkId>/link.json`: this node's part in a link it carries. */
export interface LinkFile {
  v: 1
  role: 'proposer' | 'accepter'
  /** This member's tribe in the link. */
  tribeId: string
  /** The proposer's link-host addresses (accepter only). */
  addrs: string[]
  createdAt: number
  /** The proposer's final refusal of this node's acceptance (accepter only). */
  refused?: { code: string; message: string }
}

export class LinkFiles {
  constructor(private readonly dataDir: string) {}

  dir(linkId: string): string {
    return join(this.dataDir, 'links', linkId)
  }

  keyFile(linkId: string): string {
    return join(this.dir(linkId), 'swarm.key')
  }

  async save(linkId: string, key: Uint8Array, file: LinkFile): Promise<void> {
    await mkdir(this.dir(linkId), { recursive: true, mode: 0o700 })
    await writeFileAtomic(this.keyFile(linkId), encodeSwarmKey(key), { overwrite: true })
    await writeFileAtomic(join(this.dir(linkId), 'link.json'), JSON.stringify(file), {
      overwrite: true,
    })
  }

  async read(linkId: string): Promise<LinkFile | undefined> {
    if (!/^link_b[a-z2-7]{26}$/.test(linkId)) return undefined
    try {
      const v = JSON.parse(await readFile(join(this.dir(linkId), 'link.json'), 'utf8')) as LinkFile
      return v?.v === 1 && (v.role === 'proposer' || v.role === 'accepter') ? v : undefined
    } catch {
      return undefined
    }
  }

  /** Ids of the links whose key this data directory holds. */
  async carried(): Promise<string[]> {
    try {
      const entries = await readdir(join(this.dataDir, 'links'), { withFileTypes: true })
      return entries
        .filter((e) => e.isDirectory() && /^link_b[a-z2-7]{26}$/.test(e.name))
        .map((e) => e.name)
    } catch {
      return []
    }
  }
}
