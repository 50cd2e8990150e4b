/**
 * Tribe roster document: the tribe's name, its members and their roles,
 * removals with their cut-offs, swarm-key epochs, revoked invitations. Written by
 * stewards (and by a joiner holding a valid invitation, for their own admission).
 * A tribe's id is its roster document id.
 *
 * Layout (schema version 1):
 * - `meta`     Y.Map { kind: 'roster', schemaVersion: 1 }
 * - `tribe`    Y.Map { tribeId, name, createdAt, createdBy }
 * - `members`  Y.Map memberId → { name, role, joinedAt, admittedBy, invitationId }
 * - `removals` Y.Map `${memberId} ${by}` → { memberId, by, at, cutoff }  (one entry per remover,
 *   so concurrent removals by two stewards both survive; the fold merges their cut-offs)
 * - `epochs`   Y.Map `${epoch}` → { epoch, createdAt, createdBy, sealedKeys: { memberId → base64 } }
 *   (two stewards creating the same epoch concurrently: Yjs picks the same winner everywhere)
 * - `revokedInvitations` Y.Map invitationId → { by, at }
 *
 * Removal is final for a member id: a removed member is never a current member
 * again, whatever order admissions and removals arrive in.
 */
import * as v from 'valibot'
import type * as Y from 'yjs'
import { observeDoc, type WriteResult, writeDoc } from './document.js'
import { OversizedError, type SchemaError, SchemaValidationError } from './errors.js'
import type { MemberId, TribeId } from './ids.js'
import {
  MAX_CUTOFF_WRITERS,
  MAX_EPOCHS,
  MAX_INVITATION_ID_CHARS,
  MAX_REMOVALS,
  MAX_REVOKED_INVITATIONS,
  MAX_ROSTER_MEMBERS,
  MAX_SEALED_KEY_CHARS,
  MAX_WRITER_KEY_CHARS,
} from './limits.js'
import { err, ok, type Result } from './result.js'
import {
  type DeepReadonly,
  deepFreeze,
  MemberIdSchema,
  NameSchema,
  TimestampSchema,
  TribeIdSchema,
  validate,
} from './validate.js'
import { META, readMeta, safely, writeMeta } from './version.js'

export type Role = 'steward' | 'member'

const InvitationIdSchema = v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_INVITATION_ID_CHARS))
const SeqSchema = v.pipe(v.number(), v.integer(), v.minValue(0))
/** Writer key → highest accepted envelope sequence of that writer. */
export const CutoffSchema = v.pipe(
  v.record(v.pipe(v.string(), v.minLength(1), v.maxLength(MAX_WRITER_KEY_CHARS)), SeqSchema),
  v.maxEntries(MAX_CUTOFF_WRITERS),
)
const Base64Schema = v.pipe(
  v.string(),
  v.maxLength(MAX_SEALED_KEY_CHARS),
  v.regex(/^[A-Za-z0-9+/]*={0,2}$/, 'not base64'),
)

export const TribeInfoSchema = v.object({
  tribeId: TribeIdSchema,
  name: NameSchema,
  createdAt: TimestampSchema,
  createdBy: MemberIdSchema,
})
export const MemberEntrySchema = v.object({
  name: NameSchema,
  role: v.picklist(['steward', 'member']),
  joinedAt: TimestampSchema,
  admittedBy: MemberIdSchema,
  invitationId: v.nullable(InvitationIdSchema),
})
export const RemovalSchema = v.object({
  memberId: MemberIdSchema,
  by: MemberIdSchema,
  at: TimestampSchema,
  cutoff: CutoffSchema,
})
export const SwarmKeyEpochSchema = v.object({
  epoch: v.pipe(v.number(), v.integer(), v.minValue(0)),
  createdAt: TimestampSchema,
  createdBy: MemberIdSchema,
  sealedKeys: v.pipe(v.record(MemberIdSchema, Base64Schema), v.maxEntries(MAX_ROSTER_MEMBERS)),
})
export const RevocationSchema = v.object({ by: MemberIdSchema, at: TimestampSchema })

