/**
 * One chaos schedule: a tribe of in-process nodes, a child-process node and a rogue
 * member, driven by a seeded random schedule (schedule.ts) of writes from any node
 * (narratives with private, circle and tribe audiences, echoes, body edits from a second
 * device, withdrawals, audience changes, co-authors), partitions, restarts, SIGKILLs of
 * the child mid-write and forgeries from the rogue. Then everything heals and the
 * invariants of DESIGN.md are checked:
 *
 * - 5: every pair of honest members holds identical versions, records and content of
 *   every document both may receive (each side's `visibleDocuments` for the other);
 * - 6: every acknowledged write is present (narratives, echoes, edits, withdrawals,
 *   audience statements), the child's acknowledged writes across its SIGKILLs included;
 * - 2: no forged envelope was applied or stored (the ingest of every honest node is
 *   watched, and forged markers never reach a document or a file), and no forged record
 *   changed a narrative's status or audience;
 * - 3: no content of a narrative (or its echoes) ever reached a member who was never in
 *   its audience (watched at ingest, and by a raw scan of that member's data directory);
 * - 4: no withdrawn narrative (nor one whose audience no longer includes the member)
 *   leaves its markers in any honest member's files (raw bytes and decoded LevelDB).
 */
import '../polyfill.js'
import * as Y from 'yjs'
import type { NarrativeView } from '../core/node-api.js'
import type { IngestResult, Replication } from '../core/replication.js'
import type { TapestryNode } from '../core/tapestry-node.js'
import type { Envelope, SignedRecord } from '../envelope/types.js'
import { TapestryError } from '../errors.js'
import { Tapestry } from '../root/tapestry.js'
import { ChaosCluster, type ChaosMember, type ChildAck } from './cluster.js'
import { scanForMarkers } from './disk-scan.js'
import { Rogue } from './rogue.js'
import { CHAOS_WEIGHTS, nextAction, type Rng, rng } from './schedule.js'

export interface ChaosOptions {
  seed: number
  /** Schedule steps. @default 24 */
  steps?: number
  /** In-process honest nodes. @default 4 */
  nodes?: number
  /** A child-process node (SIGKILLed mid-write). @default true */
  child?: boolean
  /** A rogue member forging envelopes and records. @default true */
  rogue?: boolean
  /** How long the healed mesh may take to converge. @default 60_000 */
  convergeMs?: number
  /** Keep the data directories (their root is in the result). */
  keep?: boolean
  /** Progress lines as they happen. */
  log?: (line: string) => void
}

export interface ChaosResult {
  seed: number
  ok: boolean
  failures: string[]
  ms: number
  stats: Record<string, number>
  /** The schedule as it ran, one line per step. */
  log: string[]
  root: string
}

type Aud = { kind: 'tribe' } | { kind: 'private' } | { kind: 'circle'; members: string[] }

interface NarrativeEntry {
  title: string
  marker: string
  bodyMarker: string
  creator: string
  docId?: string
  acked: boolean
  /** The creator's last acknowledged audience statement. */
  audience: Aud
  /** Everyone who was ever in its audience (statements made or attempted). */
  everTribe: boolean
  ever: Set<string>
  authors: Set<string>
  edits: string[]
  withdrawn: boolean
  withdrawAttempted: boolean
}

interface EchoEntry {
  marker: string
  body: string
  docId: string
  narrative: NarrativeEntry
  responder: string
}

const BENIGN = (err: unknown) => err instanceof TapestryError
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${what}: timed out after ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}

export async function runSchedule(opts: ChaosOptions): Promise<ChaosResult> {
  const t0 = Date.now()
  const run = new Schedule(opts)
  try {
    await withTimeout(run.run(), 240_000, 'the schedule')
  } catch (err) {
    run.failures.push(`error: ${(err as Error).stack ?? String(err)}`)
  } finally {
    await withTimeout(
      run.cluster?.cleanup(opts.keep) ?? Promise.resolve(),
      30_000,
      'cleanup',
    ).catch((err: unknown) => run.failures.push(`cleanup: ${(err as Error).message}`))
  }
  return {
    seed: opts.seed,
    ok: run.failures.length === 0,
    failures: run.failures,
    ms: Date.now() - t0,
    stats: run.stats,
    log: run.log,
    root: run.cluster?.root ?? '',
  }
}

