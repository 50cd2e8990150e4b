/**
 * The handshake's decisions over `/tapestry/federate/1.0.0`: the proposer confirms an
 * acceptance presented by its steward and countersigns it; the accepter keeps the
 * countersignature, lists the acceptances still waiting for one, and stops asking once
 * the proposer refused for good.
 */
import { join } from 'node:path'
import { decodeRecordPayload } from '@tapestry/crdt-schema'
import { recordId } from '../envelope/index.js'
import type { SignedRecord } from '../envelope/types.js'
import { writeFileAtomic } from '../secret-file.js'
import { decodeAccept, sameKey, sameTerms } from './link-checks.js'
import type { LinkContext, PendingAccept } from './link-context.js'
import type { LinkFile } from './link-files.js'
import type { LinkReply } from './protocol.js'

export async function confirmAcceptance(
  c: LinkContext,
  record: SignedRecord,
  from: string,
): Promise<LinkReply> {
  const refuse = (code: string, message: string): LinkReply => ({ ok: false, code, message })
  const accept = decodeAccept(record)
  if (typeof accept === 'string') return refuse('BAD_REQUEST', accept)
  if (accept.signer !== from || accept.r.steward !== from) {
    return refuse('WRONG_PEER', 'an acceptance must be presented by the steward who signed it')
  }
  const linkId = record.docId
  const file = await c.files.read(linkId)
  const rosters = await c.d.authority.rosters()
  const a = await c.fold(linkId, rosters)
  if (file?.role !== 'proposer' || !a || a.proposal.proposer !== c.me) {
    return refuse('UNKNOWN_LINK', 'this node did not propose that link')
  }
  const r = accept.r
  if (a.ended) return refuse('LINK_ENDED', 'the proposer ended this link')
  if (r.tribeId !== r.tribeB.id || r.tribeA.id !== a.proposal.tribe.id) {
    return refuse('BAD_REQUEST', 'the acceptance does not name the proposer’s tribe as tribe A')
  }
  if (!sameTerms(r.terms, a.proposal.terms)) {
    return refuse('TERMS_DIFFER', 'the acceptance names other terms')
  }
  const done = a.link?.accepted ? a.link : undefined
  if (done && done.tribeB.id !== r.tribeB.id) {
    return refuse('ALREADY_LINKED', 'this offer was accepted by another tribe')
  }
  if (!done && c.d.now() > a.proposal.expiresAt) {
    return refuse('OFFER_EXPIRED', 'this offer expired; ask for a new one')
  }
  if (!rosters.get(a.proposal.tribe.id)?.isSteward(c.me)) {
    return refuse('NOT_STEWARD', 'the proposer is no longer a steward of its tribe')
  }
  await c.d.putRecord(record)
  const mine = (await c.d.authority.rawRecords(linkId)).find((s) => {
    if (s.record.kind !== 'link.accept' || !sameKey(s.record.author, c.d.identity)) return false
    const p = decodeRecordPayload(s.record.payload)
    return p.ok && p.value.type === 'link.accept' && p.value.tribeId === r.tribeA.id
  })
  const countersign =
    mine?.record ??
    (await c.sign(linkId, {
      v: 1,
      type: 'link.accept',
      linkId,
      tribeA: { ...a.proposal.tribe },
      tribeB: { ...r.tribeB },
      terms: [...a.proposal.terms],
      tribeId: a.proposal.tribe.id,
      steward: c.me,
      at: c.d.now(),
    }))
  if (!mine) await c.d.putRecord(countersign)
  return { ok: true, accept: countersign }
}

export async function keepCountersignature(
  c: LinkContext,
  record: SignedRecord,
  from: string,
): Promise<boolean> {
  const accept = decodeAccept(record)
  if (typeof accept === 'string') return false
  const linkId = record.docId
  const file = await c.files.read(linkId)
  const a = await c.fold(linkId, await c.d.authority.rosters())
  if (file?.role !== 'accepter' || !a) return false
  const r = accept.r
  if (accept.signer !== from || accept.signer !== a.proposal.proposer) return false
  if (r.tribeId !== a.proposal.tribe.id || r.tribeB.id !== file.tribeId) return false
  if (!sameTerms(r.terms, a.proposal.terms)) return false
  const known = await c.d.authority.rawRecords(linkId)
  if (!known.some((s) => s.id === recordId(record))) await c.d.putRecord(record)
  return true
}

export async function pendingAccepts(c: LinkContext): Promise<PendingAccept[]> {
  const out: PendingAccept[] = []
  const rosters = await c.d.authority.rosters()
  for (const linkId of await c.files.carried()) {
    const file = await c.files.read(linkId)
    if (file?.role !== 'accepter' || file.refused) continue
    const a = await c.fold(linkId, rosters)
    if (!a || a.ended || a.link?.accepted) continue
    const accept = (await c.d.authority.rawRecords(linkId)).find(
      (s) => s.record.kind === 'link.accept' && sameKey(s.record.author, c.d.identity),
    )
    if (accept) {
      out.push({
        linkId,
        proposer: a.proposal.proposer,
        addrs: file.addrs,
        accept: accept.record,
      })
    }
  }
  return out
}

export async function markRefused(
  c: LinkContext,
  linkId: string,
  code: string,
  message: string,
): Promise<void> {
  const file = await c.files.read(linkId)
  if (file?.role !== 'accepter') return
  await writeFileAtomic(
    join(c.files.dir(linkId), 'link.json'),
    JSON.stringify({ ...file, refused: { code, message } } satisfies LinkFile),
    { overwrite: true },
  )
}