export type MemberEntry = DeepReadonly<v.InferOutput<typeof MemberEntrySchema>>
export type Removal = DeepReadonly<v.InferOutput<typeof RemovalSchema>>
export type SwarmKeyEpoch = DeepReadonly<v.InferOutput<typeof SwarmKeyEpochSchema>>
export type InvitationRevocation = DeepReadonly<v.InferOutput<typeof RevocationSchema>>
export type Cutoff = Readonly<Record<string, number>>

export interface RosterSnapshot {
  readonly tribeId: TribeId
  readonly name: string
  readonly createdAt: number
  readonly createdBy: MemberId
  /** Everyone ever admitted (current or removed), by member id. */
  readonly members: Readonly<Record<MemberId, MemberEntry>>
  /** Sorted by memberId, then by. */
  readonly removals: readonly Removal[]
  /** Sorted by epoch. */
  readonly epochs: readonly SwarmKeyEpoch[]
  readonly revokedInvitations: Readonly<Record<string, InvitationRevocation>>
  readonly schemaVersion: number
}

export interface RosterInit {
  tribeId: TribeId
  name: string
  createdAt: number
  founder: { memberId: MemberId; name: string }
}

export interface AdmitInit {
  memberId: MemberId
  name: string
  role?: Role
  joinedAt: number
  admittedBy: MemberId
  invitationId?: string | null
}

export interface RemovalInit {
  memberId: MemberId
  by: MemberId
  at: number
  /** The removed member's last accepted envelope sequence, per writer key. */
  cutoff: Cutoff
}

const TRIBE = 'tribe'
const MEMBERS = 'members'
const REMOVALS = 'removals'
const EPOCHS = 'epochs'
const REVOKED = 'revokedInvitations'

export function createRoster(doc: Y.Doc, init: RosterInit): WriteResult {
  const info = validate(
    TribeInfoSchema,
    {
      tribeId: init.tribeId,
      name: init.name,
      createdAt: init.createdAt,
      createdBy: init.founder.memberId,
    },
    'tribe',
  )
  if (!info.ok) return info
  const founder = validate(
    MemberEntrySchema,
    {
      name: init.founder.name,
      role: 'steward',
      joinedAt: init.createdAt,
      admittedBy: init.founder.memberId,
      invitationId: null,
    },
    'founder',
  )
  if (!founder.ok) return founder
  if (doc.getMap(META).size > 0) return err(new SchemaValidationError('document already created'))
  doc.transact(() => {
    writeMeta(doc, 'roster')
    const tribe = doc.getMap<unknown>(TRIBE)
    for (const [k, val] of Object.entries(info.value)) tribe.set(k, val)
    doc.getMap<unknown>(MEMBERS).set(init.founder.memberId, founder.value)
  })
  return ok(undefined)
}

function readEntries<S extends v.GenericSchema>(
  map: Y.Map<unknown>,
  max: number,
  what: string,
  key: v.GenericSchema,
  schema: S,
  docId?: string,
): Result<[string, v.InferOutput<S>][], SchemaError> {
  if (map.size > max) return err(new OversizedError(what, max, map.size, docId))
  const out: [string, v.InferOutput<S>][] = []
  for (const [k, val] of map.entries()) {
    const kr = validate(key, k, `${what} key`, docId)
    if (!kr.ok) return kr
    const r = validate(schema, val, `${what}[${k.slice(0, 64)}]`, docId)
    if (!r.ok) return r
    out.push([k, r.value])
  }
  return ok(out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)))
}

