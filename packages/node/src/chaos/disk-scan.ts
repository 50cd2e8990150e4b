/**
 * Raw scans of a data directory for marker strings: every file's bytes as they are on
 * disk, and, for LevelDB files, their decoded contents too: write-ahead logs with their
 * fragmented records joined (a record crosses 32 KiB blocks) and tables (`.ldb`/`.sst`)
 * with each block Snappy-decompressed. LevelDB compresses table blocks, so text kept
 * in a table may not appear literally in the file; a scan that only looked at raw bytes
 * could pass an erasure check by accident.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'

/** Snappy (raw format, as LevelDB uses it): decompresses one block. Throws on bad input. */
export function snappyDecompress(src: Uint8Array): Uint8Array {
  let pos = 0
  let length = 0
  for (let shift = 0; ; shift += 7) {
    if (pos >= src.length || shift > 28) throw new Error('snappy: bad length')
    const b = src[pos++]!
    length += (b & 0x7f) * 2 ** shift
    if (b < 0x80) break
  }
  if (length > 64 * 1024 * 1024) throw new Error('snappy: block too large')
  const out = new Uint8Array(length)
  let o = 0
  while (pos < src.length) {
    const tag = src[pos++]!
    const type = tag & 3
    if (type === 0) {
      let len = tag >>> 2
      if (len >= 60) {
        const n = len - 59
        len = 0
        for (let i = 0; i < n; i++) len |= src[pos + i]! << (8 * i)
        len >>>= 0
        pos += n
      }
      len += 1
      if (pos + len > src.length || o + len > length) throw new Error('snappy: literal overrun')
      out.set(src.subarray(pos, pos + len), o)
      pos += len
      o += len
      continue
    }
    let len: number
    let offset: number
    if (type === 1) {
      len = ((tag >>> 2) & 7) + 4
      offset = ((tag >>> 5) << 8) | src[pos++]!
    } else if (type === 2) {
      len = (tag >>> 2) + 1
      offset = src[pos]! | (src[pos + 1]! << 8)
      pos += 2
    } else {
      len = (tag >>> 2) + 1
      offset =
        (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16) | (src[pos + 3]! << 24)) >>> 0
      pos += 4
    }
    if (offset === 0 || offset > o || o + len > length) throw new Error('snappy: bad copy')
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset]!
  }
  if (o !== length) throw new Error('snappy: short output')
  return out
}

function varint(buf: Uint8Array, pos: number): [number, number] {
  let v = 0
  for (let shift = 0; shift < 64; shift += 7) {
    if (pos >= buf.length) throw new Error('varint past the end')
    const b = buf[pos++]!
    v += (b & 0x7f) * 2 ** shift
    if (b < 0x80) return [v, pos]
  }
  throw new Error('varint too long')
}

/** A table block's contents (decompressed when its trailer says Snappy). */
function readBlock(file: Uint8Array, offset: number, size: number): Uint8Array {
  if (offset + size + 5 > file.length) throw new Error('block past the end of the table')
  const data = file.subarray(offset, offset + size)
  const type = file[offset + size]
  if (type === 0) return data
  if (type === 1) return snappyDecompress(data)
  throw new Error(`unknown block compression ${type}`)
}

/** The values of a table block's entries (the index block's values are block handles). */
function blockValues(block: Uint8Array): Uint8Array[] {
  if (block.length < 4) return []
  const view = new DataView(block.buffer, block.byteOffset, block.byteLength)
  const restarts = view.getUint32(block.length - 4, true)
  const end = block.length - 4 - 4 * restarts
  const values: Uint8Array[] = []
  let pos = 0
  while (pos < end) {
    const [, a] = varint(block, pos) // bytes shared with the previous key
    const [unshared, b] = varint(block, a)
    const [valueLength, c] = varint(block, b)
    pos = c + unshared
    values.push(block.subarray(pos, pos + valueLength))
    pos += valueLength
  }
  return values
}

const TABLE_MAGIC = 0xdb4775248b80fb57n

