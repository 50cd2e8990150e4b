import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { recordId } from '../envelope/index.js'
import type { SignedRecord } from '../envelope/types.js'
import { ForbiddenError, NotFoundError, UsageError } from '../errors.js'
import type { Identity } from '../identity/index.js'
import {
  ADMISSION_KIND,
  admissionStatusOf,
  createAdmission,
  createInvitation,
  createRevocation,
  type FoldAdmissionsResult,
  foldAdmissions,
  type InviteApi,
  type InviteInput,
  type InviteResult,
  type InviteSummary,
  type JoinReply,
  type JoinResult,
  type MemberView,
  parseInviteCode,
  REVOCATION_KIND,
  type RevokeInviteResult,
  type StewardQuery,
} from '../invite/index.js'
import { writeFileAtomic } from '../secret-file.js'
import type { StoredRecord } from '../store/index.js'
import type { AdmissionFold, AuthorityIndex } from './authority.js'
import type { PendingJoin } from './replication.js'
import type { TribeKeys } from './tribe-keys.js'

const DAY = 24 * 60 * 60 * 1000

/** Admission and revocation records of a roster, folded (shared by membership and the API). */
export function foldRosterAdmissions(
  tribeId: string,
  isSteward: (m: string, query: StewardQuery) => boolean,
  records: readonly StoredRecord[],
): FoldAdmissionsResult {
  return foldAdmissions({
    tribeId,
    isSteward,
    admissions: records.filter((r) => r.record.kind === ADMISSION_KIND),
    revocations: records.filter((r) => r.record.kind === REVOCATION_KIND),
  })
}

/** Membership by invitation, as the authority index folds rosters. */
export const admissionsFold: AdmissionFold = ({ tribeId, isSteward, records }) => {
  const out = new Map<string, MemberEntryLike>()
  for (const [m, a] of foldRosterAdmissions(tribeId, isSteward, records).admitted) {
    out.set(m, {
      name: a.name,
      role: a.role,
      joinedAt: a.joinedAt,
      admittedBy: a.admittedBy,
      invitationId: a.invitationId,
    })
  }
  return out
}

type MemberEntryLike = {
  name: string
  role: 'steward' | 'member'
  joinedAt: number
  admittedBy: string
  invitationId: string | null
}

interface IssuedInvitation {
  id: string
  tribeId: string
  role: 'member' | 'steward'
  expiresAt: number
  uses: number
}

interface JoinState {
  tribeId: string
  name: string
  addrs: string[]
  admission: string
}

export interface InvitationDeps {
  dataDir: string
  identity: Identity
  authority: AuthorityIndex
  keys: TribeKeys
  now: () => number
  tribeFor: (tribeId: string | undefined) => Promise<string>
  putRecord: (rec: SignedRecord) => Promise<void>
  /** This node's own addresses on a tribe's network, when it runs one. */
  listenAddrs: (tribeId: string) => string[]
}

/**
 * Invitations and joining (the InviteApi of the node). An invitation is a secret kept
 * only in the issuer's data directory; what replicates is the joiner's signed
 * admission record and stewards' revocations, which every member folds the same way.
 */
export class Invitations implements InviteApi {
  constructor(private readonly d: InvitationDeps) {}

  async invite(input: InviteInput = {}): Promise<InviteResult> {
    const tribeId = await this.d.tribeFor(input.tribeId)
    const roster = (await this.d.authority.rosters()).get(tribeId)
    if (!roster?.isSteward(this.d.identity.memberId)) {
      throw new ForbiddenError('only a steward may invite', 'ask one of the tribe’s stewards')
    }
    const expiresAt = this.d.now() + (input.expiresInMs ?? 7 * DAY)
    const signed = await createInvitation(this.d.identity, {
      tribeId,
      tribeName: roster.name,
      swarmKey: await this.d.keys.load(tribeId),
      expiresAt,
      addrs: [...this.d.listenAddrs(tribeId), ...(input.addresses ?? [])],
      role: input.role ?? 'member',
      uses: input.uses ?? 1,
    })
    const issued = await this.#issued(tribeId)
    issued.push({
      id: signed.invitation.id,
      tribeId,
      role: signed.invitation.role,
      expiresAt,
      uses: signed.invitation.uses,
    })
    await this.#save(join('tribes', tribeId, 'invitations.json'), issued)
    return { invite: signed.code, invitationId: signed.invitation.id, expiresAt }
  }

  async join(code: string): Promise<JoinResult> {
    const parsed = parseInviteCode(code, { now: this.d.now() })
    const { tribeId, tribeName, swarmKey, addrs } = parsed.invitation
    const roster = (await this.d.authority.rosters()).get(tribeId)
    if (roster?.isMember(this.d.identity.memberId)) {
      throw new UsageError(`you are already a member of ${roster.name}`)
    }
    const admission = await createAdmission(this.d.identity, parsed, this.d.identity.name, {
      at: this.d.now(),
    })
    await this.d.keys.save(tribeId, swarmKey)
    await this.d.putRecord(admission)
    const state: JoinState = {
      tribeId,
      name: tribeName,
      addrs: [...addrs],
      admission: recordId(admission),
    }
    await this.#save(join('tribes', tribeId, 'join.json'), state)
    return { tribeId, name: tribeName }
  }