class Schedule {
  readonly r: Rng
  readonly failures: string[] = []
  readonly log: string[] = []
  readonly stats: Record<string, number> = {}
  cluster!: ChaosCluster
  readonly narratives: NarrativeEntry[] = []
  readonly echoes: EchoEntry[] = []
  readonly #byDoc = new Map<string, NarrativeEntry>()
  readonly #echoByDoc = new Map<string, EchoEntry>()
  /** (receiver, docId, sender) of every narrative or echo envelope an honest node ingested. */
  readonly #wire = new Set<string>()
  readonly honest: string[]
  readonly nodes: string[]
  readonly children: string[]
  readonly rogueName: string | undefined
  rogue: Rogue | undefined
  rogueOwn: string | undefined
  #markers = 0
  #step = 0

  constructor(readonly o: ChaosOptions) {
    this.r = rng(o.seed)
    this.nodes = Array.from({ length: o.nodes ?? 4 }, (_, i) => `n${i}`)
    this.children = o.child === false ? [] : ['c0']
    this.honest = [...this.nodes, ...this.children]
    this.rogueName = o.rogue === false ? undefined : 'rogue'
  }

  count(stat: string, n = 1): void {
    this.stats[stat] = (this.stats[stat] ?? 0) + n
  }

  note(line: string): void {
    const l = `${this.#step} ${line}`
    this.log.push(l)
    this.o.log?.(l)
  }

  fail(msg: string): void {
    this.failures.push(msg)
    this.o.log?.(`FAIL ${msg}`)
  }

  marker(): string {
    return `Z${this.o.seed.toString(36)}x${(this.#markers++).toString(36)}Q`
  }

  // ---- setup ------------------------------------------------------------------------

  async run(): Promise<void> {
    this.cluster = await ChaosCluster.create({
      nodes: this.nodes,
      children: this.children,
      ...(this.rogueName ? { rogue: this.rogueName } : {}),
      wrap: (m, r) => this.#wrap(m, r),
      started: (m) => {
        if (m.kind === 'rogue') this.rogue?.attach(m.mesh)
      },
    })
    const c = this.cluster
    if (this.rogueName) this.rogue = new Rogue(c.get(this.rogueName).device)
    // Start everyone, each dialling one earlier member (a random tree), then wait rosters.
    const order = [...this.nodes, ...(this.rogueName ? [this.rogueName] : []), ...this.children]
    for (const [i, name] of order.entries()) {
      await c.start(name, i === 0 ? [] : [order[this.r.int(i)]!])
    }
    // Every member must hold the roster before the schedule starts. A dial can time out
    // on a loaded machine and leave a member alone: the founder dials it again.
    const founder = this.nodes[0]!
    const pending = new Set(order.slice(1))
    const childTribe = new Map<string, Promise<boolean>>()
    const deadline = Date.now() + 45_000
    while (pending.size > 0) {
      for (const name of [...pending]) {
        const m = c.get(name)
        let ok = false
        if (m.kind === 'child') {
          if (!childTribe.has(name)) childTribe.set(name, m.child!.waitTribe(45_000))
          ok = await Promise.race([childTribe.get(name)!, sleep(1_000).then(() => false)])
        } else {
          await waitFor(async () => (await m.node!.tribes()).length === 1, 1_000, 'roster').then(
            () => {
              ok = true
            },
            () => {},
          )
        }
        if (ok) pending.delete(name)
        else if (!c.connected(founder, name)) await c.connect(founder, name)
      }
      if (pending.size > 0 && Date.now() > deadline) {
        throw new Error(`no roster on ${[...pending].join(', ')} (${this.connections()})`)
      }
    }
    if (this.rogueName) {
      const rogue = c.get(this.rogueName).node!
      const { narrativeId } = await rogue.narrate({ title: 'rogue story', body: 'plain words' })
      this.rogueOwn = narrativeId
    }
    this.note('setup done')

    const steps = this.o.steps ?? 24
    for (this.#step = 1; this.#step <= steps; this.#step++) {
      const running = this.honest.filter((n) => c.isRunning(n))
      const stopped = this.honest.filter((n) => !c.isRunning(n))
      const action = nextAction(
        this.r,
        {
          running,
          stopped,
          killable: this.children.filter((n) => c.isRunning(n)),
          partitioned: c.partitioned,
          minRunning: 2,
        },
        this.rogueName ? CHAOS_WEIGHTS : { ...CHAOS_WEIGHTS, forge: 0 },
      )
      if (!action) continue
      switch (action.kind) {
        case 'write':
          await this.write(action.who)
          break
        case 'offline-write':
          await this.offlineWrite(action.who)
          break
        case 'stop':
          this.note(`stop ${action.who}`)
          await c.stop(action.who)
          if (c.get(action.who).kind === 'child') this.count('child kills (at rest)')
          break
        case 'start':
          this.note(`start ${action.who}`)
          await c.start(action.who, this.peersFor(action.who))
          break
        case 'restart':
          this.note(`restart ${action.who}`)
          await c.stop(action.who)
          await c.start(action.who, this.peersFor(action.who))
          this.count('restarts')
          break
        case 'cut':
          this.note(`cut ${action.a}-${action.b}`)
          await c.cut(action.a, action.b)
          break
        case 'connect':
          this.note(`connect ${action.a}-${action.b}`)
          await c.connect(action.a, action.b)
          break
        case 'partition':
          this.note(`partition ${action.sides[0].join(',')} | ${action.sides[1].join(',')}`)
          await c.partition(action.sides)
          this.count('partitions')
          break
        case 'heal': {
          this.note('heal the partition')
          c.heal()
          const up = this.honest.filter((n) => c.isRunning(n))
          if (up.length >= 2) {
            const [a, b] = this.r.shuffle(up)
            await c.connect(a!, b!)
          }
          break
        }
        case 'kill':
          await this.killMidWrite(action.who)
          break
        case 'forge':
          await this.forge()
          break
      }
      await sleep(this.r.int(150))
    }
    this.#step = steps + 1
    await this.healAll()
    await this.check()
  }