export function readRoster(doc: Y.Doc, docId?: string): Result<RosterSnapshot, SchemaError> {
  return safely(() => {
    const meta = readMeta(doc, { expected: 'roster', docId })
    if (!meta.ok) return meta
    const info = validate(
      TribeInfoSchema,
      Object.fromEntries(doc.getMap<unknown>(TRIBE).entries()),
      'tribe',
      docId,
    )
    if (!info.ok) return info
    const anyKey = v.string()
    const members = readEntries(
      doc.getMap(MEMBERS),
      MAX_ROSTER_MEMBERS,
      'members',
      MemberIdSchema,
      MemberEntrySchema,
      docId,
    )
    if (!members.ok) return members
    const removals = readEntries(
      doc.getMap(REMOVALS),
      MAX_REMOVALS,
      'removals',
      anyKey,
      RemovalSchema,
      docId,
    )
    if (!removals.ok) return removals
    for (const [k, r] of removals.value) {
      if (k !== `${r.memberId} ${r.by}`) {
        return err(new SchemaValidationError('removal key does not match its entry', [k], docId))
      }
    }
    const epochs = readEntries(
      doc.getMap(EPOCHS),
      MAX_EPOCHS,
      'epochs',
      anyKey,
      SwarmKeyEpochSchema,
      docId,
    )
    if (!epochs.ok) return epochs
    for (const [k, e] of epochs.value) {
      if (k !== String(e.epoch)) {
        return err(new SchemaValidationError('epoch key does not match its entry', [k], docId))
      }
    }
    const revoked = readEntries(
      doc.getMap(REVOKED),
      MAX_REVOKED_INVITATIONS,
      'revokedInvitations',
      InvitationIdSchema,
      RevocationSchema,
      docId,
    )
    if (!revoked.ok) return revoked
    return ok(
      deepFreeze({
        ...info.value,
        members: Object.fromEntries(members.value),
        removals: removals.value.map(([, r]) => r),
        epochs: epochs.value.map(([, e]) => e).sort((a, b) => a.epoch - b.epoch),
        revokedInvitations: Object.fromEntries(revoked.value),
        schemaVersion: meta.value.schemaVersion,
      }),
    )
  }, docId)
}

function write(doc: Y.Doc, change: () => void): WriteResult {
  return writeDoc(doc, 'roster', {}, () => {
    change()
    return undefined
  })
}

export function setTribeName(doc: Y.Doc, name: string): WriteResult {
  const r = validate(NameSchema, name, 'name')
  return r.ok ? write(doc, () => doc.getMap<unknown>(TRIBE).set('name', r.value)) : r
}

/** Admits (or re-describes) a member. Has no effect on a removed member id (removal is final). */
export function admitMember(doc: Y.Doc, init: AdmitInit): WriteResult {
  const key = validate(MemberIdSchema, init.memberId, 'memberId')
  if (!key.ok) return key
  const entry = validate(
    MemberEntrySchema,
    {
      name: init.name,
      role: init.role ?? 'member',
      joinedAt: init.joinedAt,
      admittedBy: init.admittedBy,
      invitationId: init.invitationId ?? null,
    },
    'member',
  )
  if (!entry.ok) return entry
  return write(doc, () => doc.getMap<unknown>(MEMBERS).set(init.memberId, entry.value))
}

export function setMemberRole(doc: Y.Doc, memberId: MemberId, role: Role): WriteResult {
  const current = doc.getMap<unknown>(MEMBERS).get(memberId)
  const entry = validate(MemberEntrySchema, current, 'member')
  if (!entry.ok) return entry
  const next = validate(MemberEntrySchema, { ...entry.value, role }, 'member')
  if (!next.ok) return next
  return write(doc, () => doc.getMap<unknown>(MEMBERS).set(memberId, next.value))
}

/** Records `by`'s removal of `memberId` with its cut-off. */
export function removeMember(doc: Y.Doc, init: RemovalInit): WriteResult {
  const r = validate(RemovalSchema, { ...init, cutoff: { ...init.cutoff } }, 'removal')
  if (!r.ok) return r
  return write(doc, () =>
    doc.getMap<unknown>(REMOVALS).set(`${r.value.memberId} ${r.value.by}`, r.value),
  )
}

