import type { Dirent } from 'node:fs'
import { mkdir, readdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { kindOf } from '@tapestry/crdt-schema'
import { TapestryError } from '../errors.js'
import { decodeSwarmKey, encodeSwarmKey, networkId } from '../net/swarm-key.js'
import { writeFileAtomic } from '../secret-file.js'

const DAY = 24 * 60 * 60 * 1000
/** How long a replaced key stays accepted (from members) after a rotation, by default. */
export const DEFAULT_KEY_GRACE_MS = 7 * DAY

/** A swarm key replaced by a rotation, kept for the grace period. */
export interface RetiredKey {
  epoch: number
  key: Uint8Array
  /** When this node replaced it (ms since the Unix epoch). */
  retiredAt: number
}

/** A tribe's keys as this node holds them. */
export interface TribeKeySet {
  current: Uint8Array
  /** The roster epoch `current` belongs to (0 for the founding key or one from an invitation). */
  epoch: number
  /** Replaced keys still in their grace period, newest first. */
  previous: RetiredKey[]
}

/** `tribes/<id>/key-epochs.json` (mode 0600: it holds retired keys). */
interface EpochFile {
  v: 1
  epoch: number
  /** networkId of the key the epoch belongs to: a swarm.key replaced by hand resets it. */
  currentId: string
  previous: { epoch: number; key: string; retiredAt: number }[]
}

export interface TribeKeysOptions {
  /** How long a replaced key is kept (default 7 days). */
  graceMs?: number
  now?: () => number
}

/**
 * A tribe's swarm keys on disk: `tribes/<tribeId>/swarm.key` is the current key in the
 * standard go-libp2p/Kubo format, mode 0600. `key-epochs.json` beside it (0600) names
 * the current key's roster epoch and keeps the keys replaced by rotations, with the
 * time they were replaced, for a grace period: a member offline during a rotation can
 * still reach the tribe with the old key and receive the new one. Keys never go into
 * logs or replicated documents in clear.
 */
export class TribeKeys {
  readonly #graceMs: number
  readonly #now: () => number

  constructor(
    private readonly dataDir: string,
    opts: TribeKeysOptions = {},
  ) {
    this.#graceMs = opts.graceMs ?? DEFAULT_KEY_GRACE_MS
    this.#now = opts.now ?? Date.now
  }

  file(tribeId: string): string {
    return join(this.dataDir, 'tribes', tribeId, 'swarm.key')
  }

  #epochFile(tribeId: string): string {
    return join(this.dataDir, 'tribes', tribeId, 'key-epochs.json')
  }

  /**
   * Makes `key` the tribe's current key (a new tribe, an invitation) at `epoch`
   * (default 0). Keys replaced here are not kept: use `rotate` for an epoch change.
   */
  async save(tribeId: string, key: Uint8Array, epoch = 0): Promise<void> {
    await mkdir(join(this.dataDir, 'tribes', tribeId), { recursive: true, mode: 0o700 })
    const meta = await this.#meta(tribeId)
    await this.#writeMeta(tribeId, {
      v: 1,
      epoch,
      currentId: networkId(key),
      previous: meta?.previous ?? [],
    })
    await writeFileAtomic(this.file(tribeId), encodeSwarmKey(key), { overwrite: true })
  }

  /**
   * Switches the tribe to `key` at `epoch`; the key it replaces is kept as a previous
   * key (retired now) for the grace period. Idempotent. Writes the epoch file before
   * swarm.key: a crash between the two leaves a swarm.key whose epoch reads as 0, and
   * the next roster check rotates again.
   */
  async rotate(tribeId: string, epoch: number, key: Uint8Array): Promise<void> {
    const now = this.#now()
    const held = await this.keys(tribeId).catch(() => undefined)
    const previous = held ? [...held.previous] : []
    if (held && networkId(held.current) !== networkId(key)) {
      previous.unshift({ epoch: held.epoch, key: held.current, retiredAt: now })
    }
    const newId = networkId(key)
    const kept = previous.filter(
      (p, i) =>
        networkId(p.key) !== newId &&
        previous.findIndex((q) => networkId(q.key) === networkId(p.key)) === i,
    )
    await mkdir(join(this.dataDir, 'tribes', tribeId), { recursive: true, mode: 0o700 })
    await this.#writeMeta(tribeId, {
      v: 1,
      epoch,
      currentId: newId,
      previous: kept.map((p) => ({
        epoch: p.epoch,
        key: Buffer.from(p.key).toString('hex'),
        retiredAt: p.retiredAt,
      })),
    })
    await writeFileAtomic(this.file(tribeId), encodeSwarmKey(key), { overwrite: true })
  }

  /** The current key, its epoch, and the previous keys still in their grace period. */
  async keys(tribeId: string): Promise<TribeKeySet> {
    const current = await this.load(tribeId)
    const meta = await this.#meta(tribeId)
    const now = this.#now()
    const previous = (meta?.previous ?? [])
      .filter((p) => p.retiredAt + this.#graceMs > now)
      .map((p) => ({
        epoch: p.epoch,
        key: new Uint8Array(Buffer.from(p.key, 'hex')),
        retiredAt: p.retiredAt,
      }))
      .sort((a, b) => b.epoch - a.epoch || b.retiredAt - a.retiredAt)
    const epoch = meta && meta.currentId === networkId(current) ? meta.epoch : 0
    return { current, epoch, previous }
  }

  /**
   * Forgets every key of the tribe (this member was removed): its host must not
   * connect again. Other files of the tribe (issued invitations) stay.
   */
  async discard(tribeId: string): Promise<void> {
    await rm(this.file(tribeId), { force: true })
    await rm(this.#epochFile(tribeId), { force: true })
  }

  /** Ids of the tribes this data directory holds a swarm key for. */
  async list(): Promise<string[]> {
    let entries: Dirent[]
    try {
      entries = await readdir(join(this.dataDir, 'tribes'), { withFileTypes: true })
    } catch {
      return []
    }
    const out: string[] = []
    for (const e of entries) {
      if (!e.isDirectory() || kindOf(e.name) !== 'roster') continue
      const has = await readFile(this.file(e.name)).then(
        () => true,
        () => false,
      )
      if (has) out.push(e.name)
    }
    return out
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

  async #meta(tribeId: string): Promise<EpochFile | undefined> {
    try {
      const parsed = JSON.parse(await readFile(this.#epochFile(tribeId), 'utf8')) as EpochFile
      return parsed?.v === 1 && Array.isArray(parsed.previous) ? parsed : undefined
    } catch {
      return undefined
    }
  }

  async #writeMeta(tribeId: string, meta: EpochFile): Promise<void> {
    await writeFileAtomic(this.#epochFile(tribeId), JSON.stringify(meta), { overwrite: true })
  }
}
