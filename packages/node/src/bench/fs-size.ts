import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'

/** Total size in bytes of the regular files under `dir` (what the store costs on disk). */
export async function bytesOnDisk(dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name)
    if (entry.isDirectory()) total += await bytesOnDisk(p)
    else if (entry.isFile()) total += (await stat(p)).size
  }
  return total
}
