/**
 * Workload `cold-sync`: rows `cold-sync-1k` and `cold-sync-10k`. A founder node holds N
 * narratives (200-char bodies, written through `narrate`); a new member (admitted in the
 * roster, holding the swarm key, nothing else) starts its mesh and dials the founder over
 * 127.0.0.1 (pnet + Noise + Yamux, the sync protocol); timed from the dial until the
 * member holds all N narratives (remote document events), checked against its store.
 *
 * Baseline, same run: the same stored bytes (every record and envelope of the founder's
 * store, as `encodeRecord`/`encodeEnvelope` give them) copied over a plain loopback TCP
 * socket, length-prefixed, and on arrival decoded and signature-verified one by one
 * (`verifyRecord`/`verifyEnvelope`) in the same process: transport + the signatures,
 * nothing else (no authority, no Yjs, no disk).
 */
import { createServer, connect as tcpConnect } from 'node:net'
import { join } from 'node:path'
import { decodeEnvelope, decodeRecord } from '../envelope/codec.js'
import { verifyEnvelope, verifyRecord } from '../envelope/sign.js'
import {
  type BenchResult,
  benchResult,
  formatBytes,
  type Series,
  type Workload,
  type WorkloadContext,
} from './harness.js'
import {
  admit,
  type BenchNode,
  connect,
  createMember,
  fixtureDir,
  narrativeArrivals,
  openMember,
  type Populated,
  populatedFounder,
  QUICK_DOCS,
  startMesh,
  stopNode,
  storedBytes,
  waitFor,
} from './mesh-fixture.js'

export interface ColdSyncRun {
  readonly seconds: number
  /** Mesh start of the new member (before the dial; not in `seconds`). */
  readonly meshStartSeconds: number
  /** Until `narratives()` lists them all (checked every 250 ms, after the figure). */
  readonly listedSeconds: number
  readonly documents: number
  readonly memberDir: string
}

/** Members that completed a cold sync, by size: a pair of nodes holding identical documents. */
const synced = new Map<number, { founder: Populated; memberDir: string }>()

/** One cold sync of a fresh member from the populated founder of `count` narratives. */
export async function coldSync(
  p: Populated,
  progress: (m: string) => void,
  timeoutMs: number,
): Promise<ColdSyncRun> {
  const founder = await openMember(p.dir, 'founder')
  let member: BenchNode | undefined
  try {
    member = await createMember(await fixtureDir(`member-${p.count}`), 'member')
    await admit(founder, p.tribeId, [member])
    await startMesh(founder)
    const m0 = performance.now()
    await startMesh(member)
    const meshStartSeconds = (performance.now() - m0) / 1000
    const arrivals = narrativeArrivals(member.node)
    const t0 = performance.now()
    await connect(member, founder, p.tribeId)
    await arrivals.until(p.count, timeoutMs)
    const seconds = (performance.now() - t0) / 1000
    arrivals.stop()
    // Stored is not yet listed: the member's roster view may settle a moment later.
    let narratives = 0
    await waitFor(
      async () => {
        narratives = (await member!.node.narratives({ tribeId: p.tribeId })).length
        return narratives === p.count
      },
      60_000,
      'the member lists every narrative',
      250,
    ).catch(() => {
      throw new Error(`the member lists ${narratives} narratives, not ${p.count}`)
    })
    const listedSeconds = (performance.now() - t0) / 1000
    progress(
      `cold sync of ${p.count}: ${seconds.toFixed(2)} s (listed after ${listedSeconds.toFixed(2)} s)`,
    )
    const documents = (await member.node.status()).documents
    return { seconds, meshStartSeconds, listedSeconds, documents, memberDir: member.dir }
  } finally {
    if (member) await stopNode(member)
    await stopNode(founder)
  }
}

/** A founder and a member holding the same `count` narratives (cold-synced once). */
export async function syncedPair(
  count: number,
  progress: (m: string) => void,
): Promise<{ founder: Populated; memberDir: string }> {
  const known = synced.get(count)
  if (known) return known
  const founder = await populatedFounder(count, progress)
  const run = await coldSync(founder, progress, 600_000)
  const pair = { founder, memberDir: run.memberDir }
  synced.set(count, pair)
  return pair
}

export interface CopyRun {
  readonly seconds: number
  readonly bytes: number
  readonly items: number
}

/**
 * The baseline: `frames` (records then envelopes, encoded) over a loopback TCP socket with
 * a 4-byte length prefix each; the receiver decodes and verifies every one.
 */
