import { randomBytes } from 'node:crypto'
import { link, open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Writes `data` to a temporary file opened with mode 0600 (never wider, whatever the
 * umask), fsyncs it, then moves it into place: `rename` when overwriting is allowed,
 * else `link` (fails if the target exists, so it never replaces one). Returns false
 * when `overwrite` is false and the target already existed. Fsyncs the directory.
 * Used for every secret the node keeps: identity key, swarm keys, control token.
 */
export async function writeFileAtomic(
  path: string,
  data: Uint8Array | string,
  opts: { overwrite: boolean },
): Promise<boolean> {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`
  const fh = await open(tmp, 'wx', 0o600)
  try {
    await fh.chmod(0o600)
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  let placed = true
  try {
    if (opts.overwrite) {
      await rename(tmp, path)
    } else {
      try {
        await link(tmp, path)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        placed = false
      }
      await unlink(tmp)
    }
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  await fsyncDir(dirname(path))
  return placed
}

export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r')
  try {
    await fh.sync()
  } catch {
    // some file systems refuse fsync on directories; the rename is still atomic
  } finally {
    await fh.close()
  }
}