/** Every data block of a LevelDB table, decoded. Throws if the file is not a table. */
export function tableBlocks(file: Uint8Array): Uint8Array[] {
  if (file.length < 48) throw new Error('too short for a table')
  const footer = file.subarray(file.length - 48)
  const magic = new DataView(footer.buffer, footer.byteOffset + 40, 8).getBigUint64(0, true)
  if (magic !== TABLE_MAGIC) throw new Error('no table magic')
  // metaindex handle (offset, size), then the index handle: four varints.
  const handles: number[] = []
  for (let pos = 0, i = 0; i < 4; i++) {
    const [v, next] = varint(footer, pos)
    handles.push(v)
    pos = next
  }
  const [, , indexOffset, indexSize] = handles as [number, number, number, number]
  const blocks: Uint8Array[] = []
  for (const handle of blockValues(readBlock(file, indexOffset, indexSize))) {
    const [offset, p] = varint(handle, 0)
    const [size] = varint(handle, p)
    blocks.push(readBlock(file, offset, size))
  }
  return blocks
}

/** The logical records of a LevelDB write-ahead log, fragments joined (checksums not checked). */
export function logRecords(file: Uint8Array): Uint8Array[] {
  const BLOCK = 32 * 1024
  const out: Uint8Array[] = []
  let pending: Uint8Array[] = []
  let pos = 0
  while (pos + 7 <= file.length) {
    const left = BLOCK - (pos % BLOCK)
    if (left < 7) {
      pos += left
      continue
    }
    const length = file[pos + 4]! | (file[pos + 5]! << 8)
    const type = file[pos + 6]!
    const start = pos + 7
    const end = Math.min(start + length, file.length)
    if (type === 0 && length === 0) {
      pos += left // zero padding: the rest of the block
      continue
    }
    const payload = file.subarray(start, end)
    if (type === 1) out.push(payload)
    else if (type === 2) pending = [payload]
    else if (type === 3) pending.push(payload)
    else if (type === 4) {
      pending.push(payload)
      out.push(Buffer.concat(pending))
      pending = []
    }
    pos = end
  }
  if (pending.length > 0) out.push(Buffer.concat(pending))
  return out
}

/** Every file under `dir`, recursively. */
async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = []
  let entries: import('node:fs').Dirent[]
  try {
    entries = await readdir(dir, { withFileTypes: true, recursive: true })
  } catch {
    return out
  }
  for (const e of entries) if (e.isFile()) out.push(join(e.parentPath, e.name))
  return out
}

/** The byte views of one file to search: raw, and decoded when it is a LevelDB file. */
function views(name: string, bytes: Uint8Array): Uint8Array[] {
  const out = [bytes]
  try {
    if (/\.(ldb|sst)$/.test(name)) out.push(...tableBlocks(bytes))
    else if (/\.log$/.test(name)) out.push(...logRecords(bytes))
  } catch {
    // not a LevelDB file after all (or a torn one): the raw bytes were searched
  }
  return out
}

/**
 * Which of `markers` occur anywhere under `dir` (raw or decoded), and in which files.
 * Returns marker → relative file names (only markers found).
 */
export async function scanForMarkers(
  dir: string,
  markers: readonly string[],
): Promise<Map<string, string[]>> {
  const needles = markers.map((m) => [m, Buffer.from(m, 'utf8')] as const)
  const found = new Map<string, string[]>()
  for (const path of await filesUnder(dir)) {
    let bytes: Uint8Array
    try {
      bytes = await readFile(path)
    } catch {
      continue // removed while listing (a LevelDB compaction)
    }
    const parts = views(path, bytes).map((v) => Buffer.from(v.buffer, v.byteOffset, v.byteLength))
    for (const [m, needle] of needles) {
      if (parts.some((p) => p.includes(needle))) {
        const rel = path.slice(dir.length + 1)
        found.set(m, [...(found.get(m) ?? []), rel])
      }
    }
  }
  return found
}