  /** Who is connected to whom, and the sync sessions (for a failure message). */
  connections(): string {
    const c = this.cluster
    return [...c.members.values()]
      .map((m) => {
        const conns = (m.mesh?.host(c.tribeId)?.libp2p.getConnections() ?? []).map(
          (x) => `${c.byMemberId(x.remotePeer.toString())?.name}:${x.status}`,
        )
        const sessions = (m.mesh?.sessions(c.tribeId) ?? []).map(
          (s) => `${c.byMemberId(s.peer)?.name}${s.closed ? '(closed)' : ''}`,
        )
        return `${m.name} [${conns.join(' ')}] sessions [${sessions.join(' ')}]`
      })
      .join('; ')
  }

  /** Members a starting node dials: two running ones (its known peers are redialled too). */
  peersFor(name: string): string[] {
    const up = [...this.honest, ...(this.rogueName ? [this.rogueName] : [])].filter(
      (n) => n !== name && this.cluster.isRunning(n),
    )
    return this.r.shuffle(up).slice(0, 2)
  }

  #wrap(m: ChaosMember, real: Replication): Replication {
    if (m.kind === 'rogue') return this.rogue!.wrap(real)
    const wire = this.#wire
    const rogueId = this.rogueName ? this.cluster.get(this.rogueName).memberId : undefined
    return new Proxy(real, {
      get: (target, prop) => {
        if (prop === 'ingestEnvelopes') {
          return async (envs: readonly Envelope[], from: string): Promise<IngestResult> => {
            for (const e of envs) {
              if (e.docId.startsWith('narrative_') || e.docId.startsWith('echo_')) {
                wire.add(`${m.name} ${e.docId} ${from}`)
              }
            }
            const result = await target.ingestEnvelopes(envs, from)
            if (from === rogueId) await this.#afterRogue(m, target, envs, [], result)
            return result
          }
        }
        if (prop === 'ingestRecords') {
          return async (recs: readonly SignedRecord[], from: string): Promise<IngestResult> => {
            const result = await target.ingestRecords(recs, from)
            if (from === rogueId) await this.#afterRogue(m, target, [], recs, result)
            return result
          }
        }
        const v = Reflect.get(target, prop, target) as unknown
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v
      },
    })
  }

  /** Invariant 2 at the boundary: a forged item the rogue sent must not be stored. */
  async #afterRogue(
    m: ChaosMember,
    r: Replication,
    envs: readonly Envelope[],
    recs: readonly SignedRecord[],
    result: IngestResult,
  ): Promise<void> {
    this.count('rogue items rejected', result.rejected.length)
    const forged = new Map(this.rogue!.forged.map((f) => [f.signature, f]))
    for (const e of envs) {
      const f = forged.get(Buffer.from(e.signature).toString('hex'))
      if (!f) continue
      const stored = await r.envelopesFor(e.docId, new Map(), m.memberId)
      if (stored.some((s) => Buffer.from(s.signature).equals(Buffer.from(e.signature)))) {
        this.fail(`invariant 2: ${m.name} stored a forged envelope (${f.kind}) of ${e.docId}`)
      }
    }
    for (const rec of recs) {
      const f = forged.get(Buffer.from(rec.signature).toString('hex'))
      if (f?.kind !== 'withdraw-bad-signature') continue
      const stored = await r.recordsFor(rec.docId, m.memberId)
      if (stored.some((s) => Buffer.from(s.signature).equals(Buffer.from(rec.signature)))) {
        this.fail(`invariant 2: ${m.name} stored a record with a bad signature on ${rec.docId}`)
      }
    }
  }

  // ---- writes -------------------------------------------------------------------------

  memberId(name: string): string {
    return this.cluster.get(name).memberId
  }

  audString(a: Aud): string {
    if (a.kind !== 'circle') return a.kind
    return `circle:${a.members
      .map((n) => this.memberId(n))
      .sort()
      .join(',')}`
  }

  randomAudience(self: string): Aud {
    const roll = this.r.next()
    if (roll < 0.55) return { kind: 'tribe' }
    if (roll < 0.75) return { kind: 'private' }
    const others = this.honest.filter((n) => n !== self)
    return {
      kind: 'circle',
      members: this.r
        .shuffle(others)
        .slice(0, 1 + this.r.int(2))
        .sort(),
    }
  }

  widen(e: NarrativeEntry, a: Aud): void {
    if (a.kind === 'tribe') e.everTribe = true
    if (a.kind === 'circle') for (const n of a.members) e.ever.add(n)
  }

  everAllowed(e: NarrativeEntry, name: string): boolean {
    return e.everTribe || e.ever.has(name) || e.authors.has(name)
  }

  newNarrative(creator: string, audience: Aud): NarrativeEntry {
    const marker = this.marker()
    const e: NarrativeEntry = {
      title: `story ${marker}`,
      marker,
      bodyMarker: this.marker(),
      creator,
      acked: false,
      audience,
      everTribe: false,
      ever: new Set(),
      authors: new Set([creator]),
      edits: [],
      withdrawn: false,
      withdrawAttempted: false,
    }
    this.widen(e, audience)
    this.narratives.push(e)
    return e
  }

  body(e: NarrativeEntry): string {
    return `once ${e.bodyMarker} upon a time`
  }

  acked(e: NarrativeEntry, docId: string): void {
    e.docId = docId
    e.acked = true
    this.#byDoc.set(docId, e)
    this.count('narratives acked')
  }

  /** One write on a running member (a child narrates; an in-process node does anything). */
  async write(who: string): Promise<void> {
    const m = this.cluster.get(who)
    if (m.kind === 'child') {
      const e = this.newNarrative(
        who,
        this.r.chance(0.7) ? { kind: 'tribe' } : this.randomAudience(who),
      )
      this.note(`${who} (child) narrates ${e.marker} to ${e.audience.kind}`)
      const ack = await m.child!.narrate({
        title: e.title,
        body: this.body(e),
        audience: this.audString(e.audience),
      })
      if (ack) this.acked(e, ack.id)
      else this.note(`${who} (child) gave no ack`)
      return
    }
    await this.inProcessWrite(m, m.node!, true)
  }

  async offlineWrite(who: string): Promise<void> {
    const m = this.cluster.get(who)
    const node = (await Tapestry.open({ dataDir: m.dir })).node
    try {
      await this.inProcessWrite(m, node, false)
    } finally {
      await node.close()
    }
  }

  async inProcessWrite(m: ChaosMember, node: TapestryNode, online: boolean): Promise<void> {
    const who = online ? m.name : `${m.name} (offline)`
    const roll = this.r.next()
    const live = this.narratives.filter((e) => e.docId && !e.withdrawn)
    const mine = live.filter((e) => e.authors.has(m.name))
    const created = live.filter((e) => e.creator === m.name)
    try {
      if (roll < 0.2) {
        const seen = (await node.narratives({ tribeId: this.cluster.tribeId })).filter(
          (v) => v.status === 'published' && this.#byDoc.has(v.id),
        )
        if (seen.length > 0) return await this.echo(m, node, who, this.r.pick(seen).id)
      } else if (roll < 0.42) {
        if (mine.length > 0) return await this.edit(node, who, this.r.pick(mine))
      } else if (roll < 0.52 && online) {
        if (created.length > 0) return await this.changeAudience(m, node, this.r.pick(created))
      } else if (roll < 0.58 && online) {
        if (mine.length > 0) return await this.withdraw(m, node, this.r.pick(mine))
      } else if (roll < 0.64 && online) {
        const open = created.filter((e) => e.audience.kind === 'tribe' && e.authors.size < 3)
        if (open.length > 0) return await this.coauthor(m, node, this.r.pick(open))
      }
      const e = this.newNarrative(m.name, this.randomAudience(m.name))
      this.note(`${who} narrates ${e.marker} to ${this.audString(e.audience).slice(0, 16)}`)
      const { narrativeId } = await node.narrate({
        title: e.title,
        body: this.body(e),
        audience: this.audString(e.audience),
      })
      this.acked(e, narrativeId)
    } catch (err) {
      if (!BENIGN(err)) throw err
      this.note(`${who}: refused (${(err as Error).message})`)
      this.count('writes refused')
    }
  }

  async echo(m: ChaosMember, node: TapestryNode, who: string, docId: string): Promise<void> {
    const n = this.#byDoc.get(docId)!
    const marker = this.marker()
    const body = `echo ${marker} here`
    this.note(`${who} echoes ${n.marker} with ${marker}`)
    const { echoId } = await node.echo(docId, body)
    const e = { marker, body, docId: echoId, narrative: n, responder: m.name }
    this.echoes.push(e)
    this.#echoByDoc.set(echoId, e)
    this.count('echoes acked')
  }

  /**
   * A body edit through the node's editing API, as the desktop editor makes them: an
   * edit session (its own writer of the member), a Yjs change on the session's replica,
   * `editUpdate` (acknowledged once signed and stored).
   */
  async edit(node: TapestryNode, who: string, e: NarrativeEntry): Promise<void> {
    const docId = e.docId!
    const session = await node.editSession(docId)
    const doc = new Y.Doc()
    Y.applyUpdate(doc, new Uint8Array(Buffer.from(session.state, 'base64')))
    doc.clientID = session.clientId
    const sv = Y.encodeStateVector(doc)
    const text = doc.getText('body')
    const s = text.toString()
    // Insert only at word boundaries, so no marker is ever split by another.
    const spots = [0, s.length]
    for (let i = 0; i < s.length; i++) if (s[i] === ' ') spots.push(i + 1)
    const at = this.r.pick(spots)
    const marker = this.marker()
    text.insert(at, at === s.length ? ` ${marker}` : `${marker} `)
    const update = Buffer.from(Y.encodeStateAsUpdate(doc, sv)).toString('base64')
    this.note(`${who} edits ${e.marker}: ${marker} at ${at}`)
    await node.editUpdate(docId, session.writerId, update)
    e.edits.push(marker)
    this.count('edits acked')
  }

  async changeAudience(m: ChaosMember, node: TapestryNode, e: NarrativeEntry): Promise<void> {
    const a = this.randomAudience(m.name)
    this.widen(e, a)
    this.note(`${m.name} sets ${e.marker} to ${this.audString(a).slice(0, 16)}`)
    await node.consentSet({ narrativeId: e.docId!, audience: this.audString(a) })
    e.audience = a
    this.count('audience changes acked')
  }

  async withdraw(m: ChaosMember, node: TapestryNode, e: NarrativeEntry): Promise<void> {
    this.note(`${m.name} withdraws ${e.marker}`)
    e.withdrawAttempted = true
    await node.withdraw(e.docId!)
    e.withdrawn = true
    this.count('withdrawals acked')
  }

  async coauthor(m: ChaosMember, node: TapestryNode, e: NarrativeEntry): Promise<void> {
    const who = this.r.pick(this.honest.filter((n) => !e.authors.has(n)))
    e.authors.add(who)
    this.note(`${m.name} adds ${who} as co-author of ${e.marker}`)
    await node.coauthor(e.docId!, this.memberId(who))
    this.count('co-authors acked')
  }

  /** Starts a burst of writes in the child and SIGKILLs it in the middle. */
  async killMidWrite(who: string): Promise<void> {
    const child = this.cluster.get(who).child!
    const entries = Array.from({ length: 40 }, () =>
      this.newNarrative(who, this.r.chance(0.75) ? { kind: 'tribe' } : { kind: 'private' }),
    )
    const byTitle = new Map(entries.map((e) => [e.title, e]))
    let acks = 0
    child.burst(
      entries.map((e) => ({
        title: e.title,
        body: this.body(e),
        audience: this.audString(e.audience),
      })),
      (a: ChildAck) => {
        const e = byTitle.get(a.title)
        if (e) {
          this.acked(e, a.id)
          acks++
        }
      },
    )
    await child.nextAck(5_000)
    await sleep(this.r.int(400))
    await this.cluster.stop(who)
    this.note(`SIGKILL ${who} mid-burst after ${acks} acks`)
    this.count('child kills (mid-write)')
    this.count('child acks', acks)
  }

  async forge(): Promise<void> {
    const c = this.cluster
    const rogue = c.get(this.rogueName!)
    const targets = this.nodes.filter((n) => c.isRunning(n) && !c.blocked(this.rogueName!, n))
    if (targets.length === 0 || !rogue.node) return
    const target = this.r.pick(targets)
    await c.connect(this.rogueName!, target)
    await waitFor(
      () =>
        rogue.mesh!.sessions(c.tribeId).some((s) => s.peer === c.get(target).memberId && !s.closed),
      3_000,
      'rogue session',
    ).catch(() => {})
    await sleep(200)
    const candidates = (await rogue.node.narratives({ tribeId: c.tribeId })).filter(
      (v) =>
        v.status === 'published' &&
        v.audience === 'tribe' &&
        !v.authors.includes(rogue.memberId) &&
        this.#byDoc.has(v.id),
    )
    const victim = candidates.length > 0 ? this.r.pick(candidates) : undefined
    const kinds = await this.rogue!.forge(
      this.r,
      rogue.node,
      {
        ...(victim ? { victim: { docId: victim.id, author: victim.authors[0]! } } : {}),
        ...(this.rogueOwn ? { own: this.rogueOwn } : {}),
      },
      () => this.marker(),
    )
    this.note(`rogue forges ${kinds.join(',')} (via ${target})`)
    this.count('forgeries offered', kinds.length)
  }

  // ---- heal and check -------------------------------------------------------------------

  async healAll(): Promise<void> {
    const c = this.cluster
    c.heal()
    for (const name of this.children) {
      if (c.isRunning(name)) {
        await c.stop(name)
        this.count('child kills (at rest)')
      }
      c.get(name).kind = 'node' // from here on in-process, for the checks
    }
    if (this.rogueName) await c.stop(this.rogueName)
    for (const name of this.honest) await c.start(name)
    this.note('healed: every member up, the rogue gone')
  }

  /**
   * Each side's view of what the other may receive: ids, versions and record ids, as the
   * sync digest compares them.
   */
  async pairViews(a: ChaosMember, b: ChaosMember): Promise<[string, string]> {
    const t = this.cluster.tribeId
    const view = async (x: ChaosMember, y: ChaosMember) =>
      JSON.stringify(
        (await x.node!.replication.visibleDocuments(t, y.memberId))
          .map((d) => [
            d.docId,
            [...d.vv].sort(([p], [q]) => (p < q ? -1 : 1)),
            [...d.recordIds].sort(),
            // (not `content`: it says whether the *other* side may read it, which differs
            // for a circle that holds one of the two; the sync digest leaves it out too)
          ])
          .sort((p, q) => (String(p[0]) < String(q[0]) ? -1 : 1)),
      )
    return [await view(a, b), await view(b, a)]
  }

  async converge(): Promise<boolean> {
    const c = this.cluster
    const ms = this.o.convergeMs ?? 60_000
    const deadline = Date.now() + ms
    const names = this.honest
    let last = ''
    while (Date.now() < deadline) {
      // Every pair, redialled whenever a link is down: a circle's narrative travels only
      // between members of the circle (nobody else may hold it to relay it), so a ring
      // would leave a circle member whose neighbours are outside the circle without it.
      for (let i = 0; i < names.length; i++) {
        for (let j = i + 1; j < names.length; j++) {
          const [a, b] = [names[i]!, names[j]!]
          if (!c.connected(a, b)) await c.connect(a, b)
        }
      }
      last = ''
      for (let i = 0; i < names.length && !last; i++) {
        for (let j = i + 1; j < names.length; j++) {
          const [x, y] = await this.pairViews(c.get(names[i]!), c.get(names[j]!))
          if (x !== y) {
            last = `${names[i]} and ${names[j]} differ: ${diffViews(x, y, (id) => this.describe(id))}`
            break
          }
        }
      }
      if (!last) return true
      await sleep(400)
    }
    this.fail(`invariant 5: no convergence within ${ms} ms: ${last}`)
    return false
  }

  /** A document id with what the ledger knows of it. */
  describe(docId: string): string {
    const n = this.#byDoc.get(docId)
    if (n)
      return `${docId} (${n.marker} by ${n.creator}, ${this.audString(n.audience).slice(0, 20)}${n.withdrawn ? ', withdrawn' : ''})`
    const e = this.#echoByDoc.get(docId)
    if (e) return `${docId} (echo ${e.marker} by ${e.responder} on ${e.narrative.marker})`
    return docId
  }

  /** Who may hold a narrative now, from its final view (its authors always). */
  allowedNow(v: NarrativeView | undefined, name: string): boolean {
    if (v?.status !== 'published') return false
    const id = this.memberId(name)
    if (v.authors.includes(id)) return true
    if (v.audience === 'tribe' || v.audience === 'federated') return true
    if (v.audience.startsWith('circle:')) return v.audience.slice(7).split(',').includes(id)
    return false
  }

  async check(): Promise<void> {
    const c = this.cluster
    const t0 = Date.now()
    const converged = await this.converge()
    this.stats['converge ms'] = Date.now() - t0
    const names = this.honest
    const forgedMarkers = (this.rogue?.forged ?? []).flatMap((f) => (f.marker ? [f.marker] : []))

    // Views of every narrative on every member.
    const views = new Map<string, Map<string, NarrativeView>>()
    for (const n of names) {
      const vs = await c.get(n).node!.narratives({ tribeId: c.tribeId })
      views.set(n, new Map(vs.map((v) => [v.id, v])))
      for (const v of vs) {
        for (const fm of forgedMarkers) {
          if (v.body.includes(fm) || v.title.includes(fm)) {
            this.fail(`invariant 2: forged text ${fm} is in ${v.id} on ${n}`)
          }
        }
      }
    }
    // Invariant 5, content: every narrative both hold reads the same on both.
    if (converged) {
      for (let i = 0; i < names.length; i++) {
        for (let j = i + 1; j < names.length; j++) {
          const [a, b] = [views.get(names[i]!)!, views.get(names[j]!)!]
          for (const [id, v] of a) {
            const w = b.get(id)
            if (w && JSON.stringify(v) !== JSON.stringify(w)) {
              this.fail(`invariant 5: ${id} reads differently on ${names[i]} and ${names[j]}`)
            }
          }
        }
      }
    }

    // Resolve narratives written but not acknowledged (a child killed before its ack).
    for (const e of this.narratives) {
      if (e.docId) continue
      const v = [...(views.get(e.creator)?.values() ?? [])].find((x) => x.title === e.title)
      if (v) {
        e.docId = v.id
        this.#byDoc.set(v.id, e)
        this.count('child writes durable but unacknowledged')
      }
    }

    // Invariant 6 (and 2: no forged withdrawal or audience took effect).
    for (const e of this.narratives) {
      if (!e.acked || !e.docId) continue
      const creator = c.get(e.creator).node!
      const v = views.get(e.creator)?.get(e.docId)
      if (!v) {
        this.fail(
          `invariant 6: acknowledged narrative ${e.marker} (${e.docId}) is missing on ${e.creator}`,
        )
        continue
      }
      if (e.withdrawn) {
        if (v.status !== 'withdrawn')
          this.fail(`invariant 6: acknowledged withdrawal of ${e.marker} lost`)
        continue
      }
      if (v.status === 'withdrawn') {
        if (!e.withdrawAttempted)
          this.fail(`invariant 2: ${e.marker} was withdrawn by nobody who may`)
        continue
      }
      if (v.title !== e.title)
        this.fail(`invariant 6: ${e.marker} has title ${JSON.stringify(v.title)}`)
      for (const mk of [e.bodyMarker, ...e.edits]) {
        if (!v.body.includes(mk)) {
          this.fail(
            `invariant 6: ${e.marker} lost ${mk === e.bodyMarker ? 'its body' : `edit ${mk}`}: ${JSON.stringify(v.body)}`,
          )
        }
      }
      const consent = await creator.consentShow()
      const stated = consent.narratives.find((x) => x.narrativeId === e.docId)?.audience
      if (stated !== this.audString(e.audience)) {
        this.fail(
          `invariant 6/2: ${e.marker}'s audience reads ${stated}, acknowledged ${this.audString(e.audience)}`,
        )
      }
    }
    for (const echo of this.echoes) {
      const nv = views.get(echo.responder)?.get(echo.narrative.docId!)
      if (!this.allowedNow(nv, echo.responder)) continue
      const shown = await c
        .get(echo.responder)
        .node!.show(echo.narrative.docId!)
        .catch(() => undefined)
      if (!shown?.echoes.some((x) => x.id === echo.docId && x.body === echo.body)) {
        this.fail(`invariant 6: acknowledged echo ${echo.marker} missing on ${echo.responder}`)
      }
    }

    // Invariant 3 at the wire: content only ever went to members once in its audience.
    for (const key of this.#wire) {
      const [to, docId, from] = key.split(' ') as [string, string, string]
      const e = this.#byDoc.get(docId) ?? this.#echoByDoc.get(docId)?.narrative
      if (e && !this.everAllowed(e, to)) {
        const sender = c.byMemberId(from)?.name ?? from
        this.fail(
          `invariant 3: ${docId} (${e.marker}, audience never had ${to}) was sent to ${to} by ${sender}`,
        )
      }
    }

    // Disk: stop everyone (flushes), then scan every honest data directory.
    for (const n of names) await c.stop(n)
    const final = (e: NarrativeEntry): NarrativeView | undefined =>
      e.docId ? views.get(e.creator)?.get(e.docId) : undefined
    const all = [
      ...this.narratives.flatMap((e) => [e.marker, e.bodyMarker, ...e.edits]),
      ...this.echoes.map((x) => x.marker),
      ...forgedMarkers,
    ]
    let checked = 0
    for (const n of names) {
      const found = await scanForMarkers(c.get(n).dir, all)
      for (const fm of forgedMarkers) {
        if (found.has(fm))
          this.fail(`invariant 2: forged text ${fm} stored by ${n}: ${found.get(fm)}`)
      }
      const judge = (e: NarrativeEntry, markers: string[], what: string) => {
        const v = final(e)
        const withdrawn = v?.status === 'withdrawn'
        for (const mk of markers) {
          const files = found.get(mk)
          checked++
          if (!files) continue
          if (withdrawn)
            this.fail(`invariant 4: ${what} ${mk} of withdrawn ${e.marker} is in ${n}'s ${files}`)
          else if (!this.everAllowed(e, n))
            this.fail(
              `invariant 3: ${what} ${mk} of ${e.marker} (never for ${n}) is in ${n}'s ${files}`,
            )
          else if (v && !this.allowedNow(v, n))
            this.fail(
              `invariant 3/4: ${what} ${mk} of ${e.marker} (no longer for ${n}) is in ${n}'s ${files}`,
            )
        }
      }
      for (const e of this.narratives) {
        judge(e, [e.marker, e.bodyMarker, ...e.edits], 'text')
        // The scan's control: what must be there is found.
        const v = final(e)
        if (e.acked && e.creator === n && v?.status === 'published' && !found.has(e.marker)) {
          this.fail(
            `scan control: ${e.marker} not found in its creator ${n}'s files (scan broken?)`,
          )
        }
      }
      for (const x of this.echoes) judge(x.narrative, [x.marker], 'echo')
    }
    this.stats['markers checked'] = checked
  }
}

function diffViews(x: string, y: string, describe: (docId: string) => string): string {
  type Row = [string, [string, number][], string[]]
  const a = new Map((JSON.parse(x) as Row[]).map((r) => [r[0], r]))
  const b = new Map((JSON.parse(y) as Row[]).map((r) => [r[0], r]))
  const out: string[] = []
  for (const [id, r] of a) {
    const s = b.get(id)
    if (!s) out.push(`${describe(id)} only on the first`)
    else if (JSON.stringify(r) !== JSON.stringify(s)) {
      out.push(`${describe(id)} differs: ${JSON.stringify(r)} vs ${JSON.stringify(s)}`)
    }
  }
  for (const id of b.keys()) if (!a.has(id)) out.push(`${describe(id)} only on the second`)
  return out.slice(0, 4).join('; ') + (out.length > 4 ? ` (+${out.length - 4})` : '')
}

export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what} not met within ${ms} ms`)
    await sleep(25)
  }
}
