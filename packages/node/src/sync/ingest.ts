/**
 * Ingest of the RECORDS and ENVELOPES a peer sends, and the judgement of what the node
 * refused: refusals no honest relay produces (a forgery) end the session with a
 * SyncForgeryError; the others are logged.
 */
import type { Logger } from '@libp2p/interface'
import type { Replication } from '../core/replication.js'
import { encodeRecord } from '../envelope/codec.js'
import type { DocId, Envelope, SignedRecord } from '../envelope/types.js'
import { memberIdFromPublicKey } from '../identity/identity.js'
import { SyncForgeryError } from './errors.js'
import type { SessionProgress } from './progress.js'
import { envKey, hex, type RecentItems, recordIdOf } from './recent-items.js'

/** Rejection codes no honest relay produces: they cost the peer its connection. */
export const FATAL_REJECTIONS: ReadonlySet<string> = new Set([
  'BAD_SIGNATURE',
  'FOREIGN_CLIENT',
  'MALFORMED_ENVELOPE',
  'MALFORMED_RECORD',
])

/** What ingest needs from its session. */
export interface IngestContext {
  readonly peer: string
  readonly replication: Replication
  readonly recent: RecentItems
  readonly progress: SessionProgress
  readonly isKnownMember: (memberId: string) => Promise<boolean>
  readonly log: Logger
}

export async function ingestRecords(ctx: IngestContext, records: SignedRecord[]): Promise<void> {
  if (records.length === 0) return
  for (const r of records) ctx.recent.remember(`r/${recordIdOf(encodeRecord(r))}`)
  const res = await ctx.replication.ingestRecords(records, ctx.peer)
  ctx.progress.count('received', 'records', res.applied)
  await judge(ctx, res.rejected, res.equivocations, 'records')
}

export async function ingestEnvelopes(ctx: IngestContext, envelopes: Envelope[]): Promise<void> {
  if (envelopes.length === 0) return
  for (const e of envelopes) ctx.recent.remember(envKey(e))
  const res = await ctx.replication.ingestEnvelopes(envelopes, ctx.peer)
  ctx.progress.count('received', 'envelopes', res.applied)
  const authors = new Map<DocId, Uint8Array[]>()
  for (const e of envelopes) authors.set(e.docId, [...(authors.get(e.docId) ?? []), e.author])
  await judge(ctx, res.rejected, res.equivocations, 'envelopes', authors)
}

async function judge(
  ctx: IngestContext,
  rejected: readonly { code: string; message: string; docId?: string }[],
  equivocations: number,
  what: string,
  authors?: Map<DocId, Uint8Array[]>,
): Promise<void> {
  if (equivocations > 0) {
    ctx.log.error('peer %s relayed %d equivocating envelope(s)', ctx.peer, equivocations)
  }
  if (rejected.length === 0) return
  const fatal = rejected.filter((r) => FATAL_REJECTIONS.has(r.code))
  // An author who is no member anywhere cannot have been accepted by an honest relay;
  // a member's NOT_AUTHORIZED can be a matter of order (rules arrive first, but still).
  for (const r of rejected) {
    if (r.code !== 'NOT_AUTHORIZED' || r.docId === undefined || !authors) continue
    for (const author of new Set((authors.get(r.docId) ?? []).map(hex))) {
      let member: string
      try {
        member = memberIdFromPublicKey(Buffer.from(author, 'hex'))
      } catch {
        fatal.push(r)
        break
      }
      if (!(await ctx.isKnownMember(member))) {
        fatal.push(r)
        break
      }
    }
  }
  if (fatal.length > 0) {
    throw new SyncForgeryError(
      `peer sent ${fatal.length} forged ${what}: ${fatal
        .slice(0, 3)
        .map((r) => `${r.code} ${r.message}`)
        .join('; ')}`,
      fatal,
    )
  }
  ctx.log(
    'refused %d %s from %s: %s',
    rejected.length,
    what,
    ctx.peer,
    rejected
      .slice(0, 3)
      .map((r) => r.code)
      .join(', '),
  )
}