export async function tcpCopyAndVerify(
  records: readonly Uint8Array[],
  envelopes: readonly Uint8Array[],
): Promise<CopyRun> {
  let total = 0
  for (const b of records) total += 4 + b.byteLength
  for (const b of envelopes) total += 4 + b.byteLength
  const wire = Buffer.allocUnsafe(total)
  let o = 0
  for (const b of [...records, ...envelopes]) {
    wire.writeUInt32BE(b.byteLength, o)
    wire.set(b, o + 4)
    o += 4 + b.byteLength
  }
  const server = createServer((s) => {
    s.setNoDelay(true)
    // As a sender streams stored bytes: in 64 KiB writes, honouring backpressure.
    let off = 0
    const pump = () => {
      while (off < wire.byteLength) {
        const end = Math.min(wire.byteLength, off + 65_536)
        const more = s.write(wire.subarray(off, end))
        off = end
        if (!more) return
      }
      s.end()
    }
    s.on('drain', pump)
    pump()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  const t0 = performance.now()
  const items = await new Promise<number>((resolve, reject) => {
    const c = tcpConnect({ host: '127.0.0.1', port })
    let pending: Buffer = Buffer.alloc(0)
    let nRecords = 0
    let n = 0
    c.on('data', (chunk: Buffer) => {
      pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk])
      let p = 0
      while (pending.byteLength - p >= 4) {
        const len = pending.readUInt32BE(p)
        if (pending.byteLength - p - 4 < len) break
        const bytes = new Uint8Array(pending.buffer, pending.byteOffset + p + 4, len)
        if (nRecords < records.length) {
          if (!verifyRecord(decodeRecord(bytes))) reject(new Error('bad record signature'))
          nRecords++
        } else if (!verifyEnvelope(decodeEnvelope(bytes))) {
          reject(new Error('bad envelope signature'))
        }
        n++
        p += 4 + len
      }
      pending = pending.subarray(p)
    })
    c.on('end', () => resolve(n))
    c.on('error', reject)
  })
  const seconds = (performance.now() - t0) / 1000
  await new Promise<void>((resolve) => server.close(() => resolve()))
  if (items !== records.length + envelopes.length) throw new Error(`copied ${items} items only`)
  return { seconds, bytes: total, items }
}

async function run(ctx: WorkloadContext) {
  const sizes: Array<[string, number]> = ctx.quick
    ? [
        ['cold-sync-1k', 200],
        ['cold-sync-10k', QUICK_DOCS],
      ]
    : [
        ['cold-sync-1k', 1_000],
        ['cold-sync-10k', 10_000],
      ]
  const results: BenchResult[] = []
  const tapestryPoints: Array<[number, number]> = []
  const baselinePoints: Array<[number, number]> = []
  for (const [name, count] of sizes) {
    const p = await populatedFounder(count, ctx.progress)
    const stored = await storedBytes(join(p.dir, 'store'))
    let base: CopyRun | null = null
    for (let r = 0; r < ctx.repeat; r++) {
      const b = await tcpCopyAndVerify(stored.recordBytes, stored.envelopeBytes)
      if (base === null || b.seconds < base.seconds) base = b
    }
    ctx.progress(
      `baseline for ${count}: ${base!.seconds.toFixed(3)} s, ${formatBytes(base!.bytes)}`,
    )
    ctx.gc()
    const t = await coldSync(p, ctx.progress, 600_000)
    if (!synced.has(count)) synced.set(count, { founder: p, memberDir: t.memberDir })
    ctx.gc()
    tapestryPoints.push([count, t.seconds])
    baselinePoints.push([count, base!.seconds])
    results.push(
      benchResult({
        name,
        value: t.seconds,
        unit: 's',
        baseline: base!.seconds,
        ratio: t.seconds / base!.seconds,
        goal: '≤ 1.3x',
        details: {
          size: `${count} narratives${ctx.quick ? ` (--quick: reduced from ${name.endsWith('10k') ? '10,000' : '1,000'})` : ''}, 200-char bodies, one founder → one new member, 127.0.0.1`,
          'stored items copied (records + envelopes)': base!.items,
          'stored bytes copied': base!.bytes,
          'Tapestry narratives/s': count / t.seconds,
          'new member mesh start s (not timed)': t.meshStartSeconds,
          'all listed by narratives() after s (polled every 250 ms)': t.listedSeconds,
          'documents the member holds after': t.documents,
          baseline: 'plain loopback TCP copy of the stored bytes + verify every signature',
          'fixture write s (narrate, not timed)': p.writeSeconds,
        },
      }),
    )
  }
  const series: Series[] = [
    {
      title: 'cold-sync: a new member syncs N narratives',
      xLabel: 'narratives',
      yLabel: 'seconds',
      lines: [
        { label: 'Tapestry (mesh)', points: tapestryPoints },
        { label: 'TCP copy + verify', points: baselinePoints },
      ],
    },
  ]
  return { results, series }
}

export const coldSyncWorkload: Workload = {
  name: 'cold-sync',
  description: 'a new member syncs 1,000 / 10,000 narratives vs TCP copy + verify (≤ 1.3x)',
  resultNames: ['cold-sync-1k', 'cold-sync-10k'],
  run,
}