  async invites(query: { tribeId?: string | undefined } = {}): Promise<InviteSummary[]> {
    const tribeIds = query.tribeId
      ? [await this.d.tribeFor(query.tribeId)]
      : await this.d.keys.list()
    const out: InviteSummary[] = []
    for (const tribeId of tribeIds) {
      const fold = await this.#fold(tribeId)
      for (const inv of await this.#issued(tribeId)) {
        const used = fold?.invitations.get(inv.id)?.used ?? 0
        out.push({
          ...inv,
          usesLeft: Math.max(0, inv.uses - used),
          revoked: fold?.revoked.has(inv.id) ?? false,
        })
      }
    }
    return out
  }

  async revokeInvite(id: string): Promise<RevokeInviteResult> {
    for (const tribeId of await this.d.keys.list()) {
      if (!(await this.#issued(tribeId)).some((i) => i.id === id)) continue
      await this.d.putRecord(
        await createRevocation(this.d.identity, tribeId, id, { at: this.d.now() }),
      )
      return { id, revoked: true }
    }
    throw new NotFoundError('invitation issued here', id, 'see `tapestry invites`')
  }

  async members(query: { tribeId?: string | undefined } = {}): Promise<MemberView[]> {
    const tribeId = await this.d.tribeFor(query.tribeId)
    const roster = (await this.d.authority.rosters()).get(tribeId)
    if (!roster) return []
    return roster.members.map((m) => {
      const e = roster.snapshot.members[m]
      return {
        memberId: m,
        name: e?.name ?? '',
        role: roster.isSteward(m) ? 'steward' : 'member',
        joinedAt: e?.joinedAt ?? 0,
      }
    })
  }

  /** The join protocol's decision on a joiner's admission record (see join-protocol.ts). */
  async admit(
    record: SignedRecord,
    from: string,
    ingest: (r: SignedRecord) => Promise<void>,
  ): Promise<JoinReply> {
    const tribeId = record.docId
    if (!(await this.d.authority.rosters()).has(tribeId)) {
      return { ok: false, code: 'UNKNOWN_TRIBE', message: 'this node does not hold that tribe' }
    }
    await ingest(record)
    const roster = (await this.d.authority.rosters()).get(tribeId)
    if (roster?.isMember(from)) return { ok: true }
    const fold = await this.#fold(tribeId)
    const status = fold ? admissionStatusOf(fold, recordId(record)) : undefined
    return status?.status === 'rejected'
      ? { ok: false, code: status.reason, message: status.message }
      : { ok: false, code: 'NOT_ADMITTED', message: 'the admission was not accepted' }
  }

  /** Tribes joined by invitation whose roster has not admitted this member yet. */
  async pendingJoins(): Promise<PendingJoin[]> {
    const out: PendingJoin[] = []
    const rosters = await this.d.authority.rosters()
    for (const tribeId of await this.d.keys.list()) {
      if (rosters.get(tribeId)?.isMember(this.d.identity.memberId)) continue
      const state = await this.#read<JoinState>(join('tribes', tribeId, 'join.json'))
      if (!state) continue
      const admission = (await this.d.authority.rawRecords(tribeId)).find(
        (r) => r.id === state.admission,
      )
      if (admission)
        out.push({ tribeId, name: state.name, addrs: state.addrs, admission: admission.record })
    }
    return out
  }

  /** Addresses from the invitation a tribe was joined with (dialled besides known peers). */
  async bootstrapAddrs(tribeId: string): Promise<string[]> {
    return (await this.#read<JoinState>(join('tribes', tribeId, 'join.json')))?.addrs ?? []
  }

  async #fold(tribeId: string): Promise<FoldAdmissionsResult | undefined> {
    const roster = (await this.d.authority.rosters()).get(tribeId)
    if (!roster) return undefined
    return foldRosterAdmissions(
      tribeId,
      (m, q) => roster.wasStewardAt(m, q.at),
      await this.d.authority.rawRecords(tribeId),
    )
  }

  #issued(tribeId: string): Promise<IssuedInvitation[]> {
    return this.#read<IssuedInvitation[]>(join('tribes', tribeId, 'invitations.json')).then(
      (v) => v ?? [],
    )
  }

  async #read<T>(rel: string): Promise<T | undefined> {
    try {
      return JSON.parse(await readFile(join(this.d.dataDir, rel), 'utf8')) as T
    } catch {
      return undefined
    }
  }

  async #save(rel: string, value: unknown): Promise<void> {
    const file = join(this.d.dataDir, rel)
    await mkdir(join(file, '..'), { recursive: true, mode: 0o700 })
    await writeFileAtomic(file, JSON.stringify(value, null, 2), { overwrite: true })
  }
}