export function addSwarmKeyEpoch(doc: Y.Doc, epoch: SwarmKeyEpoch): WriteResult {
  const r = validate(
    SwarmKeyEpochSchema,
    { ...epoch, sealedKeys: { ...epoch.sealedKeys } },
    'epoch',
  )
  if (!r.ok) return r
  return write(doc, () => doc.getMap<unknown>(EPOCHS).set(String(r.value.epoch), r.value))
}

export function revokeInvitation(
  doc: Y.Doc,
  init: { invitationId: string; by: MemberId; at: number },
): WriteResult {
  const id = validate(InvitationIdSchema, init.invitationId, 'invitationId')
  if (!id.ok) return id
  const r = validate(RevocationSchema, { by: init.by, at: init.at }, 'revocation')
  if (!r.ok) return r
  return write(doc, () => doc.getMap<unknown>(REVOKED).set(id.value, r.value))
}

export function observeRoster(
  doc: Y.Doc,
  cb: (result: Result<RosterSnapshot, SchemaError>) => void,
): () => void {
  return observeDoc(doc, (d) => readRoster(d), cb)
}

/** The state of a tribe, folded from a roster snapshot. Pure; order-independent. */
export interface RosterView {
  readonly tribeId: TribeId
  readonly name: string
  /** Current members (admitted, never removed), sorted. */
  readonly members: readonly MemberId[]
  /** Current stewards, sorted. */
  readonly stewards: readonly MemberId[]
  /** The newest swarm-key epoch, if any. */
  readonly currentEpoch: SwarmKeyEpoch | undefined
  isMember(memberId: string): boolean
  isSteward(memberId: string): boolean
  /**
   * Was `memberId` a steward at time `at` (an admission's or revocation's claimed time)?
   * A steward's signature counts until their earliest removal: what they signed for a
   * time before it stays valid, what is dated at or after it does not.
   */
  wasStewardAt(memberId: string, at: number): boolean
  removed(memberId: string): boolean
  /**
   * The merged cut-off of a removed member: per writer key, the highest sequence
   * named by any removal (accept envelopes with seq ≤ it, reject the rest).
   */
  cutoff(memberId: string): Cutoff | undefined
  invitationRevoked(invitationId: string): boolean
  readonly snapshot: RosterSnapshot
}

export function foldRoster(snapshot: RosterSnapshot): RosterView {
  const cutoffs = new Map<string, Record<string, number>>()
  for (const r of snapshot.removals) {
    const merged = cutoffs.get(r.memberId) ?? {}
    for (const [w, seq] of Object.entries(r.cutoff)) merged[w] = Math.max(merged[w] ?? -1, seq)
    cutoffs.set(r.memberId, merged)
  }
  for (const c of cutoffs.values()) Object.freeze(c)
  const removedAt = new Map<string, number>()
  for (const r of snapshot.removals) {
    removedAt.set(r.memberId, Math.min(removedAt.get(r.memberId) ?? Infinity, r.at))
  }
  const members = Object.keys(snapshot.members)
    .filter((m) => !cutoffs.has(m))
    .sort()
  const current = new Set(members)
  const stewards = members.filter((m) => snapshot.members[m]?.role === 'steward')
  const stewardSet = new Set(stewards)
  return Object.freeze({
    tribeId: snapshot.tribeId,
    name: snapshot.name,
    members: Object.freeze(members),
    stewards: Object.freeze(stewards),
    currentEpoch: snapshot.epochs.at(-1),
    isMember: (m: string) => current.has(m),
    isSteward: (m: string) => stewardSet.has(m),
    wasStewardAt: (m: string, at: number) =>
      Object.hasOwn(snapshot.members, m) &&
      snapshot.members[m]?.role === 'steward' &&
      at < (removedAt.get(m) ?? Infinity),
    removed: (m: string) => cutoffs.has(m),
    cutoff: (m: string) => cutoffs.get(m),
    invitationRevoked: (id: string) => Object.hasOwn(snapshot.revokedInvitations, id),
    snapshot,
  })
}
