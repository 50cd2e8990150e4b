import { mkdir, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { TapestryError } from '../errors.js'
import { decodeSwarmKey, encodeSwarmKey } from '../net/swarm-key.js'
import { writeFileAtomic } from '../secret-file.js'

/**
 * A tribe's swarm keys on disk: `tribes/<tribeId>/swarm.key` in the standard
 * go-libp2p/Kubo format, mode 0600. The key is the secret that opens the tribe's
 * private network; it never goes into logs or replicated documents in clear.
 */
export class TribeKeys {
  constructor(private readonly dataDir: string) {}

  file(tribeId: string): string {
    return join(this.dataDir, 'tribes', tribeId, 'swarm.key')
  }

  async save(tribeId: string, key: Uint8Array): Promise<void> {
    await mkdir(join(this.dataDir, 'tribes', tribeId), { recursive: true, mode: 0o700 })
    await writeFileAtomic(this.file(tribeId), encodeSwarmKey(key), { overwrite: true })
  }

  /** Ids of the tribes this data directory holds a swarm key for. */
  async list(): Promise<string[]> {
    try {
      const entries = await readdir(join(this.dataDir, 'tribes'), { withFileTypes: true })
      return entries
        .filter((e) => e.isDirectory() && e.name.startsWith('roster_'))
        .map((e) => e.name)
    } catch {
      return []
    }
  }

  async load(tribeId: string): Promise<Uint8Array> {
    let text: string
    try {
      text = await readFile(this.file(tribeId), 'utf8')
    } catch {
      throw new TapestryError(
        'NO_SWARM_KEY',
        `this node has no swarm key for tribe ${tribeId}`,
        'join the tribe with an invitation (`tapestry join CODE`)',
      )
    }
    return decodeSwarmKey(text)
  }
}
