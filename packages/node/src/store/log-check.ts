/**
 * Verifies LevelDB's write-ahead logs (`NNNNNN.log`) before LevelDB opens them.
 *
 * LevelDB replays its logs on open and, without `paranoid_checks` (which classic-level
 * does not expose), silently drops every record whose checksum fails, and the rest of
 * its 32 KiB block, then deletes the log: acknowledged writes vanish without a word.
 * This reads each log the way LevelDB's `log::Reader` does and reports damage instead.
 *
 * Log format (leveldb/doc/log_format.md): 32 KiB blocks of physical records
 *
 *   +----------+-----------+--------+------------------+
 *   | crc32c 4 | length 2  | type 1 | payload (length) |     little-endian
 *   +----------+-----------+--------+------------------+
 *
 * crc32c covers type + payload and is stored masked. Types: 1 FULL, 2 FIRST, 3 MIDDLE,
 * 4 LAST; a zeroed header is padding. A record never crosses a block; fewer than 7 bytes
 * left in a block are a zero trailer. A record cut off by the end of the file, or whose
 * last sectors read as zeros up to the end of the file, is the torn tail of a write that
 * was never synced (so never acknowledged): not damage. Any other checksum failure is.
 */

import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

const BLOCK = 32 * 1024
const HEADER = 7
const FULL = 1
const FIRST = 2
const MIDDLE = 3
const LAST = 4
const MASK_DELTA = 0xa282ead8
const SECTOR = 512

const CRC32C_TABLE = (() => {
  const t = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let c = i
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1
    t[i] = c >>> 0
  }
  return t
})()

function crc32c(bytes: Uint8Array, start: number, end: number): number {
  let c = 0xffffffff
  for (let i = start; i < end; i++) c = CRC32C_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function unmask(masked: number): number {
  const rot = (masked - MASK_DELTA) >>> 0
  return ((rot >>> 17) | (rot << 15)) >>> 0
}

/**
 * Whether a record ending at `end` that fails its checksum is the last write, torn by a
 * crash before it was synced: the file was extended but its last sectors never written,
 * so from a sector boundary inside the record to the end of the file all is zeros.
 */
function tornTail(bytes: Uint8Array, end: number): boolean {
  let zeros = bytes.length
  while (zeros > 0 && bytes[zeros - 1] === 0) zeros--
  return Math.ceil(zeros / SECTOR) * SECTOR < end
}

/** Where a log is damaged, or undefined when it reads cleanly (a torn tail included). */
export function findLogDamage(bytes: Uint8Array): string | undefined {
  let inFragment = false
  for (let block = 0; block < bytes.length; block += BLOCK) {
    const blockEnd = Math.min(block + BLOCK, bytes.length)
    const lastBlock = blockEnd === bytes.length
    let pos = block
    while (blockEnd - pos >= HEADER) {
      const length = bytes[pos + 4]! | (bytes[pos + 5]! << 8)
      const type = bytes[pos + 6]!
      if (pos + HEADER + length > blockEnd) {
        // Cut off by the end of the file: an unsynced write torn by a crash.
        if (lastBlock) return undefined
        return `bad record length at offset ${pos}`
      }
      if (type === 0 && length === 0) break // zeroed padding: LevelDB skips the block's rest
      const stored =
        (bytes[pos]! |
          (bytes[pos + 1]! << 8) |
          (bytes[pos + 2]! << 16) |
          (bytes[pos + 3]! << 24)) >>>
        0
      if (crc32c(bytes, pos + 6, pos + HEADER + length) !== unmask(stored)) {
        if (tornTail(bytes, pos + HEADER + length)) return undefined
        return `checksum mismatch in the record at offset ${pos}`
      }
      if (type === FULL || type === FIRST) {
        if (inFragment) return `a record at offset ${pos} interrupts a fragmented one`
        inFragment = type === FIRST
      } else if (type === MIDDLE || type === LAST) {
        if (!inFragment) return `a fragment at offset ${pos} has no start`
        inFragment = type === MIDDLE
      } else {
        return `unknown record type ${type} at offset ${pos}`
      }
      pos += HEADER + length
    }
  }
  return undefined
}

/**
 * Checks every `NNNNNN.log` in a LevelDB directory; returns the first damage found as
 * `"<file>: <what>"`. A missing directory or a log deleted meanwhile is not damage.
 */
export async function checkLevelLogs(dir: string): Promise<string | undefined> {
  let names: string[]
  try {
    names = await readdir(dir)
  } catch {
    return undefined
  }
  for (const name of names.filter((n) => /^\d+\.log$/.test(n)).sort()) {
    let bytes: Uint8Array
    try {
      bytes = await readFile(join(dir, name))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
      throw err
    }
    const damage = findLogDamage(bytes)
    if (damage !== undefined) return `${name}: ${damage}`
  }
  return undefined
}
