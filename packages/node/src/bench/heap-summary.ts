/**
 * What dominates a heap: self sizes in a V8 heap snapshot (`v8.writeHeapSnapshot`) summed
 * by node type and constructor name, and the difference between two snapshots.
 */
import { readFile } from 'node:fs/promises'

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } }
  nodes: number[]
  strings: string[]
}

/** `type:name` → bytes (self size). Strings, code and arrays keep their type as the name. */
export async function heapBySize(file: string): Promise<Map<string, number>> {
  const snap = JSON.parse(await readFile(file, 'utf8')) as Snapshot
  const fields = snap.snapshot.meta.node_fields
  const types = snap.snapshot.meta.node_types[0]
  const width = fields.length
  const iType = fields.indexOf('type')
  const iName = fields.indexOf('name')
  const iSize = fields.indexOf('self_size')
  const out = new Map<string, number>()
  for (let i = 0; i < snap.nodes.length; i += width) {
    const type = types[snap.nodes[i + iType]!] ?? '?'
    const size = snap.nodes[i + iSize]!
    const key =
      type === 'object' || type === 'closure' || type === 'native'
        ? `${type}:${snap.strings[snap.nodes[i + iName]!]}`
        : type
    out.set(key, (out.get(key) ?? 0) + size)
  }
  return out
}

/** The largest growths from `before` to `after`, as "name +N KiB" strings. */
export function topGrowth(
  before: Map<string, number>,
  after: Map<string, number>,
  n: number,
): Array<[string, number]> {
  const diff: Array<[string, number]> = []
  for (const [k, v] of after) diff.push([k, v - (before.get(k) ?? 0)])
  return diff.sort((a, b) => b[1] - a[1]).slice(0, n)
}
